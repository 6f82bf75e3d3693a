"""The result of an allocation: tidy table, metrics, moves, and per-cell explanations.

Examples
--------
>>> import numpy as np, allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> W = np.random.default_rng(1).uniform(500, 3000, (6, 5, 3))
>>> a = allocator.allocate(W, force, time_limit=10)
>>> list(a.table.columns)
['area', 'shift', 'role', 'posts', 'on_duty', 'workload_hours', 'coverage']
>>> int(a.metrics.loc["PC", "unallocated"])
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from allocator.model.problem import AllocationProblem
from allocator.solve.report import SolverReport

__all__ = ["Allocation", "CellExplanation", "SolverReport", "explanation_dict", "gini", "workload_from"]

_TOL = 1e-9


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal); NaN when empty.

    >>> gini(np.array([1.0, 1.0, 1.0])), gini(np.array([0.0, 0.0, 3.0]))
    (0.0, 0.6666666666666666)
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0 or v.sum() <= 0:
        return math.nan if n == 0 else 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * v).sum() / (n * v.sum()))


def explanation_dict(explanation: Any) -> dict[str, Any]:
    """An explanation's fields as plain values, its demand-type breakdown as a list of records."""
    out = {k: v for k, v in vars(explanation).items() if k != "by_type"}
    by_type = explanation.by_type
    out["by_type"] = None if by_type is None else by_type.to_dict("records")
    return out


def workload_from(by_type: pd.DataFrame | None, top: int = 5) -> list[str]:
    """The line naming the demand types a workload comes from (none without a breakdown)."""
    if by_type is None or not len(by_type):
        return []
    parts = [f"{row.demand_type} {row.hours:.1f} h ({row.share:.0%})" for row in by_type.head(top).itertuples()]
    return ["  workload from: " + ", ".join(parts)]


