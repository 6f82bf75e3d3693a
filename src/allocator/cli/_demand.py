"""The demand of ``allocate`` and ``workload``: one extract, or a partitioned dataset on Dask.

``DEMAND`` on the command line is one file (CSV or Parquet), a folder of
Parquet partitions (``year=2026/part.0.parquet``, as Dask, Spark or pyarrow
write them), or several files (Parquet or CSV, ``parts/*.csv``). One file is
read exactly as before (:func:`allocator.load_demand`, then
:func:`allocator.compute_workload`); a folder or several files go through
:func:`allocator.load_partitioned_workload`, one Dask task a file, and give
the same workload (to floating-point rounding) and the same outputs, plus a
table per file (``partitions.csv``) and the rejects of every file named by
file (``rejects.csv``, a ``file`` column first).

``--as-of`` is required for a partitioned dataset. One extract's default end
of the window is its latest *valid* record: the latest timestamp of the rows
that pass every check but the window (not in the future, a known area, a
known demand type, not a duplicate, ...). For a dataset that default cannot
be had without checking every row of every file once to find it and then
again to load them against it; a cheaper guess (the largest timestamp in the
Parquet statistics) would count rows that are later rejected and silently
give another window than the same rows in one file. So the command line
asks for the date, naming the option, rather than guessing or reading
everything twice.

``--workers N`` runs the files on N local threads (the checks and the kernel
spend their time in Arrow and numpy, which release the GIL, and threads
share the force without copying it); ``--dask ADDRESS`` runs them on a
dask.distributed cluster. Where they run does not change the result: the
partial sums are added in a fixed order over the files.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.cli._common import (
    Progress,
    dask_client,
    demand_keywords,
    have_dask,
    iso_date,
    read_demand,
    workers,
)
from allocator.data.summary import DemandSummary
from allocator.model.force import Force
from allocator.workload.engine import Workload

__all__ = ["DemandRead", "add_demand_arguments", "check_demand_options", "check_outside_dataset",
           "demand_inputs", "input_label", "partitioned", "read_workload"]

#: The option that gives the end of the demand window.
AS_OF = "--as-of"


@dataclass(frozen=True, eq=False)
class DemandRead:
    """What a command uses of its demand, from one extract or a partitioned dataset.

    Attributes
    ----------
    workload
        The workload of every accepted record.
    summary
        Counts and window over every record read.
    rejects
        Every rejected row (with a ``file`` column first for a partitioned dataset).
    rows
        Rows read per input key of :func:`demand_inputs` (for ``run.json``).
    partitions
        One row per file (:attr:`allocator.PartitionedWorkload.partitions`), or
        None for one extract.
    """

    workload: Workload
    summary: DemandSummary
    rejects: pd.DataFrame = field(repr=False)
    rows: dict[str, int]
    partitions: pd.DataFrame | None = field(default=None, repr=False)


def add_demand_arguments(parser: argparse.ArgumentParser, as_of_help: str) -> None:
    """``DEMAND`` (one or more paths), ``--as-of``, ``--dask`` and ``--workers``."""
    parser.add_argument("demand", type=Path, nargs="+", metavar="DEMAND",
                        help="the demand extract (CSV or Parquet); or a folder of partitions (Parquet or CSV "
                             "files, a month's extract a file say), or several files, read file by file on Dask "
                             "(needs --as-of)")
    parser.add_argument(AS_OF, type=iso_date, metavar="DATE", help=as_of_help)
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="read a partitioned dataset on the dask.distributed scheduler at ADDRESS "
                             "(tcp://host:8786; needs the distributed extra); the result is the same as local")
    parser.add_argument("--workers", type=workers, metavar="N",
                        help="read a partitioned dataset on N local threads (default: one per CPU)")


def partitioned(args: argparse.Namespace) -> bool:
    """Whether ``DEMAND`` is a partitioned dataset: several paths, or one folder."""
    paths: list[Path] = args.demand
    return len(paths) > 1 or paths[0].is_dir()


def check_demand_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the demand options, as one sentence for the error line (None: nothing).

    Checked before any data are read. Dask being installed is checked here too
    (:func:`~allocator.cli._common.have_dask` prints its own line).
    """
    if not partitioned(args):
        if args.dask is not None or args.workers is not None:
            option = "--dask" if args.dask is not None else "--workers"
            return (f"{option} reads a partitioned dataset (a folder of Parquet files, or several files); "
                    f"{args.demand[0]} is one extract, read in this process: leave {option} out")
        return None
    if args.dask is not None and args.workers is not None:
        return "--workers sets local threads; with --dask the cluster's workers read the files: give one of them"
    if args.as_of is None:
        return (f"{AS_OF} DATE is required with a folder or several demand files: give the end of the demand "
                f"window (e.g. {AS_OF} 2026-10-01). One extract defaults to its latest valid record; for a "
                "partitioned dataset that would mean checking every file twice")
    if not have_dask("a folder or several demand files"):
        return ""
    return None


