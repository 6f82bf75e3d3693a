"""Allocate a force on duty patterns: build the formulation, explain infeasibility, solve, report.

:func:`allocate_on_patterns` is what :func:`allocator.allocate` runs for a
force with ``windows`` and ``patterns``. Before solving, :func:`diagnose_formulation`
checks the rules in the force's own words: for each (area, role) the least
posts its minimum staffing, pins and team rule need (a small exact integer
program per area and role), against the area's cap and, summed, against the
establishment. If the rules still cannot all be met, a deletion filter over
the constraint families names a smallest set of families in conflict.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from allocator.model.formulation import RESPONSE_FLOORS, Family, Formulation
from allocator.solve.diagnose import InfeasibleError
from allocator.solve.lexicographic import base_spec, solve_formulation
from allocator.solve.milp import Backend, get_backend
from allocator.solve.milp.linear import SumStage
from allocator.solve.report import SolverReport

__all__ = ["allocate_on_patterns", "diagnose_formulation", "service_floors", "unreachable_minimums"]

logger = logging.getLogger(__name__)

_LOCAL = ("minimum staffing", "pins", "team equality")


def _restrict(f: Formulation, fam: Family, cols: np.ndarray) -> Family | None:
    """The rows of ``fam`` whose columns all lie in ``cols``, renumbered to positions in ``cols``."""
    pos = -np.ones(f.n, dtype=np.int64)
    pos[cols] = np.arange(cols.size)
    keep_rows = [i for i in range(fam.n_rows) if fam.row_columns(i).size and (pos[fam.row_columns(i)] >= 0).all()]
    if not keep_rows:
        return None
    renum = -np.ones(fam.n_rows, dtype=np.int64)
    renum[keep_rows] = np.arange(len(keep_rows))
    mask = renum[fam.rows] >= 0
    return replace(fam, rows=renum[fam.rows[mask]], cols=pos[fam.cols[mask]], vals=fam.vals[mask],
                   lo=fam.lo[keep_rows], hi=fam.hi[keep_rows],
                   labels=tuple(fam.labels[i] for i in keep_rows), l1=())


def least_posts(f: Formulation, area: int, role: int, solver: Backend, time_limit: float) -> tuple[int | None, str]:
    """The least posts of ``role`` in ``area`` that meet its minimum staffing, pins and team rule."""
    cols = np.flatnonzero((f.col_area == area) & (f.col_role == role))
    fams = [g for g in (_restrict(f, fam, cols) for fam in f.families if fam.name in _LOCAL) if g is not None]
    if not fams:
        return 0, ""
    sub = replace(f, col_area=f.col_area[cols], col_role=f.col_role[cols], col_pattern=f.col_pattern[cols],
                  col_team=f.col_team[cols], col_lo=f.col_lo[cols], col_hi=np.full(cols.size, 10**6),
                  on_duty_minutes=f.on_duty_minutes[cols], families=fams,
                  current=None)
    spec = replace(base_spec(sub), stages=[SumStage("least", "linear", np.ones(cols.size, dtype=np.int64))])
    res = solver.solve_linear(spec, time_limit, 0)
    if res.x is None:
        return None, "; ".join(sorted({g.name for g in fams}))
    tight = [g.labels[i] for g in fams if g.name == "minimum staffing"
             for i in np.flatnonzero(np.abs(g.values(res.x) - g.lo) <= 1e-9)]
    return int(res.x.sum()), tight[0] if tight else ""


def diagnose_formulation(f: Formulation, solver: Backend, time_limit: float = 10) -> list[str]:
    """Reasons in the force's words why no posting meets the rules (empty when one does)."""
    reasons = unreachable_minimums(f)
    if reasons:
        return reasons
    A, R, _ = f.shape
    area_cap = _area_caps(f)
    for r in range(R):
        total = 0
        parts: list[tuple[int, str]] = []
        for a in range(A):
            need, why = least_posts(f, a, r, solver, time_limit)
            if need is None:
                reasons.append(f"{f.areas[a]}: the {why} rules of {f.roles[r]} contradict each other")
                continue
            total += need
            if need:
                parts.append((need, f"{f.areas[a]} {need}" + (f": {why}" if why else "")))
            cap = area_cap.get((a, r))
            if cap is not None and need > cap:
                reasons.append(f"{f.areas[a]}: minimum staffing needs {need} {f.roles[r]}s "
                               f"({why}); the area's cap is {cap}")
        if total > f.establishment[r]:
            worst = max(parts)[1] if parts else ""
            reasons.append(f"minimum staffing needs {total} {f.roles[r]}s; the establishment is "
                           f"{int(f.establishment[r])}" + (f" (largest: {worst})" if worst else ""))
    if reasons:
        return reasons
    spec = base_spec(f)
    if solver.solve_linear(spec, time_limit, 0).x is not None:
        return []
    # a deletion filter over families: keep a family only if the rest alone is feasible without it
    needed = list(f.families)
    for fam in list(needed):
        trial = [g for g in needed if g is not fam]
        if solver.solve_linear(base_spec(replace(f, families=trial)), time_limit, 0).status == "infeasible":
            needed = trial
    names = ", ".join(g.name for g in needed)
    return [f"these rules cannot all be met together: {names}"]


