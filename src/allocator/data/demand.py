"""Reading and validating demand extracts: CSV, Parquet or a DataFrame -> clean records.

:func:`load_demand` reads an extract (through a :class:`~allocator.data.mapping.DemandMapping`
when its headings are the force's own), checks every row against the force,
and returns a :class:`DemandLoad`: the accepted ``records`` in the shape the
workload engine expects, every refused row in ``rejects`` with the reason, and a
``summary``. Nothing is dropped silently: rows read = accepted + rejected.

Validation is vectorised and runs in batches of about a million rows (a CSV
is streamed, never held whole): text columns are dictionary-encoded on reading
(areas, codes, grades and durations repeat), so each distinct value is checked
once per batch; timestamps are parsed by Arrow. Duplicate ids are found by a
64-bit hash of each id, and every match is confirmed by comparing the ids
themselves. A batch's text is kept compressed until the end, so that refused
rows are quoted as read: a 10-million-row CSV loads within about twice the
file's size in memory, the records included.

Rejection reasons, in the order they are tested (a row gets the first that
applies, see :data:`REASONS`):

1. ``malformed row``: a CSV row with more or fewer cells than the header;
2. ``missing value``: a blank timestamp (or start), area or demand type
   (blank: empty, whitespace, or ``NA``, ``N/A``, ``NULL``, ``NaN``, ``None``);
3. ``unparseable timestamp``: not ISO 8601 (or not in the mapping's format),
   or an offset beyond +-14:00;
4. ``timestamp out of range``: before 1678-01-02 or after 2261-12-31;
5. ``non-existent local time``: a naive time in the spring clock-change gap;
6. ``in the future``: after the time of the run (``now``);
7. ``unknown area``: not a force area nor an alias (the detail suggests the nearest);
8. ``unmapped demand type code``: not in the code lookup nor a force type, and
   the force has no ``catch_all_type`` (with one, such codes are accepted as the
   catch-all type and counted per code in the summary);
9. ``non-numeric duration``; 10. ``negative duration`` (also an end before its
   start); 11. ``implausible duration`` (over ``max_duration_minutes``, only
   with the mapping's ``reject_long_durations``: by default such a duration is
   dropped, the record kept, and counted in ``durations_dropped``);
12. ``duplicate id``: ids are compared trimmed; the first row with the id
    (among rows that pass 1-11) is kept; the detail names it;
13. ``outside window``: not in ``(end - window_days, end]``, where ``end`` is
    ``as_of`` when given, else the latest timestamp of the rows that pass 1-12.

Naive timestamps are local time in the force's zone. An ambiguous autumn time
(the repeated hour) is taken as its *first* occurrence (summer time, like
Python's ``fold=0``), except an end time, which is the occurrence after its
start. Offsets in the text (``+01:00``, ``Z``) are honoured.

A load that leaves no usable record, or rejects more than the force's
``settings.max_reject_share`` of the rows (unless ``accept_rejects=True``),
raises one :class:`~allocator.errors.DemandError` naming the top reasons.

Examples
--------
>>> import pandas as pd, allocator
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> extract = pd.DataFrame({
...     "timestamp": ["2026-10-01 09:30", "2026-10-02 23:10", "2026-10-02 25:00"],
...     "area": ["Swindon North", "Swindon Nrth", "Wiltshire East"],
...     "demand_type": ["THEFT", "DA", "ASB"],
...     "duration": ["45", "", "30"],
... })
>>> load = load_demand(extract, force, now="2026-12-01", accept_rejects=True)
>>> load.summary.accepted, load.summary.rejected
(1, {'unparseable timestamp': 1, 'unknown area': 1})
>>> load.rejects[["row", "reason"]].to_dict("records")
[{'row': 2, 'reason': 'unknown area'}, {'row': 3, 'reason': 'unparseable timestamp'}]
>>> print(load.rejects["detail"][0])
area 'Swindon Nrth' is not in the force; did you mean 'Swindon North'?
"""

from __future__ import annotations

