"""Column mapping: a force's own extract headings -> the library's demand fields.

A command-and-control (CAD) or crime system exports its own headings
("Incident Number", "Call Created", "Final Incident Type", ...) and its own
incident codes. A :class:`DemandMapping` says which heading is which field,
how timestamps are written, which source codes are which of the force's demand
types, and which spellings of area names mean which area. It is built in
Python, read from YAML with :meth:`DemandMapping.from_yaml`, or given to
:func:`allocator.load_demand` as a plain dict.

The module also holds the value parsers :func:`allocator.load_demand` uses:
:func:`encode`, :func:`blank_mask`, :func:`parse_numbers` and
:func:`parse_times` (ISO 8601 or an explicit format, parsed by Arrow in batches
of a million rows, naive times localised to the force's zone).

Examples
--------
>>> m = DemandMapping(timestamp="Call Created", area="CPT Area", demand_type="Incident Type",
...                   codes={"THEFT-SHOP": "THEFT"}, areas={"SWN": "Swindon North"})
>>> m.fields()["timestamp"], m.fields()["duration"]
('Call Created', 'duration')
>>> DemandMapping().fields()["area"]
'area'
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from allocator.errors import DemandError, Problem

__all__ = [
    "FIELDS",
    "DemandMapping",
    "as_mapping",
    "blank",
    "blank_mask",
    "encode",
    "parse_numbers",
    "parse_times",
]

#: The library's demand fields, in the order records carry them.
FIELDS = ("timestamp", "start", "end", "area", "demand_type", "duration", "id", "grade")
_NA_TOKENS = frozenset({"", "na", "n/a", "null", "nan", "none"})
_NA_REGEX = r"^\s*(?i:na|n/a|null|nan|none)?\s*$"
_ISO_REGEX = (
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2})(?P<frac>\.\d{1,9})?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$"
)
_NUMBER_REGEX = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_BATCH = 1 << 20


class DemandMapping(BaseModel):
    """Which heading of an extract holds which demand field, and how to read it.

    Parameters
    ----------
    timestamp, area, demand_type
        Headings of the required fields (default: the field's own name).
    duration
        Heading of the duration in minutes (optional column; default ``duration``).
    start, end
        Instead of ``timestamp`` and ``duration``: headings of the start and end
        times; the record's timestamp is the start and its duration the
        minutes between them. ``end`` is optional per record (blank: no duration).
    id, grade
        Headings of the optional record id (duplicates are rejected) and grade.
    format
        A strftime format for every timestamp (``"%d/%m/%Y %H:%M:%S"``);
        default ISO 8601. Values must be written exactly as the format writes
        them (zero-padded), except with ``%z`` (offsets are then honoured).
    codes
        Source incident code -> force demand type code, as a dict or the path of
        a CSV file with columns ``source_code, demand_type``. Codes that are not
        in it but are themselves force codes are accepted as they are.
    areas
        Area aliases: name in the extract -> the force's area name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    timestamp: str | None = None
    start: str | None = None
    end: str | None = None
    area: str = "area"
    demand_type: str = "demand_type"
    duration: str | None = None
    id: str | None = None
    grade: str | None = None
    format: str | None = None
    codes: dict[str, str] | Path | None = None
    areas: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _start_end(self) -> DemandMapping:
        if self.start is not None and (self.timestamp is not None or self.duration is not None):
            raise ValueError("give either start (and end) or timestamp (and duration), not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end go together: give both headings or neither")
        return self

    @property
    def uses_start_end(self) -> bool:
        """True when durations come from start and end times."""
        return self.start is not None

    def fields(self) -> dict[str, str]:
        """Field -> source heading, for every field this mapping reads."""
        if self.uses_start_end:
            assert self.start is not None and self.end is not None
            out = {"start": self.start, "end": self.end}
        else:
            out = {"timestamp": self.timestamp or "timestamp", "duration": self.duration or "duration"}
        out |= {
            "area": self.area,
            "demand_type": self.demand_type,
            "id": self.id or "id",
            "grade": self.grade or "grade",
        }
        return out

    def required(self) -> list[str]:
        """Fields whose column must be present in the extract."""
        first = ["start", "end"] if self.uses_start_end else ["timestamp"]
        extra = [f for f in ("duration", "id", "grade") if getattr(self, f) is not None]
        return [*first, "area", "demand_type", *extra]

    def code_table(self) -> dict[str, str]:
        """The code lookup as a dict (read from its CSV file when it is a path).

        Raises
        ------
        DemandError
            When the file is missing, lacks the columns, has blank cells or
            maps one source code to two types; every problem at once.
        """
        if self.codes is None:
            return {}
        if isinstance(self.codes, dict):
            return dict(self.codes)
        return _read_code_table(Path(self.codes))

    @classmethod
    def from_yaml(cls, path: str | Path) -> DemandMapping:
        """Read a mapping from a YAML file; a relative ``codes`` path is relative to it.

        Raises
        ------
        DemandError
            Naming the file and every faulty key.
        """
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DemandError(str(path), [Problem(str(path), "", "mapping file not found")]) from None
        except yaml.YAMLError as exc:
            raise DemandError(path.name, [Problem(path.name, "", f"not valid YAML: {exc}")]) from None
        if not isinstance(data, dict):
            raise DemandError(path.name, [Problem(path.name, "", "expected a mapping of field: heading")])
        if isinstance(data.get("codes"), str):
            data = {**data, "codes": path.parent / data["codes"]}
        return _validate(data, path.name)


def _validate(data: dict[str, Any], source: str) -> DemandMapping:
    try:
        return DemandMapping.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(source, ".".join(str(p) for p in e["loc"]) or "", e["msg"], e.get("input"))
            if e["loc"]
            else Problem(source, "", e["msg"])
            for e in exc.errors()
        ]
        raise DemandError(source, problems) from None


