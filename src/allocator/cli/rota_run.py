"""The run directory of ``allocator allocate`` for a force on duty patterns.

A force with ``windows`` and ``patterns`` is allocated per (area, role,
pattern, team) and judged per bucket of the week; its run directory holds
the :class:`~allocator.results.rota.RotaAllocation`'s tables
(``allocation.csv``/``.parquet``, ``buckets.csv``, ``rota.csv``,
``allocation.xlsx``, ``moves.csv`` with a current posting), the workload
tables as for any force (its "shifts" are the buckets), ``explanations.csv``
(one row per area, role and bucket), ``rejects.csv``, ``service_levels.csv``
(with response floors: per area and bucket the floor, responders on duty,
shortfall, met, binding and the expected waits), the report
(:mod:`allocator.present.rota_report`) and ``run.json``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.io.rundir import RunWriter, describe_input, environment
from allocator.model.force import Force

if TYPE_CHECKING:
    from allocator.cli._demand import DemandRead
from allocator.results.rota import RotaAllocation
from allocator.workload.engine import Workload

__all__ = ["UNREPORTED", "check_current_rota", "rota_explanations", "rota_summary", "service_summary", "write_rota_run"]

#: Parameters run.json records that the report leaves out (where the demand was read does not change the result).
UNREPORTED = ("mapping", "current", "accept_rejects", "dask", "workers")


def check_current_rota(path: Path, force: Force) -> None:
    """Read a current posting of a force on patterns (``area, role, pattern, team, posts``), every
    bad row reported at once (:class:`~allocator.errors.InputError`), before the demand is read."""
    from allocator.model.build import check_current_patterns

    check_current_patterns(path, force)


def _round(value: Any, places: int = 6) -> float | None:
    v = float(value)
    return round(v, places) if math.isfinite(v) else None


def rota_summary(allocation: RotaAllocation) -> dict[str, Any]:
    """The run's headline as plain values: posts and moves per role, smallest coverage, utilisation
    (mean and busiest bucket) per role, team sizes per area and pattern."""
    f = allocation.formulation
    m: dict[Any, dict[Any, Any]] = allocation.metrics.to_dict(orient="index")
    posts = {role: int(m[role]["posts"]) for role in f.roles}
    moved: dict[str, int] | None = None
    if f.current is not None:
        moves = allocation.moves
        moved = {role: int(moves.loc[moves["role"] == role, "officers"].sum()) for role in f.roles}
    buckets = allocation.buckets
    utilisation: dict[str, Any] = {}
    for role in f.roles:
        mine = buckets[(buckets["role"] == role) & np.isfinite(buckets["utilisation"].to_numpy(dtype="float64"))]
        busiest = None
        if len(mine):
            top = mine.iloc[int(np.argmax(mine["utilisation"].to_numpy(dtype="float64")))]
            busiest = {"area": str(top["area"]), "bucket": str(top["bucket"]),
                       "utilisation": _round(top["utilisation"], 3)}
        utilisation[role] = {"mean": _round(m[role]["utilisation"], 3),
                             "lowest": _round(m[role]["min_utilisation"], 3), "busiest": busiest}
    teams: dict[str, dict[str, list[int]]] = {}
    t = allocation.table
    for area, pattern, n in zip(t["area"].astype(str), t["pattern"].astype(str), t["posts"].tolist(), strict=True):
        teams.setdefault(area, {}).setdefault(pattern, []).append(int(n))
    return {
        "posts": posts,
        "service_levels": service_summary(allocation),
        "officers_moved": sum(moved.values()) if moved is not None else 0,
        "moved_per_role": moved,
        "min_coverage": {role: _round(m[role]["min_coverage"]) for role in f.roles},
        "utilisation": utilisation,
        "team_sizes": teams,
    }


def service_summary(allocation: RotaAllocation) -> dict[str, Any] | None:
    """The service levels' headline (None without floors): the level reached, buckets met, shortfalls.

    ``level`` is the smallest share of a floor met (1 when the establishment
    meets every floor); ``short`` lists the buckets not met, worst first.
    """
    if allocation.formulation.service is None:
        return None
    frame = allocation.service_levels
    short = frame[~frame["met"]].sort_values(["shortfall", "area", "bucket"], ascending=[False, True, True],
                                             kind="stable")
    return {
        "level": _round(allocation.solver.objective.get("service level[all]", math.nan)),
        "buckets": len(frame),
        "met": int(frame["met"].sum()),
        "binding": int(frame["binding"].sum()),
        "short": [{"area": str(r.area), "bucket": str(r.bucket), "officers": _round(r.shortfall, 3)}
                  for r in short.itertuples()],
    }


def rota_explanations(allocation: RotaAllocation) -> pd.DataFrame:
    """:meth:`RotaAllocation.explain` for every area, role and bucket, as one table.

    The demand-type breakdown is left out; ``by_pattern`` reads ``"Response 80"``
    and ``binding`` lists the rules at their limit, separated by ``"; "``.
    """
    f = allocation.formulation
    rows = []
    for area in f.areas:
        for role in f.roles:
            for bucket in f.buckets:
                e = allocation.explain(area, role, bucket, by_type=False)
                row = {k: v for k, v in e.to_dict().items() if k != "by_type"}
                row["by_pattern"] = "; ".join(f"{p} {n}" for p, n in e.by_pattern.items())
                row["binding"] = "; ".join(e.binding)
                rows.append(row)
    frame = pd.DataFrame(rows)
    if f.current is None:
        frame = frame.drop(columns="current")
    return frame


def write_rota_run(out: Path, force: Force, loaded: DemandRead, workload: Workload, allocation: RotaAllocation,
                   context: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Write every output of a rota run and swap it in as ``out`` whole; return the summary.

    ``context`` carries what the command line knows: ``inputs`` (name -> path),
    ``parameters`` and ``data`` (the demand summary). ``loaded`` gives the
    rejects, the rows read per demand file and, for a partitioned dataset,
    the table per file (``partitions.csv``).
    """
    with RunWriter(out) as writer:
        return _write(writer, out, force, loaded, workload, allocation, context, progress)


