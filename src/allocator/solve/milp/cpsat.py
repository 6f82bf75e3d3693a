"""OR-Tools CP-SAT backend.

One model per role; stages are solved one after another on the same model,
each stage's objective then bounded by its value, the previous solution given
as a hint. Deterministic: one worker, a fixed ``random_seed``. CP-SAT may
report OPTIMAL when a gap limit stops it, so the status is taken from the
objective and the best bound, not from the status name alone.

CP-SAT has no continuous variables, so a ``ratio`` stage (the plain maximin
MILP) puts ``u = U u_max / 2**20`` on a grid, ``U`` whole, and writes each
``x_c >= rate_c u`` as ``D_c y_c >= B_c U`` with ``B_c = ceil(rate_c D_c u_max / 2**20)``
(rounded up, so every grid value it accepts is truly met; ``D_c`` a power of
two keeping ``D_c y_c`` below ``2**40``) and
``y_c = min(x_c, ceil(rate_c u_max))`` keeping the products in range. The
posting it returns has a true smallest coverage within about ``2**-20`` relative
of the optimum, and is exactly optimal when no other breakpoint lies that close;
when CP-SAT proves the grid optimum, the reported bound is that coverage.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from ortools.sat.python import cp_model

from allocator.solve.milp import (
    MilpResult,
    MilpSpec,
    Stage,
    as_ints,
    l1_pieces,
    ratio_of,
    ratio_upper,
)
from allocator.solve.milp.linear import LinearSpec, SumStage, group_bounds
from allocator.solve.report import StageReport, worst_status

__all__ = ["CpSatBackend"]

logger = logging.getLogger(__name__)

_GRID_BITS = 20  # u on a grid of 2**20 steps up to its upper bound
_ROW_BITS = 40  # |coefficient| x |variable bound| kept below 2**40 in the ratio rows


class CpSatBackend:
    """Lexicographic solves with CP-SAT (the default backend)."""

    name = "cpsat"

    def solve(self, spec: MilpSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve ``spec`` stage by stage; see :class:`allocator.solve.milp.Backend`."""
        start = time.perf_counter()
        model = cp_model.CpModel()
        lo, hi = as_ints(spec.lo), as_ints(spec.hi)
        x = [model.new_int_var(lo[c], hi[c], f"x{c}") for c in range(spec.n)]
        groups = np.asarray(spec.groups)
        for g in range(len(spec.group_lo)):
            members = [x[c] for c in np.flatnonzero(groups == g)]
            g_lo, g_hi = int(spec.group_lo[g]), int(spec.group_hi[g])
            if g_lo > sum(lo[c] for c in np.flatnonzero(groups == g)) or g_hi < sum(
                hi[c] for c in np.flatnonzero(groups == g)
            ):
                model.add_linear_constraint(sum(members), g_lo, g_hi)
        if spec.exact_total:
            model.add(sum(x) == spec.total)
        else:
            model.add(sum(x) <= spec.total)
        if spec.max_l1 is not None and spec.current is not None:
            model.add(_l1(model, x, lo, hi, np.ones(spec.n, dtype=np.int64), spec.current, 1, "m") <= spec.max_l1)

        objectives = [_objective(model, x, lo, hi, st, i, spec) for i, st in enumerate(spec.stages)]
        build = time.perf_counter() - start
        stages = [(st.name, expr, step, np.asarray(st.weights, dtype=float) if st.kind == "ratio" else None)
                  for st, (expr, step) in zip(spec.stages, objectives, strict=True)]
        return self._lexicographic(model, x, spec.name, stages, spec.hint, time_limit, seed, start, build)

    def solve_linear(self, spec: LinearSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve a :class:`~allocator.solve.milp.linear.LinearSpec` stage by stage (exact: whole numbers)."""
        start = time.perf_counter()
        model = cp_model.CpModel()
        lo, hi = as_ints(spec.lo), as_ints(spec.hi)
        x = [model.new_int_var(lo[c], hi[c], f"x{c}") for c in range(spec.n)]
        order = np.argsort(spec.rows, kind="stable")
        rows, cols, vals = spec.rows[order], spec.cols[order], spec.vals[order]
        cuts = np.searchsorted(rows, np.arange(spec.m + 1))
        for i in range(spec.m):
            seg = slice(cuts[i], cuts[i + 1])
            expr = cp_model.LinearExpr.weighted_sum([x[c] for c in cols[seg]], as_ints(vals[seg]))
            if math.isfinite(spec.row_lo[i]):
                model.add(expr >= int(round(spec.row_lo[i])))
            if math.isfinite(spec.row_hi[i]):
                model.add(expr <= int(round(spec.row_hi[i])))
        if spec.l1_rows:
            assert spec.current is not None
            cur = as_ints(spec.current)
            dev = [model.new_int_var(0, max(hi[c] - cur[c], cur[c] - lo[c], 0), f"d{c}") for c in range(spec.n)]
            for c in range(spec.n):
                model.add_abs_equality(dev[c], x[c] - cur[c])
            for weights, limit in spec.l1_rows:
                w = as_ints(weights)
                model.add(cp_model.LinearExpr.weighted_sum(dev, w) <= int(math.floor(limit + 1e-9)))
        objectives = [_sum_objective(model, x, spec, st, i) for i, st in enumerate(spec.stages)]
        build = time.perf_counter() - start
        stages: list[tuple[str, cp_model.LinearExpr, float, np.ndarray | None]] = [
            (st.name, expr, 0.0, None) for st, expr in zip(spec.stages, objectives, strict=True)]
        return self._lexicographic(model, x, spec.name, stages, spec.hint, time_limit, seed, start, build)

    def _lexicographic(self, model: cp_model.CpModel, x: list[cp_model.IntVar], name_: str,
                       stages: list[tuple[str, cp_model.LinearExpr, float, np.ndarray | None]],
                       hint: np.ndarray | None, time_limit: float, seed: int, start: float,
                       build: float) -> MilpResult:
        """Solve the stages in turn, each then bounded by its value; no stages: a feasibility question.

        A stage with ratio weights is the plain maximin MILP's grid variable
        ``U`` (maximised, ``step`` per grid unit); the others are minimised.
        """
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = int(seed)
        solver.parameters.linearization_level = 2
        if hint is not None:
            for var, v in zip(x, as_ints(hint), strict=True):
                model.add_hint(var, v)
        if not stages:  # a pure feasibility question
            solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
            code = solver.solve(model)
            if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return MilpResult(np.array([solver.value(v) for v in x], dtype=np.int64), [], "optimal", build)
            return MilpResult(None, [], "infeasible" if code == cp_model.INFEASIBLE else "no_solution", build)
        reports: list[StageReport] = []
        best: np.ndarray | None = None
        for name, expr, step, rate in stages:
            t0 = time.perf_counter()
            remaining = time_limit - (t0 - start)
            if remaining <= 0:
                reports.append(StageReport(name, name_, "no_solution", np.nan, np.nan, 0.0, self.name))
                break
            solver.parameters.max_time_in_seconds = remaining
            # the plain maximin MILP: default LP level and a bound-driven tree search (with the
            # default search one worker can fail to find any posting in 20 s); the other stages: full LP
            solver.parameters.linearization_level = 1 if rate is not None else 2
            solver.parameters.optimize_with_lb_tree_search = rate is not None
            if rate is not None:
                model.maximize(expr)
            else:
                model.minimize(expr)
            code = solver.solve(model)
            secs = time.perf_counter() - t0
            if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                status = {cp_model.INFEASIBLE: "infeasible", cp_model.UNKNOWN: "no_solution"}.get(code, "error")
                reports.append(StageReport(name, name_, status, np.nan, np.nan, secs, self.name))
                logger.info("CP-SAT %s[%s]: %s", name, name_, solver.status_name(code))
                break
            value = float(solver.objective_value)
            bound = float(solver.best_objective_bound)
            status = "optimal" if code == cp_model.OPTIMAL and abs(value - bound) < 0.5 else "feasible"
            best = np.array([solver.value(v) for v in x], dtype=np.int64)
            if rate is not None:
                model.add(expr >= int(round(value)))
                # proven optimal on the grid: the posting's coverage is the optimum to the grid's
                # resolution; otherwise the grid's bound, never below that coverage
                value = ratio_of(best, rate)
                bound = value if code == cp_model.OPTIMAL else max(value, (bound + 1) * step)
            else:  # a whole-number objective: drop CP-SAT's floating-point noise
                value, bound = float(round(value)), float(math.ceil(bound - 1e-6))
                model.add(expr <= int(value))
            reports.append(StageReport(name, name_, status, value, bound, secs, self.name))
            model.clear_hints()
            for var, v in zip(x, as_ints(best), strict=True):
                model.add_hint(var, v)
        status = worst_status([r.status for r in reports])
        if best is None and status in ("optimal", "feasible"):
            status = "no_solution"
        return MilpResult(best, reports, status, build)


def _l1(
    model: cp_model.CpModel,
    x: list[cp_model.IntVar],
    lo: list[int],
    hi: list[int],
    weights: np.ndarray,
    target: np.ndarray,
    scale: int,
    tag: str,
) -> cp_model.LinearExpr:
    """``sum_c w_c |scale x_c - target_c|`` in the piecewise form of :func:`l1_pieces`."""
    f, step, const = l1_pieces(np.array(lo), np.array(hi), target, scale)
    vars_: list[cp_model.IntVar] = []
    coefs: list[int] = []
    offset = 0
    for c in np.flatnonzero(np.asarray(weights) != 0):
        w, fc = int(weights[c]), int(f[c])
        if scale == 1:  # whole targets: x = f + p - m, cost |f - T| + p + m (no step to interpolate)
            p = model.new_int_var(0, hi[c] - fc, f"{tag}p{c}")
            m = model.new_int_var(0, fc - lo[c], f"{tag}m{c}")
            model.add(x[c] - p + m == fc)
            vars_ += [p, m]
            coefs += [w, w]
            offset += w * int(const[c])
            continue
        b = model.new_int_var(0, min(1, hi[c] - fc), f"{tag}b{c}")
        u = model.new_int_var(0, max(hi[c] - fc - 1, 0), f"{tag}u{c}")
        v = model.new_int_var(0, fc - lo[c], f"{tag}v{c}")
        model.add(x[c] - b - u + v == fc)
        vars_ += [b, u, v]
        coefs += [w * int(step[c]), w * scale, w * scale]
        offset += w * int(const[c])
    return cp_model.LinearExpr.weighted_sum(vars_, coefs) + offset


def _ratio(model: cp_model.CpModel, x: list[cp_model.IntVar], spec: MilpSpec, rate: np.ndarray
           ) -> tuple[cp_model.LinearExpr, float]:
    """The grid variable ``U`` of a ratio stage and the value of one grid step (see the module)."""
    u_max = ratio_upper(spec, rate)
    n_steps = 1 << _GRID_BITS
    step = u_max / n_steps if u_max > 0 else 0.0
    big_u = model.new_int_var(0, n_steps if u_max > 0 else 0, "U")
    for c in np.flatnonzero(rate > 0):
        cap = min(int(spec.hi[c]), math.ceil(float(rate[c]) * u_max) + 1)
        y = x[c]
        if cap < int(spec.hi[c]):  # y_c = min(x_c, cap) from below: y_c <= x_c, y_c <= cap
            y = model.new_int_var(0, cap, f"y{c}")
            model.add(y <= x[c])
        d = 1 << max(0, _ROW_BITS - max(cap, 1).bit_length())
        b = math.ceil(float(rate[c]) * d * step)
        model.add(d * y - b * big_u >= 0)
    return cp_model.LinearExpr.weighted_sum([big_u], [1]), step


def _objective(
    model: cp_model.CpModel, x: list[cp_model.IntVar], lo: list[int], hi: list[int], st: Stage, i: int,
    spec: MilpSpec,
) -> tuple[cp_model.LinearExpr, float]:
    """The stage's objective, and for a ratio stage the value of one grid step of ``u``."""
    if st.kind == "ratio":
        return _ratio(model, x, spec, np.asarray(st.weights, dtype=float))
    if st.kind == "l1":
        assert st.target is not None
        return _l1(model, x, lo, hi, st.weights, st.target, st.scale, f"d{i}_"), 0.0
    w = as_ints(st.weights)
    keep = [c for c in range(len(x)) if w[c]]
    return cp_model.LinearExpr.weighted_sum([x[c] for c in keep], [w[c] for c in keep]), 0.0


def _sum_objective(model: cp_model.CpModel, x: list[cp_model.IntVar], spec: LinearSpec, st: SumStage,
                   i: int) -> cp_model.LinearExpr:
    """A :class:`SumStage` as a CP-SAT expression (group sums as variables, then the l1 pieces)."""
    w = np.asarray(st.weights)
    if st.kind == "linear":
        keep = [c for c in range(len(x)) if w[c]]
        return cp_model.LinearExpr.weighted_sum([x[c] for c in keep], [int(w[c]) for c in keep])
    assert st.group_of is not None and st.target is not None
    k = w.size
    glo, ghi = group_bounds(spec, st.group_of, k)
    sums = []
    for g in range(k):
        members = [x[c] for c in np.flatnonzero(st.group_of == g)]
        s = model.new_int_var(int(glo[g]), int(ghi[g]), f"s{i}_{g}")
        model.add(s == sum(members))
        sums.append(s)
    return _l1(model, sums, as_ints(glo), as_ints(ghi), w.astype(np.int64), np.asarray(st.target), st.scale,
               f"g{i}_")
