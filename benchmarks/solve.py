"""Allocation solve benchmark: the structured solve beside the plain formulation, per backend.

Run: ``.venv/bin/python benchmarks/solve.py`` (``--quick`` skips the 300-area
forces; ``--plain-limit`` sets the time limit of each plain solve, default 60 s).
Other sizes: ``--areas 3000 --roles 8`` (generated forces only, every variant),
``--variants plain,move limit`` to pick variants, ``--backends cpsat`` to pick
backends, ``--no-sample`` to skip the sample force.

Cases: the sample force with a real workload (synthetic demand through the
workload engine); generated forces of 60 and 300 areas x 5 shifts x 5 roles
with random workloads, plain, with area bounds on every tenth area, and with a
current posting and a move limit. For each backend two solves of the same
problem in the same run:

* **structured** (``allocate.solve``): the exact maximin (water-filling or the
  breakpoint search), then the separable stages by the exact greedy, or the
  backend's MILP when a move limit couples the cells;
* **MILP+hint** (move-limit cases only, ``solve(..., exact_stages=False)``):
  the exact maximin, then the stages after it by the backend's MILP with the
  narrowed cell ranges and the closest posting as hint, instead of the exact
  parametric greedy;
* **plain** (``solve(..., structured=False)``): every stage by the backend's
  MILP, stage 1 the plain maximin MILP (``allocator.solve.milp.maximin_spec``:
  continuous ``u``, whole posts, all the rules, the move limit linearised).

Printed per solve: status, total seconds, the part spent building models, the
maximin stage and the other stages; per backend the speed-up (plain total /
structured total) and whether the two agree on every stage objective.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings

import numpy as np

import allocator
from allocator.data.demand import load_demand
from allocator.model.force import Area, DemandType, Force, JudgementRow, Role, Shift
from allocator.model.problem import AllocationProblem
from allocator.solve.milp import available_backends
from allocator.solve.planner import solve
from allocator.solve.report import SolverReport

warnings.filterwarnings("ignore", category=DeprecationWarning)


ROLE_NAMES = ["PC", "PCSO", "LCI", "DC", "SGT", "DS", "INSP", "CSI"]
PER_AREA = [70, 20, 10, 8, 6, 6, 6, 6]  # six at least: the minimum staffing of Late and Night


def generated_force(n_areas: int, n_roles: int = 5, area_bounds: bool = False) -> Force:
    """``n_areas`` areas x 5 shifts x ``n_roles`` roles (up to 8); caps on PC and PCSO in every tenth area."""
    names = ROLE_NAMES[:n_roles]
    shifts = [
        Shift(name="Early", start="07:00", hours=9),
        Shift(name="Day", start="10:00", hours=8),
        Shift(name="Late", start="14:00", hours=10),
        Shift(name="Twilight", start="18:00", hours=8),
        Shift(name="Night", start="22:00", hours=10),
    ]
    roles = []
    for k, name in enumerate(names):
        per_area = PER_AREA[k]
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


def _split(rep: SolverReport) -> tuple[float, float]:
    """Seconds in the maximin stage and in the other stages."""
    first = sum(s.seconds for s in rep.stages if s.name == "maximin")
    rest = sum(s.seconds for s in rep.stages if s.name != "maximin")
    return first, rest


def _line(kind: str, rep: SolverReport, total: float) -> str:
    first, rest = _split(rep)
    methods = sorted({s.method for s in rep.stages})
    return (f"    {kind:10s} {rep.status:11s} total {total:7.3f} s  build {rep.build_seconds:6.3f} s  "
            f"maximin {first:7.3f} s  other stages {rest:7.3f} s  gap {rep.gap:.2g}  by {', '.join(methods)}")


def _agree(a: SolverReport, b: SolverReport) -> bool:
    if a.objective.keys() != b.objective.keys():
        return False
    return all(
        (math.isnan(v) and math.isnan(b.objective[k])) or math.isclose(v, b.objective[k], rel_tol=1e-6, abs_tol=1e-9)
        for k, v in a.objective.items()
    )


def run_case(label: str, problem: AllocationProblem, build: float, backends: list[str],
             plain_limit: float) -> list[tuple[str, str, float, float, str]]:
    """Solve ``problem`` structured and plain on each backend; print and return the timings."""
    A, S, R = problem.shape
    print(f"\n{label}: {A} areas x {S} shifts x {R} roles, build_problem {build * 1000:.1f} ms", flush=True)
    rows = []
    first = None
    for b in backends:
        t0 = time.perf_counter()
        fast = solve(problem, backend=b, time_limit=60)
        t_fast = time.perf_counter() - t0
        same = "" if first is None else ("same posting" if (fast.posts == first).all() else "other posting")
        first = fast.posts if first is None else first
        print(f"  {b}  {same}")
        print(_line("structured", fast.solver, t_fast))
        t0 = time.perf_counter()
        try:
            plain_rep = solve(problem, backend=b, time_limit=plain_limit, structured=False).solver
        except allocator.InfeasibleError as exc:  # the plain MILP found no posting in its time limit
            plain_rep = exc.report
        t_plain = time.perf_counter() - t0
        print(_line("plain", plain_rep, t_plain))
        if problem.max_moves is not None and problem.current is not None:
            # the backend's MILP for the stages after the maximin, hinted with the closest posting
            t0 = time.perf_counter()
            hinted = solve(problem, backend=b, time_limit=plain_limit, exact_stages=False)
            t_hint = time.perf_counter() - t0
            same_h = "same posting" if (hinted.posts == fast.posts).all() else "other posting"
            print(_line("MILP+hint", hinted.solver, t_hint) + f"  {same_h}, "
                  f"objectives {'agree' if _agree(fast.solver, hinted.solver) else 'DIFFER'}")
            print(f"    MILP+hint / structured {t_hint / t_fast:.1f}x; plain / MILP+hint {t_plain / t_hint:.1f}x")
        limited = plain_rep.status != "optimal"
        agree = ("not compared" if limited else "agree" if _agree(fast.solver, plain_rep) else "DIFFER")
        print(f"    speed-up {'>=' if limited else ''}{t_plain / t_fast:.1f}x; stage objectives {agree}"
              + (f" (plain ended {plain_rep.status} at its {plain_limit:g} s limit)" if limited else ""))
        rows.append((label, b, t_fast, t_plain, plain_rep.status))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 300-area forces")
    parser.add_argument("--plain-limit", type=float, default=60.0, help="time limit of each plain solve")
    parser.add_argument("--areas", type=int, nargs="*", default=None,
                        help="sizes of the generated forces (default 60 and 300; 60 with --quick)")
    parser.add_argument("--roles", type=int, default=5, choices=range(1, len(ROLE_NAMES) + 1),
                        help="roles of the generated forces (default 5)")
    parser.add_argument("--variants", default="plain,area bounds,move limit",
                        help="comma-separated: plain, area bounds, move limit")
    parser.add_argument("--backends", default=None, help="comma-separated backends (default every one but 'pulp')")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample force")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the generated SGT role warns of uncovered cells
    backends = args.backends.split(",") if args.backends else [b for b in available_backends() if b != "pulp"]
    variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in variants if v not in ("plain", "area bounds", "move limit")]
    if unknown:
        parser.error(f"unknown variants {unknown}")

    rows: list[tuple[str, str, float, float, str]] = []
    if not args.no_sample:
        force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
        demand = allocator.sample_demand(force, 17_250, seed=0)
        work = allocator.compute_workload(load_demand(demand, force).records, force)
        t0 = time.perf_counter()
        problem = allocator.build_problem(work, force)
        rows += run_case("sample force, real workload", problem, time.perf_counter() - t0, backends,
                         args.plain_limit)

    rng = np.random.default_rng(42)
    sizes = args.areas if args.areas is not None else ([60] if args.quick else [60, 300])
    R = args.roles
    for n in sizes:
        W = rng.lognormal(7, 0.6, (n, 5, R))
        for variant in variants:
            f = generated_force(n, n_roles=R, area_bounds=variant == "area bounds")
            current, limit = None, None
            if variant == "move limit":
                # last period's posting: the allocation of a workload that has drifted since
                before = W * rng.lognormal(0, 0.3, W.shape)
                current = solve(allocator.build_problem(before, f)).posts
                limit = n // 2
            t0 = time.perf_counter()
            problem = allocator.build_problem(W, f, current=current, max_moves=limit)
            build = time.perf_counter() - t0
            label = {"plain": f"generated {n} areas",
                     "area bounds": f"generated {n} areas, area bounds on every 10th area",
                     "move limit": f"generated {n} areas, current posting, at most {limit} moves per role"}[variant]
            rows += run_case(label, problem, build, backends, args.plain_limit)

    print("\nsummary: structured / plain seconds (speed-up)")
    for label, b, t_fast, t_plain, status in rows:
        mark = ">=" if status != "optimal" else ""
        print(f"  {label[:58]:58s} {b:11s} {t_fast:7.3f} / {t_plain:7.2f} s ({mark}{t_plain / t_fast:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
