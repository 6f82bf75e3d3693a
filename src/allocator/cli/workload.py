"""``allocator workload``: the judged workload per area, shift and role, and nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from allocator.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    Progress,
    add_common,
    error,
    example_help,
    input_map,
    jsonable,
    print_json,
    read_force,
)
from allocator.cli._demand import (
    add_demand_arguments,
    check_demand_options,
    check_outside_dataset,
    demand_inputs,
    partitioned,
    read_workload,
)
from allocator.io.rundir import OutputError, frame_csv, write_table


def register(sub: Any) -> None:
    p = sub.add_parser(
        "workload",
        help="compute the workload table (area, shift, role, hours)",
        **example_help(
            "Compute the judged workload hours per area, shift and role over the demand window.\n"
            "Writes CSV (or Parquet, by the suffix) to --out FILE, else prints CSV on stdout.\n"
            "DEMAND may be a folder of Parquet partitions or several files (then --as-of is required);\n"
            "--partitions FILE writes their table per file (rows read, accepted, rejected by reason).",
            ["allocator workload {sample}/force.yaml {sample}/demand.csv --out workload.csv",
             "allocator workload {sample}/force.yaml demand-parquet/ --as-of 2026-11-01 --out workload.csv \\",
             "    --partitions partitions.csv"],
        ),
    )
    p.add_argument("force", type=Path, metavar="FORCE.yaml")
    add_demand_arguments(p, "end of the demand window, ISO 8601 (2026-10-01); default for one extract: the "
                            "latest record; required for a partitioned dataset")
    p.add_argument("--mapping", type=Path, metavar="MAPPING.yaml")
    p.add_argument("--by", choices=("shift", "type", "hour"), default="shift",
                   help="table: by shift (default), by demand type, or by hour of week")
    p.add_argument("--out", type=Path, metavar="FILE", help="the file to write (.csv or .parquet)")
    p.add_argument("--partitions", type=Path, metavar="FILE",
                   help="with a partitioned dataset: also write the table per file (.csv or .parquet)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator workload``."""
    refused = check_demand_options(args)
    if refused is None and args.partitions is not None and not partitioned(args):
        refused = (f"--partitions writes the table per file of a partitioned dataset; {args.demand[0]} is one "
                   "extract: leave --partitions out")
    if refused is not None:
        if refused:
            error(refused)
        return EXIT_INPUT
    progress = Progress(args.quiet)
    inputs = input_map(args.force, demand_inputs(args), args.mapping).values()
    outs = [o for o in (args.out, args.partitions) if o is not None]
    check_outside_dataset(args, outs)
    for o in outs:
        _check_out(o, inputs)
    if len(outs) == 2 and outs[0].resolve() == outs[1].resolve():
        error(f"--out and --partitions name the same file {args.out}: give two files")
        return EXIT_INPUT
    force = read_force(args.force, progress)
    loaded = read_workload(args, force, progress)
    if loaded is None:  # --dask cannot be used: the reason is on stderr
        return EXIT_INPUT
    workload = loaded.workload
    table = {"shift": workload.by_shift, "type": workload.by_type, "hour": workload.by_hour}[args.by]
    progress(f"workload: {float(workload.array.sum()):,.0f} judged hours from {workload.n_records:,} records")
    if args.out is not None:
        try:
            write_table(args.out, table)
        except OSError as exc:
            raise OutputError(f"could not write {args.out}: {exc.strerror or exc}") from None
        progress(f"wrote {args.out}")
    if args.partitions is not None and loaded.partitions is not None:
        try:
            write_table(args.partitions, loaded.partitions)
        except OSError as exc:
            raise OutputError(f"could not write {args.partitions}: {exc.strerror or exc}") from None
        progress(f"wrote {args.partitions}")
    if args.json:
        summary = {"records": workload.n_records, "hours": float(workload.array.sum()),
                   "as_of": str(workload.as_of), "rows": len(table),
                   "out": str(args.out) if args.out else None}
        if loaded.partitions is not None:
            summary["files"] = jsonable(loaded.partitions.to_dict(orient="records"))
        print_json(summary)
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
