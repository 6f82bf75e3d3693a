"""``allocator scenarios``: run a scenario file's what-if sweeps into a run directory.

The run directory holds ``comparison.csv`` (one row per scenario, the base
first), ``scenarios.csv`` (the tidy table: scenario, area, role, bucket, posts,
on duty, coverage, utilisation), ``posts.csv`` (posts per area, role, pattern
and team in each scenario), ``solver.csv`` (each scenario's solver stages,
with times), ``sensitivity.csv`` and ``bootstrap.csv`` when the file asks for
them, the report (``report.md``, ``report.html``, ``figures/``) and
``run.json`` (inputs with their hashes, parameters, the comparison). It is
written with the conventions of ``allocate``: swapped in whole, every file
atomic, text cells safe for spreadsheets.

A scenario file whose ``base.demand`` is a folder of Parquet partitions (or a
list of files) is read partition by partition on Dask (``base.as_of`` is then
required), on local threads or, with ``--dask``, on the cluster the sweeps run
on; ``partitions.csv`` then holds a row per file (rows read, accepted,
rejected per reason), and a file that cannot be used is named with its
problems (every such file, exit code 2).

Exit codes: 0 every scenario has a posting; 1 some scenario has none (the
others are still written, and the comparison names the reasons); 2 bad
input; 3 internal error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.cli._common import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_OK,
    Progress,
    add_common,
    dask_client,
    example_help,
    have_dask,
    input_map,
    jsonable,
    print_json,
    workers,
)
from allocator.cli._demand import input_label
from allocator.io.rundir import (
    OutputError,
    RunWriter,
    check_output_dir,
    describe_input,
    environment,
)
from allocator.present.whatif_report import WHATIF_FIGURE_FILES

__all__ = ["OUTPUTS", "register", "run"]

#: Files a scenarios run may write (checked against the inputs before any work).
OUTPUTS = ("comparison.csv", "scenarios.csv", "posts.csv", "solver.csv", "sensitivity.csv", "bootstrap.csv",
           "bootstrap_coverage.csv", "partitions.csv", "report.md", "report.html", *WHATIF_FIGURE_FILES, "run.json")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scenarios",
        help="run what-if scenarios (and sensitivity, bootstrap) from a scenario file; write a run directory",
        **example_help(
            "Read the base (force, demand, current posting) once, solve every scenario of the file in\n"
            "parallel, and write the comparison, the tidy table, the sweeps the file asks for and a report.\n"
            "See docs/whatif.md for the file's syntax.\n\n"
            "base.demand may be a folder of Parquet partitions or a list of files (base.as_of then\n"
            "required): it is read on Dask, on local threads or on the --dask cluster.\n\n"
            "Exit codes: 0 every scenario has a posting; 1 some scenario has none (still written,\n"
            "with its reasons); 2 bad input (every problem listed); 3 internal error; 130 interrupted.",
            ["allocator sample my-force",
             "allocator scenarios my-force/scenarios.yaml --out runs/what-if"],
        ),
    )
    p.add_argument("spec", type=Path, metavar="SPEC.yaml", help="the scenario file")
    p.add_argument("--out", type=Path, default=Path("scenarios-run"), metavar="DIR",
                   help="the run directory to write (default ./scenarios-run)")
    p.add_argument("--processes", type=workers, metavar="N",
                   help="local worker processes (default the file's options.processes, else the CPU count)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the sweeps (and read a partitioned base demand) on the dask.distributed scheduler "
                        "at ADDRESS (tcp://host:8786; needs the distributed extra); the results are the same "
                        "as on local processes")
    p.add_argument("--no-sensitivity", action="store_true", help="skip the file's sensitivity sweep")
    p.add_argument("--no-bootstrap", action="store_true", help="skip the file's bootstrap")
    p.add_argument("--force", dest="overwrite", action="store_true",
                   help="write into an existing non-empty directory (never over an input)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator scenarios``; see the module docstring."""
    from allocator.whatif import load_scenarios

    progress = Progress(args.quiet)
    spec = load_scenarios(args.spec)
    if spec.partitioned and not have_dask("a folder or a list of demand files"):
        return EXIT_INPUT
    # every file the run reads: the scenario file, then as for allocate (judgement table, code lookup);
    # a partitioned demand file by file
    inputs = {"scenarios": args.spec, **input_map(spec.force, spec.demand_files(), spec.mapping, spec.current)}
    out = check_output_dir(args.out, inputs.values(), OUTPUTS, force=args.overwrite)
    if spec.partitioned:
        _check_outside_dataset(spec, out)
    progress(f"scenario file {args.spec.name}: {len(spec.scenarios)} scenarios besides the base")
    client = dask_client(args.dask, progress) if args.dask else None
    if args.dask and client is None:
        return EXIT_INPUT
    try:
        return _sweep(args, spec, inputs, out, client, progress)
    finally:
        if client is not None:
            client.close()


def _check_outside_dataset(spec: Any, out: Path) -> None:
    """Refuse a run directory inside a demand folder: its files would be read as partitions next time."""
    if isinstance(spec.demand, Path) and spec.demand.is_dir():
        root = spec.demand.resolve()
        if out == root or root in out.parents:
            raise OutputError(f"refusing to write the run to {out} inside the demand dataset {spec.demand}: "
                              "its files would be read as demand next time; write it elsewhere")


