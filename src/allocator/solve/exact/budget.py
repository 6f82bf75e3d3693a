"""Exact solve of the separable stages under a move limit: a parametric greedy.

With a current posting and a move limit, a :class:`~allocator.solve.milp.MilpSpec`
asks for the lexicographic minimum of separable convex stage costs (``l1`` and
``linear``) over whole postings with per-cell bounds, area bounds, an exact
total, and one more separable convex row, ``g(x) = sum |x - current| <= B``.

1. **One objective.** The stage costs are folded into one integer
   ``F = sum_k M_k f_k`` with each ``M_k`` larger than the range of every later
   stage over the cell bounds, so comparing ``F`` is comparing the stages
   lexicographically.
2. **Lagrangian.** For a whole ``mu >= 0``, ``2F + mu g`` is separable convex
   over a laminar family (cells, areas, the total), so the greedy marginal
   allocation minimises it exactly (see :mod:`allocator.solve.exact.greedy`). Its
   optimum changes only at whole ``mu`` (every exchange of one post changes it
   by a whole multiple of ``mu`` with slope -2..2 and an even constant), so
   ``4F + (2 mu + 1) g`` gives the minimiser of ``2F + mu g`` with the fewest
   moves, and ``4F + (2 mu - 1) g`` the one with the most. Bisection finds the
   smallest ``mu*`` whose fewest-moves minimiser is within the limit.
3. **Exchange walk.** The minimisers of ``2F + mu* g`` form an M-convex set
   (Murota, *Discrete Convex Analysis*, 2003, th. 6.30), so from the
   most-moves minimiser one can step to the fewest-moves one by single
   exchanges ``x - e_i + e_j`` that stay minimisers; each changes ``g`` by at
   most 2 and keeps its parity. The first posting within the limit has the
   most moves any minimiser within the limit can have, hence the smallest
   ``F`` of all: if ``g(y) <= g(x)`` then ``2F(y) >= 2F(x) + mu* (g(x) - g(y))``.

Every unit step's cost is constant on at most four runs of each cell (split at
``current`` and at each ``l1`` target), so the greedy works on those runs with
numpy (a few thousand items at 300 areas), not on single posts. Exact only with
an exact total; :func:`budget_applies` says when it applies.

>>> from allocator.solve.milp import MilpSpec, Stage
>>> spec = MilpSpec("PC", np.zeros(3, int), np.full(3, 9), np.array([0, 0, 1]), np.zeros(2, int),
...                 np.array([9, 9]), 9, True,
...                 [Stage("proportional", "l1", np.ones(3, int), np.array([6000, 0, 3000]), 1000),
...                  Stage("tie-break", "linear", np.array([1, 2, 3]))],
...                 current=np.array([2, 4, 3]), max_l1=4)
>>> res = solve_budget(spec)
>>> res.x.tolist(), [s.objective for s in res.stages]  # two of the four moves the target asks
([4, 2, 3], [4000.0, 17.0])
"""

from __future__ import annotations

import logging
import time

import numpy as np

from allocator.solve.milp import MilpResult, MilpSpec
from allocator.solve.report import StageReport

__all__ = ["PARAMETRIC", "budget_applies", "solve_budget"]

logger = logging.getLogger(__name__)

#: the ``method`` name of stages solved here
PARAMETRIC = "parametric greedy"
_INT64_SAFE = 1 << 62


def budget_applies(spec: MilpSpec) -> bool:
    """True when :func:`solve_budget` is exact for ``spec``: a move limit, an exact total, l1/linear stages."""
    return (spec.max_l1 is not None and spec.current is not None and spec.exact_total
            and all(st.kind in ("l1", "linear") for st in spec.stages))


