"""Timestamps of a demand extract: a text or typed column -> UTC nanoseconds and a status per row.

:func:`parse_times` reads ISO 8601 (the default) or an explicit strptime
format. The common forms take vectorised paths (Arrow's strptime for formats
of ``%Y %m %d %H %M %S`` only, pandas' for every other directive: ``%f`` with
1-6 digits, ``%p``, ``%b``, ``%y``, ...); the values both refuse, and formats
with ``%z``, are read one distinct value at a time by Python's own
:func:`datetime.strptime`, so every directive means what Python says it means.

No arithmetic can wrap: a timestamp outside 1678-01-02 .. 2261-12-31 (inside
pandas' nanosecond range, with room for offsets and the window) gets the
status ``RANGE`` before it is turned into nanoseconds, whether it came as
text or as a ``datetime64`` of any unit. An offset beyond +-14:00 is not an
offset (status ``BAD``).

Statuses: ``OK`` 0, ``BLANK`` 1, ``BAD`` 2 (unparseable), ``GAP`` 3 (a naive
time in the spring clock-change gap), ``RANGE`` 4 (out of range).

Examples
--------
>>> import pyarrow as pa
>>> col = pa.chunked_array([["2025-08-24 00:07:06.000", "1600-01-01 00:00:00.5", "x", ""]])
>>> ns, status = parse_times(col, "%Y-%m-%d %H:%M:%S.%f", "UTC")
>>> status.tolist()
[0, 4, 2, 1]
>>> str(pd.Timestamp(int(ns[0]), unit="ns"))
'2025-08-24 00:07:06'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BAD", "BLANK", "GAP", "MAX_SECONDS", "MIN_SECONDS", "NA_REGEX", "OK", "RANGE", "parse_times"]

OK, BLANK, BAD, GAP, RANGE = 0, 1, 2, 3, 4
NA_REGEX = r"^\s*(?i:na|n/a|null|nan|none)?\s*$"
_ISO_REGEX = (
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2})(?P<frac>\.\d{1,9})?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$"
)
#: Seconds since 1970 (UTC) of the first and last accepted instants: 1678-01-02 and 2261-12-31.
MIN_SECONDS = -9_214_473_600
MAX_SECONDS = 9_214_560_000
_MAX_OFFSET_S = 14 * 3600
_NS = 1_000_000_000
_BATCH = 1 << 20
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
#: a directive Arrow's strptime does not read exactly as Python does
_NOT_ARROW = re.compile(r"%[^YmdHMS%]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _in_range(secs: np.ndarray) -> np.ndarray:
    return (secs >= MIN_SECONDS) & (secs <= MAX_SECONDS)


def _finish(secs: np.ndarray, sub_ns: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Nanoseconds of the rows still OK (those out of range get RANGE first; no product can wrap)."""
    status[(status == OK) & ~_in_range(secs)] = RANGE
    good = status == OK
    return np.where(good, np.where(good, secs, 0) * _NS + np.where(good, sub_ns, 0), 0).astype(np.int64)


def _canonical_ok(parsed: pa.Array, canon: pa.Array) -> np.ndarray:
    """Arrow's strptime rolls 30 February over to 2 March and second 61 to the next
    minute; a canonical ``YYYY-MM-DD HH:MM:SS`` text must read back the same day and second."""
    shaped = pc.and_(parsed.is_valid(), pc.equal(pc.utf8_length(canon), 19))
    shaped = pc.fill_null(shaped, False)
    day = pc.cast(pc.if_else(shaped, pc.utf8_slice_codeunits(canon, 8, 10), "-1"), pa.int64())
    sec = pc.cast(pc.if_else(shaped, pc.utf8_slice_codeunits(canon, 17, 19), "-1"), pa.int64())
    same = pc.and_(pc.equal(pc.day(parsed), day), pc.equal(pc.second(parsed), sec))
    return np.asarray(pc.fill_null(same, False), dtype=bool)


def _seconds(parsed: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.cast(parsed, pa.int64()), 0), dtype=np.int64)


