"""Benchmark the what-if sweeps against a plain reference that re-reads the records, in one process.

Usage::

    .venv/bin/python benchmarks/whatif.py [--perturbations 100] [--reference 20] [--processes 1,2]

On the bundled sample force and its six months of demand (``data/samples``):

1. **sensitivity** (the fast path): ``allocator.sensitivity`` on the base read
   once, the first ``--perturbations`` judgement perturbations (values of
   (demand type, role) pairs, ``minutes`` and ``impact``, each -20% and +20%).
   Each perturbation contracts the base's partial sums with the varied
   judgement (``workload_from_partials``) and allocates. Timed in-process and
   on each number of local processes in ``--processes``.
2. **plain reference**: for each of the first ``--reference`` perturbations,
   read the demand extract again (``load_demand``), compute the workload from
   the records (``compute_workload``) and allocate: what a script without the
   partial sums does. Its time per perturbation is scaled to the same count.

The workload stage alone (partial sums contracted against the extract
re-read and recomputed) is timed too: the allocation, the same in both, is
the rest.

3. **scenario throughput**: ``allocator.run_scenarios`` on the sample's
   scenario file (``data/samples/scenarios.yaml``, its scenarios and the
   base), in-process against a 2-worker ``LocalCluster`` (processes, one
   thread each), in scenarios per minute (``--no-cluster`` skips it).

It checks that the reference's postings and smallest coverages equal the fast
path's on the perturbations both ran, and that the cluster's comparison table
equals the in-process one (exit code 1 if not), and prints the times, the
time per 100 perturbations (target: under 5 s) and the ratios.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

import allocator
from allocator.whatif import load_base, run_scenarios, sensitivity
from allocator.whatif.sensitivity import perturbed_force

FIELDS = ("minutes", "impact")
CHANGE = 0.2


def _values(force: allocator.Force, n: int) -> list[tuple[str, str, str]]:
    """The first ``n // 2`` (type, role, field) values (each gives two perturbations)."""
    out = []
    for j in force.judgement:
        if j.share > 0:
            out += [(j.demand_type, j.role, f) for f in FIELDS]
    return out[: max(1, n // 2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perturbations", type=int, default=100)
    parser.add_argument("--reference", type=int, default=20, help="perturbations the reference runs")
    parser.add_argument("--processes", default="1,2", help="local process counts to time, comma-separated")
    parser.add_argument("--no-cluster", action="store_true", help="skip the scenario throughput on a LocalCluster")
    args = parser.parse_args(argv)
    logging.getLogger("allocator.solve").setLevel(logging.ERROR)  # each solve's shortfall warning: not timed output

    spec_path = allocator.sample_path("scenarios.yaml")
    t0 = time.perf_counter()
    base = load_base(spec_path)
    read = time.perf_counter() - t0
    force = base.force
    values = _values(force, args.perturbations)
    types = sorted({t for t, _, _ in values})
    print(f"sample: {len(base.records):,} records, {len(force.judgement)} judgement rows; base read in {read:.2f} s")

    # the fast path: the sensitivity sweep restricted to the chosen values
    fast: dict[int, float] = {}
    result = None
    for p in (int(x) for x in args.processes.split(",")):
        t0 = time.perf_counter()
        result = sensitivity(base, change=CHANGE, fields=FIELDS, types=types, processes=p)
        fast[p] = time.perf_counter() - t0
    assert result is not None
    n_fast = 2 * len(result.table) + 1  # perturbations and the base
    per100 = {p: 100 * s / n_fast for p, s in fast.items()}

    # the plain reference: re-read the extract and recompute the workload for every perturbation
    chosen = values[: max(1, args.reference // 2)]
    demand = spec_path.parent / "demand.csv"

    def plain(varied: allocator.Force) -> object:
        loaded = allocator.load_demand(demand, varied)
        return allocator.allocate(allocator.compute_workload(loaded.records, varied), varied)

    t0 = time.perf_counter()
    plain_base = plain(force)
    ref: dict[tuple[str, str, str, str], tuple[float, np.ndarray]] = {}
    for t, r, f in chosen:
        for side, factor in (("low", 1 - CHANGE), ("high", 1 + CHANGE)):
            varied = perturbed_force(force, t, r, f, factor)
            assert varied is not None
            alloc = plain(varied)
            ref[(t, r, f, side)] = (alloc.ratios[r], alloc.x.copy())  # type: ignore[attr-defined]
    ref_seconds = time.perf_counter() - t0
    n_ref = 2 * len(chosen) + 1
    ref_per100 = 100 * ref_seconds / n_ref

    # the workload stage alone: contracting the partial sums against re-reading and recomputing
    varied_forces = [perturbed_force(force, t, r, f, 1 + CHANGE) for t, r, f in chosen]
    t0 = time.perf_counter()
    for varied in varied_forces:
        assert varied is not None
        base.workload(varied)
    stage_fast = (time.perf_counter() - t0) / len(varied_forces)
    t0 = time.perf_counter()
    for varied in varied_forces:
        assert varied is not None
        allocator.compute_workload(allocator.load_demand(demand, varied).records, varied)
    stage_ref = (time.perf_counter() - t0) / len(varied_forces)

    # the same answers
    ok = True
    table = result.table.set_index(["demand_type", "role", "field"])
    for (t, r, f, side), (cov, x) in ref.items():
        row = table.loc[(t, r, f)]
        moved = float(np.abs(x - plain_base.x).sum()) / 2  # type: ignore[attr-defined]
        if row[f"min_coverage_{side}"] != cov or row[f"moved_{side}"] != moved:
            ok = False
            print(f"MISMATCH {t}/{r}/{f} {side}: fast {row[f'min_coverage_{side}']} / {row[f'moved_{side}']}, "
                  f"reference {cov} / {moved}")

    print(f"\nsensitivity to judgement, {n_fast} allocations ({len(result.table)} values x 2 sides + the base):")
    for p, s in fast.items():
        where = "in-process" if p == 1 else f"{p} local processes"
        print(f"  fast path ({where:>18}): {s:7.2f} s   {per100[p]:5.2f} s per 100 perturbations")
    print(f"  plain reference (re-read + recompute, {n_ref} allocations): {ref_seconds:7.2f} s   "
          f"{ref_per100:5.2f} s per 100 perturbations")
    print(f"  workload stage alone: partial sums {1000 * stage_fast:.1f} ms, re-read + recompute "
          f"{1000 * stage_ref:.1f} ms per perturbation ({stage_ref / stage_fast:.0f}x); the rest is the allocation")
    best = min(per100.values())
    print(f"  ratio reference / fast path (per perturbation): {ref_per100 / best:.1f}x")
    print(f"  target: 100 perturbations under 5 s: {'met' if best < 5 else 'NOT met'} ({best:.2f} s)")
    print(f"  reference and fast path agree on {len(ref)} perturbations: {'yes' if ok else 'NO'}")
    if not args.no_cluster:
        ok = _throughput(spec_path, base) and ok
    return 0 if ok else 1


def _throughput(spec_path: object, base: object) -> bool:
    """Scenarios per minute in-process and on a 2-worker LocalCluster; True when their tables agree."""
    from dask.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    here = run_scenarios(spec_path, processes=1, base=base)  # type: ignore[arg-type]
    t_here = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2)
        t0 = time.perf_counter()
        there = run_scenarios(spec_path, client=client, base=base)  # type: ignore[arg-type]
        t_there = time.perf_counter() - t0
    n = len(here.names)
    same = here.comparison.drop(columns=["reasons"]).equals(there.comparison.drop(columns=["reasons"]))
    print(f"\nscenario throughput, {n} scenarios of {spec_path} (the base included):")
    print(f"  in-process:             {t_here:6.2f} s   {60 * n / t_here:6.0f} scenarios per minute")
    print(f"  2-worker LocalCluster:  {t_there:6.2f} s   {60 * n / t_there:6.0f} scenarios per minute "
          f"({t_here / t_there:.2f}x in-process; shared inputs scattered once)")
    print(f"  cluster and in-process comparisons equal: {'yes' if same else 'NO'}")
    return same


if __name__ == "__main__":
    sys.exit(main())