def as_mapping(mapping: DemandMapping | dict[str, Any] | str | Path | None) -> DemandMapping:
    """A :class:`DemandMapping` from a mapping, a plain dict, a YAML path or None (identity)."""
    if mapping is None:
        return DemandMapping()
    if isinstance(mapping, DemandMapping):
        return mapping
    if isinstance(mapping, dict):
        return _validate(mapping, "<mapping>")
    return DemandMapping.from_yaml(mapping)


def _read_code_table(path: Path) -> dict[str, str]:
    source = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DemandError(str(path), [Problem(str(path), "", "code lookup file not found")]) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("source_code", "demand_type") if c not in header]
    if missing:
        raise DemandError(
            source,
            [Problem(source, "header", f"missing column(s) {missing}; found {header}", line=1)],
        )
    table: dict[str, str] = {}
    first_row: dict[str, int] = {}
    problems: list[Problem] = []
    for i, raw in enumerate(reader, start=1):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        code, target = row.get("source_code", ""), row.get("demand_type", "")
        for col, val in (("source_code", code), ("demand_type", target)):
            if not val:
                problems.append(Problem(source, f"row {i}, column {col}", "blank value", val, line=i + 1))
        if not code or not target:
            continue
        if code in table and table[code] != target:
            problems.append(
                Problem(
                    source,
                    f"row {i}, column demand_type",
                    f"source code {code!r} already maps to {table[code]!r} at row {first_row[code]}",
                    target,
                    line=i + 1,
                )
            )
            continue
        table.setdefault(code, target)
        first_row.setdefault(code, i)
    if problems:
        raise DemandError(source, problems)
    return table