def _iso_times(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISO 8601 text (any accepted variant) -> (ns, status, has_offset), through a regex."""
    m = pc.extract_regex(arr, _ISO_REGEX)
    hm = pc.if_else(pc.equal(m.field("hm"), ""), "00:00", m.field("hm"))
    sec = pc.if_else(pc.equal(m.field("s"), ""), "00", m.field("s"))
    canon = pc.binary_join_element_wise(m.field("date"), " ", hm, ":", sec, "")
    parsed = pc.strptime(canon, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    ok = _canonical_ok(parsed, canon)
    frac = pc.cast(pc.binary_join_element_wise("0", m.field("frac"), ""), pa.float64())
    tz = pc.fill_null(m.field("tz"), "")
    has_off = np.asarray(pc.not_equal(tz, ""))
    sign = np.where(np.asarray(pc.starts_with(tz, "-")), -1, 1)
    digits = pc.replace_substring(pc.utf8_slice_codeunits(tz, 1), ":", "")
    numeric = pc.and_(has_off, pc.not_equal(tz, "Z"))
    hh = np.asarray(pc.cast(pc.if_else(numeric, pc.utf8_slice_codeunits(digits, 0, 2), "0"), pa.int64()))
    mm = np.asarray(pc.cast(pc.if_else(numeric, pc.utf8_slice_codeunits(digits, 2, 4), "0"), pa.int64()))
    offset_s = hh * 3600 + mm * 60
    ok &= (mm < 60) & (offset_s <= _MAX_OFFSET_S)
    secs = _seconds(parsed) - np.where(has_off, sign * offset_s, 0)
    sub_ns = np.round(np.asarray(pc.fill_null(frac, 0.0)) * 1e9).astype(np.int64)
    status = np.where(ok, OK, BAD).astype(np.int8)
    return _finish(secs, sub_ns, status), status, has_off


def _python_times(values: list[str], fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Python's strptime, once per distinct value: (seconds, sub-second ns, status, has_offset)."""
    n = len(values)
    secs = np.zeros(n, dtype=np.int64)
    sub = np.zeros(n, dtype=np.int64)
    status = np.full(n, BAD, dtype=np.int8)
    has_off = np.zeros(n, dtype=bool)
    seen: dict[str, tuple[int, int, int, bool]] = {}
    for i, v in enumerate(values):
        got = seen.get(v)
        if got is None:
            got = (0, 0, BAD, False)
            try:
                dt = datetime.strptime(v, fmt)
            except ValueError:
                pass
            else:
                off = dt.utcoffset()
                if off is None or abs(off) <= timedelta(seconds=_MAX_OFFSET_S):
                    delta = dt - _EPOCH if off is not None else dt - _EPOCH.replace(tzinfo=None)
                    whole = delta.days * 86_400 + delta.seconds
                    got = (whole, delta.microseconds * 1000, OK, off is not None)
            seen[v] = got
        secs[i], sub[i], status[i], has_off[i] = got
    return secs, sub, status, has_off


def _pandas_times(values: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pandas' vectorised strptime (naive formats): (seconds, sub-second ns, parsed)."""
    got = pd.to_datetime(pd.Series(values, dtype=object), format=fmt, errors="coerce").to_numpy()
    unit = np.datetime_data(got.dtype)[0]
    per = _PER_SECOND.get(unit)
    parsed = ~np.isnat(got)
    if per is None:  # a coarser unit than seconds: never produced for a time of day, but be exact
        got, per = got.astype("datetime64[s]"), 1
    ints = np.where(parsed, got.view(np.int64), 0)
    secs = np.floor_divide(ints, per)
    sub = (ints - secs * per) * (_NS // per)
    return secs, sub, parsed


def _format_times(arr: pa.Array, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text in an explicit strptime format -> (ns, status, has_offset)."""
    n = len(arr)
    trimmed = pc.utf8_trim_whitespace(arr)
    secs = np.zeros(n, dtype=np.int64)
    sub = np.zeros(n, dtype=np.int64)
    status = np.full(n, BAD, dtype=np.int8)
    has_off = np.zeros(n, dtype=bool)
    todo = np.arange(n)
    if not _NOT_ARROW.search(fmt):
        parsed = pc.strptime(trimmed, format=fmt, unit="s", error_is_null=True)
        ok = np.asarray(parsed.is_valid(), dtype=bool)
        # a rolled-over day or second lands on day 1-3 or second 0-1: check those by round trip
        suspect = np.flatnonzero(
            ok
            & (
                np.asarray(pc.fill_null(pc.less_equal(pc.day(parsed), 3), False))
                | np.asarray(pc.fill_null(pc.less_equal(pc.second(parsed), 1), False))
            )
        )
        if suspect.size:
            take = pa.array(suspect)
            back = pc.strftime(parsed.take(take), format=fmt)
            ok[suspect] = np.asarray(pc.fill_null(pc.equal(back, trimmed.take(take)), False))
        secs[ok] = _seconds(parsed)[ok]
        status[ok] = OK
        todo = np.flatnonzero(~ok)
    if todo.size and "%z" not in fmt:
        values = trimmed.take(pa.array(todo)).to_numpy(zero_copy_only=False)
        p_secs, p_sub, p_ok = _pandas_times(values, fmt)
        done = todo[p_ok]
        secs[done], sub[done], status[done] = p_secs[p_ok], p_sub[p_ok], OK
        todo = todo[~p_ok]
    if todo.size:
        values = [v or "" for v in trimmed.take(pa.array(todo)).to_pylist()]
        secs[todo], sub[todo], status[todo], has_off[todo] = _python_times(values, fmt)
    return _finish(secs, sub, status), status, has_off


def _text_times(arr: pa.Array, fmt: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch of text -> (local or UTC ns, status, has_offset).

    The common ``YYYY-MM-DD HH:MM:SS`` takes a fast path; only the rest go
    through the regex (ISO) or the slower paths of an explicit format.
    """
    n = len(arr)
    if fmt is None:
        has_off = np.zeros(n, dtype=bool)
        parsed = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
        ok = _canonical_ok(parsed, arr)
        status = np.where(ok, OK, BAD).astype(np.int8)
        ns = _finish(_seconds(parsed), np.zeros(n, dtype=np.int64), status)
        rest = np.flatnonzero(~ok)
        if rest.size:
            r_ns, r_status, r_off = _iso_times(arr.take(pa.array(rest)))
            ns[rest], status[rest], has_off[rest] = r_ns, r_status, r_off
    else:
        ns, status, has_off = _format_times(arr, fmt)
    bad = np.flatnonzero(status == BAD)
    if bad.size:
        blank = np.asarray(
            pc.fill_null(pc.match_substring_regex(arr.take(pa.array(bad)), NA_REGEX), True), dtype=bool
        )
        status[bad[blank]] = BLANK
    return ns, status, has_off


def _typed_times(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column of any unit -> (ns, status), out-of-range values refused, not wrapped."""
    per = _PER_SECOND[arr.type.unit]
    ints = np.asarray(pc.fill_null(pc.cast(arr, pa.int64()), 0), dtype=np.int64)
    secs = np.floor_divide(ints, per)
    status = np.where(np.asarray(arr.is_null()), BLANK, OK).astype(np.int8)
    ns = _finish(secs, (ints - secs * per) * (_NS // per), status)
    return ns, status


def _read(col: pa.ChunkedArray, fmt: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ns local or UTC, status, naive) per row."""
    n = len(col)
    if pa.types.is_timestamp(col.type):
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        ns, status = _typed_times(arr)
        return ns, status, np.full(n, col.type.tz is None)
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    ns = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int8)
    naive = np.zeros(n, dtype=bool)
    pos = 0
    for chunk in col.chunks:
        for off in range(0, len(chunk), _BATCH):
            batch = chunk.slice(off, _BATCH)
            b_ns, b_status, b_off = _text_times(batch, fmt)
            k = len(batch)
            ns[pos : pos + k], status[pos : pos + k], naive[pos : pos + k] = b_ns, b_status, ~b_off
            pos += k
    return ns, status, naive


def _localize(ns: np.ndarray, status: np.ndarray, naive: np.ndarray, tz: str, first: bool) -> np.ndarray:
    """UTC ns of naive local times (ambiguous: the first or the second occurrence); gap -> GAP."""
    out = ns.copy()
    local = naive & (status == OK)
    if local.any():
        idx = pd.DatetimeIndex(ns[local].view("datetime64[ns]"))
        utc = idx.tz_localize(tz, ambiguous=np.full(len(idx), first), nonexistent="NaT")
        gap = np.asarray(utc.isna())
        out[local] = np.where(gap, 0, np.asarray(utc.asi8))
        status[local] = np.where(gap, GAP, OK).astype(np.int8)
    return out


def parse_times(col: pa.ChunkedArray, fmt: str | None, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column -> (UTC ns int64, status: see the module documentation).

    Naive times are local in ``tz``; an ambiguous autumn time is its first occurrence.
    """
    ns, status, naive = _read(col, fmt)
    return _localize(ns, status, naive, tz, first=True), status


def parse_end_times(col: pa.ChunkedArray, fmt: str | None, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`parse_times`, also giving each time's second occurrence (equal unless ambiguous)."""
    ns, status, naive = _read(col, fmt)
    first = _localize(ns, status, naive, tz, first=True)
    second = _localize(ns, status.copy(), naive, tz, first=False)
    return first, second, status
