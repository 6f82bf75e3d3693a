"""Prepared records: demand records checked against the force and reduced to compact arrays.

:func:`prepare_records` is the first stage of :func:`allocator.compute_workload`:
int16 codes for area, demand type and local hour of the week, float64 durations
(NaN = none recorded) and recency weights. Every problem (unknown codes, blank
values, timezone-naive timestamps, demand types without judgement) is reported
at once in one :class:`~allocator.errors.WorkloadError`; no record is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import Problem, WorkloadError
from allocator.errors import did_you_mean as _unknown
from allocator.model.force import Force
from allocator.workload.kernel import (
    LocalClock,
    Partials,
    partial_sums,
)

__all__ = ["REQUIRED_COLUMNS", "PreparedRecords", "prepare_records"]

log = logging.getLogger(__name__)

_NS_PER_DAY = 86_400_000_000_000
#: rows per preparation chunk (bounds the temporaries of the time conversion)
_PREP_CHUNK = 1 << 20
_SHOW_ROWS = 5
_SHOW_VALUES = 20
REQUIRED_COLUMNS = ("timestamp", "area", "demand_type", "duration")


# ------------------------------------------------------------------ prepared records
@dataclass(frozen=True, eq=False)
class PreparedRecords:
    """Demand records reduced to the arrays the kernel reads.

    Attributes
    ----------
    area, demand_type, hour_of_week
        int16 codes per record: area and demand type index in force order,
        local hour of the week (0 = Monday 00:00 in the force's time zone).
    duration
        float64 recorded minutes, NaN where none was recorded.
    weight
        float64 recency weight ``0.5 ** (age_days / half_life)``, or None when
        the force has no half-life (every weight 1).
    as_of
        The instant ages are measured back from (tz-aware, force zone).
    areas, demand_types
        The force's names the codes index.
    first_ns
        The earliest record's instant (UTC ns; None without records). A
        subset keeps its parent's (subsets are partitions of one set of
        records, whose partials are summed again).
    """

    area: np.ndarray
    demand_type: np.ndarray
    hour_of_week: np.ndarray
    duration: np.ndarray
    weight: np.ndarray | None
    as_of: pd.Timestamp
    areas: tuple[str, ...]
    demand_types: tuple[str, ...]
    first_ns: int | None = None

    def __len__(self) -> int:
        return len(self.area)

    @property
    def nbytes(self) -> int:
        """Bytes held by the record arrays."""
        arrays = (self.area, self.demand_type, self.hour_of_week, self.duration, self.weight)
        return sum(a.nbytes for a in arrays if a is not None)

    def subset(self, index: slice | np.ndarray) -> PreparedRecords:
        """The records selected by ``index`` (a slice, positions or a boolean mask)."""
        return PreparedRecords(
            self.area[index],
            self.demand_type[index],
            self.hour_of_week[index],
            self.duration[index],
            None if self.weight is None else self.weight[index],
            self.as_of,
            self.areas,
            self.demand_types,
            self.first_ns,
        )

    def partials(self, threads: int | None = None) -> Partials:
        """The summable partial sums of these records (see :mod:`allocator.workload.kernel`)."""
        sums = partial_sums(
            self.area,
            self.demand_type,
            self.hour_of_week,
            self.duration,
            self.weight,
            len(self.areas),
            len(self.demand_types),
            threads=threads,
        )
        return replace(sums, first_ns=self.first_ns if len(self) else None)


def _row_labels(records: pd.DataFrame) -> np.ndarray | None:
    """The source row numbers (the ``row`` column), or None: positions from 1 name rows."""
    return records["row"].to_numpy() if "row" in records.columns else None


def _rows_text(rows: np.ndarray | None, positions: np.ndarray) -> str:
    first = positions[:_SHOW_ROWS]
    shown = ", ".join(str(r) for r in (first + 1 if rows is None else rows[first]))
    more = ", ..." if len(positions) > _SHOW_ROWS else ""
    return f"row{'s' if len(positions) > 1 else ''} {shown}{more}"


def _records_text(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


def _codes(
    col: pd.Series, names: list[str], kind: str, source: str, rows: np.ndarray | None
) -> tuple[np.ndarray, list[Problem]]:
    """Force-order int16 codes of a name column (categorical or plain), and its problems."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        raw = col.cat.codes.to_numpy()
        labels = [str(c) for c in col.cat.categories]
        if labels == names:
            codes = raw.astype(np.int16)
            if not np.any(codes < 0):
                return codes, []
    else:
        raw, uniques = pd.factorize(col, use_na_sentinel=True)
        labels = [str(u) for u in uniques]
    lookup = np.append(pd.Index(names).get_indexer(pd.Index(labels)), -1).astype(np.int16)
    codes = lookup[raw]
    bad = codes < 0
    if not np.any(bad):
        return codes, []
    problems = []
    where = f"column {col.name}"
    blank = np.flatnonzero(raw < 0)
    if blank.size:
        problems.append(
            Problem(source, where, f"blank {kind} in {_records_text(blank.size)} ({_rows_text(rows, blank)})")
        )
    unknown_counts = np.bincount(raw[bad & (raw >= 0)], minlength=len(labels))
    unknown = np.flatnonzero(unknown_counts)
    order = unknown[np.argsort(-unknown_counts[unknown], kind="stable")]
    for u in order[:_SHOW_VALUES]:
        pos = np.flatnonzero(raw == u)
        msg = _unknown(kind, labels[u], names)
        problems.append(
            Problem(source, where, f"{msg}: {_records_text(pos.size)} ({_rows_text(rows, pos)})", labels[u])
        )
    if len(order) > _SHOW_VALUES:
        rest = int(unknown_counts[order[_SHOW_VALUES:]].sum())
        problems.append(
            Problem(
                source,
                where,
                f"and {len(order) - _SHOW_VALUES} more unknown {kind} values in {_records_text(rest)}",
            )
        )
    return codes, problems


