"""PuLP backend: CBC (bundled with PuLP, the default) or HiGHS (``pulp:highs``).

Stages are solved one after another, each objective then bounded by its value.
PuLP reports "Optimal" when a time limit stops the solver with a solution, so
the status comes from ``prob.sol_status`` and the solver's best bound (HiGHS:
``mip_dual_bound``; CBC: the ``Lower bound`` line of its log). Options are
fixed (serial, fixed seed) so that the same input gives the same answer.
A ``ratio`` stage (the plain maximin MILP) has a continuous ``u`` and rows
``x_c - rate_c u >= 0``; it is minimised as ``-u``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
import warnings
from typing import Any

import numpy as np
import pulp

from allocator.solve.milp import MilpResult, MilpSpec, Stage, l1_pieces, ratio_of, ratio_upper
from allocator.solve.milp.linear import LinearSpec, SumStage, group_bounds
from allocator.solve.report import StageReport, worst_status

__all__ = ["PulpBackend"]

logger = logging.getLogger(__name__)

_LOWER_BOUND = re.compile(r"^Lower bound:\s*([-+0-9.eE]+)", re.MULTILINE)


class PulpBackend:
    """Lexicographic solves through PuLP with CBC or HiGHS."""

    def __init__(self, option: str | None = None):
        self.option = option or "cbc"
        if self.option not in ("cbc", "highs"):
            raise ValueError(f"unknown PuLP solver {option!r}; use 'cbc' or 'highs'")
        self.name = f"pulp:{self.option}"

    def _solver(self, time_limit: float, seed: int, log_path: str) -> Any:
        if self.option == "highs":
            return pulp.HiGHS(msg=False, timeLimit=time_limit, threads=1, random_seed=int(seed), gapRel=0.0)
        with warnings.catch_warnings():
            # PuLP 3.3 deprecates its bundled CBC for 4.0; pyproject pins PuLP below 3.4
            warnings.simplefilter("ignore", DeprecationWarning)
            # no `threads` option: CBC runs serially by default, and its `threads 1` mode was
            # measured to stall a trivial model until the time limit in about 1 solve in 10
            return pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=time_limit,
                logPath=log_path,
                gapRel=0.0,
                options=[f"randomSeed {int(seed) + 1}", f"randomCbcSeed {int(seed) + 1}"],
            )

    def solve(self, spec: MilpSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve ``spec`` stage by stage; see :class:`allocator.solve.milp.Backend`."""
        start = time.perf_counter()
        prob = pulp.LpProblem(f"allocation_{_safe(spec.name)}", pulp.LpMinimize)
        width = len(str(spec.n))
        x = [
            prob.add_variable(f"x{c:0{width}d}", int(spec.lo[c]), int(spec.hi[c]), cat=pulp.LpInteger)
            for c in range(spec.n)
        ]
        groups = np.asarray(spec.groups)
        for g in range(len(spec.group_lo)):
            idx = np.flatnonzero(groups == g)
            expr = pulp.lpSum(x[c] for c in idx)
            if spec.group_lo[g] > spec.lo[idx].sum():
                prob += expr >= int(spec.group_lo[g]), f"area_min_{g}"
            if spec.group_hi[g] < spec.hi[idx].sum():
                prob += expr <= int(spec.group_hi[g]), f"area_max_{g}"
        total = pulp.lpSum(x)
        prob += (total == spec.total) if spec.exact_total else (total <= spec.total), "establishment"
        if spec.max_l1 is not None and spec.current is not None:
            moves = _l1(prob, x, spec.lo, spec.hi, np.ones(spec.n, dtype=np.int64), spec.current, 1, "m")
            prob += moves <= spec.max_l1, "move_limit"
        objectives = [_objective(prob, x, spec, st, i) for i, st in enumerate(spec.stages)]
        build = time.perf_counter() - start

        stages = [(st.name, expr, np.asarray(st.weights, dtype=float) if st.kind == "ratio" else None)
                  for st, expr in zip(spec.stages, objectives, strict=True)]
        return self._lexicographic(prob, x, spec.name, stages, time_limit, seed, start, build)

    def solve_linear(self, spec: LinearSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve a :class:`~allocator.solve.milp.linear.LinearSpec` stage by stage."""
        start = time.perf_counter()
        prob = pulp.LpProblem(f"allocation_{_safe(spec.name)}", pulp.LpMinimize)
        width = len(str(spec.n))
        x = [
            prob.add_variable(f"x{c:0{width}d}", int(spec.lo[c]), int(spec.hi[c]), cat=pulp.LpInteger)
            for c in range(spec.n)
        ]
        order = np.argsort(spec.rows, kind="stable")
        rows, cols, vals = spec.rows[order], spec.cols[order], spec.vals[order]
        cuts = np.searchsorted(rows, np.arange(spec.m + 1))
        rwidth = len(str(spec.m))
        for i in range(spec.m):
            seg = slice(cuts[i], cuts[i + 1])
            expr = pulp.LpAffineExpression([(x[c], int(v)) for c, v in zip(cols[seg], vals[seg], strict=True)])
            if math.isfinite(spec.row_lo[i]):
                prob += expr >= int(round(spec.row_lo[i])), f"r{i:0{rwidth}d}_lo"
            if math.isfinite(spec.row_hi[i]):
                prob += expr <= int(round(spec.row_hi[i])), f"r{i:0{rwidth}d}_hi"
        if spec.l1_rows:
            assert spec.current is not None
            dev = []
            for c in range(spec.n):
                cur = int(spec.current[c])
                p_ = prob.add_variable(f"dp{c:0{width}d}", 0, max(int(spec.hi[c]) - cur, 0))
                m_ = prob.add_variable(f"dm{c:0{width}d}", 0, max(cur - int(spec.lo[c]), 0))
                prob += x[c] - p_ + m_ == cur, f"dev{c:0{width}d}"
                dev.append((p_, m_))
            for k, (weights, limit) in enumerate(spec.l1_rows):
                prob += pulp.lpSum(int(w) * (p_ + m_) for w, (p_, m_) in zip(weights, dev, strict=True) if w) \
                    <= math.floor(limit + 1e-9), f"l1row{k}"
        objectives = [_sum_objective(prob, x, spec, st, i) for i, st in enumerate(spec.stages)]
        build = time.perf_counter() - start
        stages: list[tuple[str, Any, np.ndarray | None]] = [
            (st.name, expr, None) for st, expr in zip(spec.stages, objectives, strict=True)]
        return self._lexicographic(prob, x, spec.name, stages, time_limit, seed, start, build)

    def _lexicographic(self, prob: pulp.LpProblem, x: list[Any], name_: str,
                       stages: list[tuple[str, Any, np.ndarray | None]], time_limit: float, seed: int,
                       start: float, build: float) -> MilpResult:
        """Solve the stages in turn, each then bounded by its value; no stages: a feasibility question.

        A stage with ratio weights is the plain maximin MILP's ``max u``: its
        value is the posting's own smallest coverage, its bound the solver's on ``u``.
        """
        reports: list[StageReport] = []
        best: np.ndarray | None = None
        fd, log_path = tempfile.mkstemp(prefix="allocator-cbc-", suffix=".log")
        os.close(fd)
        try:
            todo = stages or [("feasibility", pulp.LpAffineExpression(), None)]
            for name, expr, rate in todo:
                t0 = time.perf_counter()
                remaining = time_limit - (t0 - start)
                if remaining <= 0:
                    reports.append(StageReport(name, name_, "no_solution", math.nan, math.nan, 0.0, self.name))
                    break
                ratio = rate is not None
                prob.setObjective(-expr if ratio else expr)
                prob.solve(self._solver(max(remaining, 0.01), seed, log_path))
                secs = time.perf_counter() - t0
                status, value, bound = self._outcome(prob, -expr if ratio else expr, log_path, not ratio)
                if status not in ("optimal", "feasible"):
                    reports.append(StageReport(name, name_, status, math.nan, math.nan, secs, self.name))
                    logger.info("%s %s[%s]: %s", self.name, name, name_, status)
                    break
                best = np.array([round(v.value() or 0) for v in x], dtype=np.int64)
                if rate is not None:
                    # the posting's own smallest coverage; the solver's bound on u
                    fixed = float(expr.value() or 0.0)
                    value, bound = ratio_of(best, rate), -bound
                    prob += expr >= fixed * (1 - 1e-9), f"fix_{_safe(name)}"
                else:
                    value = float(round(value))
                    if not math.isnan(bound) and value - bound > 0.5:
                        status = "feasible"
                    prob += expr <= value, f"fix_{_safe(name)}"
                reports.append(StageReport(name, name_, status, value, bound, secs, self.name))
        finally:
            os.unlink(log_path)
        if not stages:
            status = reports[0].status if reports else "no_solution"
            return MilpResult(best if status in ("optimal", "feasible") else None, [], status, build)
        status = worst_status([r.status for r in reports])
        if best is None and status in ("optimal", "feasible"):
            status = "no_solution"
        return MilpResult(best, reports, status, build)

    def _outcome(self, prob: pulp.LpProblem, expr: Any, log_path: str, integral: bool = True
                 ) -> tuple[str, float, float]:
        sol = prob.sol_status
        if sol == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible:
            return "infeasible", math.nan, math.nan
        if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return ("no_solution" if sol == pulp.LpSolutionNoSolutionFound else "error"), math.nan, math.nan
        value = float(pulp.value(expr) or 0.0)
        bound = math.nan
        if self.option == "highs":
            try:
                # PuLP does not pass the objective's constant to HiGHS: add it back
                bound = float(prob.solverModel.getInfo().mip_dual_bound) + float(expr.constant)
            except (AttributeError, TypeError, ValueError):
                bound = math.nan
            if not math.isfinite(bound):
                bound = value if sol == pulp.LpSolutionOptimal else math.nan
        else:
            try:
                with open(log_path, encoding="utf-8", errors="replace") as fh:
                    m = _LOWER_BOUND.search(fh.read())
                bound = float(m.group(1)) if m else (value if sol == pulp.LpSolutionOptimal else math.nan)
            except OSError:
                bound = value if sol == pulp.LpSolutionOptimal else math.nan
        if sol == pulp.LpSolutionOptimal:
            bound = value
        # an integer objective: a bound within 1 of the value above it proves optimality
        if integral and math.isfinite(bound):
            bound = math.ceil(bound - 1e-6)
        status = "optimal" if sol == pulp.LpSolutionOptimal else "feasible"
        if status == "feasible" and math.isfinite(bound) and value - bound <= 1e-9 * max(1.0, abs(value)):
            # stopped early (CBC says "Stopped"), but its own bound proves the posting optimal
            logger.debug("%s: solver stopped early with a proven optimum %.9g", self.name, value)
            status = "optimal"
        return status, value, float(bound)


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _l1(prob: pulp.LpProblem, x: list[Any], lo: np.ndarray, hi: np.ndarray, weights: np.ndarray,
        target: np.ndarray, scale: int, tag: str) -> Any:
    """``sum_c w_c |scale x_c - target_c|`` in the piecewise form of :func:`l1_pieces`."""
    f, step, const = l1_pieces(lo, hi, target, scale)
    width = len(str(len(x)))
    terms = []
    offset = 0
    for c in np.flatnonzero(np.asarray(weights) != 0):
        w, fc, top = int(weights[c]), int(f[c]), int(hi[c])
        name = f"{c:0{width}d}"
        if scale == 1:  # whole targets: x = f + p - m, cost |f - T| + p + m (no step to interpolate)
            p = prob.add_variable(f"{tag}p{name}", 0, top - fc)
            m = prob.add_variable(f"{tag}m{name}", 0, fc - int(lo[c]))
            prob += x[c] - p + m == fc, f"{tag}link{name}"
            terms += [w * p, w * m]
            offset += w * int(const[c])
            continue
        b = prob.add_variable(f"{tag}b{name}", 0, min(1, top - fc), cat=pulp.LpInteger)
        u = prob.add_variable(f"{tag}u{name}", 0, max(top - fc - 1, 0))
        v = prob.add_variable(f"{tag}v{name}", 0, fc - int(lo[c]))
        prob += x[c] - b - u + v == fc, f"{tag}link{name}"
        terms += [w * int(step[c]) * b, w * scale * u, w * scale * v]
        offset += w * int(const[c])
    return pulp.lpSum(terms) + offset


def _objective(prob: pulp.LpProblem, x: list[Any], spec: MilpSpec, st: Stage, i: int) -> Any:
    lo, hi = spec.lo, spec.hi
    if st.kind == "ratio":
        rate = np.asarray(st.weights, dtype=float)
        u = prob.add_variable(f"u{i}", 0, ratio_upper(spec, rate))
        width = len(str(len(x)))
        for c in np.flatnonzero(rate > 0):
            prob += pulp.LpAffineExpression([(x[c], 1), (u, -float(rate[c]))]) >= 0, f"ratio{c:0{width}d}"
        return pulp.LpAffineExpression([(u, 1)])
    if st.kind == "l1":
        assert st.target is not None
        return _l1(prob, x, lo, hi, st.weights, st.target, st.scale, f"d{i}_")
    return pulp.lpSum(int(w) * x[c] for c, w in enumerate(np.asarray(st.weights)) if w)


def _sum_objective(prob: pulp.LpProblem, x: list[Any], spec: LinearSpec, st: SumStage, i: int) -> Any:
    """A :class:`SumStage` as a PuLP expression (group sums as variables, then the l1 pieces)."""
    w = np.asarray(st.weights)
    if st.kind == "linear":
        return pulp.lpSum(int(w[c]) * x[c] for c in range(len(x)) if w[c])
    assert st.group_of is not None and st.target is not None
    k = w.size
    glo, ghi = group_bounds(spec, st.group_of, k)
    width = len(str(k))
    sums = []
    for g in range(k):
        s = prob.add_variable(f"s{i}_{g:0{width}d}", int(glo[g]), int(ghi[g]), cat=pulp.LpInteger)
        prob += s == pulp.lpSum(x[c] for c in np.flatnonzero(st.group_of == g)), f"sum{i}_{g:0{width}d}"
        sums.append(s)
    return _l1(prob, sums, glo, ghi, w.astype(np.int64), np.asarray(st.target), st.scale, f"g{i}_")
