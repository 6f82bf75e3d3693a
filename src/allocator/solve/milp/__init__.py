"""Solver backends behind one small interface, and the report every result carries.

The allocation is solved role by role (roles share no constraint). For one
role, :mod:`allocator.solve.planner` hands a backend a :class:`MilpSpec`: whole-number
posts ``x_c`` between per-cell bounds, area groups with bounds on their sums,
the role's total, an optional move limit ``sum |x - current| <= max_l1``, and a
list of objective :class:`Stage` s solved lexicographically (each stage to
optimality or the time limit, then fixed at its value before the next).

Objectives are integer: ``l1`` stages minimise ``sum_c weight_c |scale x_c - target_c|``
and ``linear`` stages minimise ``sum_c weight_c x_c``. A ``ratio`` stage is the
plain maximin MILP's objective: maximise a continuous ``u`` with
``x_c >= weight_c u`` for every cell of positive weight (``weight_c = W_c / K_c``,
posts per unit of coverage); :func:`maximin_spec` builds it for one role with all
the rules. Its reported objective is the smallest ratio ``x_c / weight_c`` of the
posting found, its bound the solver's bound on ``u``. A new solver is a new
module with a class implementing :class:`Backend` and one line in ``_REGISTRY``.

>>> sorted(available_backends())
['cpsat', 'pulp', 'pulp:cbc', 'pulp:highs']
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from allocator.solve.milp.linear import LinearSpec
from allocator.solve.report import StageReport

__all__ = [
    "Backend",
    "MilpResult",
    "MilpSpec",
    "Stage",
    "available_backends",
    "get_backend",
    "l1_pieces",
    "maximin_spec",
]

@dataclass(frozen=True)
class Stage:
    """One objective of a lexicographic solve (minimised)."""

    name: str
    kind: Literal["l1", "linear", "ratio"]
    weights: np.ndarray
    target: np.ndarray | None = None
    scale: int = 1


@dataclass(frozen=True, eq=False)
class MilpSpec:
    """One role's integer program, solver-neutral."""

    name: str
    lo: np.ndarray
    hi: np.ndarray
    groups: np.ndarray
    group_lo: np.ndarray
    group_hi: np.ndarray
    total: int
    exact_total: bool
    stages: list[Stage]
    current: np.ndarray | None = None
    max_l1: int | None = None
    hint: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of cells (variables)."""
        return int(self.lo.size)

    def admits(self, x: np.ndarray) -> bool:
        """Whether posting ``x`` meets every hard rule: cell and group bounds, total, move limit."""
        x = np.asarray(x, dtype=np.int64)
        if x.shape != self.lo.shape or (x < self.lo).any() or (x > self.hi).any():
            return False
        per_group = np.bincount(self.groups, weights=x, minlength=self.group_lo.size)
        if (per_group < self.group_lo).any() or (per_group > self.group_hi).any():
            return False
        if (int(x.sum()) != self.total) if self.exact_total else (int(x.sum()) > self.total):
            return False
        return not (
            self.max_l1 is not None
            and self.current is not None
            and int(np.abs(x - self.current).sum()) > self.max_l1
        )


@dataclass(frozen=True, eq=False)
class MilpResult:
    """A backend's answer for one :class:`MilpSpec`."""

    x: np.ndarray | None
    stages: list[StageReport]
    status: str
    build_seconds: float = 0.0


