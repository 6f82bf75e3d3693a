"""Demand too large for one machine: a partitioned dataset reduced partition by partition on Dask.

:func:`load_partitioned_workload` takes a folder of Parquet files (years of
force-wide records, or every force's, as Dask, Spark or pyarrow write them)
or of CSV extracts (a month a file, as a force exports them), one file a
partition. Each partition is one Dask task that runs the same
path as one extract in memory:

1. :func:`allocator.load_demand` reads and checks the file (every rejection
   reason, counted per reason, rows named by their row in that file);
2. :func:`allocator.prepare_records` and the kernel reduce its accepted
   records to summable partial sums, kept sparse
   (:class:`~allocator.workload.kernel.SparsePartials`: the occupied bins
   only, so that a file's result, and what crosses the network, follows its
   records even for a force of thousands of areas).

The partials are added up in a fixed binary tree over the files in path
order (so the sum, to the last bit, does not depend on which worker finished
first), made dense once (:class:`~allocator.workload.kernel.Partials`), and
:func:`allocator.workload_from_partials` contracts the total with the
force's judgement. The result equals the in-memory engine on the same
records (``load_demand`` of all the rows, then ``compute_workload``) to
floating-point rounding (1e-9 relative is tested).

Every partition's problems are collected: a file that cannot be read or whose
columns do not fit (a *bad schema*) is named with every problem found in it,
and all such files are reported together in one
:class:`~allocator.errors.DemandError`, after every other file was read.

``as_of`` (the end of the demand window) must be given: recency weights and
the window are measured from it in every partition at once.

Dask is an optional extra (``pip install 'allocator[distributed]'``); it is
imported only when this function runs. Without ``client`` the tasks run on
the local threads (``scheduler="threads"``), processes or in this thread
(``"sync"``); with a ``distributed.Client`` on its cluster.

A record id accepted in more than one file would be counted once per file,
so the load refuses it. Each partition sends back the sorted 64-bit hashes of
its accepted records' ids (trimmed, blank ones left out: 8 MB for a file of a
million records, against 22 MB for the ids as Arrow strings and some 75 MB as
Python strings); the client finds the hashes of more than one file, asks those
files for the ids behind them, and compares the ids themselves (two different
ids with the same hash do not refuse a load). Every id accepted in an earlier
file is reported in the same :class:`~allocator.errors.DemandError` as every
other problem: per file, the earlier file, how many ids, and the first few with
their rows. (Within a file, a repeated id is a ``duplicate id`` reject, as in
:func:`allocator.load_demand`.)

With ``weeks=True`` each partition also reduces its records per week of the
window, with the week numbering and within-week recency weights of
:func:`allocator.whatif.week_partials`, to a sparse sum whose area axis holds
the week too (:class:`SparseWeekPartials`), summed in the same fixed tree:
:func:`allocator.whatif.bootstrap` and :func:`allocator.whatif.robust_posting`
resample it without the records in memory.

Limits: a file is held in a worker's memory while it is checked (write files
of a few million rows each); the id hashes of every file meet on the client
(8 bytes an accepted record: 800 MB for 1e8 records), and a file holding
repeated ids is read a second time to name them; the rejects of every file
come back to the client.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.data.checks import REASONS
from allocator.data.demand import DemandMapping, load_demand
from allocator.data.extract import hash_strings
from allocator.data.mapping import as_mapping, blank_mask
from allocator.data.records import prepare_records
from allocator.data.rejects import check_reject_share
from allocator.data.summary import DemandSummary
from allocator.errors import ArgumentError, DemandError, Problem, WorkloadError
from allocator.model.force import Force
from allocator.workload.engine import Workload, workload_from_partials
from allocator.workload.kernel import HOURS_PER_WEEK, Partials, SparsePartials, sparse_partial_sums

__all__ = ["PartitionedWorkload", "SparseWeekPartials", "load_partitioned_workload", "partition_files"]

log = logging.getLogger(__name__)

#: file suffixes read as partitions when a folder is given: Parquet, and CSV (gzip-compressed too)
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
#: files of a folder left out, named in the warning that says so
_NAMED_LEFT_OUT = 5
_EXTRA = "pip install 'allocator[distributed]'"
_NS_PER_WEEK = 7 * 86_400_000_000_000
#: ids of records counted in two files, quoted in the message of a refused load
_IDS_QUOTED = 5


@dataclass(frozen=True, eq=False)
class SparseWeekPartials:
    """Per-week partial sums of a partitioned dataset, kept sparse: what the week bootstrap resamples.

    Weeks are counted back from ``as_of`` (week 0 is the seven days up to
    it) and every record's recency weight is kept *within* its week, as
    :func:`allocator.whatif.week_partials` keeps them: a record ``d`` days into
    week ``k`` carries ``0.5 ** (d / half_life)`` and ``factor[k] = 0.5 ** (7 k /
    half_life)`` is applied when week ``k``'s slot is filled (1 without a
    half-life).

    The week is folded into the area axis: ``sums`` is one
    :class:`~allocator.workload.kernel.SparsePartials` of ``weeks x areas``
    "areas" (area ``a`` of week ``k`` is ``k * n_areas + a``), so that its keys
    are sorted week by week, every partition's sums add with the kernel's own
    addition, and a week is a contiguous run of keys. Dense, the same sums
    would be arrays of ``(weeks, areas, 168, types, 2)``: 20 bytes a bin
    (count, weight, half a minutes), 408 million bins and some 8 GB for 27
    weeks of 3,000 areas and 15 demand types; sparse they cost 32 bytes an
    occupied bin (at most one per record), and :meth:`resample` fills one
    week's dense :class:`~allocator.workload.kernel.Partials` at a time.

    Attributes
    ----------
    sums
        The sums, week folded into the area axis (``sums.n_areas`` is a
        multiple of ``n_areas``: weeks beyond ``weeks`` are empty).
    n_areas
        The force's areas.
    weeks
        Weeks in the window: the oldest week with a record, plus one (1 when none).
    factor
        float64 (weeks,): the recency weight of each slot.
    first_ns
        The earliest record's instant (UTC nanoseconds), as :attr:`Partials.first_ns`.
    """

    sums: SparsePartials
    n_areas: int
    weeks: int
    factor: np.ndarray
    first_ns: int | None = None

    @property
    def n_types(self) -> int:
        """The force's demand types."""
        return self.sums.n_types

    @property
    def nbytes(self) -> int:
        """Bytes held by the sums."""
        s = self.sums
        return int(s.keys.nbytes + s.count.nbytes + s.weight.nbytes + s.minutes.nbytes + self.factor.nbytes)

    def _bounds(self) -> np.ndarray:
        stride = self.n_areas * HOURS_PER_WEEK * self.n_types * 2
        return np.searchsorted(self.sums.keys, np.arange(self.weeks + 1, dtype=np.int64) * stride)

    def _fill(self, slots: list[tuple[int, float]]) -> Partials:
        """Dense partials of the weeks ``j`` of ``slots``, each scaled by its factor, added in order."""
        stride = self.n_areas * HOURS_PER_WEEK * self.n_types * 2
        shape = (self.n_areas, HOURS_PER_WEEK, self.n_types, 2)
        count, weight, minutes = np.zeros(stride, np.int64), np.zeros(stride), np.zeros(stride)
        bounds = self._bounds()
        s = self.sums
        for j, f in slots:
            lo, hi = int(bounds[j]), int(bounds[j + 1])
            local = s.keys[lo:hi] - j * stride  # distinct within a week: plain fancy indexing
            count[local] += s.count[lo:hi]
            weight[local] += f * s.weight[lo:hi]
            minutes[local] += f * s.minutes[lo:hi]
        return Partials(count.reshape(shape), weight.reshape(shape), minutes.reshape(shape)[..., 1].copy(),
                        self.first_ns)

    def week(self, j: int) -> Partials:
        """Week ``j``'s partials, with the weights within the week (not scaled by a slot)."""
        if not 0 <= j < self.weeks:
            raise ValueError(f"week {j} is not one of the window's {self.weeks}")
        return self._fill([(j, 1.0)])

    def resample(self, draw: np.ndarray) -> Partials:
        """The partials of the weeks ``draw[k]`` put in slots ``k`` (summed in slot order: deterministic)."""
        draw = np.asarray(draw, dtype=np.int64)
        if draw.shape != (self.weeks,):
            raise ValueError(f"a resample draws {self.weeks} weeks, got {draw.shape}")
        if draw.size and (draw.min() < 0 or draw.max() >= self.weeks):
            raise ValueError(f"a resample draws weeks 0 to {self.weeks - 1}")
        return self._fill([(j, float(self.factor[k])) for k, j in enumerate(draw.tolist())])


