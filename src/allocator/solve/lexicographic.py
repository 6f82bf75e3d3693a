"""Solve a :class:`~allocator.model.formulation.Formulation`: exact maximin, then the later stages.

Stages, lexicographically:

0. **service level** (with response floors): the largest ``t <= 1`` such
   that every floor row has ``on duty >= t floor`` (the smallest fraction of
   a floor met), by the same whole-number bisection as the maximin, after
   one feasibility question at ``t = 1`` (the usual case, when the
   establishment suffices, costs one solve). The floors are then held at
   ``t*`` for the later stages.
1. **maximin**: for each role in force order (or first all roles together,
   weighted, when a rule couples roles), the largest ``t`` such that every
   coverage row of the role has ``sum_j I_ij x_j >= t need_i``. In the joint
   stage ``need_i`` of a row of role ``r`` is scaled by the role's weight
   (``Formulation.role_weights``, the force's ``coverage_weights``): every
   role's coverage is at least ``weight_r t``, so ``t`` is the smallest of
   ``coverage_r / weight_r``. Because the
   left side is a whole number, a candidate ``t`` is the integer row
   ``sum_j I_ij x_j >= ceil(t need_i)``, and "strictly better than ``v``" is
   ``sum_j I_ij x_j >= floor(v need_i) + 1``: both are exact feasibility
   questions in whole numbers. A bisection over ``t`` (each feasible answer
   lifts the lower end to the posting's own smallest coverage) narrows the
   interval; a strict-improvement question that the backend proves infeasible
   ends it, so a reported ``optimal`` is proven. The level is then fixed as
   rows before the next stage.
2. **moves** (with a current posting and no move limit or budget): fewest
   ``sum |x - current| / 2``; a change of team is a move.
3. **proportional**: each (area, role)'s posts closest to the role's
   establishment shared in proportion to its judged hours (milli-posts).
4. **tie-break**: ``sum_j (j + 1) x_j``, so the posting does not depend on
   solver luck among equally good ones.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from allocator.model import formulation as fm
from allocator.model.formulation import Family, Formulation
from allocator.solve.exact.areas import AreaRoute, area_route
from allocator.solve.exact.totals import later_stages
from allocator.solve.milp import Backend, MilpResult
from allocator.solve.milp.linear import LinearSpec, SumStage
from allocator.solve.report import SolverReport, StageReport

__all__ = ["TARGET_SCALE", "base_spec", "proportional_targets", "solve_formulation"]

logger = logging.getLogger(__name__)

TARGET_SCALE = 1000
_EPS = 1e-9
_NARROW = 1e-2  # bisection until the interval is this narrow (relative); strict tests then finish it


def base_spec(f: Formulation, name: str = "allocation") -> LinearSpec:
    """Every family's rows, flattened into one :class:`LinearSpec` with no stages."""
    rows, cols, vals, lo, hi = [], [], [], [], []
    l1: list[tuple[np.ndarray, float]] = []
    offset = 0
    for fam in f.families:
        if fam.l1:
            for weights, row_hi in zip(fam.l1, fam.hi, strict=True):
                l1.append((weights, float(row_hi)))
            continue
        rows.append(fam.rows + offset)
        cols.append(fam.cols)
        vals.append(fam.vals)
        lo.append(fam.lo)
        hi.append(fam.hi)
        offset += fam.n_rows

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return LinearSpec(
        name=name,
        lo=f.col_lo.astype(np.int64),
        hi=f.col_hi.astype(np.int64),
        rows=cat(rows, np.int64),
        cols=cat(cols, np.int64),
        vals=cat(vals, np.int64),
        row_lo=cat(lo, np.float64),
        row_hi=cat(hi, np.float64),
        current=f.current,
        l1_rows=tuple(l1),
    )


