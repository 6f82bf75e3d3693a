"""Allocation on rotas: the default route (exact bisection + lexicographic stages) against the plain MILP.

    .venv/bin/python benchmarks/rota.py                 # sample, 60 and 300 areas
    .venv/bin/python benchmarks/rota.py --areas 3000    # one size

Each case builds a synthetic force on patterns (PCs on a five-team 2-2-2,
PCSOs on a seven-team earlies-and-lates rota, LCIs on weekday days, an LCI
to PC ratio) with random judged hours per area and hour of the week, then:

* **default**: ``allocator.allocate`` (exact maximin by bisection over
  whole-number feasibility questions, then the later stages), on CP-SAT;
* **maximin per area / whole**: the maximin stages alone, their level
  questions answered split by area (``route="areas"``, what the default
  takes here) or by one CP-SAT feasibility solve of the whole formulation
  each (``route="whole"``); the levels must agree;
* **plain MILP**: the maximin of each role as one MILP with a continuous
  level ``t`` (``max t`` s.t. ``I x >= t need``) on HiGHS, the straightforward
  formulation the bisection replaces, given the same time limit.

It prints wall time, status and the smallest coverage of each, and the ratio.

**Monthly reallocation** (``--reallocation``, and always on the sample): with a
current posting (last period's allocation of a drifted workload, or the
sample's ``current.csv``) the stages after the maximin are fewest moves (a
change of team is a move), proportional shares and the tie-break. The default
solves them on (area, role) totals with each total's split into teams
tabulated (``allocator.solve.exact.totals``); the reference is one CP-SAT model
of all columns (``solve_formulation(..., totals=False)``, what the default did
before). Both run in the same process on the same formulation; the stage
objectives must agree. On the sample it times ``allocator.allocate(workload,
force, current=...)`` itself (its ``SolverReport.seconds``), the reference
through the same call with the old later stages put back.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import time

import highspy
import numpy as np

import allocator
from allocator.model.build import build_formulation
from allocator.model.force import Force
from allocator.solve.lexicographic import solve_formulation
from allocator.solve.milp import get_backend
from allocator.solve.report import SolverReport
from reference import sample_over_areas


def synthetic_force(areas: int) -> Force:
    """The sample force's roles and patterns over ``areas`` areas, establishments scaled."""
    return sample_over_areas(areas)


