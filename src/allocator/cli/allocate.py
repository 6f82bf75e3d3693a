"""``allocator allocate``: the monthly reallocation, end to end, into a run directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.cli._common import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_OK,
    Progress,
    add_accept_rejects,
    add_common,
    backend_name,
    count,
    error,
    example_help,
    input_map,
    jsonable,
    print_json,
    read_force,
    seconds,
)
from allocator.cli._demand import (
    DemandRead,
    add_demand_arguments,
    check_demand_options,
    check_outside_dataset,
    demand_inputs,
    input_label,
    partitioned,
    read_workload,
)
from allocator.cli.rota_run import UNREPORTED, check_current_rota, write_rota_run
from allocator.io.rundir import (
    OutputError,
    RunWriter,
    check_output_dir,
    describe_input,
    environment,
)
from allocator.model.force import Force
from allocator.present.report import FIGURE_FILES
from allocator.present.rota_report import ROTA_FIGURE_FILES
from allocator.results.allocation import Allocation
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError
from allocator.workload.engine import Workload

#: Files an allocate run may write (checked against the inputs before any work).
OUTPUTS = (
    "allocation.csv", "allocation.parquet", "allocation.xlsx", "moves.csv", "workload.csv",
    "workload_by_type.csv", "workload_by_hour.csv", "explanations.csv", "rejects.csv", "report.md", "report.html",
    *FIGURE_FILES, "buckets.csv", "rota.csv", *ROTA_FIGURE_FILES, "service_levels.csv", "partitions.csv", "run.json",
)
#: Statuses with a posting to write.
SOLVED = ("optimal", "feasible")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "allocate",
        help="allocate posts from demand and judgement; write a run directory",
        **example_help(
            "Load the force and the demand extract, compute the workload, solve the allocation and\n"
            "write every output to a run directory (tables, Excel, report, run.json).\n\n"
            "Exit codes: 0 allocated; 1 infeasible or no posting within the time limit;\n"
            "2 bad input (every problem listed); 3 internal error; 130 interrupted.",
            ["allocator sample my-force",
             "allocator allocate my-force/force.yaml my-force/demand.csv \\",
             "    --current my-force/current.csv --max-moves 40 --out runs/2026-11",
             "allocator allocate my-force/force.yaml demand-parquet/ --as-of 2026-11-01 \\",
             "    --current my-force/current.csv --workers 4 --out runs/2026-11"],
        ),
    )
    p.add_argument("force", type=Path, metavar="FORCE.yaml", help="the force configuration")
    add_demand_arguments(p, "end of the demand window, ISO 8601 (2026-10-01 or 2026-10-01T06:00); "
                            "default for one extract: the latest record; required for a partitioned dataset")
    p.add_argument("--current", type=Path, metavar="CURRENT.csv",
                   help="the current posting (area, shift, role, posts; for a force on duty patterns "
                        "area, role, pattern, team, posts): moves are counted against it")
    p.add_argument("--max-moves", type=count, metavar="N",
                   help="move at most N officers of each role (per role, not in total) from the "
                        "current posting; needs --current")
    p.add_argument("--backend", type=backend_name, default="cpsat",
                   help="solver: cpsat (default), pulp, pulp:cbc or pulp:highs")
    p.add_argument("--time-limit", type=seconds, default=60.0, metavar="S",
                   help="wall-clock seconds for the whole solve, all roles and solver stages together; "
                        "each stage gets the time left (default 60). A stage stopped by the limit with a "
                        "posting makes the status 'feasible' (with its gap); a stage left without time "
                        "or without a posting ends the run with exit code 1")
    p.add_argument("--verify", action="store_true",
                   help="also solve each role's plain maximin MILP with the backend and check that its "
                        "smallest coverage equals the exact one (recorded in the solver report)")
    p.add_argument("--service-levels", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the response floors of the force file's service_levels section (default: on "
                        "when the force file has one): responders on duty for the response target, met as "
                        "far as the establishment allows before workload is shared; shortfalls are "
                        "reported per area and bucket in service_levels.csv and the report")
    p.add_argument("--mapping", type=Path, metavar="MAPPING.yaml", help="column and code mapping of the extract")
    add_accept_rejects(p)
    p.add_argument("--out", type=Path, default=Path("allocation-run"), metavar="DIR",
                   help="the run directory to write (default ./allocation-run)")
    p.add_argument("--force", dest="overwrite", action="store_true",
                   help="write into an existing non-empty directory (never over an input)")
    add_common(p)
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> dict[str, Path]:
    return input_map(args.force, demand_inputs(args), args.mapping, args.current)


def _data_summary(loaded: DemandRead, workload: Workload) -> dict[str, Any]:
    """Counts and window of the demand, for run.json and the report (aggregates only);
    for a partitioned dataset also the number of files."""
    data = {**loaded.summary.to_dict(), "as_of": str(workload.as_of)}
    if loaded.partitions is not None:
        data["files"] = len(loaded.partitions)
    return data


def _solve(args: argparse.Namespace, workload: Workload, force: Force, current: Any,
           progress: Progress) -> Allocation | RotaAllocation:
    from allocator.solve.planner import allocate

    progress(f"solving with {args.backend} (time limit {args.time_limit:g} s for the whole solve)")
    with progress.library_logs():
        result = allocate(workload, force, current=current, backend=args.backend,
                          time_limit=args.time_limit, max_moves=args.max_moves, verify=args.verify,
                          service_levels=args.service_levels)
    return result


def run(args: argparse.Namespace) -> int:
    """Run ``allocator allocate``; see the module docstring."""
    from allocator.model.problem import read_current

    if args.max_moves is not None and args.current is None:
        error("--max-moves counts moves from the current posting: give --current CURRENT.csv too")
        return EXIT_INPUT
    refused = check_demand_options(args)
    if refused is not None:
        if refused:
            error(refused)
        return EXIT_INPUT
    progress = Progress(args.quiet)
    inputs = _inputs(args)
    check_outside_dataset(args, [args.out])
    out = check_output_dir(args.out, inputs.values(), OUTPUTS, force=args.overwrite)

    force = read_force(args.force, progress)
    on_patterns = bool(getattr(force, "patterns", None))
    if args.service_levels and getattr(force, "service_levels", None) is None:
        error(f"--service-levels takes the response floors from the force file's service_levels section; "
              f"{args.force} has none")
        return EXIT_INPUT
    if args.service_levels and not on_patterns:
        error("--service-levels needs a force on duty patterns (windows and patterns)")
        return EXIT_INPUT
    current: Any = None
    if args.verify and on_patterns:
        progress("note: --verify re-solves per-role MILPs of forces of shifts; a force on duty patterns is "
                 "solved as one formulation and each stage's route is in the solver report")
    if args.current is not None and on_patterns:
        check_current_rota(args.current, force)  # every bad row at once, before the demand is read
        current = args.current
    elif args.current is not None:
        current = read_current(args.current, force)
    loaded = read_workload(args, force, progress)
    if loaded is None:  # --dask cannot be used: the reason is on stderr
        return EXIT_INPUT
    workload = loaded.workload
    progress(f"workload: {float(workload.array.sum()):,.0f} judged hours from {workload.n_records:,} records")

    try:
        allocation = _solve(args, workload, force, current, progress)
    except InfeasibleError as exc:
        return _infeasible(exc, args)
    solver = allocation.solver
    progress(f"solver: {solver.status}, gap {solver.gap:.3g}, {solver.seconds:.2f} s")
    if solver.status not in SOLVED:
        print(f"allocator: no allocation written: the solver ended {solver.status} within the time limit "
              f"({args.time_limit:g} s for the whole solve; raise --time-limit)", file=sys.stderr)
        for line in str(solver).splitlines():
            print(f"  {line}", file=sys.stderr)
        if args.json:
            print_json({"status": solver.status, "solver": jsonable(solver)})
        return EXIT_INFEASIBLE

    try:
        if isinstance(allocation, RotaAllocation):
            context = {"inputs": inputs, "parameters": _parameters(args),
                       "data": _data_summary(loaded, workload)}
            summary = write_rota_run(out, force, loaded, workload, allocation, context, progress)
        else:
            summary = write_run(out, args, inputs, force, loaded, workload, allocation, progress)
    except OSError as exc:  # a full disk, a vanished directory: the old run (if any) is untouched
        raise OutputError(f"could not write the run to {out}: {exc.strerror or exc}; "
                          "the previous run there, if any, is unchanged") from None
    progress(f"wrote {out}")
    if args.json:
        print_json(summary)
    elif isinstance(allocation, RotaAllocation):
        _print_rota_summary(summary)
    else:
        _print_summary(summary, allocation)
    return EXIT_OK


def _infeasible(exc: InfeasibleError, args: argparse.Namespace) -> int:
    reasons = [str(r) for r in getattr(exc, "reasons", [])] or [str(exc)]
    print("allocator: no allocation is possible:", file=sys.stderr)
    for r in reasons:
        print(f"  - {r}", file=sys.stderr)
    if args.json:
        print_json({"status": "infeasible", "reasons": reasons})
    return EXIT_INFEASIBLE


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    parameters = {
        "backend": args.backend,
        "time_limit": args.time_limit,
        "verify": args.verify,
        "max_moves": args.max_moves,
        "as_of": args.as_of,
        "mapping": str(args.mapping) if args.mapping is not None else None,
        "accept_rejects": bool(args.accept_rejects),
        "current": args.current is not None,
        "service_levels": args.service_levels,
    }
    if partitioned(args):  # where the files were read: recorded, not part of the report (same result)
        parameters.update({"dask": args.dask, "workers": args.workers})
    return parameters


def write_run(out: Path, args: argparse.Namespace, inputs: dict[str, Path], force: Force,
              loaded: DemandRead, workload: Workload, allocation: Allocation,
              progress: Progress) -> dict[str, Any]:
    """Write every output of the run and swap it in as ``out`` whole; return the summary (also in run.json)."""
    with RunWriter(out) as writer:
        return _write(writer, out, args, inputs, force, loaded, workload, allocation, progress)


def _write(writer: RunWriter, out: Path, args: argparse.Namespace, inputs: dict[str, Path], force: Force,
           loaded: DemandRead, workload: Workload, allocation: Allocation,
           progress: Progress) -> dict[str, Any]:
    from allocator.io.excel import allocation_to_excel
    from allocator.present.report import ReportData, build_report

    table = allocation.table
    writer.write_csv("allocation.csv", table)
    writer.write_parquet("allocation.parquet", table)
    moves = allocation.moves if args.current is not None else None
    extra = {"Moves": moves} if moves is not None else None
    writer.write_with("allocation.xlsx", lambda tmp: allocation_to_excel(allocation, tmp, extra))
    if moves is not None:
        writer.write_csv("moves.csv", moves)
    writer.write_csv("workload.csv", workload.by_shift)
    writer.write_csv("workload_by_type.csv", workload.by_type)
    writer.write_csv("workload_by_hour.csv", workload.by_hour)
    writer.write_csv("rejects.csv", loaded.rejects)
    if loaded.partitions is not None:
        writer.write_csv("partitions.csv", loaded.partitions)
    progress(f"wrote tables ({len(table):,} cells)")

    data = _data_summary(loaded, workload)
    parameters = _parameters(args)
    solver = jsonable(allocation.solver)
    report_inputs = {name: describe_input(path)["sha256"] for name, path in inputs.items()}
    report = build_report(ReportData(
        force=force, table=table, by_type=workload.by_type, by_hour=workload.by_hour,
        solver=solver, moves=moves, data=data,
        parameters={k: v for k, v in parameters.items() if k not in UNREPORTED},
        inputs={input_label(k, inputs[k]): v for k, v in report_inputs.items()},
    ))
    for name, png in report.figures.items():
        writer.write_bytes(name, png)
    writer.write_text("report.md", report.markdown)
    writer.write_text("report.html", report.html)
    progress("wrote report")

    writer.write_csv("explanations.csv", explanations(allocation))
    described = {
        key: describe_input(path, rows=loaded.rows.get(key)) for key, path in inputs.items()
    }
    posts = (pd.DataFrame({"role": table["role"].astype(str), "posts": table["posts"]})
             .groupby("role", sort=False)["posts"].sum())
    summary = {
        "status": allocation.solver.status,
        "out": str(out),
        "posts": {str(k): int(v) for k, v in posts.items()},
        "officers_moved": int(moves["officers"].sum()) if moves is not None and len(moves) else 0,
        "min_coverage": _min_coverage(table),
        "data": data,
        "solver": {k: solver.get(k) for k in ("backend", "status", "gap", "objective", "bound")},
    }
    manifest = {
        "command": "allocate",
        "force_name": force.name,
        "inputs": described,
        "parameters": parameters,
        "data": data,
        "force": force.to_dict(),
        "solver": solver,
        "metrics": jsonable(getattr(allocation, "metrics", None)),
        "summary": {k: summary[k] for k in ("posts", "officers_moved", "min_coverage")},
        "environment": environment(),
    }
    writer.finish(manifest)
    return summary


def explanations(allocation: Allocation) -> pd.DataFrame:
    """:meth:`Allocation.explain` for every cell, as one table (the demand-type breakdown left out)."""
    p = allocation.problem
    rows = []
    for area in p.areas:
        for shift in p.shifts:
            for role in p.roles:
                e = allocation.explain(area, shift, role)
                rows.append({k: v for k, v in vars(e).items() if k != "by_type"})
    return pd.DataFrame(rows)


def _min_coverage(table: pd.DataFrame) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    roles = pd.Series(table["role"].astype(str).to_numpy())
    cov = pd.Series(table["coverage"].to_numpy(dtype="float64"))
    for role in dict.fromkeys(roles.tolist()):
        finite = cov[(roles == role) & cov.map(lambda v: v == v and abs(v) != float("inf"))]
        out[role] = round(float(finite.min()), 6) if len(finite) else None
    return out


def _print_summary(summary: dict[str, Any], allocation: Any) -> None:
    print(f"allocation {summary['status']}: " + ", ".join(f"{r} {n}" for r, n in summary["posts"].items()))
    print("smallest coverage: " + ", ".join(
        f"{r} {v:.3f}" if v is not None else f"{r} -" for r, v in summary["min_coverage"].items()))
    if summary["officers_moved"]:
        print(f"officers moved: {summary['officers_moved']}")
    print(f"outputs in {summary['out']} (report: {Path(summary['out']) / 'report.html'})")


def _print_service(service: dict[str, Any] | None) -> None:
    if not service:
        return
    level = service["level"]
    print(f"service levels: {service['met']} of {service['buckets']} floored buckets met"
          + (f"; at best {level:.0%} of every floor (the establishment is short)" if level is not None and level < 1
             else ""))


def _print_rota_summary(summary: dict[str, Any]) -> None:
    print(f"allocation {summary['status']}: " + ", ".join(f"{r} {n}" for r, n in summary["posts"].items()))
    print("smallest coverage: " + ", ".join(
        f"{r} {v:.3f}" if v is not None else f"{r} -" for r, v in summary["min_coverage"].items()))
    print("utilisation: " + ", ".join(
        f"{r} {u['mean']:.0f}% (busiest {u['busiest']['area']} / {u['busiest']['bucket']} "
        f"{u['busiest']['utilisation']:.0f}%)" if u["mean"] is not None and u["busiest"] else f"{r} -"
        for r, u in summary["utilisation"].items()))
    _print_service(summary.get("service_levels"))
    if summary["officers_moved"]:
        print(f"officers moved: {summary['officers_moved']}")
    print(f"outputs in {summary['out']} (report: {Path(summary['out']) / 'report.html'})")
