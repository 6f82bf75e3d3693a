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
priority near it with exact rationals. The engine that does this (take the
``S`` smallest steps of many staircases of keys) is shared with
:mod:`allocator.solve.exact.maximin`, whose water-filling is Adams' method with bounds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

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


def whole_array(
    name: str, value: ArrayLike, shape: tuple[int, ...], against: str = "the weights'"
) -> IntArray:
    """``value`` as non-negative whole numbers broadcast to ``shape`` (int64), or a named ValueError.

    Shared by :mod:`allocator.solve.exact.maximin` (``against="workload"``).
    """
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
        out = np.broadcast_to(arr, shape).astype(np.int64)
    except ValueError:
        raise ValueError(
            f"{name} has shape {arr.shape}, which does not fit {against} shape {shape}"
        ) from None
    if (out < 0).any():
        i = int(np.flatnonzero(out.ravel() < 0)[0])
        raise ValueError(f"{name} must not be negative; got {out.ravel()[i]} at index {i}")
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
    floor = whole_array("minimum", minimum, shape).ravel()
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


#: Relative half-width of the band around the level decided exactly.
BAND = 1e-9


# --------------------------------------------------------------------------
# the shared engine (also used by allocator.solve.exact.maximin): the S smallest "steps"
# of a family of staircases of keys
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepKeys:
    """Sort keys of candidate steps: floats to sort by, exact values to settle near-ties.

    ``primary`` approximates the exact primary key to a few ulps and is 0 exactly
    when the exact key is 0; ``secondary`` is a float whose order agrees with the
    exact secondary key wherever two floats differ. Remaining ties go to the lower
    position (candidates are laid out in item order).
    """

    primary: FloatArray
    secondary: FloatArray
    exact_primary: Callable[[IntArray], tuple[list[Fraction], IntArray]]
    exact_secondary: Callable[[IntArray], tuple[list[Fraction], IntArray]]


#: Relative gap below which two float primary keys might be exactly equal or misordered.
_CLUSTER = 1e-12


def _groups_by(values: tuple[list[Fraction], IntArray], members: IntArray) -> list[IntArray]:
    """``members`` sorted by exact value (stable), split into runs of equal value.

    ``values`` is ``(distinct_rows, inverse)`` from :func:`exact_unique`.
    """
    distinct, inverse = values
    order_u = sorted(range(len(distinct)), key=distinct.__getitem__)
    rank_u = np.empty(len(distinct), dtype=np.int64)
    r = 0
    for pos_, u in enumerate(order_u):
        if pos_ and distinct[u] != distinct[order_u[pos_ - 1]]:
            r += 1
        rank_u[u] = r
    ranks = rank_u[inverse]
    order = np.argsort(ranks, kind="stable")
    cuts = np.flatnonzero(np.diff(ranks[order])) + 1
    return [members[part] for part in np.split(order, cuts)]


def _select(keys: StepKeys, rest: int) -> IntArray:
    """Positions of the ``rest`` smallest candidates, exactly.

    Sort by floats; only the cluster of near-equal primary keys that the cut
    falls in is re-sorted exactly, and inside it only the run of equal
    secondary floats that the cut falls in.
    """
    m = keys.primary.shape[0]
    position = np.arange(m, dtype=np.int64)
    order = np.lexsort((position, keys.secondary, keys.primary))
    p = keys.primary[order]
    new = np.ones(m, dtype=np.bool_)
    new[1:] = p[1:] > p[:-1] * (1.0 + _CLUSTER)
    cid = np.cumsum(new)
    if rest >= m or cid[rest] != cid[rest - 1]:
        return order[:rest]
    lo = int(np.searchsorted(cid, cid[rest - 1], side="left"))
    hi = int(np.searchsorted(cid, cid[rest - 1], side="right"))
    members = np.sort(order[lo:hi])
    chosen = [order[:lo]]
    k = rest - lo
    # a zero key is exact; otherwise split the cluster by exact primary key
    zero = p[lo] == 0.0
    groups = [members] if zero else _groups_by(keys.exact_primary(members), members)
    for g in groups:
        if k >= g.shape[0]:
            chosen.append(g)
            k -= g.shape[0]
            continue
        if k:
            g = g[np.lexsort((g, keys.secondary[g]))]
            sf = keys.secondary[g]
            if sf[k] != sf[k - 1]:
                chosen.append(g[:k])
            else:
                b0 = int(np.searchsorted(sf, sf[k - 1], side="left"))
                b1 = int(np.searchsorted(sf, sf[k - 1], side="right"))
                block = g[b0:b1]
                exact = _groups_by(keys.exact_secondary(block), block)
                chosen.append(g[:b0])
                take = k - b0
                for run in exact:
                    chosen.append(run[:take])
                    take -= min(take, run.shape[0])
        break
    return np.concatenate(chosen).astype(np.int64)


