"""Response floors in the allocation: the service-level stage per area against the whole formulation and a plain MILP.

    .venv/bin/python benchmarks/service.py                  # the sample force, then 60 and 300 areas
    .venv/bin/python benchmarks/service.py --areas 300      # one size

The sample case is the bundled force with its own ``service_levels`` section
and sample demand (floors from the queueing model). The synthetic cases take
the force builder of ``benchmarks/rota.py`` (PCs on a five-team 2-2-2, PCSOs,
LCIs, an LCI to PC ratio) and give every area response floors that vary by
hour of the week: "met" floors the establishment can staff, and "short"
floors it cannot (the stage then bisects). For each:

* **default**: ``allocate_on_patterns`` with the floors, every stage, on the
  route it picks (per area here);
* **stage per area / whole**: the service-level and maximin stages alone
  (``later=False``), the level questions split by area or asked of CP-SAT on
  the whole formulation; the levels must agree;
* **plain MILP**: the service level as one MILP with a continuous level
  (``max t <= 1`` s.t. every floor row ``>= t floor``) on HiGHS, the
  straightforward formulation the bisection replaces.

It prints wall time, status and the level reached, and the ratios.
"""

from __future__ import annotations

import argparse
import logging
import time

import highspy
import numpy as np

import allocator
from allocator.model import formulation as fm
from allocator.model.build import build_formulation
from allocator.model.force import Force
from allocator.solve.lexicographic import solve_formulation
from allocator.solve.milp import get_backend
from allocator.solve.report import SolverReport
from allocator.solve.rota import allocate_on_patterns
from reference import sample_over_areas


def synthetic_force(areas: int) -> Force:
    """The sample force's roles and patterns over ``areas`` areas, establishments scaled (as ``benchmarks/rota.py``)."""
    return sample_over_areas(areas)


def workload(force: Force, seed: int) -> np.ndarray:
    """Random judged hours per (area, hour of the week, role) with a daily curve (as ``benchmarks/rota.py``)."""
    rng = np.random.default_rng(seed)
    A, R = len(force.areas), len(force.roles)
    base = rng.uniform(0.5, 1.5, (A, 1, R)) * np.array([60.0, 15.0, 10.0])[None, None, :R]
    hourly = 0.6 + 0.4 * np.sin(np.linspace(0, 14 * np.pi, 168))[None, :, None]
    return np.asarray(base * hourly * rng.uniform(0.7, 1.3, (A, 168, R)))


def synthetic_floors(force: Force, seed: int, scale: float) -> np.ndarray:
    """Floors per (area, hour): ``scale`` x the PCs an even share of the establishment puts on duty, shaped by hour.

    With 2-2-2 and half abstracted an even share of ``E`` PCs over ``A`` areas
    puts ``E / A / 10`` on duty in every hour; the floors follow a weekly
    curve (busy evenings, Friday and Saturday nights) around ``scale`` times that.
    """
    rng = np.random.default_rng(seed)
    A = len(force.areas)
    pcs = force.roles[0].establishment
    even = pcs / A * (1 - force.roles[0].abstraction) / 5
    hour = np.arange(168)
    curve = 0.75 + 0.2 * np.sin((hour % 24 - 9) / 24 * 2 * np.pi) + 0.15 * ((hour >= 4 * 24 + 19) & (hour < 6 * 24 + 3))
    return np.round(scale * even * curve[None, :] * rng.uniform(0.6, 1.0, (A, 1)), 1)


def stages_only(f: fm.Formulation, route: str, time_limit: float) -> tuple[float, str, float, dict[str, float]]:
    """The service-level and maximin stages on one route: seconds, worst status, level, maximin levels."""
    report = SolverReport(backend="cpsat", status="optimal")
    t0 = time.perf_counter()
    solve_formulation(f, get_backend("cpsat"), report, time_limit, route=route, later=False)
    seconds = time.perf_counter() - t0
    stage = next(s for s in report.stages if s.name == "service level")
    maximin = {s.role: round(s.objective, 6) for s in report.stages if s.name == "maximin"}
    return seconds, report.status, round(stage.objective, 9), maximin


