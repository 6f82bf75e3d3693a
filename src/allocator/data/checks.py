"""Row checks of :func:`allocator.load_demand`, one batch at a time.

Each batch of an extract is checked on its own: timestamps, blanks, areas,
demand types and durations (reasons 2-10 of :data:`REASONS`). The result is a
set of per-row arrays; checks that need the whole extract (malformed rows,
duplicate ids, the window) are made by :func:`allocator.load_demand`.

Areas and demand type codes match exactly (trimmed), through the mapping's
aliases and code lookup; then, unless the mapping says ``exact_names``,
ignoring case and spacing (``POLICE`` for ``Police``), counted per row in
``loose``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from allocator.data.extract import hash_strings
from allocator.data.mapping import (
    DURATION_UNITS,
    DemandMapping,
    blank,
    blank_mask,
    encode,
    parse_hms,
    parse_numbers,
)
from allocator.data.times import BAD, BLANK, GAP, RANGE, parse_end_times, parse_times
from allocator.errors import DemandError, Problem
from allocator.model.force import Force

#: Rejection reasons in the order they are tested; a row gets the first that applies.
REASONS = (
    "malformed row",
    "missing value",
    "unparseable timestamp",
    "timestamp out of range",
    "non-existent local time",
    "in the future",
    "unknown area",
    "unmapped demand type code",
    "non-numeric duration",
    "negative duration",
    "implausible duration",
    "duplicate id",
    "outside window",
)
CODE = {r: i + 1 for i, r in enumerate(REASONS)}


def loose(v: str) -> str:
    """A name as compared ignoring case and spacing."""
    return " ".join(v.split()).casefold()


def _unique_keys(pairs: list[tuple[str, int]]) -> dict[str, int]:
    """Loose key -> index, leaving out keys that two different targets share."""
    out: dict[str, int] = {}
    clash: set[str] = set()
    for name, idx in pairs:
        key = loose(name)
        if key in out and out[key] != idx:
            clash.add(key)
        out.setdefault(key, idx)
    return {k: v for k, v in out.items() if k not in clash}


class Lookups:
    """The force's names and codes, the mapping's aliases and code table, and what the batches have seen."""

    def __init__(
        self, force: Force, m: DemandMapping, name: str = "<extract>", now_ns: int | None = None
    ) -> None:
        self.force = force
        self.mapping = m
        self.name = name
        self.now_ns = now_ns
        self.areas = {a: i for i, a in enumerate(force.area_names)}
        self.codes = m.code_table()
        self.types = {c: i for i, c in enumerate(force.type_codes)}
        self.catch = force.settings.catch_all_type
        self.grades: dict[str, int] = {}  # trimmed grade -> code, in order of first sight
        self.unmapped: dict[str, int] = {}  # code sent to the catch-all -> index
        self.loose_areas: dict[str, int] = {}
        self.loose_types: dict[str, int] = {}
        if not m.exact_names:
            alias = [(a, self.areas[t]) for a, t in m.areas.items() if t in self.areas]
            self.loose_areas = _unique_keys([*self.areas.items(), *alias])
            coded = [(c, self.types[t]) for c, t in self.codes.items() if t in self.types]
            self.loose_types = _unique_keys([*self.types.items(), *coded])

    def area(self, v: str | None) -> tuple[int, bool]:
        """Force index of an area value (-1 unknown), and whether it matched only loosely."""
        k = norm(v)
        idx = self.areas.get(k, self.areas.get(self.mapping.areas.get(k, ""), -1))
        if idx >= 0 or not k:
            return idx, False
        idx = self.loose_areas.get(loose(k), -1)
        return idx, idx >= 0

    def demand_type(self, v: str | None) -> tuple[int, bool]:
        """Force index of a demand type code (-1 unmapped), and whether it matched only loosely."""
        code = norm(v)
        idx = self.types.get(self.codes.get(code, code), -1)
        if idx >= 0 or not code:
            return idx, False
        idx = self.loose_types.get(loose(code), -1)
        return idx, idx >= 0


def check_batch(
    cols: dict[str, pa.Array], ids: pa.Array | None, lk: Lookups, tz: str
) -> dict[str, np.ndarray]:
    """Checks 2-10 on one batch: per-row arrays (reason 0 while the row stands).

    Raises
    ------
    DemandError
        When an explicit timestamp format matches no value of the batch at all.
    """
    m, force = lk.mapping, lk.force
    chunked = {f: pa.chunked_array([a]) for f, a in cols.items()}
    reason = np.zeros(len(next(iter(cols.values()))), dtype=np.int8)

    def flag(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == 0)] = CODE[why]

    # timestamps
    t_field = "start" if m.uses_start_end else "timestamp"
    ts, t_status = parse_times(chunked[t_field], m.format, tz)
    _format_matches_something(chunked[t_field], t_status, t_field, lk)
    area_codes, area_vals = encode(chunked["area"])
    type_codes, type_vals = encode(chunked["demand_type"])
    blank_field = np.where(t_status == BLANK, 1, 0).astype(np.int8)
    blank_field[(blank_field == 0) & take(blank_mask(area_vals), area_codes, True)] = 2
    blank_field[(blank_field == 0) & take(blank_mask(type_vals), type_codes, True)] = 3
    reason[blank_field > 0] = CODE["missing value"]
    flag(t_status == BAD, "unparseable timestamp")
    flag(t_status == RANGE, "timestamp out of range")
    flag(t_status == GAP, "non-existent local time")
    if lk.now_ns is not None:
        flag((t_status == 0) & (ts > lk.now_ns), "in the future")

    # areas, through the aliases, then loosely
    got = [lk.area(v) for v in area_vals.to_pylist()]
    area = take(np.array([g[0] for g in got], dtype=np.int16), area_codes, -1)
    loose_row = take(np.array([g[1] for g in got], dtype=bool), area_codes, False)
    flag(area < 0, "unknown area")

    # demand types, through the code lookup, loosely, then the catch-all
    type_of = np.full(len(type_vals), -1, dtype=np.int16)
    type_loose = np.zeros(len(type_vals), dtype=bool)
    catch_of = np.full(len(type_vals), -1, dtype=np.int64)
    for k, v in enumerate(type_vals.to_pylist()):
        type_of[k], type_loose[k] = lk.demand_type(v)
        if type_of[k] < 0 and lk.catch is not None and not blank(v):
            type_of[k] = lk.types[lk.catch]
            catch_of[k] = lk.unmapped.setdefault(norm(v), len(lk.unmapped))
    dtype_idx = take(type_of, type_codes, -1)
    loose_row |= take(type_loose, type_codes, False)
    flag(dtype_idx < 0, "unmapped demand type code")
    catch_ids = take(catch_of, type_codes, -1)
    catch_rows = np.flatnonzero(catch_ids >= 0)

    # durations (or end - start)
    duration, d_status = _durations(chunked, m, ts, tz, len(reason), lk)
    flag(d_status == 4, "unparseable timestamp")
    flag(d_status == 5, "non-existent local time")
    flag(d_status == 6, "timestamp out of range")
    flag(d_status == 1, "non-numeric duration")
    flag(d_status == 2, "negative duration")
    long = ~np.isnan(duration) & (duration > force.settings.max_duration_minutes)
    dropped = np.zeros(len(reason), dtype=bool)
    if m.reject_long_durations:
        flag(long, "implausible duration")
    else:
        dropped = long & (reason == 0)
        duration = np.where(long, np.nan, duration)

    out = {
        "reason": reason, "ts": ts, "blank_field": blank_field, "area": area, "dtype": dtype_idx,
        "duration": duration, "catch_rows": catch_rows, "catch_ids": catch_ids[catch_rows],
        "dropped": dropped, "loose": loose_row,
    }
    if "grade" in chunked:
        codes, values = encode(chunked["grade"])
        per_value = [
            -1 if v is None else lk.grades.setdefault(v, len(lk.grades))
            for v in pc.utf8_trim_whitespace(values).to_pylist()
        ]
        out["grade"] = take(np.array(per_value, dtype=np.int32), codes, -1)
    if ids is not None:
        # blank ids (at most four characters once trimmed: "", "NA", "null", ...) are not checked
        ids = pc.utf8_trim_whitespace(ids)
        short = np.flatnonzero(np.asarray(pc.fill_null(pc.less_equal(pc.utf8_length(ids), 4), True)))
        id_blank = np.zeros(len(ids), dtype=bool)
        if short.size:
            id_blank[short] = blank_mask(ids.take(pa.array(short)))
        out["id_blank"] = id_blank
        out["id_hash"] = hash_strings(ids)
    return out


def _format_matches_something(col: pa.ChunkedArray, status: np.ndarray, fld: str, lk: Lookups) -> None:
    """An explicit format that reads no value of a batch is the wrong format: one error, not a reject per row."""
    fmt = lk.mapping.format
    if fmt is None or pa.types.is_timestamp(col.type):
        return
    written = status != BLANK
    if written.any() and (status[written] == BAD).all():
        sample = col.take(pa.array([int(np.flatnonzero(written)[0])]))[0].as_py()
        heading = lk.mapping.fields()[fld]
        msg = (
            f"no value of column {heading!r} is in the mapping's format {fmt!r} "
            f"({int(written.sum()):,} rows tried); fix the format in the mapping"
        )
        raise DemandError(lk.name, [Problem(lk.name, f"column {heading}", msg, sample)])


def norm(v: str | None) -> str:
    return "" if v is None else v.strip()


def take(per_value: np.ndarray, codes: np.ndarray, null: Any) -> np.ndarray:
    """Per-row values from per-distinct-value ones; code -1 (null) gives ``null``."""
    ext = np.append(per_value, np.array([null], dtype=per_value.dtype))
    return ext[codes]  # code -1 picks the appended last element


def _durations(
    cols: dict[str, pa.ChunkedArray], m: DemandMapping, ts: np.ndarray, tz: str, n: int, lk: Lookups
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes per row and status: 0 ok/missing, 1 non-numeric, 2 negative, 4/5/6 bad end time."""
    status = np.zeros(n, dtype=np.int8)
    if m.uses_start_end:
        end_ns, later_ns, e_status = parse_end_times(cols["end"], m.format, tz)
        # an end in the repeated autumn hour is the occurrence after the start
        end_ns = np.where((end_ns < ts) & (later_ns >= ts), later_ns, end_ns)
        minutes = np.where(e_status == 0, (end_ns - ts) / 60e9, np.nan)
        status[e_status == BAD] = 4
        status[e_status == GAP] = 5
        status[e_status == RANGE] = 6
        status[(status == 0) & (minutes < 0)] = 2
        return minutes, status
    if "duration" not in cols:
        return np.full(n, np.nan), status
    col = cols["duration"]
    unit = DURATION_UNITS[m.duration_unit]
    if m.duration_unit != "hh:mm:ss" and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        minutes = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy()) * unit
        status[~np.isfinite(minutes) & ~np.isnan(minutes)] = 1
        minutes = np.where(status == 1, np.nan, minutes)
    else:
        codes, values = encode(col)
        per, bad = parse_hms(values) if m.duration_unit == "hh:mm:ss" else parse_numbers(values)
        minutes = take(per * unit, codes, np.nan)
        status = take(bad.astype(np.int8), codes, 0)
    status[(status == 0) & (minutes < 0)] = 2
    return minutes, status