class _Rows:
    """The coverage rows of a set of roles, with their needs scaled by the roles' weights.

    Per role, sparse: ``entries`` holds ``(row, column, minutes)`` of every
    nonzero (a row's columns are the role's columns in its area), sorted by
    row then column, so large forces never build a dense (rows x columns) block.
    """

    def __init__(self, f: Formulation, roles: list[int], weights: dict[int, float]):
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.need: list[np.ndarray] = []
        self.where: list[np.ndarray] = []
        self.roles: list[int] = []
        self.shape = f.shape
        A, _, B = f.shape
        bm = f.bucket_minutes()
        for r in roles:
            W = f.workload[:, r, :]
            where = np.argwhere(W > 0)
            if not len(where):
                continue
            cols = np.flatnonzero(f.col_role == r)
            row_id = -np.ones((A, B), dtype=np.int64)
            row_id[where[:, 0], where[:, 1]] = np.arange(len(where))
            rid = row_id[f.col_area[cols][:, None], np.arange(B)[None, :]]
            mask = (rid >= 0) & (bm[cols] > 0)
            ri, ci, vi = rid[mask], np.broadcast_to(cols[:, None], rid.shape)[mask], bm[cols][mask]
            order = np.lexsort((ci, ri))
            self.entries.append((ri[order], ci[order], vi[order].astype(np.int64)))
            self.need.append(W[where[:, 0], where[:, 1]] / f.kappa[r] * weights.get(r, 1.0))
            self.where.append(where)
            self.roles.append(r)

    @property
    def empty(self) -> bool:
        return not self.need

    def level(self, x: np.ndarray) -> float:
        """The smallest ``(I x)_i / need_i`` over the rows."""
        x = np.asarray(x, dtype=np.int64)
        return min(float((np.bincount(ri, weights=(vi * x[ci]).astype(float), minlength=n.size) / n).min())
                   for (ri, ci, vi), n in zip(self.entries, self.need, strict=True))

    def upper(self, f: Formulation) -> float:
        """A level no posting can pass.

        In area ``a`` a level ``t`` needs at least ``t need_i / max_j I_ij``
        posts for each of its rows ``i``; summed over areas that cannot pass
        the role's establishment.
        """
        best = math.inf
        for r, (ri, _, vi), n, where in zip(self.roles, self.entries, self.need, self.where, strict=True):
            total = float(f.establishment[r])
            top = np.zeros(n.size)
            np.maximum.at(top, ri, vi.astype(float))
            if (top == 0).any():
                return 0.0  # a row nobody can be on duty for: the level is 0
            per_post = n / top  # posts per unit of level, per row
            worst = np.zeros(len(f.areas))
            np.maximum.at(worst, where[:, 0], per_post)
            best = min(best, total / worst.sum())
        return best

    def rhs(self, t: float, strict: bool) -> list[np.ndarray]:
        out = []
        for n in self.need:
            v = t * n
            if strict:
                out.append(np.floor(v + _EPS * np.maximum(v, 1.0)) + 1)
            else:
                out.append(np.ceil(v - _EPS * np.maximum(v, 1.0)))
        return out

    def by_role(self, t: float, strict: bool = False) -> dict[int, np.ndarray]:
        """The right-hand sides of the rows at level ``t`` per role, int64 (A, B), 0 where a role has no row."""
        A, _, B = self.shape
        out = {}
        for r, where, rhs in zip(self.roles, self.where, self.rhs(t, strict), strict=True):
            arr = np.zeros((A, B), dtype=np.int64)
            arr[where[:, 0], where[:, 1]] = rhs.astype(np.int64)
            out[r] = arr
        return out

    def add_to(self, spec: LinearSpec, t: float, strict: bool = False) -> LinearSpec:
        """``spec`` with the rows ``M x >= level`` (or strictly above it) added."""
        rr, cc, vv, lo = [], [], [], []
        base = 0
        for (ri, ci, vi), rhs in zip(self.entries, self.rhs(t, strict), strict=True):
            rr.append(ri + base)
            cc.append(ci)
            vv.append(vi)
            lo.append(rhs)
            base += rhs.size
        rows, cols, vals, row_lo = (np.concatenate(v) for v in (rr, cc, vv, lo))
        return spec.with_rows(rows, cols, vals.astype(np.int64), row_lo, np.full(row_lo.size, np.inf))