def take_smallest_steps(
    start: IntArray,
    avail: IntArray,
    need: int,
    count_below: Callable[[float], FloatArray],
    step_keys: Callable[[IntArray, IntArray], StepKeys],
) -> IntArray:
    """Take the ``need`` smallest steps over items, each item's steps in key order.

    Item ``i`` offers steps ``j = start[i], ..., start[i] + avail[i] - 1`` whose
    keys increase with ``j``. ``count_below(t)`` estimates, in floats, how many
    steps ``j >= 0`` of each item have key ``< t`` (correct to within float
    error, ``>= 1`` for steps with key 0 whenever ``t > 0``). ``step_keys``
    gives the keys of candidate steps (see :class:`StepKeys`); ties left after
    both keys go to the lower item index. Returns the steps taken per item.
    """
    n = start.shape[0]
    taken = np.zeros(n, dtype=np.int64)
    if need <= 0 or n == 0:
        return taken
    avail_f = avail.astype(np.float64)
    start_f = start.astype(np.float64)

    def below(t: float) -> FloatArray:
        c = count_below(t) - start_f
        return np.minimum(np.maximum(c, 0.0), avail_f)

    def total_below(t: float) -> float:
        return float(below(t).sum())

    # bracket: total_below(lo) < need <= total_below(hi)
    hi_t = 1.0
    while total_below(hi_t) < need:
        hi_t *= 2.0
        if not np.isfinite(hi_t):  # pragma: no cover - keys are finite
            raise RuntimeError("could not bracket the water level")
    lo_bits = 0
    hi_bits = int(np.array(hi_t, dtype=np.float64).view(np.int64))
    while hi_bits - lo_bits > 1:
        mid = (lo_bits + hi_bits) // 2
        t = float(np.array(mid, dtype=np.int64).view(np.float64))
        if total_below(t) >= need:
            hi_bits = mid
        else:
            lo_bits = mid
    t_lo = float(np.array(lo_bits, dtype=np.int64).view(np.float64))
    t_hi = float(np.array(hi_bits, dtype=np.int64).view(np.float64))

    band = BAND
    for _ in range(4):
        a = t_lo * (1.0 - band)
        b = max(t_hi * (1.0 + band), float(np.nextafter(t_hi, np.inf)))
        sure = below(a).astype(np.int64)
        upto = np.maximum(below(b).astype(np.int64), sure)
        rest = need - int(sure.sum())
        n_cand = int((upto - sure).sum())
        if 0 <= rest <= n_cand:
            break
        band *= 1e3  # pragma: no cover - float error is far inside the band
    else:  # pragma: no cover
        raise RuntimeError("the water level could not be located exactly")
    taken = sure
    if rest == 0:
        return taken
    if rest == n_cand:
        return upto
    width = upto - sure
    items = np.repeat(np.arange(n, dtype=np.int64), width)
    offsets = np.arange(items.shape[0], dtype=np.int64) - np.repeat(np.cumsum(width) - width, width)
    steps = start[items] + sure[items] + offsets
    chosen = items[_select(step_keys(items, steps), rest)]
    return taken + np.bincount(chosen, minlength=n).astype(np.int64)


def exact_unique(
    columns: Sequence[FloatArray], fn: Callable[..., Fraction]
) -> tuple[list[Fraction], IntArray]:
    """``fn`` of the exact rationals of each row, once per distinct row.

    Returns the values for the distinct rows and, per row, which one it is.
    """
    stacked = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    values = [fn(*(Fraction(v) for v in row)) for row in uniq.tolist()]
    return values, inverse.ravel().astype(np.int64)


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

    def step_keys(items: IntArray, steps: IntArray) -> StepKeys:
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
        return StepKeys(
            primary=primary,
            secondary=secondary,
            exact_primary=lambda sel: exact_unique((j[sel], wi[sel]), exact_primary),
            exact_secondary=lambda sel: exact_unique((secondary[sel],), lambda v: v),
        )

    taken = take_smallest_steps(start, avail, spare, count_below, step_keys)
    out = np.zeros(w.size, dtype=np.int64)
    out[pos] = taken
    return out
