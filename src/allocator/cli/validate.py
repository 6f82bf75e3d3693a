"""``allocator validate``: check the force and the demand (one extract or a partitioned dataset); write nothing else."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    Progress,
    add_accept_rejects,
    add_common,
    demand_keywords,
    error,
    example_help,
    input_map,
    print_json,
    read_demand,
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
from allocator.io.rundir import check_output_dir, write_table


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check the force and the demand extract; list the rejected records",
        **example_help(
            "Check the inputs only: the force file and its judgement, and every record of the\n"
            "demand extract. Prints the counts and the reasons records were rejected; with --out,\n"
            "writes rejects.csv there. Exit code 2 when an input cannot be used at all.\n"
            "DEMAND may be a folder of Parquet partitions or several files (then --as-of is required):\n"
            "every file is checked, the counts are given per file, and --out also writes partitions.csv.",
            ["allocator validate {sample}/force.yaml {sample}/demand.csv --out checks",
             "allocator validate {sample}/force.yaml demand-parquet/ --as-of 2026-11-01 --out checks"],
        ),
    )
    p.add_argument("force", type=Path, metavar="FORCE.yaml")
    add_demand_arguments(p, "end of the demand window, ISO 8601 (2026-10-01); default for one extract: the "
                            "latest record; required for a partitioned dataset")
    p.add_argument("--mapping", type=Path, metavar="MAPPING.yaml", help="column and code mapping of the extract")
    p.add_argument("--out", type=Path, metavar="DIR", help="write rejects.csv (and partitions.csv) into DIR")
    p.add_argument("--force", dest="overwrite", action="store_true", help="write into a non-empty DIR")
    add_accept_rejects(p)
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator validate``."""
    refused = check_demand_options(args)
    if refused is not None:
        if refused:
            error(refused)
        return EXIT_INPUT
    progress = Progress(args.quiet)
    inputs = input_map(args.force, demand_inputs(args), args.mapping).values()
    if args.out is not None:
        check_outside_dataset(args, [args.out])
    names = ["rejects.csv", "partitions.csv"]
    out = check_output_dir(args.out, inputs, names, force=args.overwrite, whole=False) if args.out else None
    force = read_force(args.force, progress)
    table: pd.DataFrame | None = None
    if partitioned(args):  # every file checked (and reduced) on Dask, counted per file
        dataset = read_workload(args, force, progress)
        if dataset is None:  # --dask cannot be used: the reason is on stderr
            return EXIT_INPUT
        rejects, s, table = dataset.rejects, dataset.summary, dataset.partitions
    else:  # one extract: its records checked, nothing computed
        loaded = read_demand(args.demand[0], force, progress, demand_keywords(args))
        rejects, s = loaded.rejects, loaded.summary
    written = partitions = None
    if out is not None:
        written = out / "rejects.csv"
        write_table(written, rejects)
        if table is not None:
            partitions = out / "partitions.csv"
            write_table(partitions, table)
    summary = {
        "force": force.name,
        **s.to_dict(),
        "rejects_file": str(written) if written else None,
    }
    if table is not None:
        summary["partitions_file"] = str(partitions) if partitions else None
        summary["partitions"] = table.to_dict(orient="records")
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(f"{args.force.name}: valid ({force.name}: {len(force.areas)} areas, {len(force.shifts)} shifts, "
          f"{len(force.roles)} roles, {len(force.demand_types)} demand types)")
    print(str(s))
    if table is not None:
        print(f"{len(table)} files: " + "; ".join(f"{f} {int(r):,} read, {int(a):,} accepted" for f, r, a in
                                                   zip(table["file"], table["rows_read"], table["accepted"],
                                                       strict=True)))
    if written is not None:
        print(f"rejected records written to {written}" + (f"; the table per file to {partitions}"
                                                          if partitions else ""))
    elif len(rejects):
        print("rejected records not written (give --out DIR to write rejects.csv)")
    return EXIT_OK