class _Runs:
    """Each cell's unit steps ``x -> x + 1`` (``lo <= x < hi``) cut into runs of constant cost."""

    def __init__(self, spec: MilpSpec) -> None:
        lo = np.asarray(spec.lo, dtype=np.int64)
        hi = np.asarray(spec.hi, dtype=np.int64)
        assert spec.current is not None
        cur = np.asarray(spec.current, dtype=np.int64)
        C = lo.size
        stages = []
        cuts = [cur]
        for st in spec.stages:
            w = np.asarray(st.weights, dtype=np.int64)
            if st.kind == "l1":
                assert st.target is not None
                t = np.asarray(st.target, dtype=np.int64)
                f = np.floor_divide(t, st.scale)
                cuts += [f, f + 1]
                stages.append(("l1", w, t, int(st.scale)))
            else:
                stages.append(("linear", w, np.zeros(C, dtype=np.int64), 1))
        # fold the stages into one integer cost: each multiplier exceeds the later stages' range
        mult = [1] * len(stages)
        span = 1
        for k in range(len(stages) - 1, -1, -1):
            mult[k] = span
            kind, w, t, s = stages[k]
            if kind == "l1":
                top = np.maximum(np.abs(s * lo - t), np.abs(s * hi - t))
                span *= int((np.abs(w) * top).sum()) * 2 + 1
            else:
                span *= int((np.abs(w) * (hi - lo)).sum()) * 2 + 1
        self.stages, self.mult, self.lo, self.hi, self.cur = stages, mult, lo, hi, cur
        self.span = span
        bounds = np.sort(np.clip(np.stack([lo, hi, *cuts], axis=1), lo[:, None], hi[:, None]), axis=1)
        self.bounds = bounds  # each cell's run boundaries, sorted
        start, end = bounds[:, :-1], bounds[:, 1:]
        keep = end > start
        self.cell = np.broadcast_to(np.arange(C)[:, None], start.shape)[keep]
        self.start = start[keep]
        self.count = (end - start)[keep]
        self.df = self.unit_f(self.cell, self.start)
        self.dg = np.where(self.start >= cur[self.cell], 1, -1).astype(np.int64)
        # the folded costs are Python ints; when they are small enough, int64 copies sort them far faster
        self.df_top = int(np.abs(self.df).max()) if self.df.size else 0
        self.df64 = self.df.astype(np.int64) if self.df_top < _INT64_SAFE else None

    def cost_key(self, a: int, b: int) -> np.ndarray:
        """int64 keys ordered as the unit costs ``a df + b dg`` (exact: int64 when it holds them, else ranks)."""
        if self.df64 is not None and abs(a) * self.df_top + abs(b) < _INT64_SAFE:
            return self.df64 * a + self.dg * b
        return np.unique(self.df * a + self.dg * b, return_inverse=True)[1].astype(np.int64)

    def unit_f(self, c: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The folded stage cost of one more post in cells ``c`` at ``x`` posts (Python ints as objects)."""
        out = np.zeros(c.size, dtype=object)
        for (kind, w, t, s), m in zip(self.stages, self.mult, strict=True):
            if kind == "l1":
                step = np.abs(s * (x + 1) - t[c]) - np.abs(s * x - t[c])
                out = out + (w[c] * step).astype(object) * m
            else:
                out = out + w[c].astype(object) * m
        return out

    def stage_values(self, x: np.ndarray) -> list[float]:
        return [float((w * np.abs(s * x - t)).sum() if kind == "l1" else (w * x).sum())
                for kind, w, t, s in self.stages]


def _greedy(spec: MilpSpec, runs: _Runs, a: int, b: int) -> np.ndarray | None:
    """Minimise ``a F + b g`` exactly by marginal allocation over the runs (ties: lowest cell)."""
    cost_rank = runs.cost_key(a, b)
    area = np.asarray(spec.groups, dtype=np.int64)[runs.cell]
    G = len(spec.group_lo)
    lo, hi = runs.lo, runs.hi
    groups = np.asarray(spec.groups, dtype=np.int64)
    base = np.bincount(groups, weights=lo, minlength=G).astype(np.int64)
    g_lo = np.maximum(np.asarray(spec.group_lo, dtype=np.int64) - base, 0)
    g_hi = np.minimum(np.asarray(spec.group_hi, dtype=np.int64), np.bincount(groups, weights=hi, minlength=G)
                      .astype(np.int64)) - base
    if (g_hi < g_lo).any():
        return None
    # each area's units in its own order of cost, then cell; positions [g_lo, g_hi) are candidates. The runs
    # are laid out by cell, then start, so a stable sort on cost alone breaks ties by cell and start
    by_cost = np.argsort(cost_rank, kind="stable")
    order = by_cost[np.argsort(area[by_cost], kind="stable")]
    cnt = runs.count[order]
    ar = area[order]
    before = np.cumsum(cnt) - cnt
    first = np.searchsorted(ar, np.arange(G))
    first = np.minimum(first, max(ar.size - 1, 0))
    pos = before - (before[first][ar] if ar.size else 0)
    forced = np.clip(g_lo[ar] - pos, 0, cnt)
    cand = np.clip(np.minimum(pos + cnt, g_hi[ar]) - np.maximum(pos, g_lo[ar]), 0, None)
    cand = np.minimum(cand, cnt - forced)
    left = spec.total - int(lo.sum()) - int(forced.sum())
    if left < 0 or left > int(cand.sum()):
        return None
    # the rest: the cheapest candidate units over all areas, ties to the lowest cell
    at = np.empty(order.size, dtype=np.int64)
    at[order] = np.arange(order.size)
    glob = at[by_cost]  # positions in `order`, by cost, then cell, then start
    c_cnt = cand[glob]
    c_before = np.cumsum(c_cnt) - c_cnt
    take = np.zeros(cnt.size, dtype=np.int64)
    take[glob] = np.clip(left - c_before, 0, c_cnt)
    units = forced + take
    x = lo.copy()
    np.add.at(x, runs.cell[order], units)
    return x


def _moves(x: np.ndarray, cur: np.ndarray) -> int:
    return int(np.abs(x - cur).sum())


def _walk(spec: MilpSpec, runs: _Runs, x: np.ndarray, y: np.ndarray, mu: int, limit: int) -> np.ndarray | None:
    """Exchange steps from ``x`` towards ``y`` among minimisers of ``2F + mu g`` until ``g <= limit``."""
    groups = np.asarray(spec.groups, dtype=np.int64)
    G = len(spec.group_lo)
    g_lo, g_hi = np.asarray(spec.group_lo), np.asarray(spec.group_hi)
    cur = runs.cur
    x = x.copy()
    per = np.bincount(groups, weights=x, minlength=G).astype(np.int64)

    def up(c: np.ndarray) -> np.ndarray:
        g = np.where(x[c] >= cur[c], 1, -1)
        return runs.unit_f(c, x[c]) * 2 + g * mu

    while _moves(x, cur) > limit:
        down_cells = np.flatnonzero(x > y)
        to_cells = np.flatnonzero(x < y)
        if not down_cells.size or not to_cells.size:
            return None
        done = False
        for i in down_cells:
            gi = np.where(x[i] - 1 >= cur[i], 1, -1)
            save = int(runs.unit_f(np.array([i]), np.array([x[i] - 1]))[0]) * 2 + int(gi) * mu
            gain = up(to_cells) - save
            ok = (gain == 0) & ((groups[to_cells] == groups[i]) | ((per[groups[i]] - 1 >= g_lo[groups[i]])
                                                                    & (per[groups[to_cells]] + 1 <= g_hi[groups[to_cells]])))
            if ok.any():
                j = int(to_cells[np.argmax(ok)])
                k = _exchanges(runs, x, y, int(i), j, per, groups, g_lo, g_hi, limit)
                x[i] -= k
                x[j] += k
                per[groups[i]] -= k
                per[groups[j]] += k
                done = True
                break
        if not done:
            return None
    return x


def _exchanges(runs: _Runs, x: np.ndarray, y: np.ndarray, i: int, j: int, per: np.ndarray, groups: np.ndarray,
               g_lo: np.ndarray, g_hi: np.ndarray, limit: int) -> int:
    """How many exchanges ``x - e_i + e_j`` to take at once (at least 1).

    While ``i``'s next post down and ``j``'s next post up stay in their runs
    (so every exchange keeps the same zero gain and the same change in moves),
    each exchange is one the walk could take; the count stops at ``y``, at the
    area bounds, and at the first posting within the move limit. The walk's
    cost then grows with the number of runs, not with the establishment.
    """
    cur = runs.cur
    bi, bj = runs.bounds[i], runs.bounds[j]
    run_i = int(x[i] - bi[bi <= x[i] - 1].max())  # steps down to the start of i's run
    run_j = int(bj[bj > x[j]].min() - x[j])  # steps up to the end of j's run
    k = min(int(x[i] - y[i]), int(y[j] - x[j]), run_i, run_j)
    if groups[i] != groups[j]:
        k = min(k, int(per[groups[i]] - g_lo[groups[i]]), int(g_hi[groups[j]] - per[groups[j]]))
    delta = (1 if x[j] >= cur[j] else -1) + (1 if x[i] - 1 < cur[i] else -1)  # change in moves per exchange
    if delta < 0:
        over = _moves(x, cur) - limit
        k = min(k, -(-over // -delta))
    return max(k, 1)


def solve_budget(spec: MilpSpec) -> MilpResult:
    """Solve ``spec``'s stages under its move limit exactly (see the module).

    Returns a :class:`~allocator.solve.milp.MilpResult` whose stage reports have
    ``method="parametric greedy"``, objective equal to bound, and the time of
    the whole solve split evenly over the stages; ``status="infeasible"``
    (and no posting) when no posting meets the rules and the limit.
    """
    if not budget_applies(spec):
        raise ValueError("the parametric greedy needs a move limit, an exact total and l1/linear stages")
    t0 = time.perf_counter()
    assert spec.max_l1 is not None and spec.current is not None
    runs = _Runs(spec)
    limit = int(spec.max_l1)
    cur = runs.cur
    x = _greedy(spec, runs, 4, 1)  # the best posting, with the fewest moves among the best
    if x is not None and _moves(x, cur) > limit:
        # mu_hi: moves dominate every stage cost, so the fewest-moves minimiser has the fewest moves of all
        spread = int(max(runs.df.max() - runs.df.min(), 0)) if runs.df.size else 0
        lo_mu, hi_mu = 0, 2 * spread + 2
        x_hi = _greedy(spec, runs, 4, 2 * hi_mu + 1)
        if x_hi is None or _moves(x_hi, cur) > limit:
            x = None
        else:
            while hi_mu - lo_mu > 1:  # invariant: lo_mu over the limit, hi_mu within it
                mid = (lo_mu + hi_mu) // 2
                xm = _greedy(spec, runs, 4, 2 * mid + 1)
                assert xm is not None
                if _moves(xm, cur) <= limit:
                    hi_mu, x_hi = mid, xm
                else:
                    lo_mu = mid
            most = _greedy(spec, runs, 4, 2 * hi_mu - 1)
            assert most is not None
            x = _walk(spec, runs, most, x_hi, hi_mu, limit) if _moves(most, cur) > limit else most
            if x is None:  # cannot happen for an M-convex minimiser set; keep the proven side honest
                logger.error("parametric greedy %s: the exchange walk failed", spec.name)
    secs = time.perf_counter() - t0
    n = max(len(spec.stages), 1)
    if x is None:
        return MilpResult(None, [StageReport(st.name, spec.name, "infeasible", np.nan, np.nan, secs / n,
                                             PARAMETRIC) for st in spec.stages], "infeasible")
    values = runs.stage_values(x)
    reports = [StageReport(st.name, spec.name, "optimal", v, v, secs / n, PARAMETRIC)
               for st, v in zip(spec.stages, values, strict=True)]
    return MilpResult(x, reports, "optimal")