def workload(force: Force, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A, R = len(force.areas), len(force.roles)
    base = rng.uniform(0.5, 1.5, (A, 1, R)) * np.array([60.0, 15.0, 10.0])[None, None, :R]
    hourly = 0.6 + 0.4 * np.sin(np.linspace(0, 14 * np.pi, 168))[None, :, None]
    return base * hourly * rng.uniform(0.7, 1.3, (A, 168, R))


def plain_milp(force: Force, W: np.ndarray, time_limit: float) -> tuple[float, str, dict[str, float]]:
    """Each role's maximin as one MILP with a continuous level, on HiGHS (no bisection, no structure)."""
    f = build_formulation(W, force)
    t0 = time.perf_counter()
    levels: dict[str, float] = {}
    status = "optimal"
    for r, role in enumerate(f.roles):
        cols = np.flatnonzero(f.col_role == r)
        bm = f.bucket_minutes()[cols]  # (K, B): each column's minutes in each bucket
        where = np.argwhere(f.workload[:, r, :] > 0)
        need = f.workload[where[:, 0], r, where[:, 1]] / f.kappa[r]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", max(time_limit - (time.perf_counter() - t0), 0.1))
        h.setOptionValue("threads", 1)
        n = f.n
        inf = highspy.kHighsInf
        for j in range(n):
            h.addVar(float(f.col_lo[j]), float(f.col_hi[j]))
            h.changeColIntegrality(j, highspy.HighsVarType.kInteger)
        h.addVar(0.0, inf)  # the level t, column n
        h.changeColCost(n, -1.0)
        for fam in f.families:
            if fam.l1:
                continue
            for i in range(fam.n_rows):
                idx = fam.cols[fam.rows == i]
                val = fam.vals[fam.rows == i].astype(float)
                h.addRow(float(fam.lo[i]) if np.isfinite(fam.lo[i]) else -inf,
                         float(fam.hi[i]) if np.isfinite(fam.hi[i]) else inf, len(idx), idx.astype(np.int32), val)
        in_area = [np.flatnonzero(f.col_area[cols] == a) for a in range(len(f.areas))]
        for i, (a, b) in enumerate(where):
            nz = in_area[a][bm[in_area[a], b] > 0]
            idx = np.concatenate([cols[nz], [n]]).astype(np.int32)
            val = np.concatenate([bm[nz, b].astype(float), [-float(need[i])]])
            h.addRow(0.0, inf, len(idx), idx, val)
        h.run()
        model_status = h.getModelStatus()
        if model_status == highspy.HighsModelStatus.kOptimal:
            x = np.round(np.array(h.getSolution().col_value[:n])).astype(np.int64)
            levels[role] = f.min_coverage(x, r)
        else:
            status = h.modelStatusToString(model_status)
            levels[role] = float("nan")
            break
    return time.perf_counter() - t0, status, levels


def maximin_only(force: Force, W: np.ndarray, route: str, time_limit: float) -> tuple[float, str, dict[str, float]]:
    """The maximin stages alone on one route: seconds, worst status, levels."""
    f = build_formulation(W, force)
    report = SolverReport(backend="cpsat", status="optimal")
    t0 = time.perf_counter()
    solve_formulation(f, get_backend("cpsat"), report, time_limit, route=route, later=False)
    seconds = time.perf_counter() - t0
    stages = [s for s in report.stages if s.name == "maximin"]
    status = "optimal" if stages and all(s.status == "optimal" for s in stages) else report.status
    if stages and status != "optimal":
        status = "feasible"
    return seconds, status, {s.role: round(s.objective, 6) for s in stages}


def run(areas: int, time_limit: float, seed: int = 0, whole: bool = True) -> None:
    force = synthetic_force(areas)
    W = workload(force, seed)
    t0 = time.perf_counter()
    a = allocator.allocate(W, force, time_limit=time_limit)
    fast = time.perf_counter() - t0
    levels = {k: round(v, 6) for k, v in a.ratios.items()}
    maximin = sum(s.seconds for s in a.solver.stages if s.name == "maximin")
    print(f"{areas:>5} areas x {len(force.roles)} roles, {a.formulation.n} columns: default {fast:7.2f} s "
          f"({a.solver.status}, gap {a.solver.gap:.2g}, maximin stages {maximin:.2f} s) {levels}")
    area_s, area_status, area_levels = maximin_only(force, W, "areas", time_limit)
    line = f"{'':>5}       maximin per area {area_s:7.2f} s ({area_status})"
    if whole:
        whole_s, whole_status, whole_levels = maximin_only(force, W, "whole", time_limit)
        same = "same levels" if whole_levels == area_levels else f"levels differ: {whole_levels}"
        line += (f"; whole-formulation bisection {whole_s:7.2f} s ({whole_status}, {same}); "
                 f"ratio {whole_s / area_s:.0f}x")
    print(line)
    plain_s, status, plain_levels = plain_milp(force, W, time_limit)
    print(f"{'':>5}       plain MILP (HiGHS, maximin only) {plain_s:7.2f} s ({status}) "
          f"{ {k: round(v, 6) for k, v in plain_levels.items()} }; ratio {plain_s / fast:.1f}x")


def _later(report: SolverReport) -> dict[str, float]:
    return {s.name: s.objective for s in report.stages if s.name in ("moves", "proportional", "tie-break")}


def _timed_allocate(workload: object, force: Force, current: object, totals: bool, time_limit: float,
                    repeat: int) -> tuple[float, float, allocator.RotaAllocation]:
    """Best of ``repeat``: ``SolverReport.seconds`` and the later stages' seconds of ``allocate``."""
    import allocator.solve.rota as rota_solve

    real = rota_solve.solve_formulation
    rota_solve.solve_formulation = functools.partial(real, totals=totals)  # type: ignore[assignment]
    try:
        best, later, a = math.inf, math.inf, None
        for _ in range(repeat):
            a = allocator.allocate(workload, force, current=current, time_limit=time_limit)
            if a.solver.seconds < best:
                best = a.solver.seconds
                later = sum(s.seconds for s in a.solver.stages if s.name != "maximin")
    finally:
        rota_solve.solve_formulation = real  # type: ignore[assignment]
    assert isinstance(a, allocator.RotaAllocation)
    return best, later, a


def sample_reallocation(time_limit: float, repeat: int = 5) -> None:
    """The sample force's monthly reallocation: ``allocate(..., current=current.csv)``, new and old later stages."""
    from allocator.data.demand import load_demand

    force = allocator.load_force(allocator.sample_path("force.yaml"))
    work = allocator.compute_workload(load_demand(allocator.sample_path("demand.csv"), force).records, force)
    current = allocator.sample_path("current.csv")
    old_s, old_later, old = _timed_allocate(work, force, current, False, time_limit, repeat)
    new_s, new_later, new = _timed_allocate(work, force, current, True, time_limit, repeat)
    same = _later(new.solver) == _later(old.solver) and new.ratios == old.ratios
    print(f"sample reallocation (allocate with current.csv, best of {repeat}): solve {new_s:.3f} s "
          f"(later stages {new_later:.3f} s, on totals) against {old_s:.3f} s (later stages {old_later:.3f} s, "
          f"one CP-SAT model of all columns); ratio {old_s / new_s:.1f}x; "
          f"{'same stage objectives' if same else 'OBJECTIVES DIFFER'} {_later(new.solver)}")


def reallocation(areas: int, time_limit: float, seed: int = 0) -> None:
    """A synthetic force's monthly reallocation: later stages on totals against one model of all columns."""
    force = synthetic_force(areas)
    W = workload(force, seed)
    drifted = W * np.random.default_rng(seed + 1).lognormal(0.0, 0.3, W.shape)
    current = allocator.allocate(drifted, force, time_limit=time_limit).x
    f = build_formulation(W, force, current=current)
    found = {}
    for totals in (True, False):
        report = SolverReport(backend="cpsat", status="optimal")
        t0 = time.perf_counter()
        solve_formulation(f, get_backend("cpsat"), report, time_limit, totals=totals)
        seconds = time.perf_counter() - t0
        later = sum(s.seconds for s in report.stages if s.name != "maximin")
        found[totals] = (seconds, later, report.status, _later(report))
    (new_s, new_l, new_st, new_v), (old_s, old_l, old_st, old_v) = found[True], found[False]
    same = "same stage objectives" if new_v == old_v else f"objectives differ: {old_v}"
    print(f"{areas:>5} areas reallocation: later stages on totals {new_s:7.2f} s ({new_st}, later {new_l:.2f} s) "
          f"against one model of all columns {old_s:7.2f} s ({old_st}, later {old_l:.2f} s); "
          f"ratio {old_s / new_s:.1f}x; {same} {new_v}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--areas", type=int, nargs="*", default=[6, 60, 300])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-formulation bisection")
    parser.add_argument("--reallocation", action="store_true",
                        help="also time the monthly reallocation (a current posting) at each size")
    parser.add_argument("--only-reallocation", action="store_true",
                        help="time only the monthly reallocations (the sample's and, with --areas, synthetic ones)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sample_reallocation(args.time_limit)
    for areas in args.areas:
        if not args.only_reallocation:
            run(areas, args.time_limit, whole=not args.no_whole)
        if args.reallocation or args.only_reallocation:
            reallocation(areas, args.time_limit)


if __name__ == "__main__":
    main()
