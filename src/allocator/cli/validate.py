"""``allocator validate``: check the force and the demand extract; write nothing else."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from allocator.cli._common import (
    EXIT_OK,
    Progress,
    add_accept_rejects,
    add_common,
    demand_keywords,
    example_help,
    input_map,
    print_json,
    read_demand,
    read_force,
)
from allocator.io.rundir import check_output_dir, write_table


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check the force and the demand extract; list the rejected records",
        **example_help(
            "Check the inputs only: the force file and its judgement, and every record of the\n"
            "demand extract. Prints the counts and the reasons records were rejected; with --out,\n"
            "writes rejects.csv there. Exit code 2 when an input cannot be used at all.",
            ["allocator validate {sample}/force.yaml {sample}/demand.csv --out checks"],
        ),
    )
    p.add_argument("force", type=Path, metavar="FORCE.yaml")
    p.add_argument("demand", type=Path, metavar="DEMAND.csv")
    p.add_argument("--mapping", type=Path, metavar="MAPPING.yaml", help="column and code mapping of the extract")
    p.add_argument("--out", type=Path, metavar="DIR", help="write rejects.csv into DIR")
    p.add_argument("--force", dest="overwrite", action="store_true", help="write into a non-empty DIR")
    add_accept_rejects(p)
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator validate``."""
    progress = Progress(args.quiet)
    inputs = input_map(args.force, args.demand, args.mapping).values()
    out = check_output_dir(args.out, inputs, ["rejects.csv"], force=args.overwrite, whole=False) if args.out else None
    force = read_force(args.force, progress)
    loaded = read_demand(args.demand, force, progress, demand_keywords(args))
    rejects, s = loaded.rejects, loaded.summary
    written = None
    if out is not None:
        written = out / "rejects.csv"
        write_table(written, rejects)
    summary = {
        "force": force.name,
        **s.to_dict(),
        "rejects_file": str(written) if written else None,
    }
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(f"{args.force.name}: valid ({force.name}: {len(force.areas)} areas, {len(force.shifts)} shifts, "
          f"{len(force.roles)} roles, {len(force.demand_types)} demand types)")
    print(str(s))
    if written is not None:
        print(f"rejected records written to {written}")
    elif len(rejects):
        print("rejected records not written (give --out DIR to write rejects.csv)")
    return EXIT_OK