@dataclass(frozen=True, eq=False)
class PartitionedWorkload:
    """The workload of a partitioned dataset, with what the load of each file did.

    Attributes
    ----------
    workload
        The :class:`~allocator.workload.engine.Workload` of every accepted
        record of every file (its ``partials`` are the summed partials).
    summary
        One :class:`~allocator.data.summary.DemandSummary` over all files:
        rows read, accepted, rejected per reason (as :func:`allocator.load_demand`
        counts them), codes sent to the catch-all, durations missing or dropped.
    partitions
        One row per file, in path order: ``file, rows_read, accepted,
        rejected`` and a column per rejection reason that occurred.
    rejects
        Every refused row: ``file`` then the columns of
        :attr:`allocator.DemandLoad.rejects` (``row`` is the data row in that file).
    files
        The files read, in path order.
    weeks
        With ``weeks=True``: the accepted records' partial sums per week of
        the window (:class:`SparseWeekPartials`), what
        :func:`allocator.whatif.bootstrap` resamples; else None.
    force
        The force the workload was computed for.
    """

    workload: Workload
    summary: DemandSummary
    partitions: pd.DataFrame
    rejects: pd.DataFrame = field(repr=False)
    files: tuple[Path, ...] = ()
    weeks: SparseWeekPartials | None = field(default=None, repr=False)
    force: Force | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"<PartitionedWorkload {len(self.files)} files, {self.summary.rows_read:,} rows read, "
            f"{self.summary.accepted:,} accepted, {self.summary.rejected_total:,} rejected; {self.workload!r}>"
        )


