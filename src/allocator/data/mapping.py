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

import codecs
import csv
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from allocator.data.times import NA_REGEX as _NA_REGEX
from allocator.data.times import parse_times
from allocator.errors import DemandError, Problem

__all__ = [
    "FIELDS",
    "DURATION_UNITS",
    "DemandMapping",
    "as_mapping",
    "blank",
    "blank_mask",
    "encode",
    "parse_hms",
    "parse_numbers",
    "parse_times",
]

#: The library's demand fields, in the order records carry them.
FIELDS = ("timestamp", "start", "end", "area", "demand_type", "duration", "id", "grade")
_NA_TOKENS = frozenset({"", "na", "n/a", "null", "nan", "none"})
_NUMBER_REGEX = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_HMS_REGEX = r"^\s*(?P<h>\d+):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d(?:\.\d+)?))?\s*$"
#: Minutes per unit of a numeric duration.
DURATION_UNITS = {"seconds": 1 / 60, "minutes": 1.0, "hours": 60.0, "hh:mm:ss": 1.0}


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
    encoding
        The text encoding of a CSV extract (``utf-8`` by default; ``cp1252``,
        ``latin-1``, ``utf-16``, ...). A UTF-16 file with a byte-order mark is
        recognised without it.
    duration_unit
        How durations are written: ``minutes`` (default), ``seconds``,
        ``hours`` or ``hh:mm:ss`` (``1:05:30``, ``0:45``).
    reject_long_durations
        False (default): a duration over ``max_duration_minutes`` is dropped,
        the record kept (standard minutes fill it) and counted in
        ``durations_dropped``. True: such records are rejected as
        ``implausible duration``.
    exact_names
        False (default): areas and demand type codes also match ignoring case
        and spacing (``POLICE`` for ``Police``, `` theft`` for ``THEFT``),
        counted in the summary. True: only exact names (trimmed) match.

    The ``area`` heading may instead be ``{constant: "Swindon North"}`` for an
    extract of one area with no area column.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    timestamp: str | None = None
    start: str | None = None
    end: str | None = None
    area: str | dict[str, str] = "area"
    demand_type: str = "demand_type"
    duration: str | None = None
    id: str | None = None
    grade: str | None = None
    format: str | None = None
    codes: dict[str, str] | Path | None = None
    areas: dict[str, str] = Field(default_factory=dict)
    encoding: str | None = None
    duration_unit: Literal["seconds", "minutes", "hours", "hh:mm:ss"] = "minutes"
    reject_long_durations: bool = False
    exact_names: bool = False

    @field_validator("area")
    @classmethod
    def _constant_area(cls, v: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(v, dict):
            if set(v) != {"constant"} or not str(v["constant"]).strip():
                raise ValueError("an area that is not a heading must be {constant: <area name>}")
            return {"constant": str(v["constant"]).strip()}
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown text encoding {v!r} (e.g. 'utf-8', 'cp1252', 'utf-16')") from None
        return v

    @model_validator(mode="after")
    def _start_end(self) -> DemandMapping:
        if self.start is not None and (self.timestamp is not None or self.duration is not None):
            raise ValueError("give either start (and end) or timestamp (and duration), not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end go together: give both headings or neither")
        return self

    @property
    def area_constant(self) -> str | None:
        """The one area of every record, when the extract has no area column."""
        return self.area["constant"] if isinstance(self.area, dict) else None

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
        if isinstance(self.area, str):
            out["area"] = self.area
        out |= {
            "demand_type": self.demand_type,
            "id": self.id or "id",
            "grade": self.grade or "grade",
        }
        return out

    def required(self) -> list[str]:
        """Fields whose column must be present in the extract."""
        first = ["start", "end"] if self.uses_start_end else ["timestamp"]
        extra = [f for f in ("duration", "id", "grade") if getattr(self, f) is not None]
        area = [] if self.area_constant is not None else ["area"]
        return [*first, *area, "demand_type", *extra]

    def files(self) -> tuple[Path, ...]:
        """The files this mapping reads besides the extract (the code lookup)."""
        return (Path(self.codes),) if isinstance(self.codes, Path) else ()

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
        except UnicodeDecodeError as exc:
            msg = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"
            raise DemandError(path.name, [Problem(path.name, "", msg)]) from None
        except IsADirectoryError:
            raise DemandError(path.name, [Problem(path.name, "", "is a folder, not a mapping file")]) from None
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
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"
        raise DemandError(source, [Problem(source, "", msg)]) from None
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


def parse_hms(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per value of ``H:MM:SS`` (or ``H:MM``) text: minutes (NaN when missing or bad), and whether it is bad."""
    missing = blank_mask(values)
    m = pc.extract_regex(values, _HMS_REGEX)
    ok = np.asarray(m.is_valid(), dtype=bool)
    hours = np.asarray(pc.cast(pc.if_else(m.is_valid(), m.field("h"), "0"), pa.float64()), dtype=np.float64)
    mins = np.asarray(pc.cast(pc.if_else(m.is_valid(), m.field("m"), "0"), pa.float64()), dtype=np.float64)
    secs_text = pc.if_else(pc.fill_null(pc.not_equal(m.field("s"), ""), False), m.field("s"), "0")
    secs = np.asarray(pc.cast(secs_text, pa.float64()), dtype=np.float64)
    minutes = np.where(ok, hours * 60 + mins + secs / 60, np.nan)
    return minutes, ~missing & ~ok
