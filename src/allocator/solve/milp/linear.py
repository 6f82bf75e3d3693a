"""A general integer program over all roles: sparse integer rows and lexicographic stages.

The formulation on duty patterns (:mod:`allocator.model.formulation`) is
translated into one :class:`LinearSpec`: whole-number columns between bounds,
integer rows ``row_lo <= sum_j a_ij x_j <= row_hi`` (every constraint family
flattened), rows on absolute changes ``sum_j w_j |x_j - current_j| <= limit``
(move limits and budgets), and a list of :class:`SumStage` objectives solved
lexicographically, each then bounded by its value. Every coefficient is a
whole number, so CP-SAT solves it exactly and the LP-based solvers meet it
without tolerance trouble. A backend implements ``solve_linear(spec,
time_limit, seed) -> MilpResult``; with no stages it answers whether some
posting meets the rows (a feasibility question), which is what the exact
maximin bisection asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

__all__ = ["LinearSpec", "SumStage", "group_bounds"]


@dataclass(frozen=True, eq=False)
class SumStage:
    """One objective, minimised.

    ``kind="l1"``: ``sum_k weights_k |scale * sum_{j: group_of_j = k} x_j - target_k|``
    (columns with ``group_of = -1`` are in no group). ``kind="linear"``:
    ``sum_j weights_j x_j``.
    """

    name: str
    kind: Literal["l1", "linear"]
    weights: np.ndarray
    group_of: np.ndarray | None = None
    target: np.ndarray | None = None
    scale: int = 1


@dataclass(frozen=True, eq=False)
class LinearSpec:
    """An integer program over ``n`` whole-number columns (see the module)."""

    name: str
    lo: np.ndarray
    hi: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    current: np.ndarray | None = None
    l1_rows: tuple[tuple[np.ndarray, float], ...] = ()
    stages: list[SumStage] = field(default_factory=list)
    hint: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of columns."""
        return int(self.lo.size)

    @property
    def m(self) -> int:
        """Number of rows."""
        return int(self.row_lo.size)

    def row_values(self, x: np.ndarray) -> np.ndarray:
        """Each row's value at ``x``."""
        out = np.zeros(self.m)
        np.add.at(out, self.rows, self.vals * np.asarray(x, dtype=float)[self.cols])
        return out

    def admits(self, x: np.ndarray | None) -> bool:
        """Whether ``x`` meets the bounds, the rows and the absolute-change rows."""
        if x is None:
            return False
        x = np.asarray(x, dtype=np.int64)
        if x.shape != self.lo.shape or (x < self.lo).any() or (x > self.hi).any():
            return False
        v = self.row_values(x)
        if ((v < self.row_lo - 1e-9) | (v > self.row_hi + 1e-9)).any():
            return False
        for weights, limit in self.l1_rows:
            assert self.current is not None
            if float((weights * np.abs(x - self.current)).sum()) > limit + 1e-9:
                return False
        return True

    def with_rows(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, row_lo: np.ndarray,
                  row_hi: np.ndarray) -> LinearSpec:
        """A copy with more rows (their row indices counted from 0)."""
        return replace(
            self,
            rows=np.concatenate([self.rows, rows + self.m]),
            cols=np.concatenate([self.cols, cols]),
            vals=np.concatenate([self.vals, vals]),
            row_lo=np.concatenate([self.row_lo, row_lo]),
            row_hi=np.concatenate([self.row_hi, row_hi]),
        )

    def objective_value(self, stage: SumStage, x: np.ndarray) -> float:
        """The value of ``stage`` at ``x``."""
        x = np.asarray(x, dtype=np.int64)
        if stage.kind == "linear":
            return float((np.asarray(stage.weights) * x).sum())
        assert stage.group_of is not None and stage.target is not None
        k = np.asarray(stage.weights).size
        sums = np.zeros(k, dtype=np.int64)
        inside = stage.group_of >= 0
        np.add.at(sums, stage.group_of[inside], x[inside])
        return float((np.asarray(stage.weights) * np.abs(stage.scale * sums - stage.target)).sum())


def group_bounds(spec: LinearSpec, group_of: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each group's sum from its columns' bounds, int64 (k,) each."""
    lo = np.zeros(k, dtype=np.int64)
    hi = np.zeros(k, dtype=np.int64)
    inside = group_of >= 0
    np.add.at(lo, group_of[inside], spec.lo[inside])
    np.add.at(hi, group_of[inside], spec.hi[inside])
    return lo, hi