def _timestamps(
    col: pd.Series, source: str, rows: np.ndarray | None
) -> tuple[np.ndarray | None, list[Problem]]:
    """UTC nanoseconds of a tz-aware timestamp column, or the problems with it."""
    where = f"column {col.name}"
    dtype = col.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(dtype):
            msg = (
                f"timestamps are timezone-naive ({_records_text(len(col))}); localize them "
                "to the force's time zone first, e.g. ts.dt.tz_localize('Europe/London')"
            )
        else:
            msg = f"expected timezone-aware datetimes, got dtype {dtype} ({_records_text(len(col))})"
        return None, [Problem(source, where, msg, str(dtype))]
    utc = np.asarray(col.array, dtype="datetime64[ns]")
    missing = np.flatnonzero(np.isnat(utc))
    if missing.size:
        msg = f"missing timestamp in {_records_text(missing.size)} ({_rows_text(rows, missing)})"
        return None, [Problem(source, where, msg)]
    return utc.view(np.int64), []


def _durations(col: pd.Series, source: str, rows: np.ndarray | None) -> tuple[np.ndarray, list[Problem]]:
    where = f"column {col.name}"
    if not (pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)):
        msg = f"expected minutes as numbers (blank = none recorded), got dtype {col.dtype}"
        return np.empty(0), [Problem(source, where, msg, str(col.dtype))]
    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    problems = []
    for bad, what in (
        (np.flatnonzero(values < 0), "negative duration"),
        (np.flatnonzero(np.isinf(values)), "infinite duration"),
    ):
        if bad.size:
            msg = f"{what} in {_records_text(bad.size)} ({_rows_text(rows, bad)})"
            problems.append(Problem(source, where, msg, float(values[bad[0]])))
    return values, problems


def _as_of(as_of: Any, tz: str, utc_ns: np.ndarray | None, source: str) -> pd.Timestamp:
    if as_of is None:
        if utc_ns is None or utc_ns.size == 0:
            msg = "no records to take the latest timestamp from; give as_of"
            raise WorkloadError(source, [Problem(source, "as_of", msg)])
        return pd.Timestamp(int(utc_ns.max()), unit="ns", tz="UTC").tz_convert(tz)
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise WorkloadError(source, [Problem(source, "as_of", f"not a time: {exc}", as_of)]) from None
    if ts is pd.NaT:
        raise WorkloadError(source, [Problem(source, "as_of", "not a time", as_of)])
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)
    return ts.as_unit("ns")


