"""Benchmark the response floors: the vectorised Erlang C path against a plain per-cell loop.

Usage::

    .venv/bin/python benchmarks/erlang.py [--areas 300] [--records 2e6] [--repeat 3]

Builds a force of ``--areas`` areas from the bundled sample force (its
``service_levels`` section with every area urban or rural), draws
``--records`` demand records with ``allocator.sample_demand`` and computes the
workload once. Then, in one process, best of ``--repeat`` runs:

1. ``response_floors(force, workload)``: the whole path from the workload's
   partial sums (response demand, load in progress, Erlang C floors, buckets);
2. the Erlang step alone, vectorised: ``servers_for`` over the areas x 168
   cells of load in progress;
3. the reference: the same step as a plain Python loop, cell by cell, with the
   scalar Erlang B recursion (``math`` only), stopping at the first count of
   units that meets the target;
4. ``measure(floors, on_duty)`` against a plain per-cell loop of Erlang C and
   the service level.

It checks that the vectorised and the reference floors are equal in every cell
and the service levels agree to 1e-12 (exit code 1 if not), and prints the
speed-ups.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import allocator
from allocator.queueing.erlang import servers_for
from allocator.queueing.response import measure, response_floors
from reference import best_of


# ------------------------------------------------------------------ the plain reference
def reference_units(load: float, wait: float, level: float, mean_service: float) -> int:
    """Least c > load with 1 - C exp(-(c - a) t / s) >= level: scalar recursion, one cell."""
    if load == 0:
        return 0
    b, c = 1.0, 0
    while True:
        c += 1
        b = load * b / (c + load * b)
        if c > load:
            p = c * b / (c - load * (1 - b))
            if 1 - p * math.exp(-(c - load) * wait / mean_service) >= level:
                return c


def reference_level(load: float, c: int, wait: float, mean_service: float) -> float:
    """The service level of one cell, scalar."""
    if load == 0:
        return 1.0
    if c <= load:
        return 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    p = c * b / (c - load * (1 - b))
    return 1 - p * math.exp(-(c - load) * wait / mean_service)


def big_force(areas: int) -> allocator.Force:
    """The sample force with ``areas`` areas, a third of them urban."""
    data = allocator.load_force(allocator.sample_path("force.yaml")).to_dict()
    names = [f"Area {i:03d}" for i in range(areas)]
    data["areas"] = [{"name": n} for n in names]
    data["area_factors"] = {}
    for role in data["roles"]:
        role["min_on_duty_by_area"] = {}
    data["service_levels"]["areas"] = {
        n: {"type": "urban" if i % 3 == 0 else "rural", "travel_minutes": 6 if i % 3 == 0 else 10}
        for i, n in enumerate(names)
    }
    return allocator.load_force(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--areas", type=int, default=300)
    parser.add_argument("--records", type=float, default=2e6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    force = big_force(args.areas)
    t0 = time.perf_counter()
    records = allocator.sample_demand(force, int(args.records), seed=1)
    workload = allocator.compute_workload(records, force)
    print(f"{args.areas} areas x 168 hours = {args.areas * 168:,} cells; {len(records):,} records "
          f"(drawn and reduced in {time.perf_counter() - t0:.1f} s)")
    sl = force.service_levels
    assert sl is not None

    t_floors, floors = best_of(args.repeat, lambda: response_floors(force, workload))
    assert floors is not None
    load, wait, s = floors.load, floors.target[:, None], floors.mean_service
    level = float(sl.service_level)
    t_vec, units = best_of(args.repeat, lambda: servers_for(load, wait, level, s))

    def reference() -> np.ndarray:
        out = np.zeros(load.shape, dtype=np.int64)
        for a in range(load.shape[0]):
            for k in range(load.shape[1]):
                out[a, k] = reference_units(float(load[a, k]), float(wait[a, 0]), level, float(s[a, k]))
        return out

    t_ref, ref_units = best_of(1, reference)
    same_units = bool(np.array_equal(units, ref_units))

    on_duty = np.maximum(floors.required - floors.crew[:, None], 0.0)
    t_measure, service = best_of(args.repeat, lambda: measure(floors, on_duty))
    servers = service["servers"].to_numpy().reshape(load.shape)

    def reference_measure() -> np.ndarray:
        out = np.zeros(load.shape)
        for a in range(load.shape[0]):
            for k in range(load.shape[1]):
                out[a, k] = reference_level(float(load[a, k]), int(servers[a, k]), float(wait[a, 0]),
                                            float(s[a, k]))
        return out

    t_mref, ref_levels = best_of(1, reference_measure)
    levels = service[f"within_{floors.grades[0]}"].to_numpy().reshape(load.shape)
    same_levels = bool(np.allclose(levels, ref_levels, rtol=1e-12, atol=1e-12))

    print(f"load in progress: mean {load.mean():.2f}, largest {load.max():.2f} Erlangs of units; "
          f"units up to {int(units.max())}")
    print(f"response_floors (whole path from partials)  {t_floors * 1e3:9.1f} ms")
    print(f"servers_for, vectorised                     {t_vec * 1e3:9.1f} ms")
    print(f"servers_for, plain per-cell loop            {t_ref * 1e3:9.1f} ms   "
          f"ratio {t_ref / t_vec:6.1f}x   equal: {same_units}")
    print(f"measure, vectorised (tidy frame included)   {t_measure * 1e3:9.1f} ms")
    print(f"service level, plain per-cell loop          {t_mref * 1e3:9.1f} ms   "
          f"ratio {t_mref / t_measure:6.1f}x   agree: {same_levels}")
    return 0 if same_units and same_levels else 1


if __name__ == "__main__":
    sys.exit(main())