import difflib
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.data.checks import CODE, REASONS, Lookups, check_batch, loose, norm
from allocator.data.extract import RawStore, malformed_rows, open_extract
from allocator.data.mapping import (
    DemandMapping,
    as_mapping,
)
from allocator.errors import DemandError, Problem
from allocator.model.force import Force

__all__ = ["REASONS", "DemandLoad", "DemandMapping", "DemandSummary", "load_demand"]

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class DemandSummary:
    """What a load did: rows read, accepted, rejected per reason, codes sent to the catch-all."""

    source: str
    rows_read: int
    accepted: int
    rejected: dict[str, int]
    unmapped_codes: dict[str, int]
    catch_all_type: str | None
    missing_durations: int
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    durations_dropped: int = 0
    names_matched_loosely: int = 0

    @property
    def rejected_total(self) -> int:
        """All rejected rows."""
        return sum(self.rejected.values())

    @property
    def days_covered(self) -> float:
        """Days of the window the accepted records cover: window end minus the later of
        the window start and the first record (0 without records)."""
        if self.first is None or self.window_end is None:
            return 0.0
        start = self.first if self.window_start is None else max(self.window_start, self.first)
        return (self.window_end - start) / pd.Timedelta(days=1)

    def __str__(self) -> str:
        lines = [
            f"{self.source}: {self.rows_read:,} rows read, {self.accepted:,} accepted, "
            f"{self.rejected_total:,} rejected",
        ]
        if self.window_start is not None:
            lines.append(f"  window: {self.window_start} .. {self.window_end}")
        if self.first is not None:
            lines.append(f"  records: {self.first} .. {self.last} ({self.days_covered:.1f} days covered)")
        for reason, n in self.rejected.items():
            lines.append(f"  rejected, {reason}: {n:,}")
        for code, n in self.unmapped_codes.items():
            lines.append(f"  code {code!r} counted as {self.catch_all_type}: {n:,}")
        if self.missing_durations:
            lines.append(
                f"  {self.missing_durations:,} records without a duration "
                "(standard minutes are used)"
            )
        if self.durations_dropped:
            lines.append(
                f"  {self.durations_dropped:,} durations over max_duration_minutes dropped "
                "(records kept; standard minutes are used)"
            )
        if self.names_matched_loosely:
            lines.append(f"  {self.names_matched_loosely:,} records matched an area or type ignoring case or spacing")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The counts and the window as plain JSON-ready values (aggregates only)."""
        return {
            "records_read": self.rows_read,
            "records_accepted": self.accepted,
            "records_rejected": self.rejected_total,
            "rejected_by_reason": dict(self.rejected),
            "unmapped_codes": dict(self.unmapped_codes),
            "missing_durations": self.missing_durations,
            "durations_dropped": self.durations_dropped,
            "names_matched_loosely": self.names_matched_loosely,
            "window_start": None if self.window_start is None else str(self.window_start),
            "window_end": None if self.window_end is None else str(self.window_end),
            "first_record": None if self.first is None else str(self.first),
            "last_record": None if self.last is None else str(self.last),
            "days_covered": round(self.days_covered, 6),
        }

    def to_frame(self) -> pd.DataFrame:
        """The summary as a tidy frame: ``item, detail, count``."""
        rows: list[tuple[str, str, int]] = [
            ("rows read", "", self.rows_read),
            ("accepted", "", self.accepted),
        ]
        rows += [("rejected", reason, n) for reason, n in self.rejected.items()]
        rows += [("unmapped code", code, n) for code, n in self.unmapped_codes.items()]
        rows.append(("missing duration", "", self.missing_durations))
        rows.append(("duration dropped", "", self.durations_dropped))
        rows.append(("name matched loosely", "", self.names_matched_loosely))
        out = pd.DataFrame(rows, columns=["item", "detail", "count"])
        return out.astype({"item": "str", "detail": "str", "count": "int64"})

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(i)}</td><td>{html.escape(d)}</td><td>{c:,}</td></tr>"
            for i, d, c in self.to_frame().itertuples(index=False)
        )
        window = (
            f"<p>window {html.escape(str(self.window_start))} .. {html.escape(str(self.window_end))}</p>"
            if self.window_start is not None
            else ""
        )
        return (
            f"<div><strong>{html.escape(self.source)}</strong>{window}<table>"
            f"<tr><th>item</th><th>detail</th><th>count</th></tr>{body}</table></div>"
        )


@dataclass(frozen=True)
class DemandLoad:
    """The outcome of :func:`load_demand`.

    Attributes
    ----------
    records
        One row per accepted record: ``row`` (1-based data row in the source),
        ``timestamp`` (tz-aware, force zone, ns), ``area`` and ``demand_type``
        (categoricals whose categories are the force's names and codes in force
        order), ``duration`` (float64 minutes, NaN when none), and ``id`` and
        ``grade`` (strings) when the extract has them.
    rejects
        One row per refused row: ``row``, the raw values of the mapped columns
        under the extract's own headings (strings, as read), ``reason`` (one of
        :data:`REASONS`) and ``detail`` (the column and value, and a hint).
    summary
        Counts: see :class:`DemandSummary`.
    inputs
        Every file the load read: the extract, the mapping file and the code
        lookup it references (none for a DataFrame or an in-memory mapping),
        so that a run can record a hash of each.
    """

    records: pd.DataFrame
    rejects: pd.DataFrame
    summary: DemandSummary
    mapping: DemandMapping = field(repr=False)
    inputs: tuple[Path, ...] = ()

    @property
    def window(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The demand window ``(start, end]`` the records were checked against."""
        return self.summary.window_start, self.summary.window_end