class _FloorRows(_Rows):
    """The response floors' rows for the service-level stage: ``v_i(x) >= t L_i``, level capped at 1."""

    def __init__(self, fam: Family):
        order = np.lexsort((fam.cols, fam.rows))
        self.entries = [(fam.rows[order], fam.cols[order], fam.vals[order].astype(np.int64))]
        self.need = [fam.lo.astype(np.float64)]
        self.where = []
        self.roles = []
        self.fam = fam

    def level(self, x: np.ndarray) -> float:
        """The smallest fraction of a floor met, at most 1."""
        return min(1.0, float((self.fam.values(x) / self.need[0]).min()))


def _floor_split(rows: _FloorRows, f: Formulation, route: AreaRoute) -> tuple[Ask, Callable[[float], None]] | str:
    """Floor questions split by area: the floors become lower-bound rows of the responder's grid.

    Returns the question and ``hold(t)``, which keeps the floors at level ``t`` in the route.
    """
    fam = rows.fam
    if len(fam.roles) != 1:
        return "the response floors count several roles together"
    r = next(iter(fam.roles))
    g = route.grids[r]
    team = np.zeros(f.n, dtype=np.int64)
    team[g.cols] = np.arange(g.teams)[None, :]
    vec = np.zeros((fam.n_rows, g.teams), dtype=np.int64)
    np.add.at(vec, (fam.rows, team[fam.cols]), fam.vals)
    area = np.full(fam.n_rows, -1, dtype=np.int64)
    area[fam.rows] = f.col_area[fam.cols]
    uniq, inverse = np.unique(vec, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    where = route.add_lower_rows(r, uniq)
    A = len(f.areas)

    def hold(t: float, strict: bool = False) -> None:
        arr = np.zeros((A, uniq.shape[0]), dtype=np.int64)
        np.maximum.at(arr, (area, inverse), rows.rhs(t, strict)[0].astype(np.int64))
        route.set_lower(r, where, arr)

    def ask(t: float, strict: bool, hint: np.ndarray, seconds: float) -> tuple[np.ndarray | None, str]:
        hold(t, strict)
        return route.solve({}, seconds)

    return ask, hold


def _service_stage(f: Formulation, fam: Family, x: np.ndarray, spec: LinearSpec, split: AreaRoute | None,
                   why: str, solver: Backend, report: SolverReport, deadline: float, seed: int
                   ) -> tuple[np.ndarray, LinearSpec]:
    """The smallest fraction of a floor met, as large as it can be (at most 1), then held for the later stages."""
    t0 = time.perf_counter()
    rows = _FloorRows(fam)
    ask: Ask
    hold: Callable[[float], None] | None = None
    if split is not None:
        built = _floor_split(rows, f, split)
        assert not isinstance(built, str), built  # checked before the route was chosen
        (ask, hold), method = built, "exact bisection, per area"
    else:
        ask, method = _whole(rows, spec, solver, seed), f"exact bisection ({solver.name}; {why})"
    got, status = ask(1.0, False, x, max(deadline - time.perf_counter(), 0.01))
    if got is not None:  # every floor can be met: one question
        level, bound, x, status = 1.0, 1.0, got, "optimal"
    elif status == "infeasible":
        level, bound, x, status = _maximin(rows, ask, x, 1.0, deadline)
    else:  # out of time before the first answer: the posting in hand, bound unknown beyond 1
        level, bound, status = rows.level(x), 1.0, "feasible"
    report.add(StageReport("service level", "all", status, level, bound, time.perf_counter() - t0, method))
    if hold is not None:
        hold(level)  # the floors stay at the level reached for the later stages
    spec = rows.add_to(spec, level)
    if not spec.admits(x):
        raise AssertionError("service level: the posting does not meet its own level")
    return x, spec


def _csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    order = np.argsort(rows, kind="stable")
    starts = np.searchsorted(rows[order], np.arange(m)).astype(np.int32)
    return starts, cols[order].astype(np.int32), vals[order].astype(np.float64)


def lp_upper(rows: _Rows, spec: LinearSpec) -> float:
    """The level of the LP relaxation (HiGHS): no whole-number posting can pass it.

    ``max t`` over continuous ``x`` within the bounds, every row of ``spec``
    (absolute-change rows through ``d >= |x - current|``) and ``M x >= t need``.
    Returns ``inf`` when HiGHS gives no optimum (the caller keeps its own bound).
    """
    import highspy

    n = spec.n
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    n_dev = n if spec.l1_rows else 0
    lower = np.concatenate([spec.lo.astype(float), np.zeros(n_dev), [0.0]])
    upper = np.concatenate([spec.hi.astype(float), np.full(n_dev, inf), [inf]])
    total = n + n_dev + 1
    h.addVars(total, lower, upper)
    h.changeColsCost(1, np.array([total - 1], dtype=np.int32), np.array([-1.0]))
    r_lo = [np.where(np.isfinite(spec.row_lo), spec.row_lo, -inf)]
    r_hi = [np.where(np.isfinite(spec.row_hi), spec.row_hi, inf)]
    rr, cc, vv = [spec.rows], [spec.cols], [spec.vals.astype(float)]
    m = spec.m
    if n_dev:
        assert spec.current is not None
        cur = spec.current.astype(float)
        idx = np.arange(n)
        for sign in (1.0, -1.0):  # d_j - sign (x_j - cur_j) >= 0
            rr += [m + idx, m + idx]
            cc += [n + idx, idx]
            vv += [np.ones(n), np.full(n, -sign)]
            r_lo.append(-sign * cur)
            r_hi.append(np.full(n, inf))
            m += n
        for weights, limit in spec.l1_rows:
            used = np.flatnonzero(weights)
            rr.append(np.full(used.size, m))
            cc.append(n + used)
            vv.append(weights[used].astype(float))
            r_lo.append(np.array([-inf]))
            r_hi.append(np.array([float(limit)]))
            m += 1
    for (ri, ci, vi), need in zip(rows.entries, rows.need, strict=True):
        k = need.size
        rr += [m + ri, m + np.arange(k)]
        cc += [ci, np.full(k, total - 1)]
        vv += [vi.astype(float), -need.astype(float)]
        r_lo.append(np.zeros(k))
        r_hi.append(np.full(k, inf))
        m += k
    starts, idx, val = _csr(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), m)
    h.addRows(m, np.concatenate(r_lo), np.concatenate(r_hi), idx.size, starts, idx, val)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return math.inf
    return float(h.getSolution().col_value[total - 1])