@dataclass(frozen=True)
class _Report:
    """What one partition's task sends back besides its partials."""

    name: str
    summary: DemandSummary | None
    rejects: pd.DataFrame | None
    problems: tuple[Problem, ...] = ()
    ids: np.ndarray | None = None  # sorted uint64 hashes of the accepted records' (trimmed, not blank) ids


def _dask() -> Any:
    """The ``dask`` module, or an ImportError naming the extra that installs it."""
    try:
        import dask
    except ImportError as exc:
        raise ImportError(
            f"reading a partitioned dataset needs Dask, an optional extra: {_EXTRA}"
        ) from exc
    return dask


def _hidden(rel: Path) -> bool:
    """Files and folders Dask, Spark and Hive keep beside the data (``_metadata``, ``.crc``, ``_SUCCESS``)."""
    return any(part.startswith(("_", ".")) for part in rel.parts)


def _data_file(name: str) -> bool:
    low = name.lower()
    return low.endswith(PARQUET_SUFFIXES) or low.endswith(CSV_SUFFIXES)


def partition_files(source: str | Path | Sequence[str | Path], *, quiet: bool = False) -> list[tuple[str, Path]]:
    """The partitions of a dataset, in path order: (name in messages, path).

    A folder gives every Parquet file (``*.parquet``, ``*.pq``) and CSV file
    (``*.csv``, ``*.csv.gz``) under it, in sub-folders too (as in
    ``year=2026/part.0.parquet``, or a month's extract a file), leaving out
    names starting with ``_`` or ``.`` (metadata such as ``_SUCCESS``); names
    are paths relative to the folder. Any other file in the folder is left
    out *and named* in a warning (a workbook saved beside the extracts is not
    demand, but nobody should wonder where it went; ``quiet`` for a caller
    that only lists the files, so the load that reads them warns once). A
    file, or a list of files (Parquet or CSV), gives those files, named as given.

    Raises
    ------
    DemandError
        When a file or folder does not exist, or a folder holds no Parquet or
        CSV file (every missing path named).
    """
    if isinstance(source, str | Path):
        root = Path(source)
        if root.is_dir():
            files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*")
                           if p.is_file() and not _hidden(p.relative_to(root)))
            found = [(n, p) for n, p in files if _data_file(p.name)]
            others = [n for n, p in files if not _data_file(p.name)]
            if not found:
                name = str(root)
                kinds = ", ".join("*" + s for s in (*PARQUET_SUFFIXES, *CSV_SUFFIXES))
                msg = f"the folder holds no Parquet or CSV file ({kinds})"
                if others:
                    msg += f"; it holds {len(others)} other file{'s' if len(others) != 1 else ''}: " + \
                        ", ".join(others[:_NAMED_LEFT_OUT]) + (", ..." if len(others) > _NAMED_LEFT_OUT else "")
                raise DemandError(name, [Problem(name, "", msg)])
            if others and not quiet:
                log.warning("%s: %d file%s neither Parquet nor CSV left out: %s%s", root, len(others),
                            "" if len(others) == 1 else "s", ", ".join(others[:_NAMED_LEFT_OUT]),
                            ", ..." if len(others) > _NAMED_LEFT_OUT else "")
            return found
        paths = [root]
    else:
        paths = [Path(p) for p in source]
        if not paths:
            raise DemandError("<partitions>", [Problem("<partitions>", "", "no file given")])
    missing = [Problem(str(p), "", "no such file") for p in paths if not p.exists()]
    if missing:
        raise DemandError(str(paths[0]) if len(paths) == 1 else "<partitions>", missing)
    names = [str(p) for p in paths]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DemandError("<partitions>", [Problem(n, "", "given more than once") for n in twice])
    return list(zip(names, paths, strict=True))