def prepare_records(
    records: pd.DataFrame, force: Force, as_of: Any = None, *, source: str = "<records>"
) -> PreparedRecords:
    """Check demand records against the force and turn them into kernel arrays.

    Parameters
    ----------
    records
        One row per record with columns ``timestamp`` (tz-aware), ``area``,
        ``demand_type`` (categoricals in force order, or plain strings mapped
        to the force's names) and ``duration`` (minutes, NaN = none recorded);
        ``row`` (the source row number) names records in error messages.
    force
        The force whose areas, demand types, time zone and half-life apply.
    as_of
        The instant record ages are measured back from: a Timestamp, datetime
        or string (naive values are read in the force's zone). Default: the
        latest timestamp in the records. Records after ``as_of`` are an error.
    source
        How error messages name the records (a file name, say).

    Returns
    -------
    PreparedRecords

    Raises
    ------
    WorkloadError
        Listing every problem: missing columns, unknown or blank areas and
        demand types (each value with its record count and first rows),
        timezone-naive or missing timestamps, negative durations, records
        after ``as_of``, demand types in the records with no judgement rows.
    """
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"records must be a pandas DataFrame, got {type(records).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in records.columns]
    if missing:
        raise WorkloadError(
            source,
            [Problem(source, "header", f"missing column {c!r}") for c in missing],
        )
    settings = force.settings
    rows = _row_labels(records)
    area, problems = _codes(records["area"], force.area_names, "area", source, rows)
    dtype_codes, more = _codes(records["demand_type"], force.type_codes, "demand type", source, rows)
    problems += more
    utc_ns, more = _timestamps(records["timestamp"], source, rows)
    problems += more
    duration, more = _durations(records["duration"], source, rows)
    problems += more

    _, _, _, defined = force.judgement_arrays()
    no_judgement = np.flatnonzero(~defined.any(axis=1))
    if no_judgement.size:
        counts = np.bincount(dtype_codes[dtype_codes >= 0], minlength=len(force.type_codes))
        for t in no_judgement:
            if counts[t]:
                msg = (
                    f"demand type {force.type_codes[t]!r} has no judgement rows; "
                    f"{_records_text(int(counts[t]))} need it"
                )
                problems.append(Problem("<Force>", "judgement", msg, force.type_codes[t]))

    stamp: pd.Timestamp | None = None
    if utc_ns is not None:
        stamp = _as_of(as_of, settings.timezone, utc_ns, source)
        late = np.flatnonzero(utc_ns > stamp.value)
        if late.size:
            msg = f"{_records_text(late.size)} after as_of {stamp} ({_rows_text(rows, late)})"
            problems.append(Problem(source, "column timestamp", msg))
    if problems:
        raise WorkloadError(source, problems)
    assert utc_ns is not None and stamp is not None

    n = len(records)
    hour = np.empty(n, dtype=np.int16)
    weight = None if settings.half_life_days is None else np.empty(n, dtype=np.float64)
    clock = LocalClock(utc_ns, settings.timezone)
    for lo in range(0, n, _PREP_CHUNK):
        hi = min(lo + _PREP_CHUNK, n)
        hour[lo:hi] = clock.hour_of_week(utc_ns[lo:hi])
        if weight is not None and settings.half_life_days is not None:
            # w = 0.5 ** (age_days / half_life) = 2 ** ((t - as_of) / (day * half_life))
            out = weight[lo:hi]
            np.multiply(utc_ns[lo:hi] - stamp.value, 1.0 / (_NS_PER_DAY * settings.half_life_days), out=out)
            np.exp2(out, out=out)
    if n:
        span = (stamp.value - int(utc_ns.min())) / _NS_PER_DAY
        if span > settings.window_days + 1:
            log.warning(
                "records span %.1f days back from %s, more than the force's window of %d days; "
                "all of them are counted",
                span,
                stamp,
                settings.window_days,
            )
    log.debug("prepared %d records as of %s", n, stamp)
    return PreparedRecords(
        area,
        dtype_codes,
        hour,
        np.ascontiguousarray(duration, dtype=np.float64),
        weight,
        stamp,
        tuple(force.area_names),
        tuple(force.type_codes),
        int(utc_ns.min()) if n else None,
    )
