"""The solver-neutral allocation problem: arrays in force order, named bounds.

An :class:`AllocationProblem` holds everything a solver needs and nothing of
any solver: the workload ``W`` and the capacity of one post ``K`` per
(area, shift, role), each role's establishment, lower bounds from named
sources (``"minimum staffing"`` from the force, more from later features via
:meth:`AllocationProblem.with_lower_bound`), per-cell upper bounds, per-area
bounds summed over shifts, pinned cells, and an optional current posting with
a move limit. :func:`build_problem` makes one from a workload and a force.

Roles never share a constraint, so the problem splits into one
:class:`RoleProblem` per role (flat arrays over the cells ``a * shifts + s``);
:meth:`RoleProblem.check` is an exact, closed-form feasibility test for given
per-cell bounds, used by the pre-solve diagnosis and the exact maximin search.

Examples
--------
>>> import numpy as np, allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> W = np.full((6, 5, 3), 100.0)
>>> p = build_problem(W, force)
>>> p.shape, p.establishment.tolist()
((6, 5, 3), [400, 120, 60])
>>> int(p.lower[..., 0].sum())
140
>>> float(p.capacity[0, 0, 0])  # 0.5 on duty x 0.7 reactive x 9 hours x 182 days
573.3
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from allocator.errors import ArgumentError, InputError, Problem
from allocator.model.current import read_current
from allocator.model.force import Force

__all__ = ["MIN_STAFFING", "AllocationProblem", "RoleProblem", "build_problem", "read_current"]

logger = logging.getLogger(__name__)

MIN_STAFFING = "minimum staffing"


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """Everything an allocation solver needs, as arrays in force order.

    Parameters
    ----------
    areas, shifts, roles
        Names, in force order; the axes of every (A, S, R) array.
    workload
        Judged hours of work over the window, float64 (A, S, R).
    capacity
        Hours of work one post gives over the window, float64 (A, S, R):
        ``(1 - abstraction) * (1 - proactive share) * shift hours * window days``.
    establishment
        Posts of each role to share out, int64 (R,).
    lower_bounds
        Named lower bounds on posts, each int64 (A, S, R); the effective lower
        bound is their elementwise maximum.
    upper
        Per-cell upper bound on posts, int64 (A, S, R).
    area_min, area_max
        Bounds on a role's posts in an area summed over shifts, int64 (A, R).
    pins
        Exact posts for pinned cells, -1 where a cell is not pinned, int64 (A, S, R).
    current
        The current posting, int64 (A, S, R), or None.
    max_moves
        Largest number of moves allowed from ``current`` (None: no limit).
    allow_unallocated
        If True a role may post fewer than its establishment.
    abstraction
        Abstraction rate of each role, float64 (R,) (for on-duty figures).
    source
        The object the workload came from (a ``Workload``), kept for explanations.
    """

    areas: tuple[str, ...]
    shifts: tuple[str, ...]
    roles: tuple[str, ...]
    workload: np.ndarray
    capacity: np.ndarray
    establishment: np.ndarray
    lower_bounds: Mapping[str, np.ndarray]
    upper: np.ndarray
    area_min: np.ndarray
    area_max: np.ndarray
    pins: np.ndarray
    abstraction: np.ndarray
    current: np.ndarray | None = None
    max_moves: int | None = None
    allow_unallocated: bool = False
    source: Any = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(areas, shifts, roles)."""
        return (len(self.areas), len(self.shifts), len(self.roles))

    @property
    def lower(self) -> np.ndarray:
        """Effective lower bound: the maximum over the named sources, int64 (A, S, R)."""
        out = np.zeros(self.shape, dtype=np.int64)
        for arr in self.lower_bounds.values():
            out = np.maximum(out, arr)
        return out

    @property
    def pinned(self) -> np.ndarray:
        """Boolean (A, S, R): the cells with a pin."""
        return self.pins >= 0

    @property
    def objective_mask(self) -> np.ndarray:
        """Cells whose coverage the allocation maximises: workload > 0 and not pinned."""
        return (self.workload > 0) & ~self.pinned

    def lower_source(self, area: int, shift: int, role: int) -> str | None:
        """Name of the source that sets the lower bound of a cell (None if it is 0)."""
        best, name = 0, None
        for key, arr in self.lower_bounds.items():
            if arr[area, shift, role] > best:
                best, name = int(arr[area, shift, role]), key
        return name

    def with_lower_bound(self, name: str, array: np.ndarray) -> AllocationProblem:
        """A copy with one more named lower bound (replacing one of the same name).

        >>> import numpy as np, allocator
        >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
        >>> p = build_problem(np.ones((6, 5, 3)), force)
        >>> q = p.with_lower_bound("queueing", np.full((6, 5, 3), 7))
        >>> list(q.lower_bounds), int(q.lower[0, 0, 0]), q.lower_source(0, 0, 0)
        (['minimum staffing', 'queueing'], 7, 'queueing')
        """
        arr = np.asarray(array)
        if arr.shape != self.shape:
            raise ValueError(f"lower bound {name!r} has shape {arr.shape}, expected {self.shape}")
        if not np.all(np.isfinite(arr)) or (arr < 0).any():
            raise ValueError(f"lower bound {name!r} must be finite and 0 or more")
        ints = np.ceil(arr - 1e-9).astype(np.int64)
        return replace(self, lower_bounds={**self.lower_bounds, name: ints})

    def role_problem(self, r: int) -> RoleProblem:
        """The part of the problem for role ``r`` (roles share no constraint)."""
        A, S, _ = self.shape
        pins = self.pins[:, :, r].ravel()
        pinned = pins >= 0
        lo = self.lower[:, :, r].ravel().copy()
        hi = self.upper[:, :, r].ravel().copy()
        # a pin below the minimum or above the upper bound leaves lo > hi: infeasible, diagnosed
        lo[pinned] = np.maximum(lo[pinned], pins[pinned])
        hi[pinned] = np.minimum(hi[pinned], pins[pinned])
        return RoleProblem(
            name=self.roles[r],
            workload=self.workload[:, :, r].ravel(),
            capacity=self.capacity[:, :, r].ravel(),
            lo=lo,
            hi=hi,
            n_areas=A,
            n_shifts=S,
            area_min=self.area_min[:, r].copy(),
            area_max=self.area_max[:, r].copy(),
            total=int(self.establishment[r]),
            exact_total=not self.allow_unallocated,
            pinned=pinned,
            current=None if self.current is None else self.current[:, :, r].ravel(),
            max_moves=self.max_moves,
        )