def _sweep(args: argparse.Namespace, spec: Any, inputs: dict[str, Path], out: Path, client: Any,
           progress: Progress) -> int:
    from allocator.solve.diagnose import InfeasibleError
    from allocator.whatif import bootstrap, load_base, run_scenarios, sensitivity

    with progress.library_logs():
        wants_weeks = spec.bootstrap is not None and not args.no_bootstrap
        if spec.partitioned:
            n = sum(key.startswith("demand[") for key in inputs)
            where = f"the Dask scheduler {args.dask}" if client is not None else "local threads"
            progress(f"reading {n} demand file{'s' if n != 1 else ''} on {where}")
        base = load_base(spec, client=client, weeks=wants_weeks)
        if base.partitioned is not None:
            read = base.partitioned.summary
            progress(f"read {read.rows_read:,} records in {len(base.partitioned.files)} files: "
                     f"{read.accepted:,} accepted, {read.rejected_total:,} rejected")
        progress(f"base: {base.n_records:,} records, {len(base.force.areas)} areas, "
                 f"{len(base.force.roles)} roles")
        processes = args.processes if args.processes is not None else spec.processes
        results = run_scenarios(spec, client=client, processes=processes, base=base)
        progress("scenarios solved: " + ", ".join(f"{o.name} {o.status}" for o in results.outcomes))
        sens = None
        base_outcome = results.outcomes[0]
        if base_outcome.x is None and spec.sensitivity is not None and not args.no_sensitivity:
            progress("sensitivity skipped: the base has no posting")
        elif spec.sensitivity is not None and not args.no_sensitivity:
            s = spec.sensitivity
            try:
                sens = sensitivity(base, change=float(s.get("change", 0.2)),
                                   fields=tuple(s.get("fields", ("minutes", "impact"))), types=s.get("types"),
                                   roles=s.get("roles"), client=client, processes=processes, backend=spec.backend,
                                   time_limit=spec.time_limit)
            except InfeasibleError as exc:
                progress(f"sensitivity skipped: {exc.reasons[0] if exc.reasons else exc}")
            else:
                progress(f"sensitivity: {len(sens.table)} judgement values, each -{sens.change:.0%} and "
                         f"+{sens.change:.0%}")
        boot = None
        if spec.bootstrap is not None and not args.no_bootstrap:
            b = spec.bootstrap
            if base_outcome.x is None:
                progress("bootstrap skipped: the base has no posting")
            else:
                boot = bootstrap(base, base_outcome.x, resamples=int(b.get("resamples", 200)),
                                 seed=int(b.get("seed", 0)), client=client, processes=processes)
                progress(f"bootstrap: {boot.resamples} resamples of {boot.weeks} weeks")
    try:
        summary = _write(out, spec, inputs, results, sens, boot, args, progress, base)
    except OSError as exc:
        raise OutputError(f"could not write the run to {out}: {exc.strerror or exc}; "
                          "the previous run there, if any, is unchanged") from None
    progress(f"wrote {out}")
    if args.json:
        print_json(summary)
    else:
        for row in summary["scenarios"]:
            cov = row["min_coverage"]
            text = f"{cov:.3f}" if isinstance(cov, float) else "-"
            extra = f" ({row['reasons']})" if row["reasons"] else ""
            share = row.get("response_floor_share")
            if isinstance(share, float) and math.isfinite(share):
                extra += f", response floors met {share:.0%}"
            print(f"{row['scenario']}: {row['status']}, smallest coverage {text}{extra}")
        print(f"outputs in {out} (report: {out / 'report.html'})")
    return EXIT_OK if all(r["status"] in ("optimal", "feasible") for r in summary["scenarios"]) else EXIT_INFEASIBLE


def _write(out: Path, spec: Any, inputs: dict[str, Path], results: Any, sens: Any, boot: Any,
           args: argparse.Namespace, progress: Progress, base: Any) -> dict[str, Any]:
    from allocator.present.whatif_report import build_whatif_report

    comparison = results.comparison
    posts = [o.posts.assign(scenario=o.name) for o in results.outcomes if o.posts is not None]
    with RunWriter(out) as writer:
        writer.write_csv("comparison.csv", comparison)
        writer.write_csv("scenarios.csv", results.table)
        if posts:
            frame = pd.concat(posts, ignore_index=True)
            writer.write_csv("posts.csv", frame[["scenario", *[c for c in frame.columns if c != "scenario"]]])
        writer.write_csv("solver.csv", results.solver)
        if sens is not None:
            writer.write_csv("sensitivity.csv", sens.table)
        if boot is not None:
            writer.write_csv("bootstrap.csv", boot.utilisation)
            writer.write_csv("bootstrap_coverage.csv", boot.min_coverage)
        if base.partitioned is not None:
            writer.write_csv("partitions.csv", base.partitioned.partitions)
        hashes = {input_label(key, p): describe_input(p)["sha256"] for key, p in inputs.items()}
        report = build_whatif_report(results, sens, boot, title=f"What-if report: {args.spec.name}", inputs=hashes)
        for name, png in report.figures.items():
            writer.write_bytes(name, png)
        writer.write_text("report.md", report.markdown)
        writer.write_text("report.html", report.html)
        progress("wrote tables and report")
        rows = jsonable(comparison.to_dict(orient="records"))
        parameters = {
            "backend": spec.backend, "time_limit": spec.time_limit,
            "processes": args.processes, "as_of": spec.as_of,
            "sensitivity": jsonable(dict(spec.sensitivity)) if sens is not None else None,
            "bootstrap": jsonable(dict(spec.bootstrap)) if boot is not None else None,
        }
        summary = {"out": str(out), "scenarios": [
            {"scenario": r["scenario"], "status": r["status"], "min_coverage": r["min_coverage"],
             "response_floor_share": r.get("response_floor_share"), "reasons": r["reasons"]} for r in rows]}
        manifest = {
            "command": "scenarios",
            "inputs": {key: describe_input(path) for key, path in inputs.items()},
            "parameters": parameters,
            "comparison": rows,
            "solver": jsonable(results.solver.to_dict(orient="records")),
            "environment": environment(),
        }
        writer.finish(manifest)
    return summary