def plain_milp(f: fm.Formulation, time_limit: float) -> tuple[float, str, float]:
    """``max t <= 1`` with every floor row ``>= t floor`` and every other rule, one MILP on HiGHS."""
    fam = f.family(fm.RESPONSE_FLOORS)
    assert fam is not None
    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    n = f.n
    for j in range(n):
        h.addVar(float(f.col_lo[j]), float(f.col_hi[j]))
        h.changeColIntegrality(j, highspy.HighsVarType.kInteger)
    h.addVar(0.0, 1.0)  # the level t, column n
    h.changeColCost(n, -1.0)
    for g in f.families:
        if g.l1:
            continue
        floor = g is fam
        for i in range(g.n_rows):
            sel = g.rows == i
            idx, val = g.cols[sel], g.vals[sel].astype(float)
            if floor:  # sum a x - t L >= 0
                h.addRow(0.0, inf, len(idx) + 1, np.append(idx, n).astype(np.int32), np.append(val, -g.lo[i]))
            else:
                h.addRow(float(g.lo[i]) if np.isfinite(g.lo[i]) else -inf,
                         float(g.hi[i]) if np.isfinite(g.hi[i]) else inf, len(idx), idx.astype(np.int32), val)
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return seconds, h.modelStatusToString(status), float("nan")
    x = np.round(np.array(h.getSolution().col_value[:n])).astype(np.int64)
    return seconds, "optimal", round(min(1.0, float((fam.values(x) / fam.lo).min())), 9)


def case(name: str, force: Force, W: object, floors: object, time_limit: float, whole: bool) -> None:
    t0 = time.perf_counter()
    a = allocate_on_patterns(W, force, floors=floors, time_limit=time_limit)
    fast = time.perf_counter() - t0
    stage = next(s for s in a.solver.stages if s.name == "service level")
    f = a.formulation
    met = int(a.service_levels["met"].sum())
    print(f"{name:<22} {len(f.areas):>4} areas, {f.n} columns: default {fast:6.2f} s ({a.solver.status}); "
          f"service level {stage.objective:.4f} by {stage.method} in {stage.seconds:.3f} s; "
          f"{met} of {len(a.service_levels)} floored buckets met")
    g = build_formulation(W, force, floors=floors)
    area_s, area_status, area_level, area_maximin = stages_only(g, "areas", time_limit)
    line = f"{'':<22} stages per area {area_s:6.3f} s ({area_status}, level {area_level})"
    if whole:
        whole_s, whole_status, whole_level, whole_maximin = stages_only(g, "whole", time_limit)
        if (whole_level, whole_maximin) == (area_level, area_maximin):
            same = "same levels"
        elif whole_status != "optimal":
            same = f"stopped by the time limit; service level {whole_level}"
        else:
            same = "LEVELS DIFFER"
        line += f"; whole formulation {whole_s:6.2f} s ({whole_status}, {same}); ratio {whole_s / area_s:.0f}x"
    print(line)
    plain_s, plain_status, plain_level = plain_milp(g, time_limit)
    agree = "same level" if plain_level == area_level else f"level {plain_level}"
    bound = "" if plain_status == "optimal" else "at least "
    print(f"{'':<22} plain MILP (HiGHS, service level only) {plain_s:6.2f} s ({plain_status}, {agree}); "
          f"ratio to the stage per area {bound}{plain_s / max(stage.seconds, 1e-6):.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--areas", type=int, nargs="*", default=[60, 300])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--whole-up-to", type=int, default=60, metavar="N",
                        help="run the whole-formulation route only up to N areas (it takes minutes at 60)")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample force")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.no_sample:
        force = allocator.load_force(allocator.sample_path("force.yaml"))
        wl = allocator.compute_workload(allocator.load_demand(allocator.sample_path("demand.csv"), force).records,
                                        force)
        from allocator.queueing.response import response_floors

        case("sample (own floors)", force, wl, response_floors(force, wl), args.time_limit, args.whole_up_to >= 6)
    for areas in args.areas:
        force = synthetic_force(areas)
        W = workload(force, 0)
        for label, scale in (("met", 0.8), ("short", 1.6)):
            case(f"synthetic, {label}", force, W, synthetic_floors(force, 0, scale), args.time_limit,
                 areas <= args.whole_up_to)


if __name__ == "__main__":
    main()