#: the longest blank id after trimming ("null", "none": see allocator.data.mapping.blank_mask)
_LONGEST_BLANK = 4


def _trimmed_ids(records: pd.DataFrame) -> pa.Array | None:
    """The accepted records' ids, trimmed, blank ones as null (None without an id column).

    The ids of ``load_demand`` are Arrow strings already: taken without a
    copy. Only ids of at most four bytes once trimmed can be blank, so the
    blank test (a regular expression) runs on those alone.
    """
    if "id" not in records.columns:
        return None
    column = records["id"].array
    arr = (pa.array(column) if hasattr(column, "__arrow_array__")
           else pa.array(np.asarray(column, dtype=object), type=pa.string(), from_pandas=True))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    ids = pc.utf8_trim_whitespace(arr)
    short = np.flatnonzero(np.asarray(pc.fill_null(pc.less_equal(pc.binary_length(ids), _LONGEST_BLANK), True)))
    blank = np.zeros(len(ids), dtype=bool)
    if short.size:
        blank[short] = blank_mask(ids.take(pa.array(short, type=pa.int64())))
    return pc.if_else(pa.array(blank), pa.scalar(None, ids.type), ids)


def _id_hashes(records: pd.DataFrame) -> np.ndarray | None:
    """Sorted 64-bit hashes of the records' ids, blank ids left out (distinct: load_demand refused repeats)."""
    ids = _trimmed_ids(records)
    if ids is None:
        return None
    kept = np.asarray(ids.is_valid())
    out = hash_strings(ids)[kept]
    out.sort()
    return out


def week_count(window_days: float) -> int:
    """Weeks a window of ``window_days`` can span counted back from its end (the oldest may be partial)."""
    return int(math.floor(window_days / 7)) + 1


def _week_sums(prepared: Any, utc: np.ndarray, n_weeks: int, half_life: float | None) -> SparsePartials:
    """One partition's sums per week (week folded into the area axis), weights within the week."""
    week = (prepared.as_of.value - utc) // _NS_PER_WEEK
    if week.size and (week.min() < 0 or week.max() >= n_weeks):  # load_demand keeps records in the window only
        raise ValueError(f"records outside the {n_weeks} weeks of the window")
    weight = prepared.weight
    if weight is not None and half_life is not None:
        factor = 0.5 ** (7.0 * np.arange(n_weeks) / half_life)
        weight = weight / factor[week]
    A, T = len(prepared.areas), len(prepared.demand_types)
    area = week * A + np.asarray(prepared.area, dtype=np.int64)
    return sparse_partial_sums(area, prepared.demand_type, prepared.hour_of_week, prepared.duration, weight,
                               n_weeks * A, T)


