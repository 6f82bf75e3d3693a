"""Choose whole-number postings: exact maximin first, then a solver for the rest.

For each role (roles share no constraint) the stages are:

1. **maximin**: the largest ``u`` such that every cell with workload (pins
   aside) has coverage ``K_c x_c / W_c >= u``. The optimum is a breakpoint
   ``K_c m / W_c`` (m whole): for a candidate ``u`` the ratio constraint is the
   lower bound ``x_c >= ceil(u W_c / K_c)``, and whether those bounds can be
   met with the totals, area bounds, pins and move limit is decided exactly in
   closed form (:meth:`allocator.model.problem.RoleProblem.check`). Bisection over
   breakpoints finds ``u*`` exactly; when only totals and per-cell bounds
   apply, :func:`allocator.solve.exact.maximin.maximin_posts` answers directly.
2. **moves** (with a current posting and no ``max_moves``): minimise
   ``sum |x - current| / 2`` with the stage-1 floors fixed.
3. **proportional**: minimise ``sum |x_c - t_c|``, ``t_c`` the role's
   demand-proportional share; targets are scaled by 1000 and rounded to whole
   milli-posts for the integer solvers.
4. **tie-break**: minimise ``sum_c (c + 1) x_c`` so the posting does not
   depend on solver luck among equally good ones.

Stages 2-4 form one :class:`~allocator.solve.milp.MilpSpec`. Without a move
limit its rules are per-cell, per-area and total bounds (a laminar family) and
every stage is separable convex, so :func:`allocator.solve.exact.greedy.solve_greedy`
solves them exactly by marginal allocation, without a solver. With a move
limit (and an exact total) :func:`allocator.solve.exact.budget.solve_budget` solves
them exactly too, by a parametric greedy over the move limit's multiplier;
otherwise (or with ``exact_stages=False``) they go to the chosen backend
(CP-SAT or PuLP), hinted with the posting closest to the current one
(:func:`allocator.solve.exact.moves.closest_posting`, the fewest moves) or one built from
the stage-1 floors. Each stage report names its ``method``: ``"water-filling"``
or ``"exact search"`` for stage 1, ``"greedy"``, ``"parametric greedy"`` or
the backend for the others.

``structured=False`` solves everything with the backend instead: stage 1 as
the plain maximin MILP (:func:`allocator.solve.milp.maximin_spec`), stages 2-4 as
MILPs without a hint (the baseline the benchmark and the conformance tests
compare against). ``verify=True`` keeps the structured solve and also solves
the plain maximin MILP of every role with the backend, recording it in
``SolverReport.checks``; a smallest coverage different from the exact one by
more than 1e-6 relative marks the report ``error``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal

import numpy as np

from allocator.model.force import Force
from allocator.model.problem import AllocationProblem, RoleProblem, build_problem
from allocator.results.allocation import Allocation
from allocator.results.rota import RotaAllocation
from allocator.solve.arguments import check_allocate_arguments
from allocator.solve.diagnose import InfeasibleError, diagnose, explain_infeasible
from allocator.solve.exact.budget import budget_applies, solve_budget
from allocator.solve.exact.greedy import greedy_applies, solve_greedy
from allocator.solve.exact.maximin import maximin_posts
from allocator.solve.exact.moves import closest_posting, move_ranges
from allocator.solve.milp import (
    Backend,
    MilpResult,
    MilpSpec,
    Stage,
    available_backends,
    get_backend,
    maximin_spec,
)
from allocator.solve.report import SolverReport, StageReport, worst_status

__all__ = ["TARGET_SCALE", "VERIFY_RTOL", "allocate", "maximin_ratio", "proportional_targets", "solve"]

logger = logging.getLogger(__name__)

#: proportional targets are whole milli-posts in the integer solvers
TARGET_SCALE = 1000
#: relative tolerance of ``verify=True``: the plain MILP's coverage against the exact one
VERIFY_RTOL = 1e-6
EXACT_SEARCH = "exact search"
WATER_FILLING = "water-filling"


def allocate(
    workload: Any,
    force: Force,
    current: Any = None,
    backend: str = "cpsat",
    time_limit: float = 60,
    max_moves: int | None = None,
    allow_unallocated: bool = False,
    fairness: Literal["maximin"] = "maximin",
    seed: int = 0,
    tie_break: bool = True,
    verify: bool = False,
    structured: bool = True,
    exact_stages: bool = True,
    equal_teams: bool = False,
    route: Literal["auto", "areas", "whole"] = "auto",
    service_levels: bool | None = None,
) -> Allocation | RotaAllocation:
    """Allocate each role's establishment to (area, shift) cells, or to patterns and teams.

    A force with duty ``windows`` and ``patterns`` is allocated on them: posts
    per (area, role, pattern, team), coverage judged per bucket of the week,
    all roles in one formulation (:func:`allocator.solve.rota.allocate_on_patterns`),
    and the result is a :class:`~allocator.results.rota.RotaAllocation`. A
    force of ``shifts`` worked every day keeps the per-shift cells below.

    Parameters
    ----------
    workload
        A ``Workload`` or an array of judged hours (areas, shifts, roles).
    force
        The force (establishment, abstraction, minimums, area bounds, pins).
    current
        The current posting (DataFrame, CSV path or array), for moves.
    backend
        ``"cpsat"`` (default), ``"pulp"`` / ``"pulp:cbc"`` or ``"pulp:highs"``.
    time_limit
        Seconds for the whole solve.
    max_moves
        Largest number of officers that may move from ``current``.
    allow_unallocated
        Let a role post fewer than its establishment.
    fairness
        ``"maximin"`` (the only rule): raise the smallest coverage of each
        role. A ``"leximin"`` option existed and was removed: under area
        bounds and move limits it was not exact.
    seed
        Solver random seed (results are deterministic for a given seed).
    tie_break
        Add the final deterministic tie-break stage.
    verify
        Also solve each role's plain maximin MILP with the backend and check
        that its smallest coverage equals the exact one (1e-6 relative); the
        MILP stages are recorded in ``result.solver.checks``.
    structured
        Use the problem's structure (exact maximin search, greedy stages);
        False solves every stage with the backend's MILP (slower; for checks).
    exact_stages
        Under a move limit, solve the stages after the maximin exactly by the
        parametric greedy (default); False leaves them to the backend's MILP,
        hinted with the posting closest to the current one (for checks).
    equal_teams
        Forces on patterns: a rota's teams exactly equal (default: within one post).
    route
        Forces on patterns: how the maximin's level questions are answered.
        ``"auto"`` splits them by area when only the establishment links
        areas, else asks the backend on the whole formulation; ``"areas"``
        insists on the split (``ValueError`` naming why it does not apply);
        ``"whole"`` always asks the backend. Every stage report names the
        route, and why the whole formulation was used.
    service_levels
        Forces on patterns: keep the response floors of the force file's
        ``service_levels`` section (default: on when it has one). The floors
        are met as far as the establishment allows before coverage is shared
        out; a shortfall is reported, not an error. True on a force without
        the section is an ``ArgumentError``.

    Returns
    -------
    Allocation

    Raises
    ------
    allocator.errors.ArgumentError
        Before any work, for an unusable argument (see
        :func:`allocator.solve.arguments.check_allocate_arguments`).
    allocator.solve.diagnose.InfeasibleError
        If no posting meets the rules; ``.reasons`` says why in the force's words.

    Examples
    --------
    >>> import numpy as np, allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> W = np.random.default_rng(0).uniform(500, 3000, (6, 5, 3))
    >>> result = allocate(W, force, time_limit=10)
    >>> result.solver.status, result.posts.sum(axis=(0, 1)).tolist()
    ('optimal', [400, 120, 60])
    """
    if service_levels is not None and force.is_legacy and service_levels:
        from allocator.errors import ArgumentError

        raise ArgumentError("service_levels", service_levels, "needs a force on duty patterns (windows and patterns)")
    args = check_allocate_arguments(backend, time_limit, max_moves, fairness, seed, has_current=current is not None)
    backend, time_limit, max_moves, seed = args.backend, args.time_limit, args.max_moves, args.seed
    if not force.is_legacy:
        # a force on duty patterns: one formulation of all roles (see allocator.solve.rota)
        from allocator.solve.rota import allocate_on_patterns

        return allocate_on_patterns(workload, force, current, backend=backend, time_limit=time_limit,
                                    max_moves=max_moves, allow_unallocated=allow_unallocated, seed=seed,
                                    tie_break=tie_break, equal_teams=equal_teams, route=route,
                                    service_levels=service_levels)
    if service_levels is None and getattr(force, "service_levels", None) is not None:
        logger.warning("response floors apply to forces on duty patterns: this force of shifts is allocated "
                       "without them (its service levels can still be measured)")
    t0 = time.perf_counter()
    problem = build_problem(workload, force, current, max_moves, allow_unallocated)
    built = time.perf_counter() - t0
    try:
        result = solve(problem, backend=backend, time_limit=time_limit, fairness=fairness, seed=seed,
                       tie_break=tie_break, verify=verify, structured=structured, exact_stages=exact_stages)
    except InfeasibleError as exc:
        if isinstance(exc.report, SolverReport):
            exc.report.seconds += built
            exc.report.build_seconds += built
        raise
    result.solver.seconds += built
    result.solver.build_seconds += built
    return result


def solve(
    problem: AllocationProblem,
    backend: str = "cpsat",
    time_limit: float = 60,
    fairness: Literal["maximin"] = "maximin",
    seed: int = 0,
    tie_break: bool = True,
    verify: bool = False,
    structured: bool = True,
    exact_stages: bool = True,
) -> Allocation:
    """Solve an :class:`~allocator.model.problem.AllocationProblem` (see :func:`allocate`).

    ``exact_stages=False`` (for benchmarks and checks) leaves the stages after
    the maximin under a move limit to the backend's MILP, hinted with the
    closest posting, instead of the exact parametric greedy.
    """
    if fairness != "maximin":
        raise ValueError(f"fairness must be 'maximin', got {fairness!r} (the leximin option was removed: "
                         "it was not exact under area bounds and move limits)")
    start = time.perf_counter()
    solver = get_backend(backend)
    found = diagnose(problem)
    report = SolverReport(backend=solver.name, status="optimal")
    if found.errors:
        report.status = "infeasible"
        report.seconds = time.perf_counter() - start
        raise InfeasibleError(found.errors, report)
    for w in found.warnings:
        logger.warning("%s", w)

    A, S, R = problem.shape
    posts = np.zeros(problem.shape, dtype=np.int64)
    ratios: dict[str, float] = {}
    targets = np.zeros(problem.shape)
    for r in range(R):
        rp = problem.role_problem(r)
        t0 = time.perf_counter()
        hint: np.ndarray | None = None
        if not structured:
            u, floors = _milp_maximin(rp, solver, report, time_limit - (time.perf_counter() - start), seed)
        elif _uncoupled(rp):
            # totals and per-cell bounds only: the exact fast path answers directly
            fast = maximin_posts(np.where(rp.objective, rp.workload, 0.0), rp.capacity, rp.lo,
                                 rp.hi, rp.total, exact_total=rp.exact_total)
            u = float(fast.ratio) if math.isfinite(fast.ratio) else math.nan
            floors = rp.floors(u) if math.isfinite(u) else rp.lo.copy()
            hint = fast.posts if rp.exact_total else _fill(rp, floors)
            report.add(StageReport("maximin", rp.name, "optimal", u, u, time.perf_counter() - t0, WATER_FILLING))
        else:
            u = maximin_ratio(rp)
            floors = rp.floors(u) if math.isfinite(u) else rp.lo.copy()
            hint = _fill(rp, floors)
            report.add(StageReport("maximin", rp.name, "optimal", u, u, time.perf_counter() - t0, EXACT_SEARCH))
        ratios[rp.name] = u
        if verify and structured:
            _verify(rp, u, solver, report, time_limit - (time.perf_counter() - start), seed)

        tgt = proportional_targets(rp)
        targets[:, :, r] = tgt.reshape(A, S)
        if structured and rp.current is not None:
            # the fewest moves from the current posting: within the move limit whenever any posting is
            hint = closest_posting(rp, floors, prefer=tgt)
        spec = _spec(rp, floors, tgt, hint if structured else None, tie_break, narrow=structured)
        remaining = time_limit - (time.perf_counter() - start)
        result: MilpResult
        if structured and greedy_applies(spec):
            # exact and fast: the time limit is for solvers, and does not cut it short
            result = solve_greedy(spec)
        elif structured and exact_stages and budget_applies(spec):
            # a move limit: exact by the parametric greedy, no solver either
            result = solve_budget(spec)
        else:
            result = solver.solve(spec, max(remaining, 0.0), seed)
            if result.x is None and result.status != "infeasible" and hint is not None and spec.admits(hint):
                # out of time before the later stages found a posting: keep the stage-1 posting (with a
                # current posting: the closest one), which meets every rule and the exact smallest coverage
                closest = rp.current is not None
                logger.warning("%s: no time left for the later stages; the posting meets every rule and the "
                               "smallest coverage but is not optimised for %s", rp.name,
                               "shares (it has the fewest moves)" if closest else "moves or shares")
                label = "closest posting (time limit)" if closest else "stage-1 posting (time limit)"
                result = MilpResult(hint, [StageReport(st.name, rp.name, "feasible", math.nan, math.nan, 0.0, label)
                                           for st in spec.stages], "feasible", result.build_seconds)
        report.build_seconds += result.build_seconds
        for st in result.stages:
            if st.name == "moves":  # report moves, not the sum of absolute changes
                st.objective, st.bound = st.objective / 2, st.bound / 2
            elif st.name == "proportional":
                st.objective, st.bound = st.objective / TARGET_SCALE, st.bound / TARGET_SCALE
            report.add(st)
        if result.x is None:
            report.status = worst_status([report.status, result.status])
            report.seconds = time.perf_counter() - start
            if result.status == "infeasible":
                reasons = explain_infeasible(problem, r)
                if not reasons:  # the exact check finds a posting: the solver is at fault
                    report.status = "error"
                    reasons = [f"{rp.name}: the {solver.name} solver reported the rules infeasible, "
                               f"but the exact check finds a posting (a solver fault)"]
                raise InfeasibleError(reasons, report)
            raise InfeasibleError(
                [f"{rp.name}: the solver found no posting within the time limit "
                 f"({time_limit:g} s); status {result.status}"], report)
        posts[:, :, r] = result.x.reshape(A, S)
        got = np.nanmin(rp.ratios(result.x)) if rp.objective.any() else math.nan
        if math.isfinite(u) and got < u * (1 - 1e-9):
            report.status = "error"
            logger.error("%s: solver posting has coverage %.6g below the exact %.6g", rp.name, got, u)
    report.seconds = time.perf_counter() - start
    logger.info("allocation solved: %s", report.status)
    return Allocation(problem, posts, report, ratios=ratios, targets=targets, warnings=found.warnings)


def _milp_maximin(rp: RoleProblem, solver: Backend, report: SolverReport, time_limit: float, seed: int
                  ) -> tuple[float, np.ndarray]:
    """Stage 1 by the backend's plain maximin MILP: the posting's smallest coverage and its floors."""
    if not rp.objective.any():
        report.add(StageReport("maximin", rp.name, "optimal", math.nan, math.nan, 0.0, solver.name))
        return math.nan, rp.lo.copy()
    res = solver.solve(maximin_spec(rp), max(time_limit, 0.0), seed)
    report.build_seconds += res.build_seconds
    for st in res.stages:
        report.add(st)
    if res.x is None:
        report.status = "error" if res.status == "infeasible" else res.status
        raise InfeasibleError([f"{rp.name}: the plain maximin MILP ended {res.status} "
                               f"with the {solver.name} solver"], report)
    u = float(np.nanmin(rp.ratios(res.x)))  # a breakpoint, exact for the posting found
    return u, rp.floors(u)


def _verify(rp: RoleProblem, u: float, solver: Backend, report: SolverReport, time_limit: float,
            seed: int) -> None:
    """Solve the plain maximin MILP and compare its coverage with ``u``.

    The check runs on HiGHS when it is installed, whatever the backend: it
    proves such MILPs where CP-SAT with one worker may find no posting in the
    time. Only a proven different optimum, or a posting better than the exact
    one, is an error; a check that ends without a proof is recorded and
    logged as not verified.
    """
    if not rp.objective.any():
        return
    checker = get_backend("pulp:highs") if "pulp:highs" in available_backends() else solver
    res = checker.solve(maximin_spec(rp), max(time_limit, 0.0), seed)
    report.build_seconds += res.build_seconds
    check = res.stages[0] if res.stages else StageReport("maximin", rp.name, res.status, math.nan, math.nan,
                                                         0.0, checker.name)
    report.checks.append(check)
    better = math.isfinite(check.objective) and check.objective > u * (1 + VERIFY_RTOL)
    if better or (check.status == "optimal" and not math.isclose(check.objective, u, rel_tol=VERIFY_RTOL)):
        report.status = "error"
        logger.error("%s: the %s plain maximin MILP ends %s with coverage %.9g; the exact search gives %.9g",
                     rp.name, checker.name, check.status, check.objective, u)
    elif check.status != "optimal":
        logger.warning("%s: not verified: the %s plain maximin MILP ended %s within the time limit",
                       rp.name, checker.name, check.status)
    else:
        logger.info("%s: the %s plain maximin MILP agrees: %.9g", rp.name, checker.name, check.objective)


def maximin_ratio(rp: RoleProblem) -> float:
    """The exact largest smallest coverage for one role (NaN if no cell has workload).

    Bisection over the breakpoints ``K_c m / W_c``; each candidate is checked
    exactly with :meth:`~allocator.model.problem.RoleProblem.check`.

    >>> import numpy as np
    >>> from allocator.model.problem import RoleProblem
    >>> rp = RoleProblem("PC", np.array([3.0, 1.0]), np.ones(2), np.zeros(2, int),
    ...                  np.full(2, 9), 1, 2, np.zeros(1, int), np.array([9]), 8, True,
    ...                  np.zeros(2, bool))
    >>> maximin_ratio(rp)  # 6 and 2 posts: coverage 2 and 2
    2.0
    """
    obj = rp.objective
    if not obj.any():
        return math.nan
    if not rp.check():
        raise ValueError(f"{rp.name}: the rules cannot be met (run diagnose first)")
    k, w = rp.capacity[obj], rp.workload[obj]
    lo_u = float((k * rp.lo[obj] / w).min())
    free = rp.total - rp.lo[~obj].sum()
    hi_excl = min(float((k * rp.hi[obj] / w).min()), float(free / (w / k).sum()))
    hi_excl = np.nextafter(hi_excl * (1 + 1e-9), np.inf)
    while True:
        nb = rp.next_breakpoint(lo_u)
        if nb >= hi_excl:
            return lo_u
        mid = 0.5 * (lo_u + hi_excl)
        cand = rp.next_breakpoint(np.nextafter(mid, -np.inf) * (1 - 1e-9))
        if not (nb <= cand < hi_excl):
            cand = nb
        if rp.check(rp.floors(cand)):
            lo_u = cand
        else:
            hi_excl = cand


def _uncoupled(rp: RoleProblem) -> bool:
    """True when only the total and per-cell bounds constrain the role."""
    A, S = rp.n_areas, rp.n_shifts
    area_lo = rp.lo.reshape(A, S).sum(axis=1)
    area_hi = rp.hi.reshape(A, S).sum(axis=1)
    no_moves = rp.max_moves is None or rp.current is None
    # an area bound is slack when no posting can reach it: no area holds more than the whole role
    reach = np.minimum(area_hi, rp.total)
    return bool(no_moves and (rp.area_min <= area_lo).all() and (rp.area_max >= reach).all())


def proportional_targets(rp: RoleProblem) -> np.ndarray:
    """Demand-proportional posts ``t_c`` for one role, float (C,).

    Cells with workload share the posts not pinned, in proportion to
    ``W_c / K_c`` (the posts the cell's work needs at equal coverage); other
    cells' target is 0 (pinned cells: their pin).
    """
    obj = rp.objective
    out = np.where(rp.pinned, rp.lo, 0).astype(float)
    need = np.where(obj, rp.workload / rp.capacity, 0.0)
    avail = rp.total - rp.lo[rp.pinned].sum()
    if need.sum() > 0 and avail > 0:
        out[obj] = avail * need[obj] / need.sum()
    return out


def _fill(rp: RoleProblem, floors: np.ndarray) -> np.ndarray | None:
    """A posting meeting ``floors`` built greedily (a hint for the solver), or None."""
    x = floors.copy()
    A, S = rp.n_areas, rp.n_shifts
    room = rp.hi - x
    area_sum = x.reshape(A, S).sum(axis=1)
    # area minimums first
    for a in np.flatnonzero(area_sum < rp.area_min):
        need = int(rp.area_min[a] - area_sum[a])
        for c in range(a * S, (a + 1) * S):
            take = min(need, int(room[c]))
            x[c] += take
            room[c] -= take
            need -= take
    if not rp.exact_total:
        return x if x.sum() <= rp.total else None
    left = rp.total - int(x.sum())
    area_room = rp.area_max - x.reshape(A, S).sum(axis=1)
    for c in np.argsort(-(rp.workload / rp.capacity), kind="stable"):
        if left <= 0:
            break
        take = min(left, int(room[c]), int(area_room[c // S]))
        if take > 0:
            x[c] += take
            area_room[c // S] -= take
            left -= take
    return x if left == 0 else None


def _spec(rp: RoleProblem, floors: np.ndarray, targets: np.ndarray, hint: np.ndarray | None,
          tie_break: bool, narrow: bool = False) -> MilpSpec:
    C = rp.lo.size
    max_l1 = None if rp.max_moves is None or rp.current is None else 2 * rp.max_moves
    lo, hi = floors, rp.hi
    if narrow and max_l1 is not None and rp.current is not None:
        # no cell moves further from its current posts than the move limit allows
        lo, hi = move_ranges(floors, rp.hi, rp.current, rp.total, rp.exact_total, max_l1)
    free = ~rp.pinned
    stages: list[Stage] = []
    if rp.current is not None and rp.max_moves is None:
        stages.append(Stage("moves", "l1", np.ones(C, dtype=np.int64), rp.current.astype(np.int64), 1))
    scaled = np.round(targets * TARGET_SCALE).astype(np.int64)
    stages.append(Stage("proportional", "l1", free.astype(np.int64), scaled, TARGET_SCALE))
    if tie_break:
        stages.append(Stage("tie-break", "linear", np.where(free, np.arange(1, C + 1), 0)))
    return MilpSpec(
        name=rp.name,
        lo=lo,
        hi=hi,
        groups=rp.area_of,
        group_lo=rp.area_min,
        group_hi=rp.area_max,
        total=rp.total,
        exact_total=rp.exact_total,
        stages=stages,
        current=rp.current,
        max_l1=max_l1,
        hint=hint,
    )