def unreachable_minimums(f: Formulation) -> list[str]:
    """Rules that ask for officers when no pattern of the role is on duty (no posting can meet them)."""
    return [f"{fam.name}: {fam.labels[i]}, but no pattern of the role is on duty then"
            for fam in f.families if not fam.l1
            for i in range(fam.n_rows) if fam.row_columns(i).size == 0 and fam.lo[i] > 0]


def _area_caps(f: Formulation) -> dict[tuple[int, int], int]:
    caps: dict[tuple[int, int], int] = {}
    fam = f.family("area bounds")
    if fam is None:
        return caps
    for i in range(fam.n_rows):
        cols = fam.row_columns(i)
        if cols.size and math.isfinite(fam.hi[i]):
            caps[(int(f.col_area[cols[0]]), int(f.col_role[cols[0]]))] = int(fam.hi[i])
    return caps


def allocate_on_patterns(
    workload: Any,
    force: Any,
    current: Any = None,
    backend: str = "cpsat",
    time_limit: float = 60,
    max_moves: int | None = None,
    allow_unallocated: bool = False,
    seed: int = 0,
    tie_break: bool = True,
    equal_teams: bool = False,
    route: str = "auto",
    service_levels: bool | None = None,
    floors: Any = None,
) -> Any:
    """Allocate a force with duty patterns (see :func:`allocator.allocate`); returns a ``RotaAllocation``.

    ``service_levels`` (default: on when the force has a ``service_levels``
    section) adds the response floors of
    :func:`allocator.queueing.response.response_floors`; ``floors`` gives
    floors directly instead (an (areas, 168) array or a ``ResponseFloors``),
    as :func:`allocator.model.build.build_formulation` takes them.
    """
    from allocator.model.build import build_formulation
    from allocator.model.patterns import check_welfare, pattern_profiles
    from allocator.results.rota import RotaAllocation

    start = time.perf_counter()
    solver = get_backend(backend)
    left_out = []
    if floors is None:
        if service_levels is None and getattr(force, "service_levels", None) is not None \
                and getattr(workload, "partials", None) is None:
            left_out.append("service levels left out: the workload is an array of hours, without the demand "
                            "records the queueing floors are worked out from (pass a Workload)")
            service_levels = False
        floors = service_floors(workload, force, service_levels)
    f = build_formulation(workload, force, current, max_moves, allow_unallocated, equal_teams, floors=floors)
    built = time.perf_counter() - start
    report = SolverReport(backend=solver.name, status="optimal")
    report.build_seconds = built
    reasons = unreachable_minimums(f)
    if reasons:
        report.status = "infeasible"
        report.seconds = time.perf_counter() - start
        raise InfeasibleError(reasons, report)
    profiles = list(f.profiles) or pattern_profiles(force)  # worked out once, by the builder
    warnings = [f"{p.name}: {w}" for p in profiles if p.kind == "rota" for w in check_welfare(p)] + left_out
    for w in warnings:
        logger.warning("%s", w)
    remaining = time_limit - (time.perf_counter() - start)
    x, levels = solve_formulation(f, solver, report, remaining, seed, tie_break, route=route)
    report.seconds = time.perf_counter() - start
    if x is None:
        if report.status == "infeasible":
            # explained only when it happens: the per-area checks cost a small solve each
            core = replace(f, families=[g for g in f.families if g.name != RESPONSE_FLOORS])  # floors bend
            reasons = diagnose_formulation(core, solver, max(time_limit / 4, 1.0)) or [
                f"the {solver.name} solver found the rules infeasible, but no reason was found: a solver fault"]
            report.seconds = time.perf_counter() - start
            raise InfeasibleError(reasons, report)
        raise InfeasibleError([f"the {solver.name} solver found no posting within the time limit "
                               f"({time_limit:g} s)"], report)
    f = f.floors_held_at(report.objective.get("service level[all]", 1.0))
    if not f.admits(x):
        report.status = "error"
        logger.error("the posting breaks: %s", "; ".join(f.broken(x)[:5]))
    result = RotaAllocation(f, x, report, ratios=levels, warnings=warnings, profiles=profiles, force=force)
    short = result.shortfall_words()
    if short:
        logger.warning("%s", short)
        result.warnings.append(short)
    return result


def service_floors(workload: Any, force: Any, service_levels: bool | None) -> Any:
    """The response floors to allocate with: None when service levels are off (or the force has none).

    ``service_levels=True`` on a force without a ``service_levels`` section is
    an :class:`~allocator.errors.ArgumentError`.
    """
    from allocator.errors import ArgumentError

    config = getattr(force, "service_levels", None)
    if service_levels is False or (service_levels is None and config is None):
        return None
    if config is None:
        raise ArgumentError("service_levels", service_levels,
                            "the force file has no service_levels section to take the floors from")
    if getattr(workload, "partials", None) is None:
        raise ArgumentError("service_levels", service_levels,
                            "the queueing floors are worked out from the demand records: pass a Workload "
                            "(allocator.compute_workload), not an array of hours")
    from allocator.queueing.response import response_floors

    return response_floors(force, workload)
