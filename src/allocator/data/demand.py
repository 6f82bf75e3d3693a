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

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.data.checks import CODE, REASONS, Lookups, check_batch, loose
from allocator.data.extract import RawStore, open_extract
from allocator.data.mapping import (
    DemandMapping,
    as_mapping,
)
from allocator.data.rejects import (
    add_malformed,
    check_reject_share,
    detail_fields,
    reject_table,
    str_series,
    suggest,
)
from allocator.data.summary import DemandLoad, DemandSummary
from allocator.errors import DemandError, Problem
from allocator.model.force import Force

__all__ = ["REASONS", "DemandLoad", "DemandMapping", "DemandSummary", "load_demand"]

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ results
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
    part: bool = False,
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
    part
        The extract is one part of a larger set of records (a file of a
        partitioned dataset): no check of the share rejected, nor of usable
        records, which the caller makes over the whole set.

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
    rejects = reject_table(
        bad, reason[bad], raw, wanted, detail_fields(m), whole("blank_field", np.int8)[bad],
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
    records, rejects = add_malformed(records, rejects, ext, wanted)
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
    if not part:
        check_reject_share(summary, rejects, force.settings.max_reject_share, accept_rejects)
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
                Problem(name, "mapping area.constant", suggest("area", constant, force.area_names), constant)
            )
    for alias, target in m.areas.items():
        if target not in force.area_names:
            problems.append(
                Problem(name, f"mapping areas[{alias!r}]", suggest("area", target, force.area_names))
            )
    for code, target in m.code_table().items():
        if target not in force.type_codes:
            problems.append(
                Problem(name, f"mapping codes[{code!r}]", suggest("demand type", target, force.type_codes))
            )
    if problems:
        raise DemandError(name, problems)
    return constant


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
        data["id"] = str_series(pa.chunked_array(chunks, type=pa.large_string()))
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


