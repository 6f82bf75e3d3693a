"""Demand too large for one machine: a partitioned dataset reduced partition by partition on Dask.

:func:`load_partitioned_workload` takes a folder of Parquet files (years of
force-wide records, or every force's, as Dask, Spark or pyarrow write them),
one file a partition. Each partition is one Dask task that runs the same
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

Limits: duplicate ids are found within a file, not across files (partition
by time or by force, so that a record never appears in two files); a file is
held in a worker's memory while it is checked (write files of a few million
rows each).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocator.data.checks import REASONS
from allocator.data.demand import DemandMapping, load_demand
from allocator.data.mapping import as_mapping
from allocator.data.records import prepare_records
from allocator.data.rejects import check_reject_share
from allocator.data.summary import DemandSummary
from allocator.errors import ArgumentError, DemandError, Problem, WorkloadError
from allocator.model.force import Force
from allocator.workload.engine import Workload, workload_from_partials
from allocator.workload.kernel import SparsePartials, sparse_partial_sums

__all__ = ["PartitionedWorkload", "load_partitioned_workload", "partition_files"]

log = logging.getLogger(__name__)

#: file suffixes read as partitions when a folder is given
PARQUET_SUFFIXES = (".parquet", ".pq")
_EXTRA = "pip install 'allocator[distributed]'"


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
    """

    workload: Workload
    summary: DemandSummary
    partitions: pd.DataFrame
    rejects: pd.DataFrame = field(repr=False)
    files: tuple[Path, ...] = ()

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


def partition_files(source: str | Path | Sequence[str | Path]) -> list[tuple[str, Path]]:
    """The partitions of a dataset, in path order: (name in messages, path).

    A folder gives every Parquet file under it (``*.parquet``, ``*.pq``, in
    sub-folders too, as in ``year=2026/part.0.parquet``), leaving out names
    starting with ``_`` or ``.`` (metadata); names are paths relative to the
    folder. A file, or a list of files (Parquet or CSV), gives those files,
    named as given.

    Raises
    ------
    DemandError
        When a file or folder does not exist, or a folder holds no Parquet file
        (every missing path named).
    """
    if isinstance(source, str | Path):
        root = Path(source)
        if root.is_dir():
            found = sorted(
                (p.relative_to(root).as_posix(), p)
                for p in root.rglob("*")
                if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file() and not _hidden(p.relative_to(root))
            )
            if not found:
                name = str(root)
                msg = f"the folder holds no Parquet file ({', '.join('*' + s for s in PARQUET_SUFFIXES)})"
                raise DemandError(name, [Problem(name, "", msg)])
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


def _load_part(
    path: Path,
    name: str,
    force: Force,
    mapping: DemandMapping,
    as_of: pd.Timestamp,
    now: pd.Timestamp,
) -> tuple[SparsePartials | None, _Report]:
    """One partition: checked by ``load_demand``, reduced to sparse partials (None when it has no record)."""
    try:
        load = load_demand(path, force, mapping, as_of=as_of, source_name=name, now=now, part=True)
    except DemandError as exc:
        return None, _Report(name, None, None, tuple(exc.problems))
    partials = None
    if len(load.records):
        try:
            prepared = prepare_records(load.records, force, as_of, source=name)
        except WorkloadError as exc:  # records of a demand type the judgement leaves out: named by file
            return None, _Report(name, None, None, tuple(replace(p, source=name) for p in exc.problems))
        sums = sparse_partial_sums(
            prepared.area, prepared.demand_type, prepared.hour_of_week, prepared.duration, prepared.weight,
            len(prepared.areas), len(prepared.demand_types),
        )
        partials = replace(sums, first_ns=prepared.first_ns)
    log.debug("%s: %d rows read, %d accepted", name, load.summary.rows_read, load.summary.accepted)
    return partials, _Report(name, load.summary, load.rejects, ())


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
) -> PartitionedWorkload:
    """The workload of a partitioned demand dataset, reduced file by file on Dask.

    Parameters
    ----------
    source
        A folder of Parquet files (one partition a file, sub-folders
        included, ``_``/``.`` names left out), one file, or a list of files
        (Parquet or CSV). Files are only read.
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
        are rejected, unless ``accept_rejects``.
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
        dask.delayed(_load_part, nout=2)(
            path.absolute(), part_name, force_d, mapping_d, end, now_ts,  # workers may run elsewhere
            dask_key_name=f"allocator-part-{token}-{i}",
        )
        for i, (part_name, path) in enumerate(files)
    ]
    total = _tree_sum(dask, [p[0] for p in parts], token)
    wanted = [total, *[p[1] for p in parts]]
    log.info("%s: %d partitions on %s", name, len(files), "a cluster" if client is not None else scheduler)
    if client is not None:
        computed = client.gather(client.compute(wanted))
    else:
        computed = dask.compute(*wanted, scheduler=scheduler, num_workers=num_workers)
    sparse: SparsePartials | None = computed[0]
    reports: list[_Report] = list(computed[1:])

    problems: list[Problem] = []
    seen: set[str] = set()
    for problem in (p for r in reports for p in r.problems):  # a problem of the force once, not per file
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    if problems:
        bad = [r.name for r in reports if r.problems]
        log.warning("%s: %d of %d files cannot be used: %s", name, len(bad), len(reports), ", ".join(bad))
        raise DemandError(name, problems)
    summary = _summary(name, reports, force, end)
    rejects = _rejects_table(reports)
    check_reject_share(summary, rejects, force.settings.max_reject_share, accept_rejects)
    assert sparse is not None  # some record was accepted (checked above)
    workload = workload_from_partials(sparse.dense(), force, end, overlap_rule)
    log.info("%s", summary)
    return PartitionedWorkload(
        workload=workload,
        summary=summary,
        partitions=_partitions_table(reports),
        rejects=rejects,
        files=tuple(path for _, path in files),
    )
