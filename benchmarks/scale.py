"""Benchmark the workload at scale: a large force's kernel, and partitioned demand on Dask, in one process.

Usage::

    .venv/bin/python benchmarks/scale.py                      # 1e7 records in partitions (a few minutes)
    .venv/bin/python benchmarks/scale.py --records 1e8        # 1e8 records (about 1.5 GB of Parquet)
    .venv/bin/python benchmarks/scale.py --skip-partitioned   # the kernel parts only

Three parts, each with its reference run beside it and the ratio printed:

1. **kernel at 3,000 areas vs 6 areas**: ``partial_sums`` on the same number
   of random records (15 demand types, 15% without a duration, recency
   weights), nanoseconds per record at each size and the ratio, with the
   3,000-area records in any order and force by force (as a national
   dataset is assembled); beside them one bare ``np.bincount`` into each
   force's bins, the floor the memory sets; and the previous layout (a
   bincount per 131k-record chunk over every bin) at 3,000 areas, at the
   smallest size.
2. **workload_from_partials at 3,000 areas**: the contraction of hours and
   types first against the previous path (the full (areas, 168, types, roles)
   array, then shifts); best time of each, the ratio, and the largest
   relative difference.
3. **partitioned demand**: ``--records`` records generated with
   ``allocator.sample_demand`` file by file (``--partition-rows`` each, never
   all in memory) into Parquet partitions in a temporary folder, then reduced
   by ``load_partitioned_workload`` in one process (``scheduler="sync"``) and
   on a 2-worker ``LocalCluster`` (one thread a worker, processes); and the
   in-memory engine (``load_demand`` of one file, then ``compute_workload``)
   on the first ``--in-memory`` records, written as one file. Records per
   second, the ratios, and the agreement of the partitioned path with the
   in-memory engine on the same records (1e-9 relative; exit code 1 if not).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import allocator
from allocator.model.force import Force
from allocator.workload import kernel
from allocator.workload.engine import (
    Workload,
    covered_days,
    hour_shift_matrix,
    workload_from_partials,
)
from allocator.workload.kernel import (
    HOURS_PER_WEEK,
    Partials,
    by_shift,
    judged_hours,
    partial_sums,
    sparse_partial_sums,
)
from reference import best_of, sample_over_areas

TYPES = 15


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale, initial=0.0))


def many_area_force(areas: int) -> Force:
    """The sample force (15 demand types, 5 shifts, 3 roles) with ``areas`` areas."""
    return sample_over_areas(areas, "force_shifts.yaml")


def random_codes(n: int, areas: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    area = rng.integers(0, areas, n).astype(np.int16)
    dtype = rng.integers(0, TYPES, n).astype(np.int16)
    hour = rng.integers(0, HOURS_PER_WEEK, n).astype(np.int16)
    duration = rng.lognormal(3.5, 0.8, n)
    duration[rng.random(n) < 0.15] = np.nan
    weight = rng.uniform(0.3, 1.0, n)
    return area, dtype, hour, duration, weight


# ------------------------------------------------------------------ 1. kernel
FORCES = 43  # a national dataset: the forces' extracts one after another


def by_force(codes: tuple[np.ndarray, ...], areas: int, seed: int) -> tuple[np.ndarray, ...]:
    """The same records as a national dataset is assembled: force by force (43 forces of ~70 areas).

    Each record keeps its hour, type, duration and weight; its area is drawn
    within a force, and the forces' records come one force after another
    (within a force, in any order), as the forces' extracts are appended.
    """
    rng = np.random.default_rng(seed + 1)
    n = len(codes[0])
    per_force = -(-areas // FORCES)
    force = np.sort(rng.integers(0, FORCES, n))
    area = np.minimum(force * per_force + rng.integers(0, per_force, n), areas - 1).astype(np.int16)
    return (area, *codes[1:])


def bare_bincount(n: int, bins: int, seed: int) -> float:
    """Seconds of one ``np.bincount`` of ``n`` random keys with weights into ``bins`` bins (best of 3)."""
    rng = np.random.default_rng(seed)
    key, w = rng.integers(0, bins, n), rng.random(n)
    return best_of(3, lambda: np.bincount(key, weights=w, minlength=bins))[0]


def kernel_part(sizes: list[int], repeat: int, seed: int) -> dict[str, float]:
    print("\n== kernel: partial_sums per record, 6 areas vs 3,000 areas (15 demand types)")
    print("  random: every record in any of the 3,000 areas; by force: the same records as 43 forces'"
          " extracts one after another")
    print("  bare bincount: one np.bincount with weights into the 6-area and the 3,000-area bins, nothing else:"
          " what the memory alone costs")
    print("     records   6 areas   3,000 random   3,000 by force     ratio random / by force"
          "   bare bincount 6 / 3,000 (ratio)")
    ratios = {}
    bins = {areas: areas * HOURS_PER_WEEK * TYPES * 2 for areas in (6, 3000)}
    for n in sizes:
        codes = {6: random_codes(n, 6, seed), 3000: random_codes(n, 3000, seed)}
        codes["force"] = by_force(codes[3000], 3000, seed)
        areas_of = {6: 6, 3000: 3000, "force": 3000}
        best = {k: float("inf") for k in codes}
        for _ in range(repeat):  # interleaved, so that a shared machine's load falls on all alike
            for k, c in codes.items():
                t, _ = best_of(1, lambda c=c, a=areas_of[k]: partial_sums(*c, a, TYPES))
                best[k] = min(best[k], t)
        per = {k: t / n * 1e9 for k, t in best.items()}
        del codes
        bare = {areas: bare_bincount(n, b, seed) / n * 1e9 for areas, b in bins.items()}
        ratios[f"kernel_{n}"] = per[3000] / per[6]
        ratios[f"kernel_by_force_{n}"] = per["force"] / per[6]
        ratios[f"bare_bincount_{n}"] = bare[3000] / bare[6]
        print(f"{n:>12,}   {per[6]:7.1f}   {per[3000]:12.1f}   {per['force']:14.1f}   "
              f"{per[3000] / per[6]:9.1f}x / {per['force'] / per[6]:4.1f}x"
              f"   {bare[6]:9.1f} / {bare[3000]:5.1f} ns ({bare[3000] / bare[6]:.1f}x)")
    n = sizes[0]
    codes = random_codes(n, 3000, seed)
    t_new, new = best_of(repeat, lambda: partial_sums(*codes, 3000, TYPES))
    with mock.patch.object(kernel, "_layout", lambda n_bins: (kernel.BLOCK, kernel.CHUNK)):
        t_old, old = best_of(1, lambda: partial_sums(*codes, 3000, TYPES))
    agree = bool(np.array_equal(new.count, old.count)) and max_rel_diff(new.weight, old.weight) <= 1e-9
    print(f"  at 3,000 areas, {n:,} records: previous layout (a bincount per chunk over every bin) "
          f"{t_old * 1e3:.0f} ms, now {t_new * 1e3:.0f} ms: {t_old / t_new:.1f}x faster"
          f"  -> {'OK' if agree else 'MISMATCH'}")
    ratios["kernel_old_over_new"] = t_old / t_new
    # the partitioned path's form: occupied bins only
    t_sparse, sparse = best_of(repeat, lambda: sparse_partial_sums(*codes, 3000, TYPES))
    dense_mb = (new.count.nbytes + new.weight.nbytes + new.minutes.nbytes) / 1e6
    sparse_mb = sum(a.nbytes for a in (sparse.keys, sparse.count, sparse.weight, sparse.minutes)) / 1e6
    same = bool(np.array_equal(sparse.dense().count, new.count))
    print(f"  sparse partial sums (a partition's form) at 3,000 areas, {n:,} records: {t_sparse * 1e3:.0f} ms, "
          f"{t_sparse / n * 1e9:.1f} ns per record, {sparse_mb:,.0f} MB against {dense_mb:,.0f} MB dense"
          f"  -> {'OK' if same else 'MISMATCH'}")
    ratios["kernel_agree"] = float(agree and same)
    return ratios


# -------------------------------------------------------- 2. workload_from_partials
def previous_workload_from_partials(partials: Partials, force: Force, as_of: pd.Timestamp) -> Workload:
    """The previous contraction: the full (areas, 168, types, roles) array, then shifts."""
    to_shift = hour_shift_matrix(force)
    share, minutes, impact, _ = force.judgement_arrays()
    hours = judged_hours(partials, share, minutes, impact, force.area_factor_array(), force.settings.data_weight)
    by_type, records = by_shift(hours, partials.count, to_shift)
    return Workload(
        array=by_type.sum(axis=2), by_type_array=by_type, records_by_type=records,
        hour_array=hours.sum(axis=2), areas=force.area_names, shifts=force.shift_names,
        roles=force.role_names, demand_types=force.type_codes, as_of=as_of,
        n_records=partials.n_records, overlap_rule=force.settings.overlap_rule, partials=partials,
        days=covered_days(partials, force, as_of),
    )


def contraction_part(n: int, repeat: int, seed: int) -> dict[str, float]:
    force = many_area_force(3000)
    partials = partial_sums(*random_codes(n, 3000, seed), 3000, len(force.demand_types))
    as_of = pd.Timestamp("2026-11-30 23:00", tz=force.settings.timezone)
    t_new, new = best_of(repeat, lambda: workload_from_partials(partials, force, as_of))
    t_old, old = best_of(repeat, lambda: previous_workload_from_partials(partials, force, as_of))
    diff = max(max_rel_diff(new.by_type_array, old.by_type_array), max_rel_diff(new.hour_array, old.hour_array))
    same_records = bool(np.array_equal(new.records_by_type, old.records_by_type))
    agree = diff <= 1e-9 and same_records
    print(f"\n== workload_from_partials at 3,000 areas (partials of {n:,} records)")
    print(f"  previous (full areas x 168 x types x roles array): {t_old * 1e3:8.1f} ms")
    print(f"  now (hours and types contracted first)           : {t_new * 1e3:8.1f} ms   "
          f"{t_old / t_new:.1f}x faster; max relative diff {diff:.1e}  -> {'OK' if agree else 'MISMATCH'}")
    return {"contract_old_over_new": t_old / t_new, "contract_agree": float(agree)}


# ------------------------------------------------------------- 3. partitioned
def generate(force: Force, folder: Path, total: int, per_file: int, seed: int) -> tuple[list[Path], pd.Timestamp]:
    """``total`` records in Parquet files of ``per_file`` rows, one file in memory at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, latest = [], None
    for k, lo in enumerate(range(0, total, per_file)):
        part = allocator.sample_demand(force, min(per_file, total - lo), seed=seed + k)
        part["id"] = f"P{k:04d}-" + part["id"]  # ids unique across files
        path = folder / f"part.{k:04d}.parquet"
        part.to_parquet(path, index=False)
        paths.append(path)
        last = part["timestamp"].max()
        latest = last if latest is None else max(latest, last)
        del part
    assert latest is not None
    return paths, latest


