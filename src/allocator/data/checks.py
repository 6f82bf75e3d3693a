"""Row checks 1-8 of :func:`allocator.load_demand`, one batch at a time.

Each batch of an extract is checked on its own: timestamps, blanks, areas,
demand types and durations (reasons 1-8 of :data:`REASONS`). The result is a
set of per-row arrays; checks that need the whole extract (duplicate ids, the
window) are made by :func:`allocator.load_demand` once every batch is in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from allocator.data.extract import hash_strings
from allocator.data.mapping import (
    DemandMapping,
    blank,
    blank_mask,
    encode,
    parse_numbers,
    parse_times,
)
from allocator.model.force import Force

#: Rejection reasons in the order they are tested; a row gets the first that applies.
REASONS = (
    "missing value",
    "unparseable timestamp",
    "non-existent local time",
    "unknown area",
    "unmapped demand type code",
    "non-numeric duration",
    "negative duration",
    "implausible duration",
    "duplicate id",
    "outside window",
)
CODE = {r: i + 1 for i, r in enumerate(REASONS)}


class Lookups:
    """The force's names and codes, the mapping's aliases and code table, and what the batches have seen."""

    def __init__(self, force: Force, m: DemandMapping) -> None:
        self.force = force
        self.mapping = m
        self.areas = {a: i for i, a in enumerate(force.area_names)}
        self.codes = m.code_table()
        self.types = {c: i for i, c in enumerate(force.type_codes)}
        self.catch = force.settings.catch_all_type
        self.grades: dict[str, int] = {}  # trimmed grade -> code, in order of first sight
        self.unmapped: dict[str, int] = {}  # code sent to the catch-all -> index


def check_batch(
    cols: dict[str, pa.Array], ids: pa.Array | None, lk: Lookups, tz: str
) -> dict[str, np.ndarray]:
    """Checks 1-8 on one batch: per-row arrays (reason 0 while the row stands)."""
    m, force = lk.mapping, lk.force
    chunked = {f: pa.chunked_array([a]) for f, a in cols.items()}
    reason = np.zeros(len(next(iter(cols.values()))), dtype=np.int8)

    def flag(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == 0)] = CODE[why]

    # 1-3: timestamps
    t_field = "start" if m.uses_start_end else "timestamp"
    ts, t_status = parse_times(chunked[t_field], m.format, tz)
    area_codes, area_vals = encode(chunked["area"])
    type_codes, type_vals = encode(chunked["demand_type"])
    blank_field = np.where(t_status == 1, 1, 0).astype(np.int8)
    blank_field[(blank_field == 0) & take(blank_mask(area_vals), area_codes, True)] = 2
    blank_field[(blank_field == 0) & take(blank_mask(type_vals), type_codes, True)] = 3
    reason[blank_field > 0] = CODE["missing value"]
    flag(t_status == 2, "unparseable timestamp")
    flag(t_status == 3, "non-existent local time")

    # 4: areas, through the aliases
    area_of = np.array(
        [lk.areas.get(norm(v), lk.areas.get(m.areas.get(norm(v), ""), -1)) for v in area_vals.to_pylist()],
        dtype=np.int16,
    )
    area = take(area_of, area_codes, -1)
    flag(area < 0, "unknown area")

    # 5: demand types, through the code lookup, then the catch-all
    type_of = np.full(len(type_vals), -1, dtype=np.int16)
    catch_of = np.full(len(type_vals), -1, dtype=np.int64)
    for k, v in enumerate(type_vals.to_pylist()):
        code = norm(v)
        target = lk.codes.get(code, code)
        if target in lk.types:
            type_of[k] = lk.types[target]
        elif lk.catch is not None and not blank(v):
            type_of[k] = lk.types[lk.catch]
            catch_of[k] = lk.unmapped.setdefault(code, len(lk.unmapped))
    dtype_idx = take(type_of, type_codes, -1)
    flag(dtype_idx < 0, "unmapped demand type code")
    catch_ids = take(catch_of, type_codes, -1)
    catch_rows = np.flatnonzero(catch_ids >= 0)

    # 6-8: durations (or end - start)
    duration, d_status = _durations(chunked, m, ts, tz, len(reason))
    flag(d_status == 4, "unparseable timestamp")
    flag(d_status == 5, "non-existent local time")
    flag(d_status == 1, "non-numeric duration")
    flag(d_status == 2, "negative duration")
    flag(~np.isnan(duration) & (duration > force.settings.max_duration_minutes), "implausible duration")

    out = {
        "reason": reason, "ts": ts, "blank_field": blank_field, "area": area, "dtype": dtype_idx,
        "duration": duration, "catch_rows": catch_rows, "catch_ids": catch_ids[catch_rows],
    }
    if "grade" in chunked:
        codes, values = encode(chunked["grade"])
        per_value = [
            -1 if v is None else lk.grades.setdefault(v, len(lk.grades))
            for v in pc.utf8_trim_whitespace(values).to_pylist()
        ]
        out["grade"] = take(np.array(per_value, dtype=np.int32), codes, -1)
    if ids is not None:
        # blank ids (at most four characters: "", "NA", "null", ...) are not checked for duplicates
        short = np.flatnonzero(np.asarray(pc.fill_null(pc.less_equal(pc.utf8_length(ids), 4), True)))
        id_blank = np.zeros(len(ids), dtype=bool)
        if short.size:
            id_blank[short] = blank_mask(ids.take(pa.array(short)))
        out["id_blank"] = id_blank
        out["id_hash"] = hash_strings(ids)
    return out


def norm(v: str | None) -> str:
    return "" if v is None else v.strip()


def take(per_value: np.ndarray, codes: np.ndarray, null: Any) -> np.ndarray:
    """Per-row values from per-distinct-value ones; code -1 (null) gives ``null``."""
    ext = np.append(per_value, np.array([null], dtype=per_value.dtype))
    return ext[codes]  # code -1 picks the appended last element


def _durations(
    cols: dict[str, pa.ChunkedArray], m: DemandMapping, ts: np.ndarray, tz: str, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes per row and status: 0 ok/missing, 1 non-numeric, 2 negative, 4/5 bad end time."""
    status = np.zeros(n, dtype=np.int8)
    if m.uses_start_end:
        end_ns, e_status = parse_times(cols["end"], m.format, tz)
        minutes = np.where(e_status == 0, (end_ns - ts) / 60e9, np.nan)
        status[e_status == 2] = 4
        status[e_status == 3] = 5
        status[(status == 0) & (minutes < 0)] = 2
        return minutes, status
    if "duration" not in cols:
        return np.full(n, np.nan), status
    col = cols["duration"]
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        minutes = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy())
        status[~np.isfinite(minutes) & ~np.isnan(minutes)] = 1
        minutes = np.where(status == 1, np.nan, minutes)
    else:
        codes, values = encode(col)
        per, bad = parse_numbers(values)
        minutes = take(per, codes, np.nan)
        status = take(bad.astype(np.int8), codes, 0)
    status[(status == 0) & (minutes < 0)] = 2
    return minutes, status