def demand_inputs(args: argparse.Namespace) -> dict[str, Path]:
    """The demand's input files by key: ``{"demand": file}``, or ``{"demand[NAME]": file}`` per partition.

    NAME is the file's name in messages (its path in the folder, or as given).
    A folder or file that is missing is an :class:`~allocator.errors.InputError`
    naming each one.
    """
    if not partitioned(args):
        return {"demand": args.demand[0]}
    from allocator.workload.partitioned import partition_files

    return {f"demand[{name}]": path for name, path in partition_files(_source(args.demand), quiet=True)}


def check_outside_dataset(args: argparse.Namespace, outputs: Iterable[Path]) -> None:
    """Refuse (:class:`~allocator.io.rundir.OutputError`) an output inside a demand folder.

    The next read of the folder would take a run's ``allocation.parquet`` (or
    a ``--out workload.parquet``) for a partition of the demand.
    """
    from allocator.io.rundir import OutputError

    for folder in (p for p in args.demand if p.is_dir()):
        root = folder.resolve()
        for out in outputs:
            target = Path(out).resolve()
            if target == root or root in target.parents:
                raise OutputError(f"refusing to write {out} inside the demand dataset {folder}: its Parquet "
                                  "files would be read as demand next time; write it elsewhere")


def input_label(key: str, path: Path) -> str:
    """How the report names input ``key``: a partition by its name in the dataset, else the file name."""
    if key.startswith("demand[") and key.endswith("]"):
        return key[len("demand["):-1]
    return path.name


def _source(paths: Sequence[Path]) -> Path | list[Path]:
    return paths[0] if len(paths) == 1 else list(paths)


def read_workload(args: argparse.Namespace, force: Force, progress: Progress) -> DemandRead | None:
    """Read the demand of ``args`` and compute its workload (see the module docstring).

    With ``--dask`` the files are read on that scheduler (its client closed
    afterwards). None when the scheduler cannot be used: the reason is on
    stderr already.
    """
    if not partitioned(args):
        from allocator.workload.engine import compute_workload

        loaded = read_demand(args.demand[0], force, progress, demand_keywords(args))
        progress("computing workload")
        workload = compute_workload(loaded.records, force, as_of=args.as_of)
        return DemandRead(workload, loaded.summary, loaded.rejects, {"demand": loaded.summary.rows_read})
    if args.dask is None:
        return _read_partitioned(args, force, progress, None)
    client = dask_client(args.dask, progress)
    if client is None:
        return None
    try:
        return _read_partitioned(args, force, progress, client)
    finally:
        client.close()


def _read_partitioned(args: argparse.Namespace, force: Force, progress: Progress, client: Any) -> DemandRead:
    from allocator.workload.partitioned import load_partitioned_workload

    if client is not None:
        where = f"the Dask scheduler {args.dask}"
    elif args.workers:
        where = f"{args.workers} local thread{'s' if args.workers != 1 else ''}"
    else:
        where = "local threads"
    n = len(demand_inputs(args))
    progress(f"reading {n} demand file{'s' if n != 1 else ''} on {where}")
    result = load_partitioned_workload(
        _source(args.demand), force, args.mapping, as_of=args.as_of,
        accept_rejects=bool(getattr(args, "accept_rejects", False)),
        client=client, scheduler="threads", num_workers=args.workers,
    )
    s = result.summary
    progress(f"read {s.rows_read:,} records in {len(result.files)} files: {s.accepted:,} accepted, "
             f"{s.rejected_total:,} rejected")
    table = result.partitions
    rows = {f"demand[{name}]": int(r) for name, r in zip(table["file"], table["rows_read"], strict=True)}
    return DemandRead(result.workload, s, result.rejects, rows, table)