@dataclass(frozen=True, eq=False)
class RoleProblem:
    """One role's allocation over flat cells ``c = area * n_shifts + shift``.

    ``lo``/``hi`` already include pins. ``check`` decides feasibility exactly.
    """

    name: str
    workload: np.ndarray
    capacity: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_areas: int
    n_shifts: int
    area_min: np.ndarray
    area_max: np.ndarray
    total: int
    exact_total: bool
    pinned: np.ndarray
    current: np.ndarray | None = None
    max_moves: int | None = None

    @property
    def objective(self) -> np.ndarray:
        """Boolean (C,): cells in the maximin objective (workload > 0, not pinned)."""
        return (self.workload > 0) & ~self.pinned

    @property
    def area_of(self) -> np.ndarray:
        """Area index of each flat cell, int64 (C,)."""
        return np.repeat(np.arange(self.n_areas), self.n_shifts)

    def floors(self, u: float) -> np.ndarray:
        """Lower bounds that make every objective cell's coverage at least ``u``.

        ``x_c >= ceil(u W_c / K_c)``, with a relative tolerance of 1e-9 so that a
        breakpoint ``u = K_c m / W_c`` gives exactly ``m`` for cell ``c``.
        """
        lo = self.lo.copy()
        if u <= 0:
            return lo
        obj = self.objective
        need = u * self.workload[obj] / self.capacity[obj]
        lo[obj] = np.maximum(lo[obj], np.ceil(need - 1e-9 * np.maximum(need, 1.0)).astype(np.int64))
        return lo

    def min_l1(self, lo: np.ndarray, hi: np.ndarray, *, areas: bool = True, total: bool = True) -> int:
        """Smallest ``sum |x - current|`` over postings within the bounds (exact).

        Within an area every post moved away from the clipped current posting
        costs one, so the cost is separable: clip the current posting into the
        cell bounds, then each area's total into its bounds, then the sum into
        the establishment. Assumes the bounds are feasible (see :meth:`check`).
        """
        assert self.current is not None
        cur = self.current
        x0 = np.clip(cur, lo, hi)
        base = int(np.abs(x0 - cur).sum())
        A, S = self.n_areas, self.n_shifts
        t0 = x0.reshape(A, S).sum(axis=1)
        alo, ahi = self._area_range(lo, hi, areas)
        t = np.clip(t0, alo, ahi)
        cost = base + int(np.abs(t - t0).sum())
        if total:
            s = int(t.sum())
            if s > self.total or (self.exact_total and s < self.total):
                cost += abs(s - self.total)
        return cost

    def _area_range(self, lo: np.ndarray, hi: np.ndarray, areas: bool) -> tuple[np.ndarray, np.ndarray]:
        A, S = self.n_areas, self.n_shifts
        alo = lo.reshape(A, S).sum(axis=1)
        ahi = hi.reshape(A, S).sum(axis=1)
        if areas:
            alo = np.maximum(alo, self.area_min)
            ahi = np.minimum(ahi, self.area_max)
        return alo, ahi

    def check(
        self,
        lo: np.ndarray | None = None,
        hi: np.ndarray | None = None,
        *,
        areas: bool = True,
        total: bool = True,
        moves: bool = True,
    ) -> bool:
        """Whether some whole-number posting meets the bounds and the rules.

        Exact: any area total between the sums of its cells' bounds can be
        reached, and any role total between the sums of the area ranges. The
        keyword flags switch rule groups off (for the infeasibility explanation).

        >>> import numpy as np
        >>> rp = RoleProblem("PC", np.ones(4), np.ones(4), np.zeros(4, int), np.full(4, 9),
        ...                  2, 2, np.zeros(2, int), np.array([9, 1]), 5, True, np.zeros(4, bool))
        >>> rp.check(), rp.check(lo=np.array([0, 0, 1, 1]))
        (True, False)
        """
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else hi
        if (lo > hi).any():
            return False
        alo, ahi = self._area_range(lo, hi, areas)
        if (alo > ahi).any():
            return False
        if total and (alo.sum() > self.total or (self.exact_total and ahi.sum() < self.total)):
            return False
        if moves and self.current is not None and self.max_moves is not None:
            return self.min_l1(lo, hi, areas=areas, total=total) <= 2 * self.max_moves
        return True

    def ratios(self, x: np.ndarray) -> np.ndarray:
        """Coverage of each objective cell under posting ``x`` (NaN elsewhere)."""
        out = np.full(x.shape, np.nan)
        obj = self.objective
        out[obj] = self.capacity[obj] * x[obj] / self.workload[obj]
        return out

    def next_breakpoint(self, u: float) -> float:
        """The smallest coverage value ``K_c m / W_c`` (m whole) strictly above ``u``."""
        obj = self.objective
        if not obj.any():
            return np.inf
        k, w = self.capacity[obj], self.workload[obj]
        m = np.floor(u * w / k + 1e-9 * np.maximum(u * w / k, 1.0)) + 1
        return float((k * m / w).min())


