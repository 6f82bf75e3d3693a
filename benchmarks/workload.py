"""Benchmark the workload engine against the plain pandas reference, in one process.

Usage::

    .venv/bin/python benchmarks/workload.py [--sizes 1e6,1e7,3e7] [--reference-max 1e7]

For each size it draws a demand extract with ``allocator.sample_demand`` on the
sample force and times, best of ``--repeat`` runs:

1. the engine from prepared records (``compute_workload(prepared, force)``);
   the kernel's partial sums alone are shown beside it;
2. the engine from the raw extract DataFrame (categorical columns, tz-aware
   timestamps), preparation included;
3. the pandas reference (``benchmarks/reference.py``), on at most
   ``--reference-max`` records (a prefix of the extract, said so in the output).

It checks engine and reference agree to 1e-9 relative on every
(area, shift, role) and every (area, hour of week, role) cell, and prints
records per second, the speed-up of the engine over the reference (per record,
when the reference ran on a prefix), and peak memory: tracemalloc peak above
the inputs for each stage (in a separate, untimed run) and the process's peak
RSS.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import allocator
from allocator.workload.engine import compute_workload, prepare_records
from reference import as_array, best_of, reference_workload

MB = 1024 * 1024


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn`` runs, above what was held before."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale, initial=0.0))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(n: int, force: allocator.Force, seed: int, repeat: int, reference_max: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    records = allocator.sample_demand(force, n, seed=seed)
    generated = time.perf_counter() - t0
    frame_mb = records.memory_usage(deep=False).sum() / MB
    print(f"\n== {n:,} records (generated in {generated:.1f} s; frame {frame_mb:,.0f} MB)")

    t_prep, prepared = best_of(repeat, lambda: prepare_records(records, force))
    t_kernel, _ = best_of(repeat, prepared.partials)
    t_engine, workload = best_of(repeat, lambda: compute_workload(prepared, force))
    t_frame, _ = best_of(repeat, lambda: compute_workload(records, force))

    m = min(n, reference_max)
    subset = records if m == n else records.iloc[:m]
    t_ref, (ref_shift, ref_hour) = best_of(1 if m > 3_000_000 else repeat, lambda: reference_workload(subset, force))
    engine_sub = workload if m == n else compute_workload(subset, force, as_of=subset["timestamp"].max())
    rel_shift = max_rel_diff(engine_sub.array, as_array(ref_shift, force))
    ref_hour_array = np.zeros_like(engine_sub.hour_array)
    a = ref_hour["area"].map({name: i for i, name in enumerate(force.area_names)}).to_numpy()
    r = ref_hour["role"].map({name: i for i, name in enumerate(force.role_names)}).to_numpy()
    ref_hour_array[a, ref_hour["hour_of_week"].to_numpy(), r] = ref_hour["hours"].to_numpy()
    rel_hour = max_rel_diff(engine_sub.hour_array, ref_hour_array)
    agree = rel_shift <= 1e-9 and rel_hour <= 1e-9

    # memory, in untimed runs
    peak_engine = traced_peak(lambda: compute_workload(prepared, force))
    peak_prep = traced_peak(lambda: prepare_records(records, force))
    peak_ref = traced_peak(lambda: reference_workload(subset, force)) if m <= 3_000_000 else None

    rate = n / t_engine
    ref_rate = m / t_ref
    print(f"  engine from prepared records : {t_engine * 1e3:9.1f} ms  {rate / 1e6:8.1f} M records/s"
          f"   (kernel partial sums {t_kernel * 1e3:.1f} ms)")
    print(f"  engine from the DataFrame    : {t_frame * 1e3:9.1f} ms  {n / t_frame / 1e6:8.1f} M records/s"
          f"   (preparation {t_prep * 1e3:.1f} ms)")
    sub_note = "" if m == n else f"   (on the first {m:,} records)"
    print(f"  pandas reference             : {t_ref * 1e3:9.1f} ms  {ref_rate / 1e6:8.2f} M records/s{sub_note}")
    print(f"  speed-up over the reference  : {rate / ref_rate:9.1f}x from prepared records, "
          f"{n / t_frame / ref_rate:.1f}x from the DataFrame")
    print(f"  agreement (max relative diff): shifts {rel_shift:.1e}, hours of week {rel_hour:.1e}"
          f"  -> {'OK' if agree else 'MISMATCH'}")
    print(f"  memory: prepared records {prepared.nbytes / MB:,.0f} MB; engine peak above them "
          f"{peak_engine / MB:,.1f} MB ({peak_engine / prepared.nbytes:.3f}x); preparation peak "
          f"{peak_prep / MB:,.0f} MB" + ("" if peak_ref is None else f"; reference peak {peak_ref / MB:,.0f} MB")
          + f"; process peak RSS {peak_rss_mb():,.0f} MB")
    return {
        "n": n,
        "engine_s": t_engine,
        "kernel_s": t_kernel,
        "frame_s": t_frame,
        "prepare_s": t_prep,
        "reference_s": t_ref,
        "reference_n": m,
        "speedup": rate / ref_rate,
        "agree": agree,
        "prepared_mb": prepared.nbytes / MB,
        "engine_peak_mb": peak_engine / MB,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7,3e7", help="record counts, comma separated")
    parser.add_argument("--reference-max", default="1e7", help="largest size the reference runs on")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per stage (best is kept)")
    parser.add_argument("--seed", type=int, default=2017)
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    print(f"allocator {allocator.__version__}, numpy {np.__version__}; sample force: "
          f"{len(force.areas)} areas, {len(force.shifts)} shifts, {len(force.roles)} roles, "
          f"{len(force.demand_types)} demand types; half-life {force.settings.half_life_days} days")
    results = [run(n, force, args.seed, args.repeat, int(float(args.reference_max))) for n in sizes]
    print("\n   records   engine ms   kernel ms   frame ms   reference ms (n)        speed-up  agree")
    for r in results:
        print(f"{r['n']:>10,}  {r['engine_s'] * 1e3:10.1f}  {r['kernel_s'] * 1e3:10.1f}  "
              f"{r['frame_s'] * 1e3:9.1f}  {r['reference_s'] * 1e3:10.0f} ({r['reference_n']:,})"
              f"  {r['speedup']:8.1f}x  {'yes' if r['agree'] else 'NO'}")
    return 0 if all(r["agree"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