def _as_of(as_of: Any, tz: str, what: str = "as_of") -> pd.Timestamp | None:
    if as_of is None:
        return None
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DemandError(what, [Problem(what, "", f"not a time ({exc})", as_of)]) from None
    if ts is pd.NaT:
        raise DemandError(what, [Problem(what, "", "not a time", as_of)])
    if ts.tz is None:
        return ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(tz)


def _stamp(ns: int, tz: str) -> pd.Timestamp:
    return pd.Timestamp(ns, unit="ns", tz="UTC").tz_convert(tz)


# ------------------------------------------------------------------- loader
def load_demand(
    source: str | Path | pd.DataFrame,
    force: Force,
    mapping: DemandMapping | dict[str, Any] | str | Path | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    source_name: str | None = None,
    now: str | pd.Timestamp | None = None,
    accept_rejects: bool = False,
) -> DemandLoad:
    """Read a demand extract, check every row against ``force``, and split it into records and rejects.

    Parameters
    ----------
    source
        A CSV file (``.csv``, also gzip-compressed ``.csv.gz``, read directly),
        a Parquet file (``.parquet``/``.pq``) or a DataFrame. It is only read,
        never changed.
    force
        The force: its areas, demand types, time zone, ``window_days``,
        ``max_duration_minutes``, ``max_reject_share`` and ``catch_all_type`` are used.
    mapping
        A :class:`DemandMapping`, a dict of its fields, or the path of a YAML
        mapping. None: the extract's headings are the field names
        (``timestamp``, ``area``, ``demand_type``, optional ``duration``,
        ``id``, ``grade``).
    as_of
        End of the demand window (naive: local time). Default: the latest
        valid timestamp in the extract.
    source_name
        The name used in messages (default: the file name, or ``<DataFrame>``).
    now
        The time of the run (naive: local time): records after it are rejected
        as ``in the future``. Default: the current time. Pass a fixed instant
        for a load that does not depend on when it runs.
    accept_rejects
        Go on when more than ``force.settings.max_reject_share`` of the rows
        are rejected (the CLI's ``--accept-rejects``).

    Returns
    -------
    DemandLoad
        ``records``, ``rejects``, ``summary``, ``window`` and ``inputs``.

    Raises
    ------
    DemandError
        When the extract cannot be read at all: a file fault (not found, a
        workbook, garbage or truncated Parquet or gzip, another encoding, an
        unbalanced quote), required columns missing (all named, with the
        columns found), a mapping that names areas or types the force does
        not have, an explicit format that matches no timestamp; when no row
        is usable; and when more than ``max_reject_share`` of the rows are
        rejected, unless ``accept_rejects``. Other row-level faults are not
        raised: they are rejects (see the module documentation).

    Examples
    --------
    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force.yaml"))
    >>> load = load_demand(allocator.sample_path("demand.csv"), force, now="2026-12-01")
    >>> load.summary.rows_read == len(load.records) + len(load.rejects)
    True
    >>> load.records["area"].cat.categories.tolist() == force.area_names
    True
    >>> [p.name for p in load.inputs]
    ['demand.csv']
    """
    m = as_mapping(mapping)
    if isinstance(source, pd.DataFrame):
        name = source_name or "<DataFrame>"
    else:
        name = source_name or Path(source).name
    inputs = _inputs(source, mapping, m)
    tz = force.settings.timezone
    constant = _check_mapping(m, force, name)
    wanted = m.fields()
    ext = open_extract(source, wanted, m.required(), name, m.encoding)
    present = dict(ext.present)
    if constant is not None:
        wanted["area"] = present["area"] = _constant_heading(wanted)
    now_ts = _as_of(pd.Timestamp.now(tz="UTC") if now is None else now, tz, "now")
    assert now_ts is not None
    lk = Lookups(force, m, name, now_ts.value)
    store = RawStore(compress=not ext.in_memory)
    parts: dict[str, list[np.ndarray]] = {}
    ids: list[pa.Array | None] = []
    starts = [0]
    cols: dict[str, pa.Array] = {}
    batch_ids: pa.Array | None = None
    for cols in ext.batches:
        if constant is not None:
            k = len(next(iter(cols.values())))
            cols["area"] = pa.DictionaryArray.from_arrays(pa.array(np.zeros(k, np.int32)), pa.array([constant]))
        batch_ids = cols.pop("id", None)
        if batch_ids is not None:
            batch_ids = batch_ids if pa.types.is_string(batch_ids.type) else pc.cast(batch_ids, pa.string())
            ids.append(batch_ids)
        checked = check_batch(cols, batch_ids, lk, tz)
        checked["catch_rows"] += starts[-1]  # rows of the whole extract
        for key, arr in checked.items():
            parts.setdefault(key, []).append(arr)
        store.add(cols)
        starts.append(starts[-1] + len(next(iter(cols.values()))))
    del cols, batch_ids
    n = starts[-1]
    batch_start = np.array(starts, dtype=np.int64)
    log.debug("%s: %d rows read in %d batches", name, n, len(starts) - 1)

    def whole(key: str, dtype: Any) -> np.ndarray:
        got = parts.pop(key, [])
        return np.concatenate(got) if got else np.zeros(0, dtype=dtype)

    reason = whole("reason", np.int8)
    ts = whole("ts", np.int64)

    # duplicate ids among the rows still standing: equal hashes are candidates, compared exactly
    first_row: dict[int, int] = {}
    if "id" in ext.present:
        candidates = _repeated(parts.pop("id_hash", []), parts.pop("id_blank", []), reason, batch_start)
        first_row = _exact_duplicates(candidates, ids, batch_start)
        reason[np.fromiter(first_row, dtype=np.int64, count=len(first_row))] = CODE["duplicate id"]

    # the window
    end = _as_of(as_of, tz)
    if end is None and (reason == 0).any():
        end = _stamp(int(np.max(ts, where=reason == 0, initial=np.iinfo(np.int64).min)), tz)
    start = None
    if end is not None:
        start = end - pd.Timedelta(days=force.settings.window_days)
        outside = (reason == 0) & ((ts <= start.value) | (ts > end.value))
        reason[outside] = CODE["outside window"]
        del outside

    bad = np.flatnonzero(reason > 0)
    raw = _raw_values(bad, batch_start, store, ids, list(present))
    store.clear()
    rejects = _rejects(
        bad, reason[bad], raw, wanted, _detail_fields(m), whole("blank_field", np.int8)[bad],
        first_row, start, end, force, m.format,
    )
    del raw

    ok = reason == 0
    counts = np.bincount(reason, minlength=len(REASONS) + 1)
    counts[CODE["malformed row"]] += len(ext.malformed)
    rejected = {r: int(counts[CODE[r]]) for r in REASONS if counts[CODE[r]]}
    catch_rows, catch_ids = whole("catch_rows", np.int64), whole("catch_ids", np.int64)
    accepted_ids = catch_ids[ok[catch_rows]]
    per_code = np.bincount(accepted_ids, minlength=len(lk.unmapped))
    unmapped = {code: int(per_code[k]) for code, k in lk.unmapped.items() if per_code[k]}
    unmapped = dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0])))
    work = {"ts": ts, "duration": whole("duration", np.float64)}
    first = _stamp(int(ts[ok].min()), tz) if ok.any() else None
    last = _stamp(int(ts[ok].max()), tz) if ok.any() else None
    del ts  # the records take it from ``work``, releasing the whole-extract arrays as they go
    missing = int(np.count_nonzero(np.isnan(work["duration"]) & ok))
    dropped = int(np.count_nonzero(whole("dropped", bool) & ok))
    loosely = int(np.count_nonzero(whole("loose", bool) & ok))
    accepted = int(np.count_nonzero(ok))
    del ok
    records = _records(np.flatnonzero(reason == 0), work, parts, ids, batch_start, lk, present)
    records, rejects = _renumber(records, rejects, ext, wanted)
    summary = DemandSummary(
        source=name,
        rows_read=n + len(ext.malformed),
        accepted=accepted,
        rejected=rejected,
        unmapped_codes=unmapped,
        catch_all_type=lk.catch,
        missing_durations=missing,
        window_start=start,
        window_end=end,
        first=first,
        last=last,
        durations_dropped=dropped,
        names_matched_loosely=loosely,
    )
    if summary.rows_read != summary.accepted + summary.rejected_total or len(rejects) != summary.rejected_total:
        raise AssertionError(f"{name}: rows read != accepted + rejected; this is a bug")
    log.info("%s", summary)
    _check_rejects(summary, rejects, force.settings.max_reject_share, accept_rejects)
    return DemandLoad(records=records, rejects=rejects, summary=summary, mapping=m, inputs=inputs)