Ask = Callable[[float, bool, np.ndarray, float], tuple[np.ndarray | None, str]]


def _whole(rows: _Rows, spec: LinearSpec, solver: Backend, seed: int) -> Ask:
    """Level questions on the whole formulation: one backend feasibility solve each."""

    def ask(t: float, strict: bool, hint: np.ndarray, seconds: float) -> tuple[np.ndarray | None, str]:
        res = solver.solve_linear(rows.add_to(replace(spec, hint=hint), t, strict), seconds, seed)
        return res.x, res.status

    return ask


def _per_area(rows: _Rows, route: AreaRoute) -> Ask:
    """Level questions split by area (:mod:`allocator.solve.exact.areas`): exact, no whole model."""

    def ask(t: float, strict: bool, hint: np.ndarray, seconds: float) -> tuple[np.ndarray | None, str]:
        return route.solve(rows.by_role(t, strict), seconds)

    return ask


def _maximin(rows: _Rows, ask: Ask, x0: np.ndarray, upper: float, deadline: float) -> tuple[float, float, np.ndarray, str]:
    """Exact largest level: ``(level, bound, posting, status)``.

    ``ask(t, strict, hint, seconds)`` answers whether every row can reach
    level ``t`` (strictly above it with ``strict``): a posting, or None with
    ``"infeasible"`` when that is proven.
    """
    x = x0
    lo = rows.level(x)
    hi = upper * (1 + 1e-7) + 1e-12
    proven = False
    while time.perf_counter() < deadline:
        # at level 0 the strict question (every row at least one minute) settles it at once
        narrow = hi - lo <= _NARROW * max(lo, 1e-12) or lo <= 0
        if narrow:
            got, status = ask(lo, True, x, deadline - time.perf_counter())
        else:
            t = math.sqrt(lo * hi) if lo > 0 and hi / lo > 4 else 0.5 * (lo + hi)
            t = max(t, lo * (1 + 1e-6), 1e-12) if t <= lo else t
            got, status = ask(t, False, x, deadline - time.perf_counter())
        if got is not None:
            level = rows.level(got)
            if level <= lo * (1 + 1e-12) and narrow:  # no strict gain: the tolerance's last step
                proven = True
                break
            x, lo = got, max(lo, level)
            hi = max(hi, lo)
        elif status == "infeasible":
            if narrow:
                proven = True
                break
            hi = t
        else:  # out of time
            break
    return lo, (lo if proven else hi), x, ("optimal" if proven else "feasible")