def _load_part(
    path: Path,
    name: str,
    force: Force,
    mapping: DemandMapping,
    as_of: pd.Timestamp,
    now: pd.Timestamp,
    weeks: bool = False,
) -> tuple[SparsePartials | None, SparsePartials | None, _Report]:
    """One partition: checked by ``load_demand``, reduced to sparse partials (None when it has no record),
    and with ``weeks`` to sparse partials per week of the window."""
    try:
        load = load_demand(path, force, mapping, as_of=as_of, source_name=name, now=now, part=True)
    except DemandError as exc:
        return None, None, _Report(name, None, None, tuple(exc.problems))
    partials = by_week = None
    if len(load.records):
        try:
            prepared = prepare_records(load.records, force, as_of, source=name)
        except WorkloadError as exc:  # records of a demand type the judgement leaves out: named by file
            return None, None, _Report(name, None, None, tuple(replace(p, source=name) for p in exc.problems))
        sums = sparse_partial_sums(
            prepared.area, prepared.demand_type, prepared.hour_of_week, prepared.duration, prepared.weight,
            len(prepared.areas), len(prepared.demand_types),
        )
        partials = replace(sums, first_ns=prepared.first_ns)
        if weeks:
            utc = np.asarray(load.records["timestamp"].array, dtype="datetime64[ns]").view(np.int64)
            by_week = _week_sums(prepared, utc, week_count(force.settings.window_days),
                                 force.settings.half_life_days)
    log.debug("%s: %d rows read, %d accepted", name, load.summary.rows_read, load.summary.accepted)
    return partials, by_week, _Report(name, load.summary, load.rejects, (), _id_hashes(load.records))


def _ids_with_hashes(
    path: Path, name: str, force: Force, mapping: DemandMapping, as_of: pd.Timestamp, now: pd.Timestamp,
    wanted: np.ndarray,
) -> dict[str, int]:
    """The accepted ids (trimmed) of one partition whose hash is in ``wanted``, with their data row."""
    load = load_demand(path, force, mapping, as_of=as_of, source_name=name, now=now, part=True)
    ids = _trimmed_ids(load.records)
    if ids is None:
        return {}
    hit = np.flatnonzero(np.asarray(ids.is_valid()) & np.isin(hash_strings(ids), wanted))
    rows = load.records["row"].to_numpy()
    values = ids.take(pa.array(hit, type=pa.int64())).to_pylist()
    return {str(v): int(rows[i]) for v, i in zip(values, hit.tolist(), strict=True)}


def _add(a: SparsePartials | None, b: SparsePartials | None) -> SparsePartials | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _tree_sum(dask: Any, items: list[Any], token: str) -> Any:
    """Delayed sum of ``items`` in a fixed binary tree over their order (deterministic rounding)."""
    level = 0
    while len(items) > 1:
        paired = [
            dask.delayed(_add)(items[i], items[i + 1], dask_key_name=f"allocator-sum-{token}-{level}-{i}")
            for i in range(0, len(items) - 1, 2)
        ]
        if len(items) % 2:
            paired.append(items[-1])
        items, level = paired, level + 1
    return items[0]


