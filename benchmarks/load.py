"""Benchmark ``load_demand`` on a large CSV: speed, and peak memory against the file's size.

Usage::

    .venv/bin/python benchmarks/load.py                  # 10 million rows
    .venv/bin/python benchmarks/load.py --rows 1e6 --repeat 3
    .venv/bin/python benchmarks/load.py --csv extract.csv   # an existing file

It writes a messy extract of ``--rows`` records (``allocator.sample_demand``
with ``messy=True``: text columns, local ISO timestamps, blank durations, a few
planted faults of every kind) as a CSV into a temporary directory, then runs,
each in a fresh child process so that memory figures are the loader's own:

1. ``allocator.load_demand(path, force)``;
2. a plain pandas reference: ``pandas.read_csv`` with every column as text and
   straightforward, column-at-a-time validation of the same rules (blank
   values, timestamps, clock-change gap, areas, types with the catch-all,
   durations (over-long ones dropped), duplicate ids, the window), ending in a records frame of the
   same shape.

It prints the file size, load time, rows per second, the loading process's
peak RSS (``ru_maxrss``) and its RSS after imports, the pyarrow memory pool's
peak, the size of the returned records, the ratio of peak RSS to the file
size, and the speed of ``load_demand`` relative to the reference. The two must
agree on the number of accepted rows and on the count of every rejection
reason; the exit code is 1 if they do not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MB = 1024 * 1024


def _rss_now_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------- children
def child_generate(path: str, rows: int, seed: int) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import allocator

    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    t0 = time.perf_counter()
    df = allocator.sample_demand(force, rows, seed=seed, messy=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    del df
    try:
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    except pa.ArrowInvalid:  # a value that needs quotes: quote what needs it
        pacsv.write_csv(table, path)
    return {"rows": table.num_rows, "seconds": time.perf_counter() - t0}


def child_load(path: str) -> dict[str, Any]:
    import pyarrow as pa

    import allocator

    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    base = _rss_now_mb()
    t0 = time.perf_counter()
    load = allocator.load_demand(path, force)
    seconds = time.perf_counter() - t0
    s = load.summary
    return {
        "seconds": seconds,
        "rss_base_mb": base,
        "peak_rss_mb": _peak_rss_mb(),
        "pool_peak_mb": pa.default_memory_pool().max_memory() / MB,
        "pool_backend": pa.default_memory_pool().backend_name,
        "records_mb": int(load.records.memory_usage(deep=True).sum()) / MB,
        "rejects_mb": int(load.rejects.memory_usage(deep=True).sum()) / MB,
        "rows_read": s.rows_read,
        "accepted": s.accepted,
        "rejected": s.rejected,
        "dtypes": {str(k): str(v) for k, v in load.records.dtypes.items()},
    }


def reference_load(path: str, force: Any) -> tuple[Any, dict[str, int], int]:
    """Plain pandas: read every column as text, check the rules one column at a time."""
    import numpy as np
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    n = len(df)
    na = {"", "na", "n/a", "null", "nan", "none"}
    reason = pd.Series("", index=df.index, dtype=object)

    def flag(mask: Any, why: str) -> None:
        reason[mask & (reason == "")] = why

    text = {c: df[c].str.strip() for c in ("timestamp", "area", "demand_type", "duration", "id")}
    blank = {c: text[c].str.lower().isin(na) for c in text}
    flag(blank["timestamp"] | blank["area"] | blank["demand_type"], "missing value")

    naive = pd.to_datetime(text["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    flag(naive.isna(), "unparseable timestamp")
    local = naive.dt.tz_localize(force.settings.timezone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    flag(local.isna(), "non-existent local time")

    flag(~text["area"].isin(force.area_names), "unknown area")
    catch = force.settings.catch_all_type
    known = text["demand_type"].isin(force.type_codes)
    demand_type = text["demand_type"].where(known, catch)
    if catch is None:
        flag(~known, "unmapped demand type code")

    duration = pd.to_numeric(text["duration"], errors="coerce")
    flag(duration.isna() & ~blank["duration"], "non-numeric duration")
    flag(duration < 0, "negative duration")
    duration = duration.where(~(duration > force.settings.max_duration_minutes))  # dropped, record kept

    standing = (reason == "") & ~blank["id"]
    dup = pd.Series(False, index=df.index)
    dup[standing] = text["id"][standing].duplicated()
    flag(dup, "duplicate id")

    end = local[reason == ""].max()
    start = end - pd.Timedelta(days=force.settings.window_days)
    flag((local <= start) | (local > end), "outside window")

    ok = (reason == "").to_numpy()
    records = pd.DataFrame(
        {
            "row": np.flatnonzero(ok) + 1,
            "timestamp": local[ok].dt.as_unit("ns").to_numpy(),
            "area": pd.Categorical(text["area"][ok], categories=force.area_names),
            "demand_type": pd.Categorical(demand_type[ok], categories=force.type_codes),
            "duration": duration[ok].to_numpy(dtype=np.float64),
            "id": text["id"][ok].to_numpy(),
            "grade": df["grade"][ok].str.strip().to_numpy(),
        }
    )
    counts = {str(k): int(v) for k, v in reason[reason != ""].value_counts().items()}
    return records, counts, n


def child_reference(path: str) -> dict[str, Any]:
    import allocator

    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    base = _rss_now_mb()
    t0 = time.perf_counter()
    records, counts, n = reference_load(path, force)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rss_base_mb": base,
        "peak_rss_mb": _peak_rss_mb(),
        "records_mb": int(records.memory_usage(deep=True).sum()) / MB,
        "rows_read": n,
        "accepted": len(records),
        "rejected": counts,
    }


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {"generate": child_generate, "load": child_load, "reference": child_reference}


def run_child(kind: str, *args: Any) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *map(str, args)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=float, default=1e7, help="records to generate (default 1e7)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1, help="load runs (best time, largest peak)")
    p.add_argument("--csv", type=Path, help="load this file instead of generating one")
    p.add_argument("--keep", type=Path, help="write the generated CSV here and keep it")
    p.add_argument("--no-reference", action="store_true", help="skip the pandas reference")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        args: list[Any] = [rest[0], *(int(x) for x in rest[1:])]
        print(json.dumps(CHILDREN[kind](*args)))
        return 0

    with tempfile.TemporaryDirectory(prefix="allocator-load-") as tmp:
        if a.csv is not None:
            path = a.csv
        else:
            path = a.keep or Path(tmp) / "demand.csv"
            g = run_child("generate", path, int(a.rows), a.seed)
            print(f"generated {g['rows']:,} rows in {g['seconds']:.1f} s")
        size_mb = os.path.getsize(path) / MB
        runs = [run_child("load", path) for _ in range(max(1, a.repeat))]
        load = min(runs, key=lambda r: r["seconds"])
        peak = max(r["peak_rss_mb"] for r in runs)
        pool = max(r["pool_peak_mb"] for r in runs)
        n = load["rows_read"]
        print(f"file       : {path.name}, {size_mb:,.0f} MB, {n:,} rows")
        print(f"load_demand: {load['seconds']:.2f} s ({n / load['seconds'] / 1e6:.2f} M rows/s); "
              f"{load['accepted']:,} accepted, {n - load['accepted']:,} rejected")
        print(f"  peak RSS {peak:,.0f} MB = {peak / size_mb:.2f}x the file "
              f"(after imports {load['rss_base_mb']:,.0f} MB; above them "
              f"{(peak - load['rss_base_mb']) / size_mb:.2f}x)")
        print(f"  pyarrow pool peak {pool:,.0f} MB ({load['pool_backend']}); records "
              f"{load['records_mb']:,.0f} MB; rejects {load['rejects_mb']:.2f} MB")
        print("  records dtypes: " + ", ".join(f"{k} {v}" for k, v in load["dtypes"].items()))
        if a.no_reference:
            return 0
        ref = run_child("reference", path)
        print(f"reference  : {ref['seconds']:.2f} s ({n / ref['seconds'] / 1e6:.2f} M rows/s); "
              f"peak RSS {ref['peak_rss_mb']:,.0f} MB = {ref['peak_rss_mb'] / size_mb:.2f}x the file; "
              f"records {ref['records_mb']:,.0f} MB")
        print(f"speed      : load_demand {ref['seconds'] / load['seconds']:.2f}x the reference's speed; "
              f"peak RSS {peak / ref['peak_rss_mb']:.2f}x the reference's")
        agree = ref["accepted"] == load["accepted"] and ref["rejected"] == load["rejected"]
        print(f"agreement  : accepted and every rejection count {'match' if agree else 'DIFFER'}")
        if not agree:
            print(f"  load_demand {load['rejected']}\n  reference   {ref['rejected']}")
        return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