def proportional_targets(f: Formulation) -> np.ndarray:
    """Each (area, role)'s demand-proportional posts, float64 (A, R)."""
    A, R, _ = f.shape
    hours = f.workload.sum(axis=2)  # (A, R)
    out = np.zeros((A, R))
    for r in range(R):
        if hours[:, r].sum() > 0:
            out[:, r] = f.establishment[r] * hours[:, r] / hours[:, r].sum()
    return out


def solve_formulation(
    f: Formulation,
    solver: Backend,
    report: SolverReport,
    time_limit: float = 60,
    seed: int = 0,
    tie_break: bool = True,
    route: str = "auto",
    later: bool = True,
    totals: bool = True,
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Solve ``f`` lexicographically with ``solver``; stage reports go into ``report``.

    Returns the posting (None if none was found: the report says why) and the
    smallest coverage reached per role.

    ``route`` picks how the maximin's level questions are answered:
    ``"areas"`` split by area (:mod:`allocator.solve.exact.areas`; a
    ``ValueError`` if the formulation has rows it does not model),
    ``"whole"`` one backend solve of the whole formulation each, ``"auto"``
    (default) split by area whenever the structure allows. Both are exact;
    each maximin stage report names the route in its ``method``. With
    ``later=False`` the solve stops after the maximin stages and returns
    their posting (for benchmarks of the maximin alone). On the per-area
    route the later stages run on (area, role) totals
    (:mod:`allocator.solve.exact.totals` with a current posting); with
    ``totals=False`` they are one backend model over all columns instead,
    the reference that benchmarks and tests compare with.
    """
    if route not in ("auto", "areas", "whole"):
        raise ValueError(f"route must be 'auto', 'areas' or 'whole', not {route!r}")
    start = time.perf_counter()
    deadline = start + max(time_limit, 0.0)
    floors = f.family(fm.RESPONSE_FLOORS)
    if floors is not None and not floors.n_rows:  # an empty family asks nothing
        f = replace(f, families=[fam for fam in f.families if fam is not floors])
        floors = None
    if floors is not None:  # met as far as they can be by their own stage first, then held
        f = replace(f, families=[fam for fam in f.families if fam is not floors])
    spec = base_spec(f)
    split: AreaRoute | None = None
    why = "the whole formulation was asked for"
    if route != "whole":
        built = area_route(f)
        if not isinstance(built, str) and floors is not None and len(floors.roles) > 1:
            built = "the response floors count several roles together"
        if isinstance(built, str):
            if route == "areas":
                raise ValueError(f"the per-area route does not apply: {built}")
            why = f"not split by area: {built}"
            logger.info("maximin on the whole formulation: %s", built)
        else:
            split = built
    if split is not None:
        x0, status = split.solve({}, max(deadline - time.perf_counter(), 0.01))
        method = "per area"
    else:
        first = solver.solve_linear(spec, max(deadline - time.perf_counter(), 0.01), seed)
        report.build_seconds += first.build_seconds
        x0, status, method = first.x, first.status, solver.name
    if x0 is None:
        report.add(StageReport("feasibility", "all", status if status != "unknown" else "no_solution",
                               math.nan, math.nan, time.perf_counter() - start, method))
        report.status = status if status != "unknown" else "no_solution"
        return None, {}
    x = x0
    if floors is not None:
        x, spec = _service_stage(f, floors, x, spec, split, why, solver, report, deadline, seed)
    elif f.service is not None:  # floors asked for, but none a pattern can meet (or all zero): nothing to do
        report.add(StageReport("service level", "all", "optimal", 1.0, 1.0, 0.0, "no floor row"))
    levels: dict[str, float] = {}
    R = len(f.roles)
    weights = {r: float(f.role_weights[r]) if f.role_weights is not None else 1.0 for r in range(R)}
    coupled = any(fam.links_roles for fam in f.families) or (floors is not None and floors.links_roles)
    if not (coupled and R > 1) and any(w != 1.0 for w in weights.values()):
        logger.warning("coverage weights are set but no rule couples roles: each role's maximin stands alone, "
                       "so the weights change nothing")
    groups: list[tuple[str, list[int]]] = []
    if coupled and R > 1:
        groups.append(("all", list(range(R))))
    groups += [(f.roles[r], [r]) for r in range(R)]
    for label, members in groups:
        t0 = time.perf_counter()
        rows = _Rows(f, members, weights if label == "all" else {})
        if rows.empty:
            report.add(StageReport("maximin", label, "optimal", math.nan, math.nan, 0.0,
                                   "per area" if split is not None else solver.name))
            continue
        if split is not None:
            ask, upper, method = _per_area(rows, split), rows.upper(f), "exact bisection, per area"
        else:
            ask = _whole(rows, spec, solver, seed)
            upper, method = min(rows.upper(f), lp_upper(rows, spec)), f"exact bisection ({solver.name}; {why})"
        level, bound, x, status = _maximin(rows, ask, x, upper, deadline)
        report.add(StageReport("maximin", label, status, level, bound, time.perf_counter() - t0, method))
        if label != "all":
            levels[label] = level
        spec = rows.add_to(spec, level)
        if split is not None:
            split.fix(rows.by_role(level))
        if not spec.admits(x):  # the fixed level must keep the posting found
            raise AssertionError(f"maximin[{label}]: the posting does not meet its own level")

    if not later:
        return x, levels
    if split is not None and totals and f.current is None:
        return _later_on_totals(f, split, solver, report, deadline, seed, tie_break, x), levels
    if split is not None and totals:
        return _later_with_moves(f, split, solver, report, deadline, seed, tie_break, x), levels
    stages: list[SumStage] = []
    move_rules = any(fam.l1 for fam in f.families)
    if f.current is not None and not move_rules:
        stages.append(SumStage("moves", "l1", np.ones(f.n, dtype=np.int64), np.arange(f.n), f.current, 1))
    A, R_, _ = f.shape
    group = f.col_area * R_ + f.col_role
    targets = np.round(proportional_targets(f).ravel() * TARGET_SCALE).astype(np.int64)
    stages.append(SumStage("proportional", "l1", np.ones(A * R_, dtype=np.int64), group, targets, TARGET_SCALE))
    if tie_break:
        stages.append(SumStage("tie-break", "linear", np.arange(1, f.n + 1, dtype=np.int64)))
    rest = replace(spec, stages=stages, hint=x)
    res: MilpResult = solver.solve_linear(rest, max(deadline - time.perf_counter(), 0.01), seed)
    report.build_seconds += res.build_seconds
    final = res.x if res.x is not None else x
    if res.x is None:
        logger.warning("no time left for the later stages; the posting meets every rule and the smallest "
                       "coverage but is not optimised for moves or shares")
    scale = {"moves": 0.5, "proportional": 1.0 / TARGET_SCALE}
    done = {st.name: st for st in res.stages}
    for stage in stages:
        st = done.get(stage.name)
        if st is not None and st.status in ("optimal", "feasible"):
            st.objective, st.bound = st.objective * scale.get(st.name, 1.0), st.bound * scale.get(st.name, 1.0)
            st.role = "all"
            report.add(st)
            continue
        # out of time: the posting in hand meets every rule and the levels; this stage is not optimised
        value = rest.objective_value(stage, final) * scale.get(stage.name, 1.0)
        report.add(StageReport(stage.name, "all", "feasible", value, math.nan, st.seconds if st else 0.0,
                               f"{solver.name}, stopped by the time limit (posting of the stage before)"))
    return final, levels


def _later_on_totals(f: Formulation, split: AreaRoute, solver: Backend, report: SolverReport, deadline: float,
                     seed: int, tie_break: bool, x: np.ndarray) -> np.ndarray:
    """Proportional shares and the tie-break on (area, role) totals, then each total split per area.

    Exact under the per-area route with no current posting (see
    :meth:`AreaRoute.totals_spec`); the tie-break prefers earlier areas and,
    within an area, lower teams.
    """
    spec, full = split.totals_spec()
    A, R, _ = f.shape
    targets = np.round(proportional_targets(f).ravel() * TARGET_SCALE).astype(np.int64)
    stages = [SumStage("proportional", "l1", np.ones(A * R, dtype=np.int64), np.arange(A * R), targets,
                       TARGET_SCALE)]
    if tie_break:
        stages.append(SumStage("tie-break", "linear", np.arange(1, A * R + 1, dtype=np.int64)))
    totals = f.posts(x).ravel()
    rest = replace(spec, stages=stages, hint=np.clip(totals, spec.lo, spec.hi))
    res = solver.solve_linear(rest, max(deadline - time.perf_counter(), 0.01), seed)
    report.build_seconds += res.build_seconds
    chosen = res.x if res.x is not None else totals
    done = {st.name: st for st in res.stages}
    for stage in stages:
        scale = 1.0 / TARGET_SCALE if stage.name == "proportional" else 1.0
        st = done.get(stage.name)
        if st is not None and st.status in ("optimal", "feasible"):
            report.add(StageReport(st.name, "all", st.status, st.objective * scale, st.bound * scale, st.seconds,
                                   f"{solver.name} on (area, role) totals"))
        else:
            report.add(StageReport(stage.name, "all", "feasible", rest.objective_value(stage, chosen) * scale,
                                   math.nan, st.seconds if st else 0.0,
                                   f"{solver.name} on totals, stopped by the time limit (posting of the stage before)"))
    return split.posting(chosen, full) if res.x is not None else x


def _later_with_moves(f: Formulation, split: AreaRoute, solver: Backend, report: SolverReport, deadline: float,
                      seed: int, tie_break: bool, x: np.ndarray) -> np.ndarray:
    """Fewest moves, proportional shares and the tie-break on (area, role) totals with each split tabulated.

    Exact under the per-area route with a current posting
    (:mod:`allocator.solve.exact.totals`): the same stage objectives as the
    whole formulation's. Out of time, the maximin's posting stands, its stages
    reported feasible.
    """
    targets = np.round(proportional_targets(f).ravel() * TARGET_SCALE).astype(np.int64)
    got, stages, build = later_stages(split, solver, targets, x, deadline, seed, tie_break)
    report.build_seconds += build
    final = got if got is not None else x
    if got is None:
        logger.warning("no time left for the later stages; the posting meets every rule and the smallest "
                       "coverage but is not optimised for moves or shares")
    done = {st.name: st for st in stages}
    names = ["moves", "proportional"] + (["tie-break"] if tie_break else [])
    assert f.current is not None
    values = {"moves": float(np.abs(final - f.current).sum()) / 2,
              "proportional": float(np.abs(TARGET_SCALE * f.posts(final).ravel() - targets).sum()) / TARGET_SCALE,
              "tie-break": float((np.arange(1, f.n + 1) * final).sum())}
    for name in names:
        st = done.get(name)
        if got is not None and st is not None:
            report.add(st)
        else:
            report.add(StageReport(name, "all", "feasible", values[name], math.nan, st.seconds if st else 0.0,
                                   f"{solver.name} on totals, stopped by the time limit (posting of the stage before)"))
    return final