def _inputs(source: Any, mapping: Any, m: DemandMapping) -> tuple[Path, ...]:
    """Every file a load reads: the extract, the mapping file, the code lookup it names."""
    out: list[Path] = []
    if not isinstance(source, pd.DataFrame):
        out.append(Path(source))
    if isinstance(mapping, str | Path):
        out.append(Path(mapping))
    out += [p for p in m.files() if p not in out]
    return tuple(out)


def _constant_heading(wanted: dict[str, str]) -> str:
    """A name for the constant area's column in the rejects, clear of the extract's headings."""
    heading = "area"
    while heading in wanted.values():
        heading = f"({heading})"
    return heading


def _top_reasons(summary: DemandSummary, rejects: pd.DataFrame, k: int = 3) -> str:
    """The ``k`` commonest reject reasons, each with its count and one sample value."""
    out = []
    for reason, count in sorted(summary.rejected.items(), key=lambda kv: -kv[1])[:k]:
        row = rejects.loc[rejects["reason"] == reason].iloc[0]
        out.append(f"{reason}: {count:,} (e.g. row {int(row['row'])}: {row['detail']})")
    return "; ".join(out)


def _check_rejects(summary: DemandSummary, rejects: pd.DataFrame, limit: float, accept: bool) -> None:
    """No usable record, or too large a share rejected (unless accepted): one DemandError."""
    name, read = summary.source, summary.rows_read
    if summary.accepted == 0:
        msg = f"no usable record: {read:,} rows read, 0 accepted"
        msg += f"; {_top_reasons(summary, rejects)}" if summary.rejected else " (the extract has no data rows)"
        raise DemandError(name, [Problem(name, "", msg)])
    share = summary.rejected_total / read
    if share > limit and not accept:
        msg = (
            f"{share:.0%} of rows were rejected (limit {limit:.0%}): {_top_reasons(summary, rejects)}; "
            "pass accept_rejects=True / --accept-rejects to go on"
        )
        raise DemandError(name, [Problem(name, "", msg)])


