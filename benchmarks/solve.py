"""Allocation solve benchmark: model build and solve times per backend, beside the plain MILP.

Run: ``.venv/bin/python benchmarks/solve.py`` (``--quick`` skips the 300-area force;
``--plain-limit`` sets the time limit of the plain formulation, default 20 s).

Cases: the sample force with a real workload (synthetic demand through the
workload engine), and generated forces of 60 and 300 areas x 5 shifts x 5
roles with random workloads, each with and without area bounds (which couple
cells and send the maximin stage to the exact breakpoint search). For one role
per generated force, the plain formulation (one continuous ratio variable,
integer posts, the total and lower bounds only, maximise the ratio) is solved
directly with HiGHS and CBC for comparison.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings

import numpy as np
import pulp

import allocator
from allocator.allocate import solve
from allocator.backends import available_backends
from allocator.config import Area, DemandType, Force, JudgementRow, Role, Shift
from allocator.demand import load_demand

warnings.filterwarnings("ignore", category=DeprecationWarning)


def generated_force(n_areas: int, n_roles: int = 5, area_bounds: bool = False, seed: int = 0) -> Force:
    names = ["PC", "PCSO", "LCI", "DC", "SGT"][:n_roles]
    shifts = [
        Shift(name="Early", start="07:00", hours=9),
        Shift(name="Day", start="10:00", hours=8),
        Shift(name="Late", start="14:00", hours=10),
        Shift(name="Twilight", start="18:00", hours=8),
        Shift(name="Night", start="22:00", hours=10),
    ]
    roles = []
    for k, name in enumerate(names):
        per_area = [70, 20, 10, 8, 6][k]
        roles.append(Role(name=name, establishment=per_area * n_areas, abstraction=0.45,
                          proactive_share=0.2, min_on_duty={"Late": 1, "Night": 1}))
    areas = []
    for i in range(n_areas):
        cap = {}
        if area_bounds and i % 10 == 0:
            cap = {"PC": 60, "PCSO": 18}
        areas.append(Area(name=f"Area {i:03d}", max_posts=cap))
    return Force(
        name=f"Generated {n_areas}",
        areas=areas,
        shifts=shifts,
        roles=roles,
        demand_types=[DemandType(code="ALL")],
        judgement=[JudgementRow(demand_type="ALL", role=n, share=1 / len(names), minutes=60) for n in names],
    )


def plain_milp(W: np.ndarray, K: np.ndarray, lower: np.ndarray, total: int, solver: str,
               limit: float) -> tuple[str, float, float]:
    """max u s.t. K_c x_c >= u W_c, sum x = total, x >= lower, x integer (one role)."""
    prob = pulp.LpProblem("plain", pulp.LpMaximize)
    u = prob.add_variable("u", 0)
    x = [prob.add_variable(f"x{c:05d}", int(lower[c]), total, cat=pulp.LpInteger) for c in range(W.size)]
    prob += u
    prob += pulp.lpSum(x) == total
    for c in np.flatnonzero(W > 0):
        prob += float(K[c]) * x[c] - float(W[c]) * u >= 0
    t0 = time.perf_counter()
    if solver == "highs":
        prob.solve(pulp.HiGHS(msg=False, timeLimit=limit, threads=1))
    else:
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, threads=1))
    secs = time.perf_counter() - t0
    status = {1: "optimal", 2: "feasible", 0: "no solution", -1: "infeasible"}.get(prob.sol_status, "?")
    found = prob.sol_status in (1, 2) and u.value() is not None
    value = float(u.value()) if found else math.nan
    return status, value, secs


def run_case(label: str, work: object, force: Force, backends: list[str], plain_limit: float | None) -> None:
    t0 = time.perf_counter()
    problem = allocator.build_problem(work, force)
    build = time.perf_counter() - t0
    A, S, R = problem.shape
    print(f"\n{label}: {A} areas x {S} shifts x {R} roles, build_problem {build * 1000:.1f} ms")
    first = None
    a = None
    for b in backends:
        t0 = time.perf_counter()
        a = solve(problem, backend=b, time_limit=60)
        total = time.perf_counter() - t0
        maximin = sum(s.seconds for s in a.solver.stages if s.name == "maximin")
        milp = sum(s.seconds for s in a.solver.stages if s.name != "maximin")
        same = "" if first is None else ("  same posting" if (a.posts == first).all() else "  other posting")
        first = a.posts if first is None else first
        print(f"  {b:11s} {a.solver.status:8s} total {total:7.3f} s  (exact maximin {maximin:.3f} s, "
              f"MILP stages {milp:.3f} s, gap {a.solver.gap:.2g}){same}")
    if plain_limit is not None and a is not None:
        rp = problem.role_problem(0)
        exact = a.ratios[rp.name]
        print(f"  plain formulation, role {rp.name} only ({rp.workload.size} cells), limit {plain_limit:g} s;"
              f" exact u* = {exact:.6f}")
        for solver in ("highs", "cbc"):
            status, value, secs = plain_milp(rp.workload, rp.capacity, rp.lo, rp.total, solver, plain_limit)
            print(f"    {solver:5s} {status:11s} {secs:7.2f} s  u = {value:.6f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 300-area force")
    parser.add_argument("--plain-limit", type=float, default=20.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the generated SGT role warns of uncovered cells
    backends = [b for b in available_backends() if b != "pulp"]

    force = allocator.load_force(allocator.sample_path("force.yaml"))
    demand = allocator.sample_demand(force, 17_250, seed=0)
    work = allocator.compute_workload(load_demand(demand, force).records, force)
    run_case("sample force, real workload", work, force, backends, None)

    rng = np.random.default_rng(42)
    sizes = [60] if args.quick else [60, 300]
    for n in sizes:
        for bounds in (False, True):
            f = generated_force(n, area_bounds=bounds)
            W = rng.lognormal(7, 0.6, (n, 5, 5))
            label = f"generated {n} areas" + (", area bounds on every 10th area" if bounds else "")
            run_case(label, W, f, backends, args.plain_limit if not bounds else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
