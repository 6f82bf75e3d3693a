"""The maximin's feasibility question split by area: an exact oracle that scales to thousands of areas.

When the establishment rows are the only rows linking areas, "can every
coverage row of the stage reach level ``t``" splits by area. :func:`area_route`
checks that structure once per formulation and returns an :class:`AreaRoute`
(or the reason it does not apply); :meth:`AreaRoute.solve` then answers the
question exactly and gives a posting when the answer is yes.

The structure it accepts, for each role:

* the role's columns in every area are the same teams of **one pattern**
  (a rota's teams, or the single column of a fixed pattern), each team's
  on-duty minutes per bucket the same in every area;
* a rota's teams are **within one post** of each other (all ordered pairs);
* every other row of the role inside one area is either a **lower-bound row**
  with whole non-negative coefficients (coverage, minimum staffing on
  average or on a chance of dates, levels fixed by earlier stages), or a row
  on the role's **total** in the area (area bounds, a pin of the role's one
  pattern);
* rows across roles lie inside one area and are rows on the roles' totals
  there (ratios on posts, headcount caps); ratios on duty hour by hour, move
  limits and budgets, and exactly equal teams are left to the
  whole-formulation route.

Then, for each role in area ``a``, whether ``n`` posts can meet the area's
lower-bound rows is monotone in ``n`` (the best split of ``n`` into teams
within one post is ``n // T`` each plus one more on ``n mod T`` teams;
one more post on a team at the lower size keeps the split within one and
cannot lower a non-negative row), so the least such ``n`` is found by
bisection, each test enumerating the ``C(T, n mod T)`` splits for all areas
at once. When every row treats the teams alike (a 2-2-2 over five teams)
the least ``n`` is the closed form ``max_k ceil(rhs_k / g_k)``. Every ``n``
between that least value and the area's bound is then admissible, so
without rows across roles the level is feasible exactly when, for each
role, the areas' least posts sum to at most its establishment and their
bounds to at least it. With rows on totals across roles, a small integer
program over the (area, role) totals decides (a greedy placement first,
which, when it succeeds, is its own proof).
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np

from allocator.model import formulation as fm
from allocator.model.formulation import Formulation
from allocator.solve.milp.linear import LinearSpec

__all__ = ["AreaRoute", "RoleGrid", "area_route"]

logger = logging.getLogger(__name__)

_BIG = np.iinfo(np.int64).max // 4


@functools.cache
def _subsets(T: int, r: int) -> np.ndarray:
    out = np.zeros((math.comb(T, r), T), dtype=bool)
    for i, pick in enumerate(itertools.combinations(range(T), r)):
        out[i, list(pick)] = True
    out.flags.writeable = False
    return out


@dataclass
class RoleGrid:
    """One role's columns as an (area, team) grid and its lower-bound rows as shared coefficient vectors.

    Attributes
    ----------
    cols
        int64 (A, T): the column of each (area, team).
    G
        int64 (K, T): distinct coefficient vectors of the lower-bound rows;
        the first ``B`` are the buckets' on-duty minutes (the coverage rows).
    static
        int64 (A, K): right-hand sides of the rows that do not depend on the
        stage's level (0 where an area has no such row).
    lo, hi
        int64 (A,): bounds on the role's total in each area.
    """

    role: int
    cols: np.ndarray
    G: np.ndarray
    static: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def teams(self) -> int:
        """Teams (columns) per area."""
        return int(self.cols.shape[1])

    @property
    def symmetric(self) -> bool:
        """Whether every row treats the teams alike, so coverage depends only on the area's total."""
        return bool((self.G[:, :1] == self.G).all())

    def subsets(self, r: int) -> np.ndarray:
        """bool (C(T, r), T): every choice of ``r`` teams that take one more post, in lexicographic order."""
        return _subsets(self.teams, r)

    def fits(self, rhs: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``n[a]`` posts split within one post meet ``rhs[a]``, and the split that does.

        Returns ``(ok, extra)``: bool (A,) and bool (A, T), the teams that take
        ``n // T + 1`` posts (of the splits that work, the one on the lowest teams).
        """
        T = self.teams
        A = n.size
        q, r = np.divmod(n, T)
        rowsum = self.G.sum(axis=1)
        ok = np.zeros(A, dtype=bool)
        extra = np.zeros((A, T), dtype=bool)
        for rv in np.unique(r):
            sel = np.flatnonzero(r == rv)
            masks = self.subsets(int(rv))
            gains = masks.astype(np.int64) @ self.G.T  # (S, K)
            value = q[sel, None, None] * rowsum[None, None, :] + gains[None, :, :]
            good = (value >= rhs[sel, None, :]).all(axis=2)  # (a, S)
            hit = good.any(axis=1)
            ok[sel] = hit
            rank = masks.astype(np.int64) @ np.arange(T)  # the split with the lowest teams first
            first = np.where(good, rank[None, :], _BIG).argmin(axis=1)
            extra[sel] = masks[first] & hit[:, None]
        return ok, extra

    def least(self, rhs: np.ndarray, closed: bool | None = None) -> np.ndarray:
        """int64 (A,): the least posts meeting ``rhs`` and the area's lower bound (``_BIG`` where none can).

        ``closed`` picks the closed form (only exact when :attr:`symmetric`) or
        the bisection with enumerated splits; by default the closed form
        whenever the rows treat the teams alike.

        Examples
        --------
        Five teams, each post 600 minutes in the bucket: 3001 minutes need 6 posts.

        >>> g = RoleGrid(0, np.arange(5)[None, :], np.full((1, 5), 600), np.zeros((1, 1), dtype=np.int64),
        ...              np.zeros(1, dtype=np.int64), np.full(1, 100))
        >>> g.least(np.array([[3001]])).tolist(), g.least(np.array([[3001]]), closed=False).tolist()
        ([6], [6])
        """
        T = self.teams
        rhs = np.maximum(rhs, 0)
        rowsum = self.G.sum(axis=1)
        top = self.G.max(axis=1)
        dead = ((rhs > 0) & (rowsum[None, :] == 0)).any(axis=1)
        safe_sum = np.where(rowsum > 0, rowsum, 1)
        safe_top = np.where(top > 0, top, 1)
        # every team at q* = max ceil(rhs / rowsum) meets every row: an upper end that fits
        q_star = np.where(rhs > 0, -(-rhs // safe_sum[None, :]), 0).max(axis=1, initial=0)
        # no split of n posts gives a row more than n * its largest coefficient: a lower end
        low = np.where(rhs > 0, -(-rhs // safe_top[None, :]), 0).max(axis=1, initial=0)
        if self.symmetric if closed is None else closed:
            n = np.maximum(low, self.lo)
        else:
            lo_n = np.maximum(low, self.lo)
            hi_n = np.maximum(T * q_star, lo_n)
            while True:
                open_ = np.flatnonzero(lo_n < hi_n)
                if not open_.size:
                    break
                mid = (lo_n[open_] + hi_n[open_]) // 2
                ok, _ = self.fits(rhs[open_], mid)
                hi_n[open_] = np.where(ok, mid, hi_n[open_])
                lo_n[open_] = np.where(ok, lo_n[open_], mid + 1)
            n = lo_n
        return np.where(dead | (n > self.hi), _BIG, n)

    def split(self, rhs: np.ndarray, n: np.ndarray) -> np.ndarray:
        """int64 (A, T): posts per team for totals ``n`` (each at least the least), within one post."""
        q, r = np.divmod(n, self.teams)
        if self.symmetric:
            extra = np.arange(self.teams)[None, :] < r[:, None]
        else:
            ok, extra = self.fits(np.maximum(rhs, 0), n)
            assert ok.all(), "a total at or above the least posts must fit"
        return q[:, None] + extra.astype(np.int64)


@dataclass
class AreaRoute:
    """The per-area decomposition of a formulation (see the module); build it with :func:`area_route`."""

    f: Formulation
    grids: list[RoleGrid]
    buckets: int
    est_lo: np.ndarray
    est_hi: np.ndarray
    link_area: np.ndarray  # int64 (m,): the area of each row across roles
    link_coef: np.ndarray  # int64 (m, R): its coefficient on each role's total
    link_lo: np.ndarray
    link_hi: np.ndarray
    target: np.ndarray  # float64 (A, R): the demand-proportional posts, where spare posts go first

    def __post_init__(self) -> None:
        self._static_least: dict[int, np.ndarray] = {}  # per role, the least posts for its level-free rows

    def fix(self, rhs: dict[int, np.ndarray]) -> None:
        """Keep coverage rows ``rhs[role]`` (int64 (A, B)) as level-free rows from now on (a fixed stage)."""
        B = self.buckets
        for r, arr in rhs.items():
            self._static_least.pop(r, None)
            g = self.grids[r]
            g.static[:, :B] = np.maximum(g.static[:, :B], arr)

    def add_lower_rows(self, role: int, vectors: np.ndarray) -> slice:
        """Give ``role`` more lower-bound rows (int64 (K, T): coefficients by team), right-hand sides 0.

        For a stage whose rows are not coverage rows (the response floors):
        :meth:`set_lower` then sets their right-hand sides per area. Returns
        their positions in the role's grid.
        """
        g = self.grids[role]
        start = g.G.shape[0]
        g.G = np.concatenate([g.G, np.asarray(vectors, dtype=np.int64).reshape(-1, g.teams)])
        g.static = np.concatenate([g.static, np.zeros((g.static.shape[0], g.G.shape[0] - start), np.int64)], axis=1)
        return slice(start, g.G.shape[0])

    def set_lower(self, role: int, where: slice, rhs: np.ndarray) -> None:
        """Set the right-hand sides (int64 (A, K)) of rows added by :meth:`add_lower_rows`."""
        self._static_least.pop(role, None)
        self.grids[role].static[:, where] = rhs

    def least(self, rhs: dict[int, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The least posts per (area, role) meeting the stage's rows ``rhs`` and all level-free rows."""
        A = len(self.f.areas)
        out = np.zeros((A, len(self.grids)), dtype=np.int64)
        full = []
        for r, g in enumerate(self.grids):
            total = g.static.copy()
            if r in rhs:
                total[:, : self.buckets] = np.maximum(total[:, : self.buckets], rhs[r])
            full.append(total)
            if r in rhs:
                out[:, r] = g.least(total)
            else:  # the same at every level of this stage: worked out once
                if r not in self._static_least:
                    self._static_least[r] = g.least(total)
                out[:, r] = self._static_least[r]
        return out, full

    def solve(self, rhs: dict[int, np.ndarray], time_limit: float = 60.0) -> tuple[np.ndarray | None, str]:
        """Whether the stage's rows ``rhs[role]`` (int64 (A, B), 0 where none) can all be met.

        Returns ``(posting, status)``: a posting meeting every row of the
        formulation and ``rhs`` with status ``"feasible"``, or None with
        ``"infeasible"`` (proven) or ``"unknown"`` (out of time).
        """
        least, full = self.least(rhs)
        if (least >= _BIG).any():
            return None, "infeasible"
        A, R = least.shape
        upper = np.stack([g.hi for g in self.grids], axis=1)
        if (least.sum(axis=0) > self.est_hi).any() or (upper.sum(axis=0) < self.est_lo).any():
            return None, "infeasible"
        if self.link_area.size:
            totals, status = self._linked(least, upper, time_limit)
            if totals is None:
                return None, status
        else:
            totals = _fill(least, upper, self.est_lo, self.target)
        x = np.zeros(self.f.n, dtype=np.int64)
        for r, g in enumerate(self.grids):
            x[g.cols] = g.split(full[r], totals[:, r])
        return x, "feasible"

    def totals_spec(self) -> tuple[LinearSpec, list[np.ndarray]]:
        """The formulation on (area, role) totals ``n[a * R + r]`` for the stages after the maximin.

        Every posting of the formulation that meets the fixed levels has
        totals within ``[least, upper]`` meeting the establishment and the rows
        across roles, and every such total splits within one post into a
        posting that meets every row (lower-bound rows only inside an area, so
        more posts never break one): the later stages' optimum over totals is
        their optimum over postings. Returns the spec (no stages) and each
        role's rows, for :meth:`posting`.
        """
        least, full = self.least({})
        A, R = least.shape
        upper = np.stack([g.hi for g in self.grids], axis=1)
        rows, cols, vals, lo, hi = [], [], [], [], []
        for r in range(R):
            rows += [r] * A
            cols += [a * R + r for a in range(A)]
            vals += [1] * A
            lo.append(float(self.est_lo[r]))
            hi.append(float(self.est_hi[r]))
        for i in range(self.link_area.size):
            a = int(self.link_area[i])
            for k in np.flatnonzero(self.link_coef[i]).tolist():
                rows.append(R + i)
                cols.append(a * R + k)
                vals.append(int(self.link_coef[i, k]))
            lo.append(float(self.link_lo[i]))
            hi.append(float(self.link_hi[i]))
        spec = LinearSpec(
            name="totals", lo=least.ravel().astype(np.int64), hi=np.maximum(upper, least).ravel().astype(np.int64),
            rows=np.array(rows, dtype=np.int64), cols=np.array(cols, dtype=np.int64),
            vals=np.array(vals, dtype=np.int64), row_lo=np.array(lo), row_hi=np.array(hi),
        )
        return spec, full

    def posting(self, totals: np.ndarray, full: list[np.ndarray]) -> np.ndarray:
        """The posting per column for totals ``n[a * R + r]``: each split within one post, lowest teams first."""
        R = len(self.grids)
        n = np.asarray(totals, dtype=np.int64).reshape(-1, R)
        x = np.zeros(self.f.n, dtype=np.int64)
        for r, g in enumerate(self.grids):
            x[g.cols] = g.split(full[r], n[:, r])
        return x

    def _linked(self, least: np.ndarray, upper: np.ndarray, time_limit: float) -> tuple[np.ndarray | None, str]:
        """Totals per (area, role) within bounds, meeting the rows across roles and the establishment."""
        greedy = _greedy(least, upper, self.est_lo, self.est_hi, self.link_area, self.link_coef,
                         self.link_lo, self.link_hi, self.target)
        if greedy is not None:
            return greedy, "feasible"
        from ortools.sat.python import cp_model

        A, R = least.shape
        model = cp_model.CpModel()
        n = [[model.new_int_var(int(least[a, r]), int(upper[a, r]), f"n{a}_{r}") for r in range(R)]
             for a in range(A)]
        for r in range(R):
            col = [n[a][r] for a in range(A)]
            lo = int(self.est_lo[r]) if math.isfinite(self.est_lo[r]) else None
            if lo is not None:
                model.add(sum(col) >= lo)
            model.add(sum(col) <= int(self.est_hi[r]))
        for i in range(self.link_area.size):
            a = int(self.link_area[i])
            roles = np.flatnonzero(self.link_coef[i])
            expr = cp_model.LinearExpr.weighted_sum([n[a][r] for r in roles],
                                                    [int(self.link_coef[i, r]) for r in roles])
            if math.isfinite(self.link_lo[i]):
                model.add(expr >= int(self.link_lo[i]))
            if math.isfinite(self.link_hi[i]):
                model.add(expr <= int(self.link_hi[i]))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
        status = solver.solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return np.array([[solver.value(n[a][r]) for r in range(R)] for a in range(A)], dtype=np.int64), "feasible"
        if status == cp_model.INFEASIBLE:
            return None, "infeasible"
        return None, "unknown"


def _place(n: np.ndarray, room: np.ndarray, left: int, target: np.ndarray) -> np.ndarray:
    """``n`` (int64 (A,)) with ``left`` more posts within ``room``, placed toward ``target``.

    First up to each area's target, then wherever there is room; largest
    shortfall first in both passes, ties in area order.
    """
    out = n.copy()
    order = np.argsort(-(target - n), kind="stable")
    for cap in (np.minimum(room, np.maximum(np.ceil(target - n - 1e-9), 0).astype(np.int64)), room):
        if left <= 0:
            break
        free = np.maximum(cap - (out - n), 0)[order]
        cum = np.cumsum(free)
        take = np.minimum(cum, left) - np.concatenate([[0], np.minimum(cum, left)[:-1]])
        out[order] += take
        left -= int(take.sum())
    return out


def _fill(least: np.ndarray, upper: np.ndarray, est_lo: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Totals from the least posts, each role's remaining establishment placed toward its targets."""
    out = least.copy()
    for r in range(least.shape[1]):
        left = int(est_lo[r] - out[:, r].sum()) if math.isfinite(est_lo[r]) else 0
        if left > 0:
            out[:, r] = _place(out[:, r], upper[:, r] - out[:, r], left, target[:, r])
    return out


def _greedy(least: np.ndarray, upper: np.ndarray, est_lo: np.ndarray, est_hi: np.ndarray, area: np.ndarray,
            coef: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """A placement of the totals meeting the rows across roles, or None if this greedy finds none.

    Starts at the least posts, raises roles with a positive coefficient in a
    row below its lower end, then places each role's remaining establishment
    (roles that only ever raise rows first) area by area as far as every row
    allows. Not a proof of infeasibility: the integer program decides then.
    """
    n = least.copy()
    A, R = n.shape
    for _ in range(4):  # close the rows below their lower end (a few passes)
        val = (coef * n[area]).sum(axis=1)
        low = np.flatnonzero(np.isfinite(lo) & (val < lo))
        if not low.size:
            break
        for i in low:
            a = area[i]
            val_i = int((coef[i] * n[a]).sum())
            for r in np.flatnonzero(coef[i] > 0).tolist():
                if val_i >= lo[i]:
                    break
                step = min(-(-(int(lo[i]) - val_i) // int(coef[i, r])), int(upper[a, r] - n[a, r]))
                n[a, r] += step
                val_i += step * int(coef[i, r])
    order = sorted(range(R), key=lambda r: (bool((coef[:, r] < 0).any()), r))
    for r in order:
        left = (int(est_lo[r]) if math.isfinite(est_lo[r]) else 0) - int(n[:, r].sum())
        if left <= 0:
            continue
        val = (coef * n[area]).sum(axis=1).astype(float)
        room = (upper[:, r] - n[:, r]).astype(float)
        c = coef[:, r].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            slack = np.where(c < 0, np.floor((val - lo) / -c), np.where(c > 0, np.floor((hi - val) / c), np.inf))
        slack = np.where(np.isnan(slack), np.inf, slack)
        per_area = np.full(A, np.inf)
        np.minimum.at(per_area, area, slack)
        room = np.maximum(np.minimum(room, per_area), 0).astype(np.int64)
        n[:, r] = _place(n[:, r], room, left, target[:, r])
    val = (coef * n[area]).sum(axis=1)
    sums = n.sum(axis=0)
    good = ((val >= lo) & (val <= hi)).all() and (sums >= est_lo).all() and (sums <= est_hi).all()
    return n if good else None


def area_route(f: Formulation) -> AreaRoute | str:
    """The per-area decomposition of ``f``, or why it does not apply (a sentence)."""
    if any(fam.l1 for fam in f.families):
        return "a move limit or budget links areas"
    A, R, B = f.shape
    bm = f.bucket_minutes()
    pos_area = f.col_area
    pos_team = np.zeros(f.n, dtype=np.int64)
    grids: list[RoleGrid] = []
    for r in range(R):
        mine = np.flatnonzero(f.col_role == r)
        if np.unique(f.col_pattern[mine]).size > 1:
            return f"{f.roles[r]} works several patterns"
        order = mine[np.lexsort((f.col_team[mine], f.col_area[mine]))]
        if mine.size % A:
            return f"{f.roles[r]} has different columns in different areas"
        T = mine.size // A
        cols = order.reshape(A, T)
        if (f.col_area[cols] != np.arange(A)[:, None]).any() or (f.col_team[cols] != f.col_team[cols[:1]]).any():
            return f"{f.roles[r]} has different teams in different areas"
        pos_team[cols] = np.arange(T)[None, :]
        vec = bm[cols]  # (A, T, B)
        if (vec != vec[:1]).any():
            return f"{f.roles[r]}'s teams differ between areas"
        hi = f.col_hi[cols].sum(axis=1).astype(np.int64)
        grids.append(RoleGrid(r, cols, vec[0].T.copy(), np.zeros((A, B), dtype=np.int64),
                              f.col_lo[cols].sum(axis=1).astype(np.int64), hi))
    est_lo = np.full(R, -math.inf)
    est_hi = np.full(R, math.inf)
    extra_rows: list[list[tuple[int, np.ndarray, int]]] = [[] for _ in range(R)]  # (area, coefs, rhs)
    pairs = np.zeros((A, R), dtype=np.int64)
    link: list[tuple[int, np.ndarray, float, float]] = []
    for fam in f.families:
        m = fam.n_rows
        if not m:
            continue
        nent = np.bincount(fam.rows, minlength=m)
        if (nent == 0).any():
            empty = np.flatnonzero(nent == 0)
            if ((fam.lo[empty] > 0) | (fam.hi[empty] < 0)).any():
                return f"a {fam.name} row has no column to meet it"
        ra, rr = pos_area[fam.cols], f.col_role[fam.cols]
        amin, amax, rmin, rmax = (np.full(m, v) for v in (A, -1, R, -1))
        np.minimum.at(amin, fam.rows, ra)
        np.maximum.at(amax, fam.rows, ra)
        np.minimum.at(rmin, fam.rows, rr)
        np.maximum.at(rmax, fam.rows, rr)
        order = np.argsort(fam.rows, kind="stable")
        s_cols, s_vals = fam.cols[order], fam.vals[order]
        cuts = np.searchsorted(fam.rows[order], np.arange(m + 1))
        vmin = np.full(m, _BIG)
        vmax = np.full(m, -_BIG)
        np.minimum.at(vmin, fam.rows, fam.vals)
        np.maximum.at(vmax, fam.rows, fam.vals)
        for i in range(m):
            if nent[i] == 0:
                continue
            single_role = rmin[i] == rmax[i]
            r = int(rmin[i])
            if fam.name == fm.ESTABLISHMENT and single_role and nent[i] == grids[r].cols.size \
                    and vmin[i] == vmax[i] == 1:
                est_lo[r] = max(est_lo[r], fam.lo[i])
                est_hi[r] = min(est_hi[r], fam.hi[i])
                continue
            if amin[i] != amax[i]:
                return f"{fam.name}: {fam.labels[i]} links areas"
            a = int(amin[i])
            cols_i = s_cols[cuts[i]:cuts[i + 1]]
            vals_i = s_vals[cuts[i]:cuts[i + 1]]
            if single_role:
                r = int(rmin[i])
                g = grids[r]
                if nent[i] == g.teams and vmin[i] == vmax[i] and vmin[i] > 0:  # a row on the area's total
                    c = int(vmin[i])
                    if math.isfinite(fam.lo[i]):
                        g.lo[a] = max(g.lo[a], -(-int(fam.lo[i]) // c))
                    if math.isfinite(fam.hi[i]):
                        g.hi[a] = min(g.hi[a], int(fam.hi[i]) // c)
                    continue
                if vmin[i] >= 0 and not math.isfinite(fam.hi[i]):  # a lower-bound row
                    coefs = np.zeros(g.teams, dtype=np.int64)
                    np.add.at(coefs, pos_team[cols_i], vals_i)
                    if fam.lo[i] > 0:
                        extra_rows[r].append((a, coefs, int(math.ceil(fam.lo[i] - 1e-9))))
                    continue
                if nent[i] == 2 and vmin[i] == -1 and vmax[i] == 1 and fam.hi[i] == 1 and fam.lo[i] == -math.inf:
                    pairs[a, r] += 1
                    continue
                return f"{fam.name}: {fam.labels[i]} is not a row this route models"
            coef = np.zeros(R, dtype=np.int64)
            for r in np.unique(f.col_role[cols_i]):
                v = vals_i[f.col_role[cols_i] == r]
                if v.size != grids[r].teams or (v != v[0]).any():
                    return f"{fam.name}: {fam.labels[i]} is not a row on posts"
                coef[r] = int(v[0])
            link.append((a, coef, float(fam.lo[i]), float(fam.hi[i])))
    for r, g in enumerate(grids):
        T = g.teams
        if T > 1 and (pairs[:, r] != T * (T - 1)).any():
            return f"{f.roles[r]}'s teams are not all within one post of each other"
        if extra_rows[r]:
            vecs = np.array([c for _, c, _ in extra_rows[r]], dtype=np.int64)
            uniq, inverse = np.unique(vecs, axis=0, return_inverse=True)
            G = np.concatenate([g.G, uniq])  # the buckets' vectors first, then the other distinct ones
            static = np.zeros((A, G.shape[0]), dtype=np.int64)
            areas = np.array([a for a, _, _ in extra_rows[r]], dtype=np.int64)
            rhs = np.array([v for _, _, v in extra_rows[r]], dtype=np.int64)
            np.maximum.at(static, (areas, B + inverse.ravel()), rhs)
            g.G, g.static = G, static
    if not np.isfinite(est_hi).all():
        return "a role has no establishment row"
    link_area = np.array([a for a, *_ in link], dtype=np.int64)
    link_coef = np.array([c for _, c, *_ in link], dtype=np.int64).reshape(-1, R)
    hours = f.workload.sum(axis=2)  # (A, R)
    share = hours / np.where(hours.sum(axis=0) > 0, hours.sum(axis=0), 1.0)[None, :]
    target = share * np.where(np.isfinite(est_lo), est_lo, est_hi)[None, :]
    return AreaRoute(f, grids, B, est_lo, est_hi, link_area, link_coef,
                     np.array([lo for *_, lo, _ in link], dtype=float),
                     np.array([hi for *_, hi in link], dtype=float), target)