def _renumber(
    records: pd.DataFrame, rejects: pd.DataFrame, ext: Any, wanted: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Malformed CSV rows become rejects, and every other row keeps its data row number in the file."""
    if not ext.malformed:
        return records, rejects
    rows = malformed_rows(ext)
    exact = rows is not None
    if rows is None:  # positions unknown: after the rows read
        total = len(records) + len(rejects)
        rows = list(range(total + 1, total + 1 + len(ext.malformed)))
    skipped = np.array(rows, dtype=np.int64)
    shift = skipped - np.arange(len(skipped))

    def moved(r: pd.Series) -> np.ndarray:
        v = r.to_numpy(dtype=np.int64)
        return v + np.searchsorted(shift, v, side="right")

    if exact:
        records = records.assign(row=moved(records["row"]))
        rejects = rejects.assign(row=moved(rejects["row"]))
    extra: dict[str, Any] = {"row": skipped}
    for col in rejects.columns:
        if col not in ("row", "reason", "detail"):
            extra[col] = pd.Series([None] * len(skipped), dtype=rejects[col].dtype)
    extra["reason"] = "malformed row"
    extra["detail"] = [
        f"the row has a different number of cells than the header: {text[:120]!r}" for text in ext.malformed
    ]
    both = pd.concat([rejects, pd.DataFrame(extra)], ignore_index=True)
    return records, both.sort_values("row", kind="stable", ignore_index=True)


def _repeated(
    hashes: list[np.ndarray], blanks: list[np.ndarray], reason: np.ndarray, batch_start: np.ndarray
) -> np.ndarray:
    """Rows still standing, with an id, whose id hash occurs more than once among such rows."""
    standing = [
        (reason[batch_start[k] : batch_start[k + 1]] == 0) & ~blanks[k] for k in range(len(hashes))
    ]
    every = np.concatenate([h[s] for h, s in zip(hashes, standing, strict=True)]) if hashes else np.zeros(0, np.uint64)
    every.sort()
    repeated = np.unique(every[1:][every[1:] == every[:-1]])
    del every
    if not repeated.size:
        return np.zeros(0, dtype=np.int64)
    rows = []
    for k, (h, s) in enumerate(zip(hashes, standing, strict=True)):
        pos = np.minimum(np.searchsorted(repeated, h), repeated.size - 1)
        rows.append(np.flatnonzero(s & (repeated[pos] == h)) + batch_start[k])
    return np.concatenate(rows)


def _exact_duplicates(candidates: np.ndarray, ids: list[pa.Array | None], batch_start: np.ndarray) -> dict[int, int]:
    """Row index -> 1-based row of the first row with the same id, for the later rows of each id."""
    first: dict[str, int] = {}
    out: dict[int, int] = {}
    which = np.searchsorted(batch_start, candidates, side="right") - 1
    for row, k in zip(candidates.tolist(), which.tolist(), strict=True):
        chunk = ids[k]
        assert chunk is not None
        value = chunk[row - int(batch_start[k])].as_py()
        value = value.strip() if isinstance(value, str) else value
        if value in first:
            out[row] = first[value]
        else:
            first[value] = row + 1
    return out


def _raw_values(
    bad: np.ndarray, batch_start: np.ndarray, store: RawStore, ids: list[pa.Array | None], fields: list[str]
) -> dict[str, pa.Array]:
    """The refused rows' values of every mapped field, as text, as read."""
    pieces: dict[str, list[pa.Array]] = {f: [] for f in fields}
    which = np.searchsorted(batch_start, bad, side="right") - 1
    for k in np.unique(which).tolist():
        local = bad[which == k] - batch_start[k]
        got = store.take(k, local)
        if "id" in pieces:
            chunk = ids[k]
            assert chunk is not None
            got["id"] = chunk.take(pa.array(local, type=pa.int64()))
        for f in fields:
            pieces[f].append(got[f])
    return {f: pa.concat_arrays(p) if p else pa.array([], pa.string()) for f, p in pieces.items()}

def _check_mapping(m: DemandMapping, force: Force, name: str) -> str | None:
    """Check the mapping's names against the force; the constant area (the force's own name), if any."""
    problems = []
    constant = m.area_constant
    if constant is not None:
        matches = [a for a in force.area_names if a == constant or loose(a) == loose(constant)]
        if len(matches) == 1:
            constant = matches[0]
        else:
            problems.append(
                Problem(name, "mapping area.constant", _suggest("area", constant, force.area_names), constant)
            )
    for alias, target in m.areas.items():
        if target not in force.area_names:
            problems.append(
                Problem(name, f"mapping areas[{alias!r}]", _suggest("area", target, force.area_names))
            )
    for code, target in m.code_table().items():
        if target not in force.type_codes:
            problems.append(
                Problem(name, f"mapping codes[{code!r}]", _suggest("demand type", target, force.type_codes))
            )
    if problems:
        raise DemandError(name, problems)
    return constant


def _suggest(kind: str, value: str, valid: list[str]) -> str:
    msg = f"{kind} {value!r} is not in the force"
    close = difflib.get_close_matches(value, valid, n=1, cutoff=0.6)
    if not close:
        lower = {v.lower(): v for v in valid}
        close = [lower[c] for c in difflib.get_close_matches(value.lower(), list(lower), n=1, cutoff=0.6)]
    return msg + (f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(map(repr, valid))}")


def _detail_fields(m: DemandMapping) -> dict[int, str]:
    """Reason code -> the field whose value its detail quotes."""
    t_field = "start" if m.uses_start_end else "timestamp"
    d_field = "end" if m.uses_start_end else "duration"
    return {
        CODE["unparseable timestamp"]: t_field,
        CODE["timestamp out of range"]: t_field,
        CODE["non-existent local time"]: t_field,
        CODE["in the future"]: t_field,
        CODE["unknown area"]: "area",
        CODE["unmapped demand type code"]: "demand_type",
        CODE["non-numeric duration"]: d_field,
        CODE["negative duration"]: d_field,
        CODE["implausible duration"]: d_field,
        CODE["duplicate id"]: "id",
        CODE["outside window"]: t_field,
    }


def _records(
    keep: np.ndarray,
    work: dict[str, np.ndarray],
    parts: dict[str, list[np.ndarray]],
    ids: list[pa.Array | None],
    batch_start: np.ndarray,
    lk: Lookups,
    fields: dict[str, str],
) -> pd.DataFrame:
    """The accepted rows in the contract's shape; whole-extract arrays are released as each column is made."""
    force = lk.force

    def kept(key: str) -> np.ndarray:
        got = parts.pop(key, [])
        return np.concatenate(got)[keep] if got else np.zeros(0, dtype=np.int32)

    stamps = pd.DatetimeIndex(work.pop("ts")[keep].view("datetime64[ns]"), copy=False)
    data: dict[str, Any] = {
        "row": keep,  # made 1-based in place at the end
        "timestamp": stamps.tz_localize("UTC").tz_convert(force.settings.timezone).as_unit("ns"),
    }
    del stamps
    data["area"] = pd.Categorical.from_codes(kept("area"), categories=pd.Index(force.area_names))
    data["demand_type"] = pd.Categorical.from_codes(kept("dtype"), categories=pd.Index(force.type_codes))
    data["duration"] = work.pop("duration")[keep].astype(np.float64, copy=False)
    if "id" in fields:
        which = np.searchsorted(batch_start, keep, side="right") - 1
        bounds = np.searchsorted(which, np.arange(len(ids) + 1))
        del which
        chunks = []
        for k in range(len(ids)):
            chunk = ids[k]
            assert chunk is not None
            local = pa.array(keep[bounds[k] : bounds[k + 1]] - batch_start[k], type=pa.int64())
            ids[k] = None  # released as soon as its accepted ids are taken
            chunks.append(pc.cast(pc.utf8_trim_whitespace(chunk.take(local)), pa.large_string()))
            del chunk
        data["id"] = _str_series(pa.chunked_array(chunks, type=pa.large_string()))
    if "grade" in fields:
        data["grade"] = _categories(kept("grade"), list(lk.grades))
    keep += 1
    return pd.DataFrame(data, copy=False)


def _categories(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """A categorical of the values that occur, categories sorted (codes index ``names``; -1 missing)."""
    used = np.flatnonzero(np.bincount(codes + 1, minlength=len(names) + 1)[1:])
    order = sorted(used.tolist(), key=lambda k: names[k])
    remap = np.full(len(names) + 1, -1, dtype=np.int32)
    remap[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index([names[k] for k in order], dtype="str"))


def _str_series(arr: pa.ChunkedArray | pa.Array) -> pd.Series:
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.Series(arr.to_pandas(types_mapper={pa.string(): dtype, pa.large_string(): dtype}.get), dtype=dtype)


def _rejects(
    bad: np.ndarray,
    why: np.ndarray,
    raw_text: dict[str, pa.Array],
    wanted: dict[str, str],
    detail_col: dict[int, str],
    blank_field: np.ndarray,
    first_row: dict[int, int],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    force: Force,
    fmt: str | None,
) -> pd.DataFrame:
    out: dict[str, Any] = {"row": (bad + 1).astype(np.int64)}
    raw: dict[str, pd.Series] = {}
    for fld, text in raw_text.items():
        raw[fld] = _str_series(text)
        out[wanted[fld]] = raw[fld]
    out["reason"] = pd.Categorical.from_codes(why - 1, categories=pd.Index(REASONS)).astype("str")
    detail = np.empty(len(bad), dtype=object)
    blank_names = {1: wanted["start" if "start" in wanted else "timestamp"], 2: wanted["area"],
                   3: wanted["demand_type"]}
    suggest: dict[str, str] = {}
    for code in np.unique(why):
        sel = np.flatnonzero(why == code)
        rows = bad[sel]
        r = REASONS[code - 1]
        fld = detail_col.get(int(code), "")
        vals: list[Any] = (
            [None if pd.isna(v) else v for v in raw[fld].iloc[sel].tolist()]
            if fld in raw
            else [None] * len(sel)
        )
        heading = wanted.get(fld, fld)
        if r == "missing value":
            detail[sel] = [f"column {blank_names[int(b)]!r} is blank" for b in blank_field[sel]]
        elif r == "unknown area":
            for v in vals:
                if norm(v) not in suggest:
                    suggest[norm(v)] = _suggest("area", norm(v), force.area_names)
            detail[sel] = [suggest[norm(v)] for v in vals]
        elif r == "duplicate id":
            detail[sel] = [f"id {v!r} first seen at row {first_row[int(i)]}" for v, i in zip(vals, rows, strict=True)]
        elif r == "outside window":
            detail[sel] = [f"{heading} {v!r} is outside the window {start} .. {end}" for v in vals]
        elif r == "implausible duration":
            cap = force.settings.max_duration_minutes
            detail[sel] = [f"{heading} {v!r} is over max_duration_minutes {cap:g}" for v in vals]
        elif r == "unparseable timestamp":
            expected = f"{fmt!r}" if fmt else "ISO 8601, e.g. '2026-10-01 09:30:00'"
            detail[sel] = [f"{heading} {v!r} is not a timestamp in the expected format {expected}"
                           for v in vals]
        elif r == "timestamp out of range":
            detail[sel] = [f"{heading} {v!r} is out of range (1678-01-02 .. 2261-12-31)" for v in vals]
        elif r == "in the future":
            detail[sel] = [f"{heading} {v!r} is after the time of the run" for v in vals]
        elif r == "non-existent local time":
            detail[sel] = [f"{heading} {v!r} falls in the spring clock-change gap ({force.settings.timezone})"
                           for v in vals]
        else:
            detail[sel] = [f"{heading} {v!r}: {r}" for v in vals]
    out["detail"] = pd.Series(detail, dtype="str")
    return pd.DataFrame(out)
