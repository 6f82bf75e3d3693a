"""The exact fast path for the allocation's fairness stage: maximin, then leximin.

A role's posts go to cells ``c`` (area x shift). Cell ``c`` has judged workload
``w_c >= 0`` hours, capacity per post ``k_c > 0`` hours, and integer bounds
``lower_c <= x_c <= upper_c``; the role has an establishment ``E``. The coverage
ratio of a cell with workload is ``k_c x_c / w_c``. Under these rules alone
(a total and per-cell bounds) the fairness stage has an exact combinatorial
answer, computed here without a solver.

**Maximin.** The best smallest ratio is the largest ``u`` with::

    needed(u) = sum_c max(lower_c, ceil(u w_c / k_c)) <= E,   ceil(u w_c / k_c) <= upper_c

It is a breakpoint ``u* = k_c m / w_c`` for some cell ``c`` and integer ``m``.

**Leximin.** Among postings reaching ``u*``, the one returned has the
lexicographically largest sorted vector of ratios over the cells with workload
(raise the smallest ratio, then the next smallest, and so on). It is built by
*water-filling* from the lower bounds: the next post goes to the cell whose
**current** ratio ``k_c x_c / w_c`` is smallest; among cells with equal current
ratios, to the one a post lifts most (largest ``k_c / w_c``), then to the lowest
index; cells at their upper bound take no more. This greedy is exact: choosing
``Phi(v) = exp(-K v)`` with ``K`` large enough, the leximin order on the (finite)
set of reachable ratio vectors is the order of ``sum_c Phi(ratio_c)``, a separable
convex function of the integer posts, and greedy marginal allocation minimises
a separable convex function over ``{sum x = E, lower <= x <= upper}`` (Gross
1956; Ibaraki & Katoh, *Resource Allocation Problems*, MIT Press 1988, ch. 4).
Its marginal order is exactly (current ratio, then larger step, then index).
In apportionment terms it is Adams' method (divisor ``d(x) = x``) on weights
``w_c / k_c`` with bounds, the method known to maximise the smallest
representation ratio (Balinski & Young, *Fair Representation*, 2nd ed. 2001).

Note that "give the next post to the cell with the smallest *next* ratio
``k_c (x_c + 1) / w_c``" (Jefferson's order) is *not* leximin: with ratios
``1/1`` and ``10/10`` and one spare post it lifts the second cell to ``1.1`` and
leaves ``(1, 1.1)``, while leximin gives ``(1, 2)``.

When every cell with workload is at its upper bound, any remaining posts go to
cells without workload, in index order, up to their upper bounds (they change
no ratio). With ``exact_total=False`` the posting stops at the minimal posts
reaching ``u*`` and the rest is reported as unallocated.

**Exactness.** The level of the water-filling is located by bisection over the
bit patterns of non-negative floats (at most 64 vectorised passes), then every
step whose ratio lies within a relative band of ``1e-9`` around the level is
decided with exact rational arithmetic (:class:`fractions.Fraction` over the
exact binary values of the inputs). Float error (about ``1e-16`` relative) is
far inside the band, so ties such as ``3 x 2 / 6 == 1 x 1 / 1`` are never lost
or invented: the posting is exactly the greedy's on the inputs as given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from allocator.solve.exact.apportion import (
    BAND,
    StepKeys,
    exact_unique,
    take_smallest_steps,
    whole_array,
)

__all__ = ["MaximinResult", "MaximinRolesResult", "maximin_posts", "maximin_roles"]

log = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MaximinResult:
    """The exact maximin / leximin posting of one role.

    Attributes
    ----------
    posts : numpy.ndarray
        int64, the input's shape: the leximin-optimal posting (or, with
        ``exact_total=False``, the minimal posting reaching :attr:`ratio`).
    ratio : float
        ``u*``, the smallest coverage ratio over cells with workload; ``inf``
        when no cell has workload; ``nan`` when infeasible.
    needed : numpy.ndarray
        int64, the fewest posts per cell reaching ``u*``:
        ``max(lower, ceil(u* w / k))`` (the lower bound where there is no workload).
    binding : numpy.ndarray
        Flat indexes (into the raveled input) of the cells with workload whose
        ratio in :attr:`posts` equals ``u*`` exactly, ascending.
    feasible : bool
        False when the bounds and the total cannot all hold.
    reason : str
        Why not, in plain words; empty when feasible.
    unallocated : int
        Posts of the total left unposted (only with ``exact_total=False``).
    """

    posts: IntArray
    ratio: float
    needed: IntArray
    binding: NDArray[np.intp]
    feasible: bool = True
    reason: str = ""
    unallocated: int = 0


@dataclass(frozen=True)
class MaximinRolesResult:
    """:func:`maximin_posts` for every role of a force at once.

    Attributes
    ----------
    posts, needed : numpy.ndarray
        int64, shape (areas, shifts, roles).
    ratios : numpy.ndarray
        float64, shape (roles,): each role's ``u*``.
    feasible : numpy.ndarray
        bool, shape (roles,).
    reasons : tuple of str
        Per role; empty strings where feasible.
    unallocated : numpy.ndarray
        int64, shape (roles,).
    results : tuple of MaximinResult
        The per-role results (their ``binding`` indexes are flat over
        (areas, shifts)).
    """

    posts: IntArray
    ratios: FloatArray
    needed: IntArray
    feasible: NDArray[np.bool_]
    reasons: tuple[str, ...]
    unallocated: IntArray
    results: tuple[MaximinResult, ...] = field(repr=False)


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


def _as_total(value: Any) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | np.integer | float | np.floating
    ):
        raise ValueError(f"the establishment must be a whole number, got {value!r}")
    if isinstance(value, float | np.floating) and (not np.isfinite(value) or value != int(value)):
        raise ValueError(f"the establishment must be a whole number, got {value!r}")
    total = int(value)
    if total < 0:
        raise ValueError(f"the establishment must not be negative, got {total}")
    return total


def _checked(
    workload: ArrayLike, capacity_per_post: ArrayLike, lower: ArrayLike, upper: ArrayLike
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, tuple[int, ...]]:
    w = np.asarray(workload, dtype=np.float64)
    shape = w.shape
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"workload must be finite and non-negative; got {w.ravel()[i].item()!r} at index {i} "
            f"({int(bad.sum())} such cell(s))"
        )
    try:
        k = np.broadcast_to(np.asarray(capacity_per_post, dtype=np.float64), shape)
    except ValueError:
        raise ValueError(
            f"capacity_per_post has shape {np.shape(capacity_per_post)}, which does not fit "
            f"workload shape {shape}"
        ) from None
    bad = ~np.isfinite(k) | (k <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"capacity_per_post must be finite and positive; got {k.ravel()[i].item()!r} at index {i} "
            f"({int(bad.sum())} such cell(s))"
        )
    lo = whole_array("lower", lower, shape, against="workload")
    up = whole_array("upper", upper, shape, against="workload")
    return w.ravel(), k.ravel(), lo.ravel(), up.ravel(), shape


def _capped_sum(values: IntArray, cap: int) -> int:
    """``sum(min(values, cap))`` without int64 overflow for huge 'no cap' values."""
    return int(np.minimum(values, cap).sum(dtype=np.int64)) if values.size else 0


def _infeasible(total: int, lo: IntArray, up: IntArray, exact_total: bool) -> str:
    bad = np.flatnonzero(lo > up)
    if bad.size:
        cells = ", ".join(f"cell {i} (lower {lo[i]}, upper {up[i]})" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        return f"the minimum exceeds the maximum in {bad.size} cell(s): {cells}{more}"
    need = int(lo.sum(dtype=np.int64))
    if need > total:
        return f"minimum staffing needs {need} posts; the establishment is {total}"
    if exact_total:
        room = _capped_sum(up, total + 1)
        if room < total:
            return f"the caps allow at most {room} posts; the establishment is {total}"
    return ""


# --------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------


def maximin_posts(
    workload: ArrayLike,
    capacity_per_post: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    total: int,
    *,
    exact_total: bool = True,
) -> MaximinResult:
    """Share ``total`` posts of one role over cells: maximin, then leximin, exactly.

    Parameters
    ----------
    workload : array_like
        Judged hours per cell, ``>= 0`` and finite; any shape (e.g. areas x shifts).
    capacity_per_post : array_like
        Hours one post gives each cell over the window, ``> 0``; broadcast to
        the workload's shape.
    lower, upper : array_like of int
        Per-cell bounds on posts (minimum staffing, pins, caps), ``>= 0``;
        broadcast. Use a large number (e.g. ``2**62``) for no cap.
    total : int
        The role's establishment ``E``.
    exact_total : bool, default True
        Post exactly ``total``. When False, stop at the fewest posts that reach
        the best smallest ratio and report the rest as ``unallocated``.

    Returns
    -------
    MaximinResult
        The posting, ``u*``, the minimal posting reaching it, the binding cells,
        and feasibility. Infeasible bounds do not raise: ``feasible`` is False
        and ``reason`` says why, in the force's words.

    Raises
    ------
    ValueError
        For malformed input: negative or non-finite workload, non-positive
        capacity, non-integer or negative bounds, shapes that do not fit.

    Notes
    -----
    The method, the proof of leximin optimality and how ties are decided
    exactly are in the module docstring (:mod:`allocator.solve.exact.maximin`).

    Examples
    --------
    Three cells needing 10, 20 and 30 hours, 10 hours per post, 6 posts:

    >>> r = maximin_posts([10.0, 20.0, 30.0], 10.0, 0, 100, 6)
    >>> r.posts.tolist(), r.ratio
    ([1, 2, 3], 1.0)

    One more post lifts the cell it helps most among those at the minimum:

    >>> maximin_posts([10.0, 20.0, 30.0], 10.0, 0, 100, 7).posts.tolist()
    [2, 2, 3]

    Minimum staffing that cannot be met is reported, not raised:

    >>> r = maximin_posts([5.0, 5.0], 10.0, [3, 4], 100, 6)
    >>> r.feasible, r.reason
    (False, 'minimum staffing needs 7 posts; the establishment is 6')
    """
    w, k, lo, up, shape = _checked(workload, capacity_per_post, lower, upper)
    total = _as_total(total)
    n = w.shape[0]
    reason = _infeasible(total, lo, up, exact_total)
    if reason:
        log.debug("maximin infeasible: %s", reason)
        fallback = np.minimum(lo, up).reshape(shape)
        return MaximinResult(
            posts=fallback,
            ratio=float("nan"),
            needed=fallback.copy(),
            binding=np.empty(0, dtype=np.intp),
            feasible=False,
            reason=reason,
        )

    spare = total - int(lo.sum(dtype=np.int64))
    has_work = w > 0
    pos = np.flatnonzero(has_work)
    posts = lo.copy()
    left = spare
    if pos.size:
        wp, kp, lp = w[pos], k[pos], lo[pos]
        avail = np.minimum(up[pos] - lp, spare)
        if int(avail.sum(dtype=np.int64)) <= spare:
            taken = avail
        else:
            rate = wp / kp  # posts per unit of ratio

            def count_below(t: float) -> FloatArray:
                # #{x >= 0 : x k / w < t} = ceil(t w / k), and x = 0 counts for any t > 0
                if t <= 0.0:
                    return np.zeros(pos.size, dtype=np.float64)
                with np.errstate(over="ignore"):
                    return np.maximum(np.ceil(t * rate), 1.0)

            def step_keys(items: IntArray, steps: IntArray) -> StepKeys:
                x, ki, wi = steps.astype(np.float64), kp[items], wp[items]
                return StepKeys(
                    primary=x * ki / wi,  # the current ratio (0 exactly when x = 0)
                    secondary=wi / ki,  # smaller rate first: the post lifts it most
                    exact_primary=lambda sel: exact_unique(
                        (x[sel], ki[sel], wi[sel]), lambda a, b, c: a * b / c
                    ),
                    exact_secondary=lambda sel: exact_unique(
                        (wi[sel], ki[sel]), lambda a, b: a / b
                    ),
                )

            taken = take_smallest_steps(lp, avail, spare, count_below, step_keys)
        posts[pos] += taken
        left = spare - int(taken.sum(dtype=np.int64))

    ratio, binding, needed = _ratio_and_needed(w, k, lo, posts, pos)
    unallocated = 0
    if not exact_total:
        posts = needed.copy()
        unallocated = total - int(posts.sum(dtype=np.int64))
        binding = _binding(w, k, posts, pos)
    elif left > 0:
        zero = np.flatnonzero(~has_work)
        room = np.minimum(up[zero] - lo[zero], left)
        before = np.cumsum(room) - room
        give = np.clip(left - before, 0, room)
        posts[zero] += give
        left -= int(give.sum(dtype=np.int64))
        if left:  # pragma: no cover - excluded by the feasibility check
            raise RuntimeError(f"{left} posts could not be placed")
    log.debug("maximin: %d cells, total %d, u* = %s, %d binding", n, total, ratio, binding.size)
    return MaximinResult(
        posts=posts.reshape(shape),
        ratio=ratio,
        needed=needed.reshape(shape),
        binding=binding,
        unallocated=unallocated,
    )


def _min_and_binding(
    w: FloatArray, k: FloatArray, posts: IntArray, pos: IntArray
) -> tuple[Fraction, NDArray[np.intp]]:
    """The exact smallest ratio over cells ``pos`` and the cells that have it."""
    ratio_f = k[pos] * posts[pos] / w[pos]
    low = float(ratio_f.min())
    if low == 0.0:  # a zero ratio is exact: no posts
        return Fraction(0), pos[posts[pos] == 0].astype(np.intp)
    idx = pos[ratio_f <= low * (1.0 + BAND)]
    distinct, inverse = exact_unique(
        (posts[idx].astype(np.float64), k[idx], w[idx]), lambda x, kk, ww: x * kk / ww
    )
    u = min(distinct)
    at_u = np.array([e == u for e in distinct], dtype=np.bool_)[inverse]
    return u, idx[at_u].astype(np.intp)


def _binding(w: FloatArray, k: FloatArray, posts: IntArray, pos: IntArray) -> NDArray[np.intp]:
    if not pos.size:
        return np.empty(0, dtype=np.intp)
    return _min_and_binding(w, k, posts, pos)[1]


def _ratio_and_needed(
    w: FloatArray, k: FloatArray, lo: IntArray, posts: IntArray, pos: IntArray
) -> tuple[float, NDArray[np.intp], IntArray]:
    """``u*`` (exact, returned as the nearest float), binding cells, minimal posts."""
    needed = lo.copy()
    if not pos.size:
        return float("inf"), np.empty(0, dtype=np.intp), needed
    u, binding = _min_and_binding(w, k, posts, pos)
    if u == 0:
        return 0.0, binding, needed
    # ceil(u w / k) per cell: float estimate, exact where it lies near an integer
    y = float(u) * w[pos] / k[pos]
    est = np.minimum(np.ceil(y), posts[pos].astype(np.float64)).astype(np.int64)
    near = np.flatnonzero(np.abs(y - np.round(y)) <= BAND * np.maximum(1.0, np.abs(y)))
    if near.size:
        idx = pos[near]
        distinct, inverse = exact_unique((w[idx], k[idx]), lambda ww, kk: u * ww / kk)
        ceils = np.array([-((-q.numerator) // q.denominator) for q in distinct], dtype=np.int64)
        est[near] = ceils[inverse]
    needed[pos] = np.maximum(lo[pos], est)
    return float(u), binding, needed


def maximin_roles(
    workload: ArrayLike,
    capacity_per_post: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    establishment: ArrayLike,
    *,
    exact_total: bool = True,
) -> MaximinRolesResult:
    """:func:`maximin_posts` for several independent roles at once.

    Parameters
    ----------
    workload : array_like
        float, shape (areas, shifts, roles).
    capacity_per_post, lower, upper : array_like
        Broadcast to the workload's shape (a per-role capacity of shape
        ``(roles,)`` broadcasts along the last axis).
    establishment : array_like of int
        Shape (roles,).
    exact_total : bool, default True
        As for :func:`maximin_posts`.

    Returns
    -------
    MaximinRolesResult

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[[10.0, 4.0]], [[30.0, 4.0]]])   # 2 areas, 1 shift, 2 roles
    >>> r = maximin_roles(w, [10.0, 2.0], 0, 100, [4, 4])
    >>> r.posts[:, 0, :].tolist(), r.ratios.tolist()
    ([[1, 2], [3, 2]], [1.0, 1.0])
    """
    w = np.asarray(workload, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"workload must have shape (areas, shifts, roles), got {w.shape}")
    shape = w.shape
    est = np.asarray(establishment)
    if est.shape != (shape[2],):
        raise ValueError(f"establishment must have shape ({shape[2]},), got {est.shape}")

    def spread(name: str, value: ArrayLike) -> NDArray[Any]:
        try:
            return np.broadcast_to(np.asarray(value), shape)
        except ValueError:
            raise ValueError(
                f"{name} has shape {np.shape(value)}, which does not fit workload shape {shape}"
            ) from None

    k, lo, up = (
        spread("capacity_per_post", capacity_per_post),
        spread("lower", lower),
        spread("upper", upper),
    )
    results = tuple(
        maximin_posts(
            w[:, :, r], k[:, :, r], lo[:, :, r], up[:, :, r], est[r].item(), exact_total=exact_total
        )
        for r in range(shape[2])
    )
    return MaximinRolesResult(
        posts=np.stack([r.posts for r in results], axis=-1).astype(np.int64),
        ratios=np.array([r.ratio for r in results], dtype=np.float64),
        needed=np.stack([r.needed for r in results], axis=-1).astype(np.int64),
        feasible=np.array([r.feasible for r in results], dtype=np.bool_),
        reasons=tuple(r.reason for r in results),
        unallocated=np.array([r.unallocated for r in results], dtype=np.int64),
        results=results,
    )