def _timestamp(value: Any, tz: str, argument: str) -> pd.Timestamp:
    """A tz-aware instant in the force's zone (naive values are local time, read as load_demand reads them)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ArgumentError(argument, value, f"not a time ({exc})") from None
    if ts is pd.NaT:
        raise ArgumentError(argument, value, "not a time")
    if ts.tz is None:
        ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(tz).as_unit("ns")


def _summary(name: str, reports: list[_Report], force: Force, as_of: pd.Timestamp) -> DemandSummary:
    """The summaries of the files, added up as one load of all their rows would count them."""
    summaries = [r.summary for r in reports if r.summary is not None]
    rejected = {
        reason: total for reason in REASONS if (total := sum(s.rejected.get(reason, 0) for s in summaries))
    }
    unmapped: dict[str, int] = {}
    for s in summaries:
        for code, n in s.unmapped_codes.items():
            unmapped[code] = unmapped.get(code, 0) + n
    firsts = [s.first for s in summaries if s.first is not None]
    lasts = [s.last for s in summaries if s.last is not None]
    return DemandSummary(
        source=name,
        rows_read=sum(s.rows_read for s in summaries),
        accepted=sum(s.accepted for s in summaries),
        rejected=rejected,
        unmapped_codes=dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
        catch_all_type=force.settings.catch_all_type,
        missing_durations=sum(s.missing_durations for s in summaries),
        window_start=as_of - pd.Timedelta(days=force.settings.window_days),
        window_end=as_of,
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        durations_dropped=sum(s.durations_dropped for s in summaries),
        names_matched_loosely=sum(s.names_matched_loosely for s in summaries),
    )


def _partitions_table(reports: list[_Report]) -> pd.DataFrame:
    """One row per file: rows read, accepted, rejected, and a column per reason that occurred."""
    rows = []
    for r in reports:
        assert r.summary is not None
        s = r.summary
        rows.append({"file": r.name, "rows_read": s.rows_read, "accepted": s.accepted,
                     "rejected": s.rejected_total, **s.rejected})
    frame = pd.DataFrame(rows, columns=["file", "rows_read", "accepted", "rejected"])
    reasons = [reason for reason in REASONS if any(reason in row for row in rows)]
    for reason in reasons:
        frame[reason] = np.array([row.get(reason, 0) for row in rows], dtype=np.int64)
    return frame.astype({"file": "str", "rows_read": "int64", "accepted": "int64", "rejected": "int64"})


def _rejects_table(reports: list[_Report]) -> pd.DataFrame:
    """Every file's rejects, a ``file`` column first."""
    frames = []
    for r in reports:
        if r.rejects is not None and len(r.rejects):
            frames.append(r.rejects.assign(file=r.name))
    if not frames:
        return pd.DataFrame({"file": pd.Series([], dtype="str"), "row": pd.Series([], dtype="int64"),
                             "reason": pd.Series([], dtype="str"), "detail": pd.Series([], dtype="str")})
    out = pd.concat(frames, ignore_index=True)
    return out[["file", *[c for c in out.columns if c != "file"]]]


