"""Exact greedy solve of the separable stages when no move limit couples the cells.

Without a move limit, a :class:`~allocator.solve.milp.MilpSpec`'s rules are per-cell
bounds, bounds on each area's sum and the role's total: a laminar family of
sets. Every stage objective is separable and convex in each cell's posts
(``w |scale x - T|`` or ``w x``), so the lexicographic objective is one
separable convex function with values in ``Z^k`` ordered lexicographically (an
ordered group: sums and comparisons behave as for numbers). For such a
function the classic greedy marginal allocation is exact (Gross 1956; Ibaraki
& Katoh, *Resource Allocation Problems*, 1988, ch. 4 and the tree-constrained
case of ch. 5):

1. start every cell at its lower bound;
2. bring each area up to its minimum with that area's cheapest unit steps
   (the cheapest way to reach an area total, given convexity);
3. then take the cheapest unit step over all cells whose area has room, until
   the total is reached (with ``exact_total=False``: while a step lowers the
   objective, up to the total).

The cost of an area total is convex (its marginals are the area's cell steps
in sorted order), so step 3 is the greedy over areas of a separable convex
function too. Ties between equal step vectors go to the lowest cell index, so
the answer is deterministic. Integer arithmetic only: the objective values are
exact.

>>> from allocator.solve.milp import MilpSpec, Stage
>>> spec = MilpSpec("PC", np.array([0, 0, 1]), np.array([5, 5, 5]), np.array([0, 0, 1]),
...                 np.array([0, 0]), np.array([3, 5]), 5, True,
...                 [Stage("proportional", "l1", np.ones(3, int), np.array([2000, 2000, 1000]), 1000),
...                  Stage("tie-break", "linear", np.array([1, 2, 3]))])
>>> res = solve_greedy(spec)
>>> res.x.tolist(), [s.objective for s in res.stages]
([2, 1, 2], [2000.0, 10.0])
"""

from __future__ import annotations

import heapq
import logging
import time

import numpy as np

from allocator.solve.milp import MilpResult, MilpSpec
from allocator.solve.report import StageReport

__all__ = ["GREEDY", "greedy_applies", "solve_greedy"]

logger = logging.getLogger(__name__)

#: the ``method`` name of stages solved here
GREEDY = "greedy"


def greedy_applies(spec: MilpSpec) -> bool:
    """True when :func:`solve_greedy` is exact for ``spec``: no move limit, no ratio stage."""
    return spec.max_l1 is None and all(st.kind in ("l1", "linear") for st in spec.stages)


def _stage_costs(spec: MilpSpec) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    out: list[tuple[str, np.ndarray, np.ndarray, int]] = []
    for st in spec.stages:
        w = np.asarray(st.weights, dtype=np.int64)
        t = np.zeros(spec.n, dtype=np.int64) if st.target is None else np.asarray(st.target, dtype=np.int64)
        out.append((st.kind, w, t, int(st.scale)))
    return out


def solve_greedy(spec: MilpSpec) -> MilpResult:
    """Solve ``spec``'s stages exactly by greedy marginal allocation (see the module).

    Returns a :class:`~allocator.solve.milp.MilpResult` whose stage reports have
    ``method="greedy"``, objective equal to bound, and the time of the whole
    greedy split evenly over the stages (they are solved together).
    """
    if not greedy_applies(spec):
        raise ValueError("the greedy solve needs a spec without a move limit or ratio stage")
    t0 = time.perf_counter()
    costs = _stage_costs(spec)
    lo = np.asarray(spec.lo, dtype=np.int64)
    hi = np.asarray(spec.hi, dtype=np.int64)
    groups = np.asarray(spec.groups, dtype=np.int64)
    x = [int(v) for v in lo]
    hi_l = [int(v) for v in hi]
    grp = [int(g) for g in groups]
    g_sum = np.bincount(groups, weights=lo, minlength=len(spec.group_lo)).astype(np.int64).tolist()
    g_hi = [int(v) for v in spec.group_hi]
    cols = [(kind, w.tolist(), t.tolist(), scale) for kind, w, t, scale in costs]

    def step(c: int) -> tuple[int, ...]:
        """The vector cost of one more post in cell ``c``."""
        xc = x[c]
        out = []
        for kind, w, t, scale in cols:
            if kind == "l1":
                out.append(w[c] * (abs(scale * (xc + 1) - t[c]) - abs(scale * xc - t[c])))
            else:
                out.append(w[c])
        return tuple(out)

    def run(c: int) -> int:
        """How many more posts in cell ``c`` cost the same step as the next one.

        Each stage's step cost is constant below ``t / scale`` and above it, so
        the greedy takes a run of equal steps at once: its cost does not grow
        with the establishment, and the posting is the one-by-one greedy's.
        """
        xc, n = x[c], spec.total + 1
        for kind, w, t, scale in cols:
            if kind != "l1" or w[c] == 0:
                continue
            m = t[c] // scale
            if xc + 1 <= m:
                n = min(n, m - xc)
            elif scale * xc < t[c]:
                n = 1
        return max(n, 1)

    ok = bool((lo <= hi).all())
    # 2. each area up to its minimum, with its own cheapest steps
    for g in np.flatnonzero(np.asarray(spec.group_lo) > np.asarray(g_sum)):
        members = np.flatnonzero(groups == g).tolist()
        heap = [(step(c), c) for c in members if x[c] < hi_l[c]]
        heapq.heapify(heap)
        need = int(spec.group_lo[g]) - g_sum[g]
        while need > 0 and heap:
            _, c = heapq.heappop(heap)
            k = min(run(c), need, hi_l[c] - x[c])
            x[c] += k
            g_sum[g] += k
            need -= k
            if x[c] < hi_l[c]:
                heapq.heappush(heap, (step(c), c))
        ok = ok and need == 0
    # 3. the rest over all cells whose area has room
    left = spec.total - sum(x)
    ok = ok and left >= 0 and all(s <= h for s, h in zip(g_sum, g_hi, strict=True))
    zero = tuple(0 for _ in cols)
    if ok and left > 0:
        heap = [(step(c), c) for c in range(spec.n) if x[c] < hi_l[c] and g_sum[grp[c]] < g_hi[grp[c]]]
        heapq.heapify(heap)
        while left > 0 and heap:
            cost, c = heapq.heappop(heap)
            if g_sum[grp[c]] >= g_hi[grp[c]]:
                continue  # the area filled up since this step was queued
            if not spec.exact_total and cost >= zero:
                break
            k = min(run(c), left, hi_l[c] - x[c], g_hi[grp[c]] - g_sum[grp[c]])
            x[c] += k
            g_sum[grp[c]] += k
            left -= k
            if x[c] < hi_l[c] and g_sum[grp[c]] < g_hi[grp[c]]:
                heapq.heappush(heap, (step(c), c))
        ok = not (spec.exact_total and left > 0)
    secs = time.perf_counter() - t0
    if not ok:
        logger.info("greedy %s: the rules cannot be met", spec.name)
        reports = [StageReport(st.name, spec.name, "infeasible", np.nan, np.nan, secs / max(len(costs), 1),
                               GREEDY) for st in spec.stages]
        return MilpResult(None, reports, "infeasible")
    xa = np.array(x, dtype=np.int64)
    reports = []
    for st, (kind, w, t, scale) in zip(spec.stages, costs, strict=True):
        value = float((w * np.abs(scale * xa - t)).sum() if kind == "l1" else (w * xa).sum())
        reports.append(StageReport(st.name, spec.name, "optimal", value, value, secs / len(costs), GREEDY))
    return MilpResult(xa, reports, "optimal")
