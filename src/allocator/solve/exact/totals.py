"""The stages after the maximin at a monthly reallocation, exact on (area, role) totals.

With a current posting ``c`` the stages after the maximin are, in order:

1. **moves**: fewest ``sum_j |x_j - c_j| / 2`` (a change of team is a move);
2. **proportional**: ``sum_{a,r} |1000 n_{a,r} - target_{a,r}|``, each
   (area, role)'s posts ``n_{a,r}`` against the demand-proportional share;
3. **tie-break**: ``sum_j (j + 1) x_j``.

Under the per-area route (:mod:`allocator.solve.exact.areas`) a posting meets
every row exactly when its totals ``n_{a,r}`` meet the rows on totals (the
establishment, area bounds and pins, ratios and caps across roles) and each
(area, role)'s split of its total into teams (within one post) meets that
area's lower-bound rows. Once the totals are chosen the splits are
independent of each other, so each stage's best is a sum over (area, role) of
a function of its total alone:

* ``moves_{a,r}(n)``: the fewest ``sum_t |x_t - c_t|`` over the admissible
  splits of ``n``;
* ``tie_{a,r}(n)``: the least ``sum_t (j_t + 1) x_t`` over the admissible
  splits of ``n`` with ``moves_{a,r}(n)``.

A posting with totals ``n`` has at least ``sum moves_{a,r}(n_{a,r})`` moves,
and the least over all admissible totals is the moves stage's optimum, so the
postings that stage keeps are exactly those whose totals reach it with a
split of fewest moves in every (area, role); the later stages then see only
those splits, which is what ``tie`` tabulates. The three stages become one
choice per (area, role) of a total from a table: a one-hot integer program of
a few binaries per (area, role), every objective linear, solved by the
backend (:class:`~allocator.solve.milp.linear.LinearSpec`).

Only totals near the current ones need a table. ``moves_{a,r}(n) >= |n -
C_{a,r}|`` (``C`` the current total), and it equals that outside the range in
which the current teams are uneven: below ``T min_t c_t`` every split takes
posts from every team, above ``T max(max_t c_t, q*)`` (``q*`` posts on every
team meet every row) every split adds to every team. So each (area, role)'s
least moves ``lb`` comes from a short table, and with ``LB = sum lb`` no
posting of at most ``L`` moves (counted as ``sum |x - c|``) has a total ``n``
whose ``moves(n) > L - LB + lb``. The program is solved over those windows
from ``L = LB``; if its optimum ``M`` exceeds ``L`` it is solved once more
with ``L = M`` (whose windows hold every posting as good), and if it has no
solution ``L`` grows, never beyond the moves of the maximin's own posting,
whose totals always lie inside. The optimum is then the optimum over all
postings: each stage's objective equals the whole formulation's.

>>> import numpy as np
>>> from allocator.solve.exact.areas import RoleGrid
>>> g = RoleGrid(0, np.array([[0, 1]]), np.array([[60, 0]]), np.zeros((1, 1), dtype=np.int64),
...              np.zeros(1, dtype=np.int64), np.full(1, 100, dtype=np.int64))
>>> moves, tie, split = split_table(g, np.array([[130]]), np.array([[0, 10]]), np.array([0, 0]),
...                                 np.array([5, 10]))
>>> moves.tolist(), split.tolist()   # 5 posts: (3, 2) is the only split meeting the row; 10: (5, 5)
([11, 10], [[3, 2], [5, 5]])
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from allocator.solve.exact.areas import AreaRoute, RoleGrid
from allocator.solve.milp import Backend
from allocator.solve.milp.linear import LinearSpec, SumStage
from allocator.solve.report import StageReport

__all__ = ["later_stages", "split_table"]

logger = logging.getLogger(__name__)

_BIG = np.iinfo(np.int64).max // 4
_CHUNK = 1 << 14  # (area, total) entries evaluated at once: bounded memory at thousands of areas


def split_table(g: RoleGrid, rhs: np.ndarray, current: np.ndarray, area: np.ndarray, n: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each entry ``(area[i], n[i])``: the fewest moves, the least tie-break and the split that gives both.

    Parameters
    ----------
    g
        The role's grid (teams, lower-bound rows).
    rhs
        int64 (A, K): the right-hand sides of the role's lower-bound rows per area.
    current
        int64 (A, T): the current posts per team.
    area, n
        int64 (I,): the entries' areas and totals.

    Returns
    -------
    moves, tie, split
        int64 (I,), (I,), (I, T): ``sum_t |x_t - c_t|`` and ``sum_t (j_t + 1) x_t``
        of the best admissible split within one post (fewest moves, then least
        tie-break, then the first in the order of :meth:`RoleGrid.subsets`),
        and that split; ``_BIG`` moves where no split of ``n`` meets the rows.
    """
    T = g.teams
    rowsum = g.G.sum(axis=1)
    weight = g.cols.astype(np.int64) + 1  # (A, T): the tie-break weight of each column
    moves = np.full(n.size, _BIG, dtype=np.int64)
    tie = np.full(n.size, _BIG, dtype=np.int64)
    split = np.zeros((n.size, T), dtype=np.int64)
    q_all, r_all = np.divmod(n, T)
    for rv in np.unique(r_all).tolist():
        masks = g.subsets(int(rv)).astype(np.int64)  # (S, T)
        gains = masks @ g.G.T  # (S, K)
        per = max(1, _CHUNK // max(masks.shape[0] * T, 1))
        sel_all = np.flatnonzero(r_all == rv)
        for start in range(0, sel_all.size, per):
            sel = sel_all[start:start + per]
            q, a = q_all[sel], area[sel]
            need = np.maximum(rhs[a], 0)[:, None, :]
            ok = (q[:, None, None] * rowsum[None, None, :] + gains[None, :, :] >= need).all(axis=2)
            x = q[:, None, None] + masks[None, :, :]  # (i, S, T)
            mv = np.where(ok, np.abs(x - current[a][:, None, :]).sum(axis=2), _BIG)
            best = mv.min(axis=1)
            tb = np.where(ok & (mv == best[:, None]), (x * weight[a][:, None, :]).sum(axis=2), _BIG)
            first = tb.argmin(axis=1)
            moves[sel] = best
            tie[sel] = np.where(best < _BIG, tb[np.arange(sel.size), first], _BIG)
            split[sel] = x[np.arange(sel.size), first]
    return moves, tie, split


@dataclass
class _Entries:
    """The candidate totals of every (area, role), flat: ``pair`` (a * R + r), total, moves, tie, split."""

    pair: np.ndarray
    total: np.ndarray
    moves: np.ndarray
    tie: np.ndarray
    splits: list[np.ndarray]  # per role, int64 (entries of the role, T)
    role_rows: list[np.ndarray]  # per role, the flat indices of its entries


def _evaluate(route: AreaRoute, full: list[np.ndarray], lo: np.ndarray, hi: np.ndarray) -> _Entries:
    """Every total between ``lo`` and ``hi`` (int64 (A, R)) tabulated, in (role, area, total) order."""
    f = route.f
    assert f.current is not None
    A, R = lo.shape
    pair, total, moves, tie, splits, role_rows = [], [], [], [], [], []
    count = 0
    for r, g in enumerate(route.grids):
        width = np.maximum(hi[:, r] - lo[:, r] + 1, 0)
        area = np.repeat(np.arange(A), width)
        n = lo[area, r] + (np.arange(area.size) - np.repeat(np.cumsum(width) - width, width))
        mv, tb, sp = split_table(g, full[r], f.current[g.cols], area, n)
        pair.append(area * R + r)
        total.append(n)
        moves.append(mv)
        tie.append(tb)
        splits.append(sp)
        role_rows.append(np.arange(count, count + n.size))
        count += n.size
    return _Entries(np.concatenate(pair), np.concatenate(total), np.concatenate(moves), np.concatenate(tie),
                    splits, role_rows)


def _least_moves(route: AreaRoute, full: list[np.ndarray], least: np.ndarray, upper: np.ndarray,
                 current: np.ndarray) -> np.ndarray:
    """int64 (A, R): each (area, role)'s fewest ``sum |x - c|`` over all its admissible totals."""
    A, R = least.shape
    lo = np.zeros((A, R), dtype=np.int64)
    hi = np.zeros((A, R), dtype=np.int64)
    for r, g in enumerate(route.grids):
        cur = current[g.cols]  # (A, T)
        rowsum = g.G.sum(axis=1)
        rhs = np.maximum(full[r], 0)
        q_star = np.where(rhs > 0, -(-rhs // np.where(rowsum > 0, rowsum, 1)[None, :]), 0).max(axis=1, initial=0)
        T = g.teams
        # below T min c every split takes from every team, above T max(max c, q*) every split adds to every
        # team: moves(n) = |n - C| is monotone there, so its least lies in this range (clipped to the totals')
        lo[:, r] = np.clip(T * cur.min(axis=1) - 1, least[:, r], upper[:, r])
        hi[:, r] = np.clip(T * np.maximum(cur.max(axis=1), q_star), least[:, r], upper[:, r])
    e = _evaluate(route, full, lo, hi)
    out = np.full(A * R, _BIG, dtype=np.int64)
    np.minimum.at(out, e.pair, e.moves)
    return out.reshape(A, R)


def _spec(route: AreaRoute, e: _Entries, targets: np.ndarray, tie_break: bool) -> LinearSpec:
    """The one-hot program: one total per (area, role) from its entries, rows on totals, linear stages."""
    A, R = len(route.f.areas), len(route.grids)
    N = e.total.size
    rows, cols, vals, lo, hi = [], [], [], [], []
    # one entry per (area, role): every pair has entries (the caller checks)
    rows.append(e.pair)
    cols.append(np.arange(N))
    vals.append(np.ones(N, dtype=np.int64))
    lo.append(np.ones(A * R))
    hi.append(np.ones(A * R))
    m = A * R
    role = e.pair % R
    area = e.pair // R
    for r in range(R):  # the establishment
        mine = np.flatnonzero((role == r) & (e.total != 0))
        rows.append(np.full(mine.size, m))
        cols.append(mine)
        vals.append(e.total[mine])
        lo.append(np.array([route.est_lo[r]]))
        hi.append(np.array([route.est_hi[r]]))
        m += 1
    for i in range(route.link_area.size):  # rows across roles in one area, on its totals
        coef = route.link_coef[i][role] * e.total
        mine = np.flatnonzero((area == route.link_area[i]) & (coef != 0))
        rows.append(np.full(mine.size, m))
        cols.append(mine)
        vals.append(coef[mine])
        lo.append(np.array([route.link_lo[i]]))
        hi.append(np.array([route.link_hi[i]]))
        m += 1
    stages = [SumStage("moves", "linear", e.moves),
              SumStage("proportional", "linear", np.abs(1000 * e.total - targets[e.pair]))]
    if tie_break:
        stages.append(SumStage("tie-break", "linear", e.tie))
    return LinearSpec(
        name="totals", lo=np.zeros(N, dtype=np.int64), hi=np.ones(N, dtype=np.int64),
        rows=np.concatenate(rows).astype(np.int64), cols=np.concatenate(cols).astype(np.int64),
        vals=np.concatenate(vals).astype(np.int64), row_lo=np.concatenate(lo).astype(float),
        row_hi=np.concatenate(hi).astype(float), stages=stages,
    )


def later_stages(route: AreaRoute, solver: Backend, targets: np.ndarray, x: np.ndarray, deadline: float,
                 seed: int = 0, tie_break: bool = True) -> tuple[np.ndarray | None, list[StageReport], float]:
    """Fewest moves, proportional shares and the tie-break on (area, role) totals (see the module).

    Parameters
    ----------
    route
        The per-area route, its maximin levels fixed (:meth:`AreaRoute.fix`);
        its formulation has a current posting.
    solver
        The backend that solves the one-hot program.
    targets
        int64 (A * R,): the proportional stage's targets in thousandths of a post.
    x
        A posting meeting every row (the maximin's): it bounds the moves.
    deadline
        ``time.perf_counter()`` by which to stop.

    Returns
    -------
    posting, reports, build_seconds
        The posting (None if the backend found none in time), one
        :class:`StageReport` per stage solved (objectives as the whole
        formulation's: moves in officers, shares in posts), the backend's
        model-building seconds.
    """
    f = route.f
    assert f.current is not None
    A, R = len(f.areas), len(route.grids)
    least, full = route.least({})
    upper = np.stack([g.hi for g in route.grids], axis=1)
    others = least.sum(axis=0)[None, :] - least
    cap = np.where(np.isfinite(route.est_hi), route.est_hi, np.iinfo(np.int32).max).astype(np.int64)
    upper = np.maximum(np.minimum(upper, cap[None, :] - others), least)
    current = f.current.astype(np.int64)
    C = np.zeros((A, R), dtype=np.int64)
    for r, g in enumerate(route.grids):
        C[:, r] = current[g.cols].sum(axis=1)
    lb = _least_moves(route, full, least, upper, current)
    LB = int(lb.sum())
    ceiling = int(np.abs(np.asarray(x, dtype=np.int64) - current).sum())  # the maximin posting's moves
    budget = LB
    build = 0.0
    while True:
        slack = lb + (budget - LB)  # (A, R): the most moves an (area, role) may take
        lo = np.maximum(least, C - slack)
        hi = np.minimum(upper, C + slack)
        e = _evaluate(route, full, lo, hi)
        keep = e.moves <= slack.ravel()[e.pair]
        e = _Entries(e.pair[keep], e.total[keep], e.moves[keep], e.tie[keep],
                     [sp[keep[rows]] for sp, rows in zip(e.splits, e.role_rows, strict=True)],
                     [np.flatnonzero(keep[rows]) for rows in e.role_rows])
        offset = 0
        for r in range(R):  # flat indices of each role's kept entries
            n_r = e.role_rows[r].size
            e.role_rows[r] = np.arange(offset, offset + n_r)
            offset += n_r
        if np.unique(e.pair).size < A * R:  # an (area, role) with no total this close: more moves needed
            if budget >= ceiling:
                raise AssertionError("the maximin posting's totals lie outside the windows of its own moves")
            budget = min(ceiling, LB + 2 * (budget - LB) + 2)
            continue
        logger.debug("moves on totals: windows for %d (least %d), %d entries", budget, LB, e.total.size)
        spec = _spec(route, e, targets, tie_break)
        res = solver.solve_linear(spec, max(deadline - time.perf_counter(), 0.01), seed)
        build += res.build_seconds
        got = {st.name: st for st in res.stages}
        moved = got.get("moves")
        if res.x is not None and moved is not None and moved.status == "optimal" and moved.objective > budget:
            logger.debug("moves on totals: %d above the windows' %d; widening", moved.objective, budget)
            budget = int(round(moved.objective))  # a posting of this many: solve once more with windows that hold it
            continue
        if res.x is None and res.status == "infeasible" and budget < ceiling:
            budget = min(ceiling, LB + 2 * (budget - LB) + 2)
            continue
        break
    reports = []
    scale = {"moves": 0.5, "proportional": 1.0 / 1000}
    for stage in spec.stages:
        st = got.get(stage.name)
        if st is None or st.status not in ("optimal", "feasible"):
            continue
        k = scale.get(stage.name, 1.0)
        reports.append(StageReport(stage.name, "all", st.status, st.objective * k, st.bound * k, st.seconds,
                                   f"{solver.name} on (area, role) totals, the teams' splits tabulated"))
    if res.x is None:
        return None, reports, build
    chosen = np.flatnonzero(res.x > 0)
    out = np.zeros(f.n, dtype=np.int64)
    for r, g in enumerate(route.grids):
        pick = chosen[np.isin(chosen, e.role_rows[r])]
        areas = e.pair[pick] // R
        out[g.cols[areas]] = e.splits[r][pick - e.role_rows[r][0]] if pick.size else 0
    return out, reports, build