def _write(writer: RunWriter, out: Path, force: Force, loaded: DemandRead, workload: Workload,
           allocation: RotaAllocation, context: dict[str, Any], progress: Any) -> dict[str, Any]:
    from allocator.cli._common import jsonable
    from allocator.cli._demand import input_label
    from allocator.present.rota_report import RotaReportData, build_rota_report

    inputs: dict[str, Path] = context["inputs"]
    parameters: dict[str, Any] = context["parameters"]
    data: dict[str, Any] = context["data"]
    has_current = allocation.formulation.current is not None

    table = allocation.table
    writer.write_csv("allocation.csv", table)
    writer.write_parquet("allocation.parquet", table)
    writer.write_csv("buckets.csv", allocation.buckets)
    writer.write_csv("rota.csv", allocation.rota)
    writer.write_with("allocation.xlsx", allocation.to_excel)
    if has_current:
        writer.write_csv("moves.csv", allocation.moves)
    writer.write_csv("workload.csv", workload.by_shift)
    writer.write_csv("workload_by_type.csv", workload.by_type)
    writer.write_csv("workload_by_hour.csv", workload.by_hour)
    writer.write_csv("rejects.csv", loaded.rejects)
    if loaded.partitions is not None:
        writer.write_csv("partitions.csv", loaded.partitions)
    writer.write_csv("explanations.csv", rota_explanations(allocation))
    if allocation.formulation.service is not None:
        writer.write_csv("service_levels.csv", allocation.service_levels)
    progress(f"wrote tables ({len(table):,} columns of area, role, pattern and team)")

    solver = jsonable(allocation.solver)
    report = build_rota_report(RotaReportData.from_allocation(
        allocation, force, solver, data=data,
        parameters={k: v for k, v in parameters.items() if k not in UNREPORTED},
        inputs={input_label(k, p): describe_input(p)["sha256"] for k, p in inputs.items()},
    ))
    for name, png in report.figures.items():
        writer.write_bytes(name, png)
    writer.write_text("report.md", report.markdown)
    writer.write_text("report.html", report.html)
    progress("wrote report")

    described = {key: describe_input(path, rows=loaded.rows.get(key)) for key, path in inputs.items()}
    headline = rota_summary(allocation)
    summary = {
        "status": allocation.solver.status,
        "out": str(out),
        **headline,
        "data": data,
        "solver": {k: solver.get(k) for k in ("backend", "status", "gap", "objective", "bound", "seconds")},
    }
    manifest = {
        "command": "allocate",
        "kind": "patterns",
        "force_name": force.name,
        "inputs": described,
        "parameters": parameters,
        "data": data,
        "force": force.to_dict(),
        "solver": solver,
        "metrics": jsonable(allocation.metrics),
        "warnings": list(allocation.warnings),
        "summary": headline,
        "environment": environment(),
    }
    writer.finish(manifest)
    return summary
