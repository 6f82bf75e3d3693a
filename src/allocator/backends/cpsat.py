"""OR-Tools CP-SAT backend.

One model per role; stages are solved one after another on the same model,
each stage's objective then bounded by its value, the previous solution given
as a hint. Deterministic: one worker, a fixed ``random_seed``. CP-SAT may
report OPTIMAL when a gap limit stops it, so the status is taken from the
objective and the best bound, not from the status name alone.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from ortools.sat.python import cp_model

from allocator.backends import (
    MilpResult,
    MilpSpec,
    Stage,
    StageReport,
    as_ints,
    l1_pieces,
    worst_status,
)

__all__ = ["CpSatBackend"]

logger = logging.getLogger(__name__)


class CpSatBackend:
    """Lexicographic solves with CP-SAT (the default backend)."""

    name = "cpsat"

    def solve(self, spec: MilpSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve ``spec`` stage by stage; see :class:`allocator.backends.Backend`."""
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

        objectives = [_objective(model, x, lo, hi, st, i) for i, st in enumerate(spec.stages)]
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = int(seed)
        solver.parameters.linearization_level = 2
        reports: list[StageReport] = []
        best: np.ndarray | None = None
        if spec.hint is not None:
            for var, v in zip(x, as_ints(spec.hint), strict=True):
                model.add_hint(var, v)
        for st, expr in zip(spec.stages, objectives, strict=True):
            t0 = time.perf_counter()
            remaining = time_limit - (t0 - start)
            if remaining <= 0:
                reports.append(StageReport(st.name, spec.name, "no_solution", np.nan, np.nan, 0.0))
                break
            solver.parameters.max_time_in_seconds = remaining
            model.minimize(expr)
            code = solver.solve(model)
            secs = time.perf_counter() - t0
            if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                value = float(solver.objective_value)
                bound = float(solver.best_objective_bound)
                status = "optimal" if code == cp_model.OPTIMAL and abs(value - bound) < 0.5 else "feasible"
                best = np.array([solver.value(v) for v in x], dtype=np.int64)
                reports.append(StageReport(st.name, spec.name, status, value, bound, secs))
                model.add(expr <= round(value))
                model.clear_hints()
                for var, v in zip(x, as_ints(best), strict=True):
                    model.add_hint(var, v)
            else:
                status = {
                    cp_model.INFEASIBLE: "infeasible",
                    cp_model.UNKNOWN: "no_solution",
                }.get(code, "error")
                reports.append(StageReport(st.name, spec.name, status, np.nan, np.nan, secs))
                logger.info("CP-SAT %s[%s]: %s", st.name, spec.name, solver.status_name(code))
                break
        if not spec.stages:  # a pure feasibility question
            solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
            code = solver.solve(model)
            if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                best = np.array([solver.value(v) for v in x], dtype=np.int64)
                return MilpResult(best, [], "optimal")
            return MilpResult(None, [], "infeasible" if code == cp_model.INFEASIBLE else "no_solution")
        status = worst_status([r.status for r in reports])
        if best is None and status in ("optimal", "feasible"):
            status = "no_solution"
        return MilpResult(best, reports, status)


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
        b = model.new_int_var(0, min(1, hi[c] - fc), f"{tag}b{c}")
        u = model.new_int_var(0, max(hi[c] - fc - 1, 0), f"{tag}u{c}")
        v = model.new_int_var(0, fc - lo[c], f"{tag}v{c}")
        model.add(x[c] - b - u + v == fc)
        vars_ += [b, u, v]
        coefs += [w * int(step[c]), w * scale, w * scale]
        offset += w * int(const[c])
    return cp_model.LinearExpr.weighted_sum(vars_, coefs) + offset


def _objective(
    model: cp_model.CpModel, x: list[cp_model.IntVar], lo: list[int], hi: list[int], st: Stage, i: int
) -> cp_model.LinearExpr:
    if st.kind == "l1":
        assert st.target is not None
        return _l1(model, x, lo, hi, st.weights, st.target, st.scale, f"d{i}_")
    w = as_ints(st.weights)
    keep = [c for c in range(len(x)) if w[c]]
    return cp_model.LinearExpr.weighted_sum([x[c] for c in keep], [w[c] for c in keep])