# ------------------------------------------------------------------- values
def encode(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes per row (-1 for null) and the distinct values (a string array)."""
    if not pa.types.is_dictionary(col.type):
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        # one array, one dictionary: encoding chunk by chunk grows a dictionary per chunk
        col = pa.chunked_array([pc.dictionary_encode(col.combine_chunks())])
    col = col.unify_dictionaries()
    if col.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], pa.string())
    dictionary = col.chunk(0).dictionary
    if not pa.types.is_string(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    codes = np.concatenate(
        [np.asarray(c.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)
         for c in col.chunks]
    )
    return codes, dictionary


def blank_mask(values: pa.Array) -> np.ndarray:
    """Per value: is it missing (null, empty, whitespace, NA, N/A, NULL, NaN, None)?"""
    return np.asarray(pc.fill_null(pc.match_substring_regex(values, _NA_REGEX), True), dtype=bool)


def parse_numbers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per value: the number (NaN when missing or bad) and whether it is not a finite number."""
    missing = blank_mask(values)
    numeric = np.asarray(pc.fill_null(pc.match_substring_regex(values, _NUMBER_REGEX), False), dtype=bool)
    text = pc.if_else(pa.array(numeric), pc.utf8_trim_whitespace(values), "nan")
    number = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    return number, ~missing & ~numeric


def blank(v: str | None) -> bool:
    """True for a missing value: None, empty, whitespace, NA, N/A, NULL, NaN, None."""
    return v is None or v.strip().lower() in _NA_TOKENS


# --------------------------------------------------------------- timestamps
def _canonical_ok(parsed: pa.Array, canon: pa.Array) -> np.ndarray:
    """Arrow's strptime rolls 30 February over to 2 March and second 61 to the next
    minute; a canonical ``YYYY-MM-DD HH:MM:SS`` text must read back the same day and second."""
    shaped = pc.and_(parsed.is_valid(), pc.equal(pc.utf8_length(canon), 19))
    shaped = pc.fill_null(shaped, False)
    day = pc.cast(pc.if_else(shaped, pc.utf8_slice_codeunits(canon, 8, 10), "-1"), pa.int64())
    sec = pc.cast(pc.if_else(shaped, pc.utf8_slice_codeunits(canon, 17, 19), "-1"), pa.int64())
    same = pc.and_(pc.equal(pc.day(parsed), day), pc.equal(pc.second(parsed), sec))
    return np.asarray(pc.fill_null(same, False), dtype=bool)


def _iso_times(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISO 8601 text (any accepted variant) -> (ns, ok, has_offset), through a regex."""
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
    hh = pc.cast(pc.if_else(numeric, pc.utf8_slice_codeunits(digits, 0, 2), "0"), pa.int64())
    mm = pc.cast(pc.if_else(numeric, pc.utf8_slice_codeunits(digits, 2, 4), "0"), pa.int64())
    offset_ns = sign * (np.asarray(hh) * 3600 + np.asarray(mm) * 60) * 1_000_000_000
    secs = np.asarray(pc.fill_null(pc.cast(parsed, pa.int64()), 0))
    ns = secs * 1_000_000_000 + np.round(np.asarray(pc.fill_null(frac, 0.0)) * 1e9).astype(np.int64)
    return np.where(has_off, ns - offset_ns, ns), ok, has_off


def _parse_text_times(arr: pa.Array, fmt: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch of text -> (local or UTC ns, status 0 ok / 1 blank / 2 unparseable, has_offset).

    The common ``YYYY-MM-DD HH:MM:SS`` takes a fast path; only the rest go
    through the regex (ISO) or the strict round trip (explicit format).
    """
    n = len(arr)
    has_off = np.zeros(n, dtype=bool)
    if fmt is None:
        parsed = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
        ok = _canonical_ok(parsed, arr)
        ns = np.asarray(pc.fill_null(pc.cast(parsed, pa.int64()), 0)) * 1_000_000_000
        rest = np.flatnonzero(~ok)
        if rest.size:
            r_ns, r_ok, r_off = _iso_times(arr.take(pa.array(rest)))
            ns[rest], ok[rest], has_off[rest] = r_ns, r_ok, r_off
    else:
        trimmed = pc.utf8_trim_whitespace(arr)
        parsed = pc.strptime(trimmed, format=fmt, unit="s", error_is_null=True)
        ok = np.asarray(parsed.is_valid())
        if "%z" in fmt:
            has_off[:] = True
        else:
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
        ns = np.asarray(pc.fill_null(pc.cast(parsed, pa.int64()), 0)) * 1_000_000_000
    status = np.where(ok, 0, 2).astype(np.int8)
    bad = np.flatnonzero(~ok)
    if bad.size:
        blank = np.asarray(
            pc.fill_null(pc.match_substring_regex(arr.take(pa.array(bad)), _NA_REGEX), True), dtype=bool
        )
        status[bad[blank]] = 1
    return ns.astype(np.int64), status, has_off


def parse_times(col: pa.ChunkedArray, fmt: str | None, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column -> (UTC ns int64, status: 0 ok, 1 blank, 2 unparseable, 3 non-existent)."""
    n = len(col)
    ns = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int8)
    naive = np.zeros(n, dtype=bool)
    if pa.types.is_timestamp(col.type):
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        status[:] = np.where(np.asarray(arr.is_null()), 1, 0)
        ns[:] = np.asarray(pc.fill_null(pc.cast(pc.cast(arr, pa.timestamp("ns", col.type.tz)), pa.int64()), 0))
        naive[:] = col.type.tz is None
    else:
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        pos = 0
        for chunk in col.chunks:
            for off in range(0, len(chunk), _BATCH):
                batch = chunk.slice(off, _BATCH)
                b_ns, b_status, b_off = _parse_text_times(batch, fmt)
                k = len(batch)
                ns[pos : pos + k], status[pos : pos + k], naive[pos : pos + k] = b_ns, b_status, ~b_off
                pos += k
    local = naive & (status == 0)
    if local.any():
        idx = pd.DatetimeIndex(ns[local].view("datetime64[ns]"))
        utc = idx.tz_localize(tz, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="NaT")
        gap = np.asarray(utc.isna())
        values = np.asarray(utc.asi8)
        sub_status = np.where(gap, 3, 0).astype(np.int8)
        ns[local] = np.where(gap, 0, values)
        status[local] = sub_status
    return ns, status
