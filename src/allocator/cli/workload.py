"""``allocator workload``: the judged workload per area, shift and role, and nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from allocator.cli._common import (
    EXIT_OK,
    Progress,
    add_common,
    demand_keywords,
    example_help,
    input_map,
    iso_date,
    print_json,
    read_demand,
    read_force,
)
from allocator.io.rundir import OutputError, frame_csv, write_table


def register(sub: Any) -> None:
    p = sub.add_parser(
        "workload",
        help="compute the workload table (area, shift, role, hours)",
        **example_help(
            "Compute the judged workload hours per area, shift and role over the demand window.\n"
            "Writes CSV (or Parquet, by the suffix) to --out FILE, else prints CSV on stdout.",
            ["allocator workload {sample}/force.yaml {sample}/demand.csv --out workload.csv"],
        ),
    )
    p.add_argument("force", type=Path, metavar="FORCE.yaml")
    p.add_argument("demand", type=Path, metavar="DEMAND.csv")
    p.add_argument("--mapping", type=Path, metavar="MAPPING.yaml")
    p.add_argument("--as-of", type=iso_date, metavar="DATE",
                   help="end of the demand window, ISO 8601 (2026-10-01); default: the latest record")
    p.add_argument("--by", choices=("shift", "type", "hour"), default="shift",
                   help="table: by shift (default), by demand type, or by hour of week")
    p.add_argument("--out", type=Path, metavar="FILE", help="the file to write (.csv or .parquet)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator workload``."""
    from allocator.workload.engine import compute_workload

    progress = Progress(args.quiet)
    inputs = input_map(args.force, args.demand, args.mapping).values()
    if args.out is not None:
        _check_out(args.out, inputs)
    force = read_force(args.force, progress)
    loaded = read_demand(args.demand, force, progress, demand_keywords(args))
    progress("computing workload")
    workload = compute_workload(loaded.records, force, as_of=args.as_of)
    table = {"shift": workload.by_shift, "type": workload.by_type, "hour": workload.by_hour}[args.by]
    progress(f"workload: {float(workload.array.sum()):,.0f} judged hours from {workload.n_records:,} records")
    if args.out is not None:
        try:
            write_table(args.out, table)
        except OSError as exc:
            raise OutputError(f"could not write {args.out}: {exc.strerror or exc}") from None
        progress(f"wrote {args.out}")
    if args.json:
        print_json({"records": workload.n_records, "hours": float(workload.array.sum()),
                    "as_of": str(workload.as_of), "rows": len(table),
                    "out": str(args.out) if args.out else None})
    elif args.out is None:
        sys.stdout.write(frame_csv(table))
    else:
        print(f"workload ({len(table):,} rows) written to {args.out}")
    return EXIT_OK


def _check_out(out: Path, inputs: Any) -> None:
    """Refuse an ``--out`` file that is an input, a directory, under a file, or not writable."""
    target = out.resolve()
    if any(target == Path(p).resolve() for p in inputs):
        raise OutputError(f"refusing to write the workload over the input {out}")
    if target.is_dir():
        raise OutputError(f"{out} is a directory; give a file name (workload.csv)")
    base = target.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"cannot write {out}: {base} is a file, not a directory")
    if not os.access(base, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise OutputError(f"cannot write {out}: not writable")