def load_partitioned_workload(
    source: str | Path | Sequence[str | Path],
    force: Force,
    mapping: DemandMapping | dict[str, Any] | str | Path | None = None,
    *,
    as_of: str | pd.Timestamp,
    now: str | pd.Timestamp | None = None,
    accept_rejects: bool = False,
    overlap_rule: str | None = None,
    client: Any = None,
    scheduler: Literal["threads", "processes", "sync"] = "threads",
    num_workers: int | None = None,
    name: str | None = None,
    weeks: bool = False,
) -> PartitionedWorkload:
    """The workload of a partitioned demand dataset, reduced file by file on Dask.

    Parameters
    ----------
    source
        A folder of Parquet and CSV files (one partition a file, sub-folders
        included, ``_``/``.`` names left out, any other file left out with a
        warning naming it: see :func:`partition_files`), one file, or a list
        of files (Parquet or CSV). Files are only read.
    force
        The force: areas, demand types, judgement, time zone, window.
    mapping
        As for :func:`allocator.load_demand`: how the files' headings and codes
        map to the force's (the same for every file).
    as_of
        End of the demand window (naive: local time), required: every
        partition measures recency and the window from it.
    now
        The time of the run: records after it are rejected ``in the future``.
        Default: the current time, taken once for every file.
    accept_rejects
        Go on when more than ``force.settings.max_reject_share`` of all rows are
        rejected.
    overlap_rule
        ``"equal"`` or ``"time"``; default ``force.settings.overlap_rule``.
    client
        A ``distributed.Client``: the tasks run on its cluster. Default: none,
        they run locally with ``scheduler``.
    scheduler
        Without a client: ``"threads"`` (default), ``"processes"`` or ``"sync"``
        (one thread, for debugging).
    num_workers
        Without a client: threads or processes (default: Dask's, the CPU count).
    name
        How messages name the dataset (default: the folder or first file).
    weeks
        Also reduce each file's records per week of the window, for the week
        bootstrap (:attr:`PartitionedWorkload.weeks`; see :class:`SparseWeekPartials`).

    Returns
    -------
    PartitionedWorkload
        The workload, one summary over all files, a table per file, every reject.

    Raises
    ------
    DemandError
        Listing every problem of every file that cannot be read or does not
        fit (each named by its file), after all files were tried; when no row
        of any file is usable; when more than ``max_reject_share`` of all rows
        are rejected, unless ``accept_rejects``; when a record id is accepted in
        more than one file (the files named, with a few of the ids and how many).
    ArgumentError
        When ``as_of`` or ``now`` is not a time, or ``scheduler`` is unknown.
    ImportError
        When Dask is not installed (``pip install 'allocator[distributed]'``).

    Examples
    --------
    >>> import tempfile, allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> records = allocator.sample_demand(force, 3000, seed=4)
    >>> folder = Path(tempfile.mkdtemp())
    >>> for i, part in enumerate((records.iloc[:1000], records.iloc[1000:])):
    ...     part.to_parquet(folder / f"part.{i}.parquet")
    >>> as_of = records["timestamp"].max()
    >>> result = load_partitioned_workload(folder, force, as_of=as_of, now=as_of, scheduler="sync")
    >>> result.summary.accepted, list(result.partitions["file"])
    (3000, ['part.0.parquet', 'part.1.parquet'])
    >>> whole = allocator.compute_workload(records, force, as_of=as_of)
    >>> bool(np.allclose(result.workload.array, whole.array, rtol=1e-9, atol=0))
    True
    """
    dask = _dask()
    if client is None and scheduler not in ("threads", "processes", "sync"):
        raise ArgumentError("scheduler", scheduler, "expected 'threads', 'processes' or 'sync'")
    tz = force.settings.timezone
    end = _timestamp(as_of, tz, "as_of")
    now_ts = _timestamp(pd.Timestamp.now(tz="UTC") if now is None else now, tz, "now")
    m = as_mapping(mapping)
    files = partition_files(source)
    if name is None:
        name = str(source) if isinstance(source, str | Path) else (f"{files[0][0]} and {len(files) - 1} more"
                                                                    if len(files) > 1 else files[0][0])
    token = uuid.uuid4().hex  # keys of this load only, even on a cluster shared with other loads
    # the force and mapping are graph keys of their own: sent once, not in every task
    force_d = dask.delayed(force, name=f"allocator-force-{token}", traverse=False)
    mapping_d = dask.delayed(m, name=f"allocator-mapping-{token}", traverse=False)
    parts = [
        dask.delayed(_load_part, nout=3)(
            path.absolute(), part_name, force_d, mapping_d, end, now_ts, weeks,  # workers may run elsewhere
            dask_key_name=f"allocator-part-{token}-{i}",
        )
        for i, (part_name, path) in enumerate(files)
    ]
    total = _tree_sum(dask, [p[0] for p in parts], token)
    by_week = _tree_sum(dask, [p[1] for p in parts], f"weeks-{token}") if weeks else None
    wanted = [total, by_week, *[p[2] for p in parts]]
    log.info("%s: %d partitions on %s", name, len(files), "a cluster" if client is not None else scheduler)
    computed = _compute(dask, wanted, client, scheduler, num_workers)
    sparse: SparsePartials | None = computed[0]
    week_sums: SparsePartials | None = computed[1]
    reports: list[_Report] = list(computed[2:])

    problems: list[Problem] = []
    seen: set[str] = set()
    for problem in (p for r in reports for p in r.problems):  # a problem of the force once, not per file
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    candidates = _shared_hashes(reports)
    if candidates:
        found = _compute(dask, [
            dask.delayed(_ids_with_hashes)(files[i][1].absolute(), files[i][0], force_d, mapping_d, end, now_ts,
                                           hashes, dask_key_name=f"allocator-ids-{token}-{i}")
            for i, hashes in candidates
        ], client, scheduler, num_workers)
        problems += _shared_id_problems([files[i][0] for i, _ in candidates], found)
    if problems:
        bad = sorted({p.source for p in problems} & {r.name for r in reports})
        log.warning("%s: %d of %d files cannot be used: %s", name, len(bad), len(reports), ", ".join(bad))
        raise DemandError(name, problems)
    summary = _summary(name, reports, force, end)
    rejects = _rejects_table(reports)
    check_reject_share(summary, rejects, force.settings.max_reject_share, accept_rejects)
    assert sparse is not None  # some record was accepted (checked above)
    workload = workload_from_partials(sparse.dense(), force, end, overlap_rule)
    log.info("%s", summary)
    week_partials = None
    if week_sums is not None:
        week_partials = _week_partials(week_sums, force, sparse.first_ns)
        log.info("%s: %d weeks, %.1f MB of sparse week sums", name, week_partials.weeks, week_partials.nbytes / 1e6)
    return PartitionedWorkload(
        workload=workload,
        summary=summary,
        partitions=_partitions_table(reports),
        rejects=rejects,
        files=tuple(path for _, path in files),
        weeks=week_partials,
        force=force,
    )