class Backend(Protocol):
    """What a solver module provides."""

    name: str

    def solve(self, spec: MilpSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve ``spec``'s stages lexicographically within ``time_limit`` seconds."""
        ...

    def solve_linear(self, spec: LinearSpec, time_limit: float, seed: int) -> MilpResult:
        """Solve a general :class:`~allocator.solve.milp.linear.LinearSpec` (all roles, any rows)."""
        ...


def _cpsat(option: str | None) -> Backend:
    from allocator.solve.milp.cpsat import CpSatBackend

    return CpSatBackend()


def _pulp(option: str | None) -> Backend:
    from allocator.solve.milp.pulp import PulpBackend

    return PulpBackend(option)


def _has(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


_REGISTRY: dict[str, tuple[Callable[[str | None], Backend], Callable[[], bool]]] = {
    "cpsat": (_cpsat, lambda: _has("ortools.sat.python.cp_model")),
    "pulp": (_pulp, lambda: _has("pulp")),
}
_OPTIONS: dict[str, tuple[str, ...]] = {"pulp": ("cbc", "highs")}


def available_backends() -> list[str]:
    """Names accepted by :func:`get_backend` whose solver is installed."""
    out = []
    for name, (_, ok) in _REGISTRY.items():
        if ok():
            out.append(name)
            for opt in _OPTIONS.get(name, ()):
                if opt != "highs" or _has("highspy"):
                    out.append(f"{name}:{opt}")
    return out


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``cpsat``, ``pulp``, ``pulp:cbc``, ``pulp:highs``).

    >>> get_backend("cpsat").name
    'cpsat'
    """
    base, _, option = name.partition(":")
    if base not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(available_backends())}")
    if option and option not in _OPTIONS.get(base, ()):
        raise ValueError(f"unknown option {option!r} for backend {base!r}")
    make, ok = _REGISTRY[base]
    if not ok():
        raise ValueError(f"backend {name!r} is not installed")
    return make(option or None)


def l1_pieces(
    lo: np.ndarray, hi: np.ndarray, target: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``|scale x - target|`` over whole ``x`` in ``[lo, hi]`` into linear pieces.

    With ``f = clip(floor(target / scale), lo, hi)`` and ``x = f + b + u - v``
    (``b`` in {0, 1}, ``u, v >= 0``), the cost is ``const + step b + scale (u + v)``
    at the optimum: the convex function is interpolated between whole numbers,
    so the LP relaxation of a network of such cells is already integral and
    solvers prove optimality at the root instead of branching on ``scale x = target``.

    Returns ``(f, step, const)``, int64 arrays.

    >>> f, step, const = l1_pieces(np.array([0]), np.array([9]), np.array([2300]), 1000)
    >>> f.tolist(), step.tolist(), const.tolist()  # |1000 x - 2300|: 300 at 2, 700 at 3
    ([2], [400], [300])
    """
    lo, hi, target = (np.asarray(v, dtype=np.int64) for v in (lo, hi, target))
    f = np.clip(np.floor_divide(target, scale), lo, hi)
    const = np.abs(scale * f - target)
    step = np.abs(scale * (f + 1) - target) - const
    return f, step, const


def as_ints(values: Any) -> list[int]:
    """Plain Python ints (solver APIs reject numpy scalars in places)."""
    return [int(v) for v in np.asarray(values).ravel()]


def maximin_spec(rp: Any, hint: np.ndarray | None = None) -> MilpSpec:
    """The plain maximin MILP of one role, with every rule, as a :class:`MilpSpec`.

    Maximise a continuous ``u`` with ``x_c >= (W_c / K_c) u`` for each cell in
    the objective (workload, not pinned), whole posts within the cell bounds
    (minimum staffing, pins, caps), the area bounds, the establishment and the
    move limit ``sum |x - current| <= 2 max_moves``. Solved directly by any
    backend, it is the straightforward formulation that the exact breakpoint
    search (:func:`allocator.solve.planner.maximin_ratio`) replaces; the test suite
    and ``allocate(..., verify=True)`` compare the two.

    Parameters
    ----------
    rp
        An :class:`allocator.model.problem.RoleProblem`.
    hint
        An optional starting posting.

    Examples
    --------
    >>> from allocator.model.problem import RoleProblem
    >>> rp = RoleProblem("PC", np.array([3.0, 1.0]), np.ones(2), np.zeros(2, int), np.full(2, 9),
    ...                  1, 2, np.zeros(1, int), np.array([9]), 8, True, np.zeros(2, bool))
    >>> res = get_backend("pulp:highs").solve(maximin_spec(rp), 10, 0)
    >>> res.x.tolist(), res.stages[0].objective  # coverage 2 in both cells
    ([6, 2], 2.0)
    """
    obj = rp.objective
    rate = np.where(obj, rp.workload / np.where(obj, rp.capacity, 1.0), 0.0)
    return MilpSpec(
        name=rp.name,
        lo=rp.lo,
        hi=rp.hi,
        groups=rp.area_of,
        group_lo=rp.area_min,
        group_hi=rp.area_max,
        total=rp.total,
        exact_total=rp.exact_total,
        stages=[Stage("maximin", "ratio", rate)],
        current=rp.current,
        max_l1=None if rp.max_moves is None or rp.current is None else 2 * rp.max_moves,
        hint=hint,
    )


def ratio_upper(spec: MilpSpec, rate: np.ndarray) -> float:
    """An upper bound on ``u`` of a ratio stage: cell caps and the establishment."""
    pos = rate > 0
    if not pos.any():
        return 0.0
    hi = np.minimum(spec.hi[pos], spec.total).astype(float)
    return float(min((hi / rate[pos]).min(), spec.total / rate[pos].sum()))


def ratio_of(x: np.ndarray, rate: np.ndarray) -> float:
    """The smallest ``x_c / rate_c`` over cells of positive rate (the posting's coverage)."""
    pos = rate > 0
    return float((x[pos] / rate[pos]).min()) if pos.any() else math.nan
