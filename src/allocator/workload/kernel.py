"""The pure array kernel of the workload engine: record codes -> summable partial sums.

Two steps, both plain numpy:

1. :func:`partial_sums` reduces records (integer codes, durations, recency
   weights) to a few small arrays indexed by (area, hour of week, demand type),
   with one combined integer key and ``np.bincount``. Partial sums are
   *summable*: the partials of two disjoint sets of records add up to the
   partials of their union (``p1 + p2``), so a data set too big for one
   machine, or split into partitions (Dask, Parquet row groups), is reduced
   partition by partition and the partials summed.
2. :func:`contract` (and the plainer :func:`judged_hours` with :func:`by_shift`)
   contract the partials with the judgement matrices and the hour -> shift
   matrix (:func:`shift_shares`): the cost no longer depends on the number of
   records.

:class:`LocalClock` turns UTC instants into local hours of the week through a
table of the zone's UTC offsets, one per quarter hour of the records' span.

No Python loop runs over records or cells; records are processed in fixed-size
chunks so memory stays bounded, and chunks are grouped in fixed-size blocks
summed in block order, so the result does not depend on how many threads ran.
A force with more bins than a chunk has records (thousands of areas) takes
one bincount per block of at least as many records as bins instead of one
per chunk: the cost then follows the records, not the areas, and the memory
is bounded by the force's size (8 bytes a bin for the block's keys, besides
the partial sums). Its bins no longer fit in the CPU's cache, so each
bincount waits on the memory rather than the core; the three bincounts of a
block then run side by side on two threads. Per record such a force costs a
few times what a force of a few areas costs, about as much more as one bare
``np.bincount`` into its bins costs (``benchmarks/scale.py`` measures both).

Examples
--------
>>> import numpy as np
>>> p = partial_sums(
...     area=np.array([0, 1, 1], dtype=np.int16),
...     demand_type=np.array([0, 0, 1], dtype=np.int16),
...     hour_of_week=np.array([0, 9, 9], dtype=np.int16),
...     duration=np.array([30.0, np.nan, 90.0]),
...     weight=None, n_areas=2, n_types=2)
>>> int(p.count.sum()), float(p.minutes.sum())
(3, 120.0)
>>> q = p + p
>>> int(q.count[1, 9, 1, 1]), float(q.weight[1, 9, 1, 1])
(2, 2.0)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "HOURS_PER_WEEK",
    "LocalClock",
    "Partials",
    "by_shift",
    "contract",
    "judged_hours",
    "SparsePartials",
    "partial_sums",
    "sparse_partial_sums",
    "shift_shares",
]

HOURS_PER_WEEK = 168
_NS_PER_HOUR = 3_600_000_000_000
#: 1970-01-01 was a Thursday: hour 72 of a week that starts on Monday 00:00
_EPOCH_HOUR_OF_WEEK = 72
#: records per chunk: the chunk's temporaries stay in the CPU cache
CHUNK = 1 << 17
#: chunks per block; blocks are summed in order, whatever the number of threads
BLOCK = 8 * CHUNK


class LocalClock:
    """UTC nanoseconds -> local hour of the week, through a table per quarter hour.

    Every quarter hour (15-minute slot, counted from the epoch in UTC) of the
    records' span is converted once with the time zone database; a record
    then takes the local hour of the week of its slot. A slot whose offset
    changes inside it, or whose offset is not a whole number of quarter hours
    (historical local mean time: such a slot can straddle a local hour), is
    marked, and its records are converted one by one instead.
    """

    SLOT = 15 * 60 * 10**9
    MAX_SLOTS = 4_000_000  # a century; beyond it, every record is converted one by one

    def __init__(self, utc_ns: np.ndarray, tz: str):
        self.tz = tz
        self.first = int(utc_ns.min()) // self.SLOT if utc_ns.size else 0
        slots = (int(utc_ns.max()) // self.SLOT - self.first + 1) if utc_ns.size else 0
        self.table: np.ndarray | None = None
        if slots <= self.MAX_SLOTS:
            starts = (self.first + np.arange(slots, dtype=np.int64)) * self.SLOT
            ends = starts + (self.SLOT - 1)
            offset = self._wall(starts) - starts
            odd = (self._wall(ends) - ends != offset) | (offset % self.SLOT != 0)
            table = self._hours(starts + offset)
            table[odd] = -1
            self.table = table

    def _wall(self, utc_ns: np.ndarray) -> np.ndarray:
        index = pd.DatetimeIndex(utc_ns.view("datetime64[ns]")).tz_localize("UTC")
        wall = index.tz_convert(self.tz).tz_localize(None)
        return np.asarray(wall.as_unit("ns").asi8, dtype=np.int64)

    @staticmethod
    def _hours(wall_ns: np.ndarray) -> np.ndarray:
        return ((wall_ns // _NS_PER_HOUR + _EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK).astype(np.int16)

    def hour_of_week(self, utc_ns: np.ndarray) -> np.ndarray:
        """Local hour of the week (0 = Monday 00:00), int16."""
        if self.table is None:
            return self._hours(self._wall(utc_ns))
        slot = utc_ns // self.SLOT
        slot -= self.first
        out = self.table[slot]
        odd = np.flatnonzero(out < 0)
        if odd.size:
            out[odd] = self._hours(self._wall(utc_ns[odd]))
        return out


@dataclass(frozen=True)
class Partials:
    """Summable partial sums of a set of records.

    Every array is indexed ``[area, hour_of_week, demand_type, ...]`` in the
    force's order; the last axis of ``count`` and ``weight`` is 0 for records
    without a recorded duration and 1 for records with one.

    Attributes
    ----------
    count
        int64 ``(areas, 168, types, 2)``: number of records.
    weight
        float64 ``(areas, 168, types, 2)``: sum of the recency weights ``w(i)``.
    minutes
        float64 ``(areas, 168, types)``: sum of ``w(i) * recorded_minutes(i)``
        over records with a recorded duration.
    first_ns
        The earliest record's instant (UTC nanoseconds), or None when unknown
        or there are no records; partials add by taking the earlier.
    """

    count: np.ndarray
    weight: np.ndarray
    minutes: np.ndarray
    first_ns: int | None = None

    @classmethod
    def zeros(cls, n_areas: int, n_types: int) -> Partials:
        """The partials of no records."""
        shape = (n_areas, HOURS_PER_WEEK, n_types)
        return cls(
            np.zeros((*shape, 2), dtype=np.int64),
            np.zeros((*shape, 2), dtype=np.float64),
            np.zeros(shape, dtype=np.float64),
        )

    def __add__(self, other: Partials) -> Partials:
        if not isinstance(other, Partials):
            return NotImplemented
        if self.count.shape != other.count.shape:
            raise ValueError(
                f"cannot add partials of shape {self.count.shape} and {other.count.shape}"
                " (computed for different forces?)"
            )
        firsts = [f for f in (self.first_ns, other.first_ns) if f is not None]
        return Partials(
            self.count + other.count,
            self.weight + other.weight,
            self.minutes + other.minutes,
            min(firsts) if firsts else None,
        )

    @property
    def n_records(self) -> int:
        """Number of records summed."""
        return int(self.count.sum())


def _key_dtype(n_bins: int) -> type[np.signedinteger]:
    """The narrowest signed integer type that holds every key (cheaper arithmetic)."""
    for dtype in (np.int16, np.int32):
        if n_bins <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _fill_keys(
    area: np.ndarray,
    demand_type: np.ndarray,
    hour_of_week: np.ndarray,
    duration: np.ndarray,
    n_types: int,
    n_bins: int,
    lo: int,
    hi: int,
    key: np.ndarray,
) -> None:
    """Write the flat bins of records ``lo:hi`` into ``key[: hi - lo]``.

    key = ((area * 168 + hour) * types + type) * 2 + has_duration, built chunk
    by chunk in the narrowest integer type in reused buffers, so a chunk's
    work stays in cache.
    """
    kd = _key_dtype(n_bins)
    size = min(CHUNK, max(hi - lo, 0))
    small, tmp, has = np.empty(size, dtype=kd), np.empty(size, dtype=kd), np.empty(size, dtype=bool)
    area_step, hour_step = kd(HOURS_PER_WEEK * n_types * 2), kd(n_types * 2)
    for start in range(lo, hi, CHUNK):
        s = slice(start, min(start + CHUNK, hi))
        m = s.stop - start
        k, t, h = small[:m], tmp[:m], has[:m]
        np.multiply(area[s], area_step, out=k, dtype=kd)
        np.multiply(hour_of_week[s], hour_step, out=t, dtype=kd)
        k += t
        np.add(demand_type[s], demand_type[s], out=t, dtype=kd)
        k += t
        np.equal(duration[s], duration[s], out=h)  # False for NaN: no duration
        k += h
        key[start - lo : s.stop - lo] = k


def _minutes_weights(duration: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """``w * recorded minutes`` per record (NaN where none was recorded: such records fall in even bins)."""
    return duration if weight is None else weight * duration


def _count_sums(key: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(key, minlength=n_bins)


def _weight_sums(key: np.ndarray, weight: np.ndarray | None, n_bins: int) -> np.ndarray | None:
    """Weight sums per bin; None without weights (the counts are the sums)."""
    return None if weight is None else np.bincount(key, weights=weight, minlength=n_bins)


def _minute_sums(key: np.ndarray, duration: np.ndarray, weight: np.ndarray | None, n_bins: int) -> np.ndarray:
    return np.bincount(key, weights=_minutes_weights(duration, weight), minlength=n_bins)


def _block_sums(
    area: np.ndarray,
    demand_type: np.ndarray,
    hour_of_week: np.ndarray,
    duration: np.ndarray,
    weight: np.ndarray | None,
    n_types: int,
    n_bins: int,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat (count, weight, minutes) bincounts of records ``lo:hi``, one bincount per chunk.

    For a force with no more bins than a chunk has records: each chunk's keys
    and its bins stay in cache. ``minutes`` is meaningful in the odd bins
    (records with a duration) only.
    """
    count = np.zeros(n_bins, dtype=np.int64)
    w_sum = np.zeros(n_bins, dtype=np.float64)
    minutes = np.zeros(n_bins, dtype=np.float64)
    key = np.empty(min(CHUNK, max(hi - lo, 0)), dtype=np.intp)
    for start in range(lo, hi, CHUNK):
        stop = min(start + CHUNK, hi)
        kk = key[: stop - start]
        _fill_keys(area, demand_type, hour_of_week, duration, n_types, n_bins, start, stop, kk)
        s = slice(start, stop)
        w = None if weight is None else weight[s]
        c_sum = _count_sums(kk, n_bins)
        count += c_sum
        ws_sum = _weight_sums(kk, w, n_bins)
        w_sum += c_sum if ws_sum is None else ws_sum
        minutes += _minute_sums(kk, duration[s], w, n_bins)
    return count, w_sum, minutes