@dataclass
class CellExplanation:
    """Why a cell has the posts it has."""

    area: str
    shift: str
    role: str
    posts: int
    workload_hours: float
    coverage: float
    binding: str
    detail: str
    lower: int
    lower_source: str | None
    target: float
    role_min_coverage: float
    coverage_plus_one: float
    coverage_minus_one: float
    role_min_if_minus_one: float
    current: int | None = None
    by_type: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the demand-type breakdown as a list of records)."""
        return explanation_dict(self)

    def __str__(self) -> str:
        lines = [
            f"{self.area} / {self.shift} / {self.role}: {self.posts} posts",
            f"  workload {self.workload_hours:.1f} h, coverage {self.coverage:.4g} "
            f"(role's smallest {self.role_min_coverage:.4g})",
            f"  bound by: {self.binding} - {self.detail}",
            f"  one more post: coverage {self.coverage_plus_one:.4g}; one fewer: "
            f"{self.coverage_minus_one:.4g}, role's smallest would be {self.role_min_if_minus_one:.4g}",
        ]
        lines += workload_from(self.by_type)
        return "\n".join(lines)


class Allocation:
    """Whole-number postings for every (area, shift, role), with how they were found.

    Attributes
    ----------
    posts
        int64 (areas, shifts, roles).
    solver
        The :class:`~allocator.solve.milp.SolverReport`.
    problem
        The :class:`~allocator.model.problem.AllocationProblem` solved.
    ratios
        Each role's exact optimal smallest coverage (stage 1).
    targets
        Each cell's demand-proportional target (stage 3), float (A, S, R).
    warnings
        Pre-solve warnings (cells that must go without a post, ...).
    """

    def __init__(
        self,
        problem: AllocationProblem,
        posts: np.ndarray,
        solver: SolverReport,
        ratios: dict[str, float] | None = None,
        targets: np.ndarray | None = None,
        warnings: list[str] | None = None,
    ):
        self.problem = problem
        self.posts = np.asarray(posts, dtype=np.int64)
        self.solver = solver
        self.ratios = dict(ratios or {})
        self.targets = np.zeros(problem.shape) if targets is None else targets
        self.warnings = list(warnings or [])

    def __repr__(self) -> str:
        return f"<Allocation {self.problem.shape} {self.solver.backend} {self.solver.status}>"

    # ------------------------------------------------------------- arrays
    @cached_property
    def coverage(self) -> np.ndarray:
        """Coverage per cell (capacity / workload), NaN where workload is 0, float (A, S, R)."""
        p = self.problem
        w = p.workload
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(w > 0, p.capacity * self.posts / np.where(w > 0, w, 1.0), np.nan)

    @cached_property
    def on_duty(self) -> np.ndarray:
        """Posts x (1 - abstraction), float (A, S, R)."""
        return self.posts * (1 - self.problem.abstraction)[None, None, :]

    # -------------------------------------------------------------- table
    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per (area, shift, role) in force order.

        Columns ``area, shift, role`` (ordered categoricals), ``posts``,
        ``on_duty``, ``workload_hours``, ``coverage`` (NaN where no workload),
        and ``current``, ``change`` when a current posting was given.
        """
        p = self.problem
        A, S, R = p.shape
        ai, si, ri = np.indices(p.shape).reshape(3, -1)
        frame = pd.DataFrame({
            "area": pd.Categorical.from_codes(ai, categories=pd.Index(list(p.areas)), ordered=True),
            "shift": pd.Categorical.from_codes(si, categories=pd.Index(list(p.shifts)), ordered=True),
            "role": pd.Categorical.from_codes(ri, categories=pd.Index(list(p.roles)), ordered=True),
            "posts": self.posts.ravel().astype(np.int64),
            "on_duty": self.on_duty.ravel().astype(np.float64),
            "workload_hours": p.workload.ravel().astype(np.float64),
            "coverage": self.coverage.ravel().astype(np.float64),
        })
        if p.current is not None:
            frame["current"] = p.current.ravel().astype(np.int64)
            frame["change"] = frame["posts"] - frame["current"]
        return frame

    # ------------------------------------------------------------ metrics
    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Per role and overall (``all``): coverage spread, Gini, moves, unallocated.

        Columns ``min_coverage, max_coverage, spread, gini, moves, unallocated,
        uncovered_cells`` (cells with workload and no post).
        """
        p = self.problem
        rows = {}
        for r, role in enumerate(p.roles):
            rows[role] = self._metrics(np.s_[:, :, r], int(p.establishment[r]))
        rows["all"] = self._metrics(np.s_[:, :, :], int(p.establishment.sum()))
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "role"
        return out

    def _metrics(self, sl: Any, establishment: int) -> dict[str, Any]:
        p = self.problem
        cov = self.coverage[sl]
        mask = (p.workload[sl] > 0) & ~p.pinned[sl]
        vals = cov[mask]
        posts = self.posts[sl]
        moves = math.nan
        if p.current is not None:
            moves = float(np.abs(posts - p.current[sl]).sum()) / 2
        return {
            "min_coverage": float(vals.min()) if vals.size else math.nan,
            "max_coverage": float(vals.max()) if vals.size else math.nan,
            "spread": float(vals.max() - vals.min()) if vals.size else math.nan,
            "gini": gini(vals),
            "moves": moves,
            "unallocated": int(establishment - posts.sum()),
            "uncovered_cells": int(((p.workload[sl] > 0) & (posts == 0)).sum()),
        }

    # -------------------------------------------------------------- moves
    @cached_property
    def moves(self) -> pd.DataFrame:
        """Officers to move from the current posting, paired deterministically.

        Within a role, decreases and increases are paired in force order,
        first inside the same area (a change of shift), then across areas.
        Posts with no counterpart come from or go to ``(unallocated)``.
        Empty when no current posting was given.
        """
        cols = ["role", "from_area", "from_shift", "to_area", "to_shift", "officers"]
        p = self.problem
        if p.current is None:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "officers" else "string") for c in cols})
        A, S, R = p.shape
        rows: list[tuple[str, str, str, str, str, int]] = []
        un = "(unallocated)"
        for r in range(R):
            diff = (self.posts[:, :, r] - p.current[:, :, r]).ravel()
            give = np.maximum(-diff, 0)
            take = np.maximum(diff, 0)
            for same_area in (True, False):
                for c in np.flatnonzero(give):
                    for d in np.flatnonzero(take):
                        if give[c] == 0:
                            break
                        if same_area and c // S != d // S:
                            continue
                        n = int(min(give[c], take[d]))
                        if n:
                            rows.append((p.roles[r], p.areas[c // S], p.shifts[c % S],
                                         p.areas[d // S], p.shifts[d % S], n))
                            give[c] -= n
                            take[d] -= n
            for c in np.flatnonzero(give):
                rows.append((p.roles[r], p.areas[c // S], p.shifts[c % S], un, un, int(give[c])))
            for d in np.flatnonzero(take):
                rows.append((p.roles[r], un, un, p.areas[d // S], p.shifts[d % S], int(take[d])))
        frame = pd.DataFrame(rows, columns=cols)
        for col in cols[:-1]:
            frame[col] = frame[col].astype("string")
        frame["officers"] = frame["officers"].astype("int64")
        return frame

    # ------------------------------------------------------------ explain
    def explain(self, area: str, shift: str, role: str) -> CellExplanation:
        """Why (area, shift, role) has its posts: workload, binding rule, one post either way.

        The binding rule is, in order: a pin; the minimum staffing (or another
        named lower bound) when the cell is at it; an area bound the area's
        total sits at; the fairness bottleneck (the cell is at the role's
        smallest coverage); the move limit; otherwise its proportional share.
        """
        p = self.problem
        try:
            a, s, r = p.areas.index(area), p.shifts.index(shift), p.roles.index(role)
        except ValueError as exc:
            raise KeyError(f"no cell {area!r} / {shift!r} / {role!r} in this allocation") from exc
        x = int(self.posts[a, s, r])
        w = float(p.workload[a, s, r])
        k = float(p.capacity[a, s, r])
        cov = float(self.coverage[a, s, r])
        mask = (p.workload[:, :, r] > 0) & ~p.pinned[:, :, r]
        role_cov = self.coverage[:, :, r][mask]
        role_min = float(role_cov.min()) if role_cov.size else math.nan
        lower = int(p.lower[a, s, r])
        src = p.lower_source(a, s, r)
        plus = k * (x + 1) / w if w > 0 else math.nan
        minus = k * (x - 1) / w if w > 0 and x > 0 else math.nan
        if mask[a, s] and x > 0:
            others = np.delete(role_cov, np.flatnonzero(mask.ravel())
                               .tolist().index(a * len(p.shifts) + s))
            role_min_minus = float(min(minus, others.min() if others.size else math.inf))
        else:
            role_min_minus = role_min
        area_sum = int(self.posts[a, :, r].sum())
        target = float(self.targets[a, s, r])
        u = self.ratios.get(role, math.nan)
        current = None if p.current is None else int(p.current[a, s, r])
        if p.pins[a, s, r] >= 0:
            binding, detail = "pin", f"pinned at exactly {int(p.pins[a, s, r])} posts"
        elif x == lower and lower > 0 and (w == 0 or not cov > u * (1 + _TOL)):
            binding, detail = src or "minimum", f"at the {src} of {lower} posts"
        elif x == lower and lower > 0 and cov > u * (1 + _TOL):
            binding, detail = src or "minimum", f"at the {src} of {lower} posts, above the fair share"
        elif area_sum == p.area_max[a, r] and p.area_max[a, r] < p.establishment[r] and x < target:
            binding, detail = "area bound", f"{area} is at its bound of {int(p.area_max[a, r])} {role}s"
        elif area_sum == p.area_min[a, r] and p.area_min[a, r] > 0 and x > target:
            binding, detail = "area bound", f"{area} is at its minimum of {int(p.area_min[a, r])} {role}s"
        elif w > 0 and math.isfinite(u) and abs(cov - u) <= _TOL * max(u, 1.0):
            binding = "fairness bottleneck"
            detail = f"at the role's smallest coverage {u:.4g}; one fewer post would lower it"
        elif (p.max_moves is not None and p.current is not None and x == current
              and float(np.abs(self.posts[:, :, r] - p.current[:, :, r]).sum()) >= 2 * p.max_moves):
            binding, detail = "move limit", f"the {p.max_moves} moves allowed are used"
        else:
            binding = "proportional share"
            detail = f"demand-proportional share {target:.2f} posts, rounded to {x}"
        by_type = None
        src_obj = p.source
        if src_obj is not None and hasattr(src_obj, "explain") and w > 0:
            by_type = src_obj.explain(area, shift, role)
        return CellExplanation(
            area=area, shift=shift, role=role, posts=x, workload_hours=w, coverage=cov,
            binding=binding, detail=detail, lower=lower, lower_source=src, target=target,
            role_min_coverage=role_min, coverage_plus_one=plus, coverage_minus_one=minus,
            role_min_if_minus_one=role_min_minus, current=current, by_type=by_type,
        )

    # ----------------------------------------------------------- notebook
    def _repr_html_(self) -> str:
        """A compact HTML summary for notebooks (:func:`allocator.present.notebook.allocation_html`)."""
        from allocator.present.notebook import allocation_html

        return allocation_html(self)

    def plot(self, role: str | None = None) -> Any:
        """Coverage heatmaps, area x shift, one row of panels per role (a matplotlib ``Figure``).

        With a current posting each role has two panels: before and after.
        Needs matplotlib (``pip install 'allocator[plot]'``); see
        :func:`allocator.present.plots.plot_allocation`.

        Parameters
        ----------
        role
            Draw only this role (``KeyError`` naming the roles if unknown).
        """
        from allocator.present.plots import plot_allocation

        return plot_allocation(self.table, role)

    def to_excel(self, path: Any) -> None:
        """Write the allocation to an ``.xlsx`` workbook, atomically.

        Sheets: ``Summary`` (posts per area and role, with totals), one per
        role (its area x shift grid of posts, then its rows of :attr:`table`)
        and, when a current posting was given, ``Moves``. The same allocation
        gives the same bytes. See :func:`allocator.io.excel.allocation_to_excel`.
        """
        from allocator.io.excel import allocation_to_excel

        extra = {"Moves": self.moves} if self.problem.current is not None else None
        allocation_to_excel(self, path, extra)