def concatenate(paths: list[Path], out: Path) -> None:
    """The files as one Parquet file, written file by file."""
    writer = None
    for path in paths:
        table = pq.read_table(path)
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def partitioned_part(total: int, per_file: int, in_memory: int, seed: int, keep: Path | None) -> dict[str, float]:
    import distributed

    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    tmp = Path(tempfile.mkdtemp(prefix="allocator-scale-")) if keep is None else keep
    try:
        print(f"\n== partitioned demand: {total:,} records in files of {per_file:,} ({tmp})")
        t0 = time.perf_counter()
        paths, as_of = generate(force, tmp / "dataset", total, per_file, seed)
        size = sum(p.stat().st_size for p in paths)
        print(f"  generated {len(paths)} files, {size / 1e6:,.0f} MB, in {time.perf_counter() - t0:.0f} s")

        # in-memory engine on the first ``in_memory`` records, as one file
        ref_paths = paths[: max(1, -(-in_memory // per_file))]
        ref_n = min(total, len(ref_paths) * per_file)
        whole = tmp / "whole.parquet"
        concatenate(ref_paths, whole)
        gc.collect()
        t0 = time.perf_counter()
        load = allocator.load_demand(whole, force, as_of=as_of, now=as_of)
        ref = allocator.compute_workload(load.records, force, as_of=as_of)
        t_mem = time.perf_counter() - t0
        del load
        gc.collect()

        def partitioned(files: list[Path], **kw: Any) -> allocator.PartitionedWorkload:
            return allocator.load_partitioned_workload(files, force, as_of=as_of, now=as_of, **kw)

        t0 = time.perf_counter()
        sync = partitioned(paths, scheduler="sync")
        t_sync = time.perf_counter() - t0
        same = sync if ref_paths == paths else partitioned(ref_paths, scheduler="sync")
        diff = max_rel_diff(same.workload.array, ref.array)
        agree = diff <= 1e-9 and same.workload.n_records == ref.n_records

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=logging.CRITICAL) as cluster, distributed.Client(cluster) as client:
            client.run(importlib.import_module, "allocator.workload.partitioned")  # warm workers before the clock
            t0 = time.perf_counter()
            on_cluster = partitioned(paths, client=client)
            t_cluster = time.perf_counter() - t0
        same_bits = on_cluster.workload.array.tobytes() == sync.workload.array.tobytes()

        r_mem, r_sync, r_cluster = ref_n / t_mem, total / t_sync, total / t_cluster
        print(f"  in-memory engine, {ref_n:,} records (load_demand + compute_workload): "
              f"{t_mem:7.1f} s  {r_mem / 1e6:6.2f} M records/s")
        print(f"  partitioned, one process (sync), {total:,} records          : "
              f"{t_sync:7.1f} s  {r_sync / 1e6:6.2f} M records/s  ({r_sync / r_mem:.2f}x the in-memory rate)")
        print(f"  partitioned, LocalCluster of 2 workers, {total:,} records   : "
              f"{t_cluster:7.1f} s  {r_cluster / 1e6:6.2f} M records/s  ({r_cluster / r_sync:.2f}x one process)")
        print(f"  agreement with the in-memory engine on {ref_n:,} records: max relative diff {diff:.1e}"
              f"  -> {'OK' if agree else 'MISMATCH'}; cluster and one process bit for bit: "
              f"{'yes' if same_bits else 'NO'}")
        return {"partitioned_over_memory": r_sync / r_mem, "cluster_over_sync": r_cluster / r_sync,
                "partitioned_agree": float(agree and same_bits)}
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", default="1e7", help="records in the partitioned dataset (1e8 for the full run)")
    parser.add_argument("--partition-rows", default="1e6", help="records per Parquet file")
    parser.add_argument("--in-memory", default="1e7", help="records the in-memory engine runs on")
    parser.add_argument("--kernel-sizes", default="1e6,1e7", help="record counts for the kernel comparison")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the kernel parts (best is kept)")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--skip-partitioned", action="store_true", help="the kernel parts only")
    parser.add_argument("--keep", type=Path, default=None, help="generate the dataset here and keep it")
    args = parser.parse_args(argv)
    print(f"allocator {allocator.__version__}, numpy {np.__version__}, pandas {pd.__version__}")
    sizes = [int(float(s)) for s in args.kernel_sizes.split(",") if s.strip()]
    out = kernel_part(sizes, args.repeat, args.seed)
    out |= contraction_part(sizes[0], args.repeat, args.seed)
    if not args.skip_partitioned:
        out |= partitioned_part(int(float(args.records)), int(float(args.partition_rows)),
                                int(float(args.in_memory)), args.seed, args.keep)
    print("\nratios: " + ", ".join(f"{k} {v:.2f}" for k, v in out.items() if not k.endswith("agree")))
    return 0 if all(v == 1.0 for k, v in out.items() if k.endswith("agree")) else 1


if __name__ == "__main__":
    sys.exit(main())