def _wide_block_sums(
    area: np.ndarray,
    demand_type: np.ndarray,
    hour_of_week: np.ndarray,
    duration: np.ndarray,
    weight: np.ndarray | None,
    n_types: int,
    n_bins: int,
    lo: int,
    hi: int,
    key: np.ndarray,
    pool: ThreadPoolExecutor | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Flat (count, weight or None, minutes) bincounts of records ``lo:hi`` in one bincount each.

    For a force with more bins than a chunk has records: a bincount costs its
    records plus its bins, so it takes a block of at least as many records as
    bins. The bins no longer stay in cache, and a bincount is then bound by
    the memory's latency rather than the core: with a ``pool`` the keys are
    built in two halves and the three bincounts run side by side, each
    wholly in one thread (the same bits as one after the other).
    """
    kk = key[: hi - lo]
    args = (area, demand_type, hour_of_week, duration, n_types, n_bins)
    s = slice(lo, hi)
    w = None if weight is None else weight[s]
    if pool is None:
        _fill_keys(*args, lo, hi, kk)
        return _count_sums(kk, n_bins), _weight_sums(kk, w, n_bins), _minute_sums(kk, duration[s], w, n_bins)
    # halves on chunk boundaries: the keys are the same whichever thread wrote them
    mid = lo + ((hi - lo) // 2 // CHUNK) * CHUNK
    half = pool.submit(_fill_keys, *args, mid, hi, key[mid - lo : hi - lo])
    _fill_keys(*args, lo, mid, key[: mid - lo])
    half.result()
    counts = pool.submit(_count_sums, kk, n_bins)
    weights = pool.submit(_weight_sums, kk, w, n_bins)
    minutes = _minute_sums(kk, duration[s], w, n_bins)
    return counts.result(), weights.result(), minutes


def _layout(n_bins: int) -> tuple[int, int]:
    """(records per block, records per bincount) for a force with ``n_bins`` bins.

    Up to :data:`CHUNK` bins: blocks of :data:`BLOCK`, a bincount per chunk.
    Beyond: one bincount per block, of at least as many records as bins
    (whole chunks), so a bincount's fixed cost (its bins) is at most its
    records' and the cost follows the records, not the areas.
    """
    if n_bins <= CHUNK:
        return BLOCK, CHUNK
    block = max(BLOCK, -(-n_bins // CHUNK) * CHUNK)
    return block, block


def _record_count(area: np.ndarray, demand_type: np.ndarray, hour_of_week: np.ndarray, duration: np.ndarray,
                  weight: np.ndarray | None) -> int:
    """The number of records; every per-record array must have one entry each."""
    n = len(area)
    for name, arr in (("demand_type", demand_type), ("hour_of_week", hour_of_week), ("duration", duration),
                      ("weight", weight)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} entries, area has {n}")
    return n


def partial_sums(
    area: np.ndarray,
    demand_type: np.ndarray,
    hour_of_week: np.ndarray,
    duration: np.ndarray,
    weight: np.ndarray | None,
    n_areas: int,
    n_types: int,
    threads: int | None = None,
) -> Partials:
    """Reduce records to their summable :class:`Partials`.

    Parameters
    ----------
    area, demand_type, hour_of_week
        Integer codes per record (int16 is enough and cheapest): area index,
        demand type index (force order) and local hour of the week (0 = Monday
        00:00). Codes must be in range; callers validate them.
    duration
        float64 recorded minutes per record, NaN where none was recorded.
    weight
        float64 recency weight per record, or None for weight 1 everywhere.
    n_areas, n_types
        Sizes of the area and demand type axes.
    threads
        Worker threads (default: up to 2, the CPU count). The result is the
        same, bit for bit, whatever the number.

    Returns
    -------
    Partials
        Counts, weight sums and weighted recorded minutes per
        (area, hour of week, demand type).
    """
    n = _record_count(area, demand_type, hour_of_week, duration, weight)
    duration = np.asarray(duration, dtype=np.float64)
    weight = None if weight is None else np.asarray(weight, dtype=np.float64)
    n_bins = n_areas * HOURS_PER_WEEK * n_types * 2
    block, span = _layout(n_bins)
    blocks = [(lo, min(lo + block, n)) for lo in range(0, n, block)] or [(0, 0)]
    wanted = threads or min(os.cpu_count() or 1, 2)
    args = (area, demand_type, hour_of_week, duration, weight, n_types, n_bins)
    count: np.ndarray
    w_sum: np.ndarray
    minutes: np.ndarray
    if span < block:  # a bincount per chunk; blocks spread over the threads
        workers = min(wanted, len(blocks))

        def run(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return _block_sums(*args, *bounds)

        with ThreadPoolExecutor(workers) as pool:
            results = pool.map(run, blocks) if workers > 1 else map(run, blocks)
            count, w_sum, minutes = next(results)
            for c, w, m in results:  # in block order: deterministic
                count += c
                w_sum += w
                minutes += m
    else:  # one bincount per block, blocks one after the other, each spread over the threads
        key = np.empty(min(block, n), dtype=np.intp)
        helpers = ThreadPoolExecutor(2) if wanted > 1 else None
        try:
            for i, bounds in enumerate(blocks):
                c, w_or_none, m = _wide_block_sums(*args, *bounds, key, helpers)
                w = c.astype(np.float64) if w_or_none is None else w_or_none
                if i == 0:
                    count, w_sum, minutes = c, w, m
                else:
                    count += c
                    w_sum += w
                    minutes += m
        finally:
            if helpers is not None:
                helpers.shutdown()
    shape = (n_areas, HOURS_PER_WEEK, n_types, 2)
    return Partials(
        count.reshape(shape), w_sum.reshape(shape), minutes.reshape(shape)[..., 1].copy()
    )


@dataclass(frozen=True)
class SparsePartials:
    """:class:`Partials` of the occupied bins only: the form partitions are reduced and sent in.

    A partition of a large force occupies a small part of its bins (3,000
    areas x 15 demand types have 15 million; a file of a million records fills
    at most a million), so its partial sums are kept as sorted flat bin
    numbers and their sums, and cost what the records cost to make, send and
    add. :meth:`dense` gives the :class:`Partials`.

    Attributes
    ----------
    n_areas, n_types
        Sizes of the force's axes.
    keys
        int64, sorted and distinct: flat positions in the ``(areas, 168,
        types, 2)`` arrays of :class:`Partials`.
    count, weight
        int64 and float64 per key: as :attr:`Partials.count` and :attr:`Partials.weight`.
    minutes
        float64 per key: :attr:`Partials.minutes` for odd keys (records with a
        duration), 0 for even ones.
    first_ns
        As :attr:`Partials.first_ns`.

    Examples
    --------
    >>> p = sparse_partial_sums(np.array([2, 0, 2], dtype=np.int16), np.zeros(3, dtype=np.int16),
    ...                         np.array([5, 5, 5], dtype=np.int16), np.array([30.0, np.nan, 60.0]),
    ...                         None, n_areas=3000, n_types=15)
    >>> p.keys.size, p.count.tolist(), p.minutes.tolist()
    (2, [1, 2], [0.0, 90.0])
    >>> q = (p + p).dense()
    >>> int(q.count[2, 5, 0, 1]), float(q.minutes[2, 5, 0])
    (4, 180.0)
    """

    n_areas: int
    n_types: int
    keys: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    minutes: np.ndarray
    first_ns: int | None = None

    @property
    def n_records(self) -> int:
        """Number of records summed."""
        return int(self.count.sum())

    def __add__(self, other: SparsePartials) -> SparsePartials:
        if not isinstance(other, SparsePartials):
            return NotImplemented
        if (self.n_areas, self.n_types) != (other.n_areas, other.n_types):
            raise ValueError(
                f"cannot add partials of {self.n_areas} areas x {self.n_types} types and "
                f"{other.n_areas} x {other.n_types} (computed for different forces?)"
            )
        keys = np.union1d(self.keys, other.keys)
        mine, theirs = np.searchsorted(keys, self.keys), np.searchsorted(keys, other.keys)
        sums = []
        for a, b, dtype in ((self.count, other.count, np.int64), (self.weight, other.weight, np.float64),
                            (self.minutes, other.minutes, np.float64)):
            out = np.zeros(keys.size, dtype=dtype)
            out[mine] = a  # keys are distinct in each: plain fancy indexing, self first, then other
            out[theirs] += b
            sums.append(out)
        firsts = [f for f in (self.first_ns, other.first_ns) if f is not None]
        count, weight, minutes = sums
        return SparsePartials(self.n_areas, self.n_types, keys, count, weight, minutes, min(firsts) if firsts else None)

    def dense(self) -> Partials:
        """The same sums as :class:`Partials` (arrays over every bin)."""
        shape = (self.n_areas, HOURS_PER_WEEK, self.n_types, 2)
        n_bins = self.n_areas * HOURS_PER_WEEK * self.n_types * 2
        count, weight, minutes = np.zeros(n_bins, np.int64), np.zeros(n_bins), np.zeros(n_bins)
        count[self.keys] = self.count
        weight[self.keys] = self.weight
        minutes[self.keys] = self.minutes
        return Partials(
            count.reshape(shape), weight.reshape(shape), minutes.reshape(shape)[..., 1].copy(), self.first_ns
        )


def sparse_partial_sums(
    area: np.ndarray,
    demand_type: np.ndarray,
    hour_of_week: np.ndarray,
    duration: np.ndarray,
    weight: np.ndarray | None,
    n_areas: int,
    n_types: int,
) -> SparsePartials:
    """The :class:`SparsePartials` of records (arguments as :func:`partial_sums`).

    Each record's flat bin (the key of :func:`partial_sums`) is packed with its
    position into one int64 and the keys sorted once, so equal keys come
    together in record order; the runs are summed with ``np.add.reduceat``.
    Time and memory follow the records, whatever the number of bins.
    """
    n = _record_count(area, demand_type, hour_of_week, duration, weight)
    duration = np.asarray(duration, dtype=np.float64)
    n_bins = n_areas * HOURS_PER_WEEK * n_types * 2
    key = np.asarray(area, dtype=np.int64) * HOURS_PER_WEEK
    key += hour_of_week
    key *= n_types
    key += demand_type
    key *= 2
    key += duration == duration  # False for NaN: no duration
    pos_bits = max(n - 1, 1).bit_length()
    if (n_bins - 1).bit_length() + pos_bits <= 63:
        key <<= pos_bits
        key |= np.arange(n, dtype=np.int64)
        key.sort()
        order = key & ((1 << pos_bits) - 1)
        key >>= pos_bits
    else:  # a force beyond 2**39 bins: a stable argsort instead
        order = np.argsort(key, kind="stable")
        key = key[order]
    starts = np.flatnonzero(key[1:] != key[:-1]) + 1 if n else np.zeros(0, dtype=np.int64)
    if n:
        starts = np.concatenate(([0], starts))
    keys = key[starts]
    count = np.diff(np.append(starts, n)).astype(np.int64)
    if weight is None:
        w_sum = count.astype(np.float64)
        recorded = duration[order]
    else:
        w = np.asarray(weight, dtype=np.float64)[order]
        w_sum = np.add.reduceat(w, starts) if n else np.zeros(0)
        recorded = w * duration[order]
    recorded[np.isnan(recorded)] = 0.0  # where no duration was recorded
    minutes = np.add.reduceat(recorded, starts) if n else np.zeros(0)
    return SparsePartials(n_areas, n_types, keys, count, w_sum, minutes)


def shift_shares(cover: np.ndarray, rule: Literal["equal", "time"]) -> np.ndarray:
    """How the shifts on duty share each hour of the day, shape (24, shifts).

    ``cover`` is the fraction of each hour (rows 0..23) each shift is on duty
    (:meth:`allocator.model.force.Force.shift_cover`). With ``"equal"`` the shifts
    covering any part of the hour share it equally; with ``"time"`` in
    proportion to the part of the hour each covers. Every row sums to 1.

    >>> cover = np.zeros((24, 2)); cover[:12, 0] = 1; cover[10:, 1] = 1; cover[12, 0] = 0.5
    >>> shift_shares(cover, "equal")[[9, 11, 12, 13]]
    array([[1. , 0. ],
           [0.5, 0.5],
           [0.5, 0.5],
           [0. , 1. ]])
    >>> shift_shares(cover, "time")[12].round(4)
    array([0.3333, 0.6667])
    """
    cover = np.asarray(cover, dtype=np.float64)
    if rule == "equal":
        on = (cover > 0).astype(np.float64)
    elif rule == "time":
        on = cover
    else:
        raise ValueError(f"unknown overlap rule {rule!r}; expected 'equal' or 'time'")
    total = on.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        hours = ", ".join(f"{h:02d}:00" for h in np.flatnonzero(total[:, 0] <= 0))
        raise ValueError(f"no shift is on duty in the hours starting {hours}")
    return on / total


def judged_hours(
    partials: Partials,
    share: np.ndarray,
    minutes: np.ndarray,
    impact: np.ndarray,
    area_factor: np.ndarray,
    data_weight: float,
) -> np.ndarray:
    """Judged hours per (area, hour of week, demand type, role), float64.

    For record i of type t in area a and role r (see ``docs/methodology.md``):
    ``h = share * impact * w * T / 60 * area_factor`` with
    ``T = data_weight * recorded + (1 - data_weight) * minutes(t, r)`` when a
    duration was recorded and ``T = minutes(t, r)`` when not. Summed over the
    records of a cell this is::

        share * impact * area_factor / 60 * (
            minutes(t, r) * (W_none + (1 - data_weight) * W_recorded)
            + data_weight * M_recorded)

    with ``W`` the weight sums and ``M`` the weighted recorded minutes.
    """
    k = share * impact / 60.0  # (types, roles)
    standard = partials.weight[..., 0] + (1.0 - data_weight) * partials.weight[..., 1]
    out = standard[..., None] * (minutes * k)
    out += (data_weight * partials.minutes)[..., None] * k
    out *= area_factor[:, None, None, :]
    return out


def by_shift(
    hours: np.ndarray, count: np.ndarray, to_shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hours and record counts per (area, shift, demand type[, role]).

    ``hours`` is (areas, 168, types, roles) from :func:`judged_hours`, ``count``
    the partials' (areas, 168, types, 2) counts and ``to_shift`` the (168, shifts)
    shares. Hours are shared by ``to_shift``; a record is counted in every shift
    with a share of its hour.
    """
    # (areas, types, roles, 168) @ (168, shifts), back to (areas, shifts, types, roles)
    hours_by_shift = np.matmul(hours.transpose(0, 2, 3, 1), to_shift).transpose(0, 3, 1, 2)
    on_duty = (to_shift > 0).astype(np.int64)
    records = np.matmul(count.sum(axis=3).transpose(0, 2, 1), on_duty).transpose(0, 2, 1)
    return np.ascontiguousarray(hours_by_shift), np.ascontiguousarray(records)


def contract(
    partials: Partials,
    share: np.ndarray,
    minutes: np.ndarray,
    impact: np.ndarray,
    area_factor: np.ndarray,
    data_weight: float,
    to_shift: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Judged hours by (area, shift, type, role) and by (area, hour, role), and records by shift.

    The same numbers as :func:`judged_hours` followed by :func:`by_shift`, without
    building the (areas, 168, types, roles) array: the formula of
    :func:`judged_hours` is linear in the partials, so the hour axis is
    contracted with ``to_shift`` while the partials still have no role axis,
    and the type axis with the judgement while they still have no shift
    axis. The largest array made is the (areas, shifts, types, roles) result.

    Returns
    -------
    by_type
        float64 ``(areas, shifts, types, roles)``.
    records
        int64 ``(areas, shifts, types)``: records whose hour a shift is on duty for.
    hour_hours
        float64 ``(areas, 168, roles)``: judged hours by local hour of the week.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p = partial_sums(rng.integers(0, 3, 500).astype(np.int16), rng.integers(0, 2, 500).astype(np.int16),
    ...                  rng.integers(0, 168, 500).astype(np.int16), rng.uniform(5, 90, 500), None, 3, 2)
    >>> share, minutes, impact = np.ones((2, 2)) / 2, np.full((2, 2), 30.0), np.ones((2, 2))
    >>> factor, to_shift = np.ones((3, 2)), np.full((168, 3), 1 / 3)
    >>> by_type, records, hours = contract(p, share, minutes, impact, factor, 0.5, to_shift)
    >>> old = judged_hours(p, share, minutes, impact, factor, 0.5)
    >>> bool(np.allclose(by_type, by_shift(old, p.count, to_shift)[0], rtol=1e-12))
    True
    >>> bool(np.allclose(hours, old.sum(axis=2), rtol=1e-12))
    True
    """
    k = share * impact / 60.0  # (types, roles)
    k_standard = minutes * k
    standard = partials.weight[..., 0] + (1.0 - data_weight) * partials.weight[..., 1]  # (a, 168, t)
    recorded = data_weight * partials.minutes  # (a, 168, t)
    # by hour: contract types first, (a, 168, t) @ (t, r)
    hour_hours = standard @ k_standard
    hour_hours += recorded @ k
    hour_hours *= area_factor[:, None, :]
    # by shift: contract hours first, (a, t, 168) @ (168, s) -> (a, s, t)
    standard_s = np.matmul(standard.transpose(0, 2, 1), to_shift).transpose(0, 2, 1)
    recorded_s = np.matmul(recorded.transpose(0, 2, 1), to_shift).transpose(0, 2, 1)
    by_type = standard_s[..., None] * k_standard
    by_type += recorded_s[..., None] * k
    by_type *= area_factor[:, None, None, :]
    on_duty = (to_shift > 0).astype(np.int64)
    counts = partials.count[..., 0] + partials.count[..., 1]  # (a, 168, t); a sum over a last axis of 2 is slow
    records = np.matmul(counts.transpose(0, 2, 1), on_duty).transpose(0, 2, 1)
    return np.ascontiguousarray(by_type), np.ascontiguousarray(records), hour_hours
