"""Classic apportionment: share whole seats (posts) in proportion to weights.

Methods, exactly as defined by Balinski & Young, *Fair Representation: Meeting
the Ideal of One Man, One Vote* (2nd ed., Brookings, 2001):

``hamilton`` (alias ``largest-remainder``)
    Each party's quota is ``q_i = total x w_i / sum(w)``; each gets
    ``floor(q_i)`` and the seats left over go one each to the largest
    remainders ``q_i - floor(q_i)``.
``jefferson`` (alias ``dhondt``), ``webster`` (alias ``sainte-lague``),
``huntington-hill`` (alias ``hill``), ``adams``
    Divisor methods: ``x_i = round_d(w_i / d)`` with the divisor ``d`` chosen so
    the seats sum to ``total``; the rounding rule rounds ``q`` up past the
    signpost ``D(s)`` between ``s`` and ``s + 1`` seats: ``D(s) = s + 1``
    (Jefferson: round down), ``s + 1/2`` (Webster: round to nearest),
    ``sqrt(s (s + 1))`` (Huntington-Hill: geometric mean) and ``s`` (Adams:
    round up). Equivalently (Huntington's sequential form) seats are handed out
    one at a time to the party with the largest priority ``w_i / D(x_i)``.
    Because ``D(0) = 0`` for Huntington-Hill and Adams, every party with a
    nonzero weight gets a first seat before any party gets a second; when the
    seats do not stretch that far, the first seats go to the largest weights.

**Minimum requirements** (``minimum``, e.g. minimum staffing) are given first.

* Divisor methods: ``x_i = max(min_i, round_d(w_i / d))`` with ``d`` chosen so
  the sum is ``total`` (Balinski & Young, Appendix A, "minimum requirements").
  This equals the sequential form started from ``x = minimum``.
* Hamilton: *constrained quotas*. A party whose quota falls below its minimum
  is fixed at the minimum and the remaining seats are re-apportioned by
  quota among the others, repeating until no quota falls below its minimum
  (a quota ``q_i = lambda w_i`` with ``sum max(min_i, lambda w_i) = total``);
  then the others take ``floor(q_i)`` and the largest remainders. Without
  minimums this is plain Hamilton. It is the same as "apportion, then raise the
  parties below their floor, taking the seats back from the others by
  re-apportioning them", and keeps every unfixed party within one seat of its
  constrained quota.

**Zero weights** receive their minimum only (their priority and quota are 0).

**Ties** (equal remainders, equal priorities) go to the lowest index first,
except the first seats of Huntington-Hill and Adams noted above. Ties are
decided exactly: Hamilton's quotas are computed in integer arithmetic on the
exact binary values of the weights, and the divisor methods locate the
divisor by a vectorised bisection (no loop per seat) and decide every
priority near it with exact rationals (see :mod:`allocator.maximin`, whose
engine they share).
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from allocator.maximin import _exact_unique, _StepKeys, _take_smallest_steps

__all__ = ["METHODS", "apportion"]

log = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_ALIASES = {
    "hamilton": "hamilton",
    "largest-remainder": "hamilton",
    "hare": "hamilton",
    "jefferson": "jefferson",
    "dhondt": "jefferson",
    "d'hondt": "jefferson",
    "webster": "webster",
    "sainte-lague": "webster",
    "huntington-hill": "huntington-hill",
    "hill": "huntington-hill",
    "adams": "adams",
}

#: Canonical method names accepted by :func:`apportion` (aliases aside).
METHODS = ("hamilton", "jefferson", "webster", "huntington-hill", "adams")


def _method(method: str) -> str:
    key = str(method).strip().lower().replace("_", "-").replace(" ", "-")
    if key not in _ALIASES:
        raise ValueError(
            f"unknown apportionment method {method!r}; choose one of " + ", ".join(sorted(_ALIASES))
        )
    return _ALIASES[key]


def _whole(name: str, value: ArrayLike, shape: tuple[int, ...]) -> IntArray:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be whole numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} must be whole numbers; got {arr.ravel()[i].item()!r} at index {i}"
            )
    try:
        out = np.broadcast_to(arr, shape).astype(np.int64).ravel()
    except ValueError:
        raise ValueError(
            f"{name} has shape {arr.shape}, which does not fit the weights' shape {shape}"
        ) from None
    if (out < 0).any():
        i = int(np.flatnonzero(out < 0)[0])
        raise ValueError(f"{name} must not be negative; got {out[i]} at index {i}")
    return out


def apportion(
    weights: ArrayLike,
    total: int,
    method: str = "webster",
    minimum: ArrayLike = 0,
) -> IntArray:
    """Apportion ``total`` whole seats in proportion to ``weights``.

    Parameters
    ----------
    weights : array_like of float
        Non-negative, finite; any shape (the result has the same shape).
    total : int
        Seats to share, at least ``sum(minimum)``.
    method : str, default "webster"
        ``"hamilton"``, ``"jefferson"`` / ``"dhondt"``, ``"webster"`` /
        ``"sainte-lague"``, ``"huntington-hill"`` or ``"adams"``.
    minimum : int or array_like of int, default 0
        Per-party floors, given first (see the module notes for how each
        method honours them).

    Returns
    -------
    numpy.ndarray
        int64 seats per party, summing to ``total``.

    Raises
    ------
    ValueError
        Negative or non-finite weights, an unknown method, non-whole or
        negative totals and minimums, a total below the sum of the minimums,
        or all-zero weights with seats left to share.

    Examples
    --------
    The textbook case (votes 100,000 / 80,000 / 30,000 / 20,000, eight seats),
    where D'Hondt favours the largest party and Sainte-Lague does not:

    >>> votes = [100_000, 80_000, 30_000, 20_000]
    >>> apportion(votes, 8, "dhondt").tolist()
    [4, 3, 1, 0]
    >>> apportion(votes, 8, "sainte-lague").tolist()
    [3, 3, 1, 1]
    >>> apportion(votes, 8, "hamilton").tolist()
    [3, 3, 1, 1]

    Minimum staffing first, then shares of the rest:

    >>> apportion([10.0, 1.0, 1.0], 10, "webster", minimum=[0, 2, 2]).tolist()
    [6, 2, 2]
    """
    name = _method(method)
    w_in = np.asarray(weights, dtype=np.float64)
    shape = w_in.shape
    w = w_in.ravel()
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"weights must be finite and non-negative; got {w[i].item()!r} at index {i} "
            f"({int(bad.sum())} such weight(s))"
        )
    whole = isinstance(total, int | np.integer) and not isinstance(total, bool | np.bool_)
    whole = whole or (
        isinstance(total, float | np.floating) and math.isfinite(total) and total == int(total)
    )
    if not whole:
        raise ValueError(f"total must be a whole number of seats, got {total!r}")
    seats = int(total)
    if seats < 0:
        raise ValueError(f"total must not be negative, got {seats}")
    floor = _whole("minimum", minimum, shape)
    base = int(floor.sum(dtype=np.int64))
    if base > seats:
        raise ValueError(f"the minimums need {base} seats; the total is {seats}")
    spare = seats - base
    if spare and not (w > 0).any():
        raise ValueError(f"all weights are zero; cannot share {spare} seat(s) beyond the minimums")
    if spare == 0:
        out = floor.copy()
    elif name == "hamilton":
        out = _hamilton(w, seats, floor)
    else:
        out = floor + _divisor(w, spare, floor, name)
    log.debug("apportion %s: %d seats over %d parties", name, seats, w.size)
    return out.reshape(shape)


# --------------------------------------------------------------------------
# Hamilton with constrained quotas, in exact integer arithmetic
# --------------------------------------------------------------------------


def _exact_integers(w: FloatArray) -> list[int]:
    """The weights scaled by one power of two to exact Python integers."""
    ratios = [float(v).as_integer_ratio() for v in w.tolist()]
    scale = max(den for _, den in ratios)  # powers of two: the largest is their lcm
    return [num * (scale // den) for num, den in ratios]


def _hamilton(w: FloatArray, seats: int, floor: IntArray) -> IntArray:
    n = w.size
    big = _exact_integers(w)
    mins = floor.tolist()
    fixed = [False] * n
    while True:
        rest = seats - sum(m for m, f in zip(mins, fixed, strict=True) if f)
        wsum = sum(b for b, f in zip(big, fixed, strict=True) if not f)
        newly = [
            i for i in range(n) if not fixed[i] and rest * big[i] < mins[i] * wsum
        ]  # quota below the minimum
        if not newly:
            break
        for i in newly:
            fixed[i] = True
    out = list(mins)
    free = [i for i in range(n) if not fixed[i]]
    rems: list[tuple[int, int]] = []
    for i in free:
        q, r = divmod(rest * big[i], wsum)
        out[i] = q
        rems.append((-r, i))
    left = rest - sum(out[i] for i in free)
    for _, i in sorted(rems)[:left]:
        out[i] += 1
    return np.asarray(out, dtype=np.int64)


# --------------------------------------------------------------------------
# divisor methods: vectorised level search, exact decisions near the level
# --------------------------------------------------------------------------


def _divisor(w: FloatArray, spare: int, floor: IntArray, name: str) -> IntArray:
    """Seats beyond ``floor`` for a divisor method: the ``spare`` best priorities.

    A step is "party i takes seat j + 1 having j"; its key ``D(j) / w_i`` is the
    reciprocal of Huntington's priority, so taking the smallest keys is the
    sequential method.
    """
    pos = np.flatnonzero(w > 0)
    wp = w[pos]
    start = floor[pos]
    avail = np.full(pos.size, spare, dtype=np.int64)

    def count_below(t: float) -> FloatArray:
        # float estimate of #{j >= 0 : D(j) / w < t}
        if t <= 0.0:
            return np.zeros(pos.size, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            q = t * wp
            if name == "jefferson":
                c = np.ceil(q) - 1.0
            elif name == "webster":
                c = np.ceil(q - 0.5)
            elif name == "adams":
                c = np.ceil(q)
            else:  # huntington-hill: j (j + 1) < q^2
                c = np.ceil((np.sqrt(1.0 + 4.0 * q * q) - 1.0) / 2.0)
            if name in ("adams", "huntington-hill"):
                c = np.maximum(c, 1.0)  # D(0) = 0 < t w for any t > 0
            return np.maximum(np.nan_to_num(c, nan=0.0, posinf=float(2**62)), 0.0)

    def exact_primary(j: Fraction, fw: Fraction) -> Fraction:
        if name == "jefferson":
            return (j + 1) / fw
        if name == "webster":
            return (j + Fraction(1, 2)) / fw
        if name == "adams":
            return j / fw
        return j * (j + 1) / (fw * fw)  # Huntington-Hill: squared keys (sqrt is monotone)

    def step_keys(items: IntArray, steps: IntArray) -> _StepKeys:
        j, wi = steps.astype(np.float64), wp[items]
        if name == "jefferson":
            primary = (j + 1.0) / wi
        elif name == "webster":
            primary = (j + 0.5) / wi
        elif name == "adams":
            primary = j / wi
        else:
            primary = j * (j + 1.0) / (wi * wi)
        # first seats (key 0, Adams and Huntington-Hill) go to the largest weights first
        secondary = np.where(j == 0, -wi, 0.0) if name in ("adams", "huntington-hill") else 0.0 * wi
        return _StepKeys(
            primary=primary,
            secondary=secondary,
            exact_primary=lambda sel: _exact_unique((j[sel], wi[sel]), exact_primary),
            exact_secondary=lambda sel: _exact_unique((secondary[sel],), lambda v: v),
        )

    taken = _take_smallest_steps(start, avail, spare, count_below, step_keys)
    out = np.zeros(w.size, dtype=np.int64)
    out[pos] = taken
    return out
