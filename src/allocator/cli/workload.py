"""``allocator workload``: the judged workload per area, shift and role, and nothing else."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from allocator.cli._common import (
    EXIT_OK,
    Progress,
    add_common,
    example_help,
    judgement_file,
    print_json,
    read_demand,
    read_force,
)
from allocator.io.atomic import atomic_path, atomic_write_text
from allocator.io.rundir import OutputError


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
    p.add_argument("--as-of", metavar="DATE", help="end of the demand window (default: the latest record)")
    p.add_argument("--by", choices=("shift", "type", "hour"), default="shift",
                   help="table: by shift (default), by demand type, or by hour of week")
    p.add_argument("--out", type=Path, metavar="FILE", help="the file to write (.csv or .parquet)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator workload``."""
    from allocator.workload.engine import compute_workload

    progress = Progress(args.quiet)
    inputs = [args.force, args.demand] + [p for p in (args.mapping, judgement_file(args.force)) if p]
    if args.out is not None:
        target = args.out.resolve()
        if any(target == Path(p).resolve() for p in inputs):
            raise OutputError(f"refusing to write the workload over the input {args.out}")
        if target.is_dir():
            raise OutputError(f"{args.out} is a directory; give a file name (workload.csv)")
    force = read_force(args.force, progress)
    loaded = read_demand(args.demand, force, progress, args.mapping, args.as_of)
    progress("computing workload")
    workload = compute_workload(loaded.records, force, as_of=args.as_of)
    table = {"shift": workload.by_shift, "type": workload.by_type, "hour": workload.by_hour}[args.by]
    progress(f"workload: {float(workload.array.sum()):,.0f} judged hours from {workload.n_records:,} records")
    if args.out is not None:
        if args.out.suffix.lower() == ".parquet":
            with atomic_path(args.out) as tmp:
                table.to_parquet(tmp, index=False)
        else:
            atomic_write_text(args.out, table.to_csv(index=False, lineterminator="\n"))
        progress(f"wrote {args.out}")
    if args.json:
        print_json({"records": workload.n_records, "hours": float(workload.array.sum()),
                    "as_of": str(workload.as_of), "rows": len(table),
                    "out": str(args.out) if args.out else None})
    elif args.out is None:
        sys.stdout.write(table.to_csv(index=False, lineterminator="\n"))
    return EXIT_OK