# ------------------------------------------------------------------ building
def build_problem(
    workload: Any,
    force: Force,
    current: Any = None,
    max_moves: int | None = None,
    allow_unallocated: bool = False,
) -> AllocationProblem:
    """Build the allocation problem from a workload and a force, vectorised.

    Parameters
    ----------
    workload
        A ``Workload`` (its ``.array`` is used) or an array of judged hours,
        shape (areas, shifts, roles), in force order.
    force
        The force: establishment, abstraction, proactive share, minimum
        staffing, area bounds and pins.
    current
        The current posting: a DataFrame or CSV path with columns
        ``area, shift, role, posts`` (checked by
        :func:`allocator.model.current.read_current` with its defaults), or an
        int array (areas, shifts, roles).
    max_moves
        Largest number of officers that may move from ``current``.
    allow_unallocated
        Let a role post fewer than its establishment.

    Returns
    -------
    AllocationProblem

    Raises
    ------
    allocator.errors.InputError
        If the workload has the wrong shape or bad values, or the current
        posting names unknown areas/shifts/roles or has bad counts (every
        problem at once).

    Examples
    --------
    >>> import numpy as np, allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> p = build_problem(np.ones((6, 5, 3)), force)
    >>> p.area_max[:2, 0].tolist()  # Swindon North and South: at most 95 PCs
    [95, 95]
    """
    src = workload
    arr = np.asarray(getattr(workload, "array", workload), dtype=np.float64)
    areas, shifts, roles = force.area_names, force.shift_names, force.role_names
    shape = (len(areas), len(shifts), len(roles))
    if arr.shape != shape:
        raise InputError(
            "<workload>",
            [Problem("<workload>", "shape", f"expected (areas, shifts, roles) = {shape}", arr.shape)],
        )
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        problems = [
            Problem("<workload>", f"{areas[a]} / {shifts[s]} / {roles[r]}",
                    "workload must be a finite number of hours, 0 or more", float(arr[a, s, r]))
            for a, s, r in zip(*np.nonzero(bad), strict=True)
        ]
        raise InputError("<workload>", problems)
    if max_moves is not None and (isinstance(max_moves, bool) or int(max_moves) != max_moves or max_moves < 0):
        raise ArgumentError("max_moves", max_moves, "must be a whole number, 0 or more")

    R = len(roles)
    abstraction = np.array([r.abstraction for r in force.roles])
    proactive = np.array([r.proactive_share for r in force.roles])
    establishment = np.array([r.establishment for r in force.roles], dtype=np.int64)
    per_post = (1 - abstraction) * (1 - proactive)  # (R,)
    capacity = np.broadcast_to(
        force.shift_hours()[None, :, None] * per_post[None, None, :] * (getattr(workload, "days", None) or force.settings.window_days),
        shape,
    ).copy()

    r_index = {r: k for k, r in enumerate(roles)}
    area_min = np.zeros((shape[0], R), dtype=np.int64)
    area_max = np.broadcast_to(establishment, (shape[0], R)).copy()
    for i, area in enumerate(force.areas):
        for role, n in area.min_posts.items():
            area_min[i, r_index[role]] = n
        for role, n in area.max_posts.items():
            area_max[i, r_index[role]] = min(n, establishment[r_index[role]])
    upper = np.minimum(establishment[None, None, :], area_max[:, None, :]).astype(np.int64)
    upper = np.broadcast_to(upper, shape).copy()

    pins = np.full(shape, -1, dtype=np.int64)
    a_index = {a: k for k, a in enumerate(areas)}
    s_index = {s: k for k, s in enumerate(shifts)}
    for pin in force.pins:
        pins[a_index[pin.area], s_index[pin.shift], r_index[pin.role]] = pin.posts

    cur = None if current is None else read_current(current, force)
    problem = AllocationProblem(
        areas=tuple(areas),
        shifts=tuple(shifts),
        roles=tuple(roles),
        workload=arr.copy(),
        capacity=capacity,
        establishment=establishment,
        lower_bounds={MIN_STAFFING: force.min_posts_array()},
        upper=upper,
        area_min=area_min,
        area_max=area_max,
        pins=pins,
        abstraction=abstraction,
        current=cur,
        max_moves=None if max_moves is None else int(max_moves),
        allow_unallocated=allow_unallocated,
        source=src if not isinstance(src, np.ndarray) else None,
    )
    logger.debug("built allocation problem %s with %d cells", shape, arr.size)
    return problem