def _compute(dask: Any, wanted: list[Any], client: Any, scheduler: str, num_workers: int | None) -> list[Any]:
    """Compute delayed values on the client's cluster, or locally with the scheduler."""
    if client is not None:
        return list(client.gather(client.compute(wanted)))
    return list(dask.compute(*wanted, scheduler=scheduler, num_workers=num_workers))


def _week_partials(sums: SparsePartials, force: Force, first_ns: int | None) -> SparseWeekPartials:
    """The summed week sums with the window's weeks (the oldest occupied one, plus one) and slot factors."""
    n_areas = len(force.areas)
    stride = n_areas * HOURS_PER_WEEK * len(force.demand_types) * 2
    n_weeks = int(sums.keys[-1]) // stride + 1 if sums.keys.size else 1
    half_life = force.settings.half_life_days
    factor = np.ones(n_weeks) if half_life is None else 0.5 ** (7.0 * np.arange(n_weeks) / half_life)
    return SparseWeekPartials(replace(sums, first_ns=first_ns), n_areas, n_weeks, factor, first_ns)


def _shared_hashes(reports: list[_Report]) -> list[tuple[int, np.ndarray]]:
    """Per file with an id hash also accepted in another file: (file index, those hashes), in path order.

    Equal hashes are only candidates (unequal ids collide with probability
    about 2^-64 a pair): the ids themselves are compared before a load is refused."""
    per = [(i, r.ids) for i, r in enumerate(reports) if r.ids is not None and r.ids.size]
    if len(per) < 2:
        return []
    every = np.concatenate([h for _, h in per])
    owner = np.concatenate([np.full(h.size, i, dtype=np.int64) for i, h in per])
    order = np.argsort(every, kind="stable")
    every, owner = every[order], owner[order]
    same = every[1:] == every[:-1]  # hashes are distinct within a file: a repeat is in another file
    if not same.any():
        return []
    hit = np.zeros(every.size, dtype=bool)
    hit[1:] |= same
    hit[:-1] |= same
    out = []
    for i in np.unique(owner[hit]).tolist():
        out.append((i, np.unique(every[hit & (owner == i)])))
    return out


def _shared_id_problems(names: list[str], found: list[dict[str, int]]) -> list[Problem]:
    """One problem per file with ids accepted in an earlier file too (hash matches confirmed on the ids)."""
    first: dict[str, str] = {}
    shared: dict[str, dict[str, list[str]]] = {}  # file -> earlier file -> ids
    for name, ids in zip(names, found, strict=True):
        for value in sorted(ids):
            if value in first:
                shared.setdefault(name, {}).setdefault(first[value], []).append(value)
            else:
                first[value] = name
    problems = []
    for name, earlier in shared.items():
        for other, values in earlier.items():
            rows = found[names.index(name)]
            quoted = ", ".join(f"{v!r} (row {rows[v]})" for v in values[:_IDS_QUOTED])
            more = f" and {len(values) - _IDS_QUOTED} more" if len(values) > _IDS_QUOTED else ""
            problems.append(Problem(
                name, "column id",
                f"{len(values)} record id{'s' if len(values) != 1 else ''} also accepted in {other}: {quoted}{more}; "
                "a record in two files would be counted twice (keep each record in one file)",
            ))
    return problems
