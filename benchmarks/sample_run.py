"""The monthly run on the sample force end to end (``make sample``), and its figures against a plain reference.

    .venv/bin/python benchmarks/sample_run.py              # 5 runs of the command, figures 5 times each
    .venv/bin/python benchmarks/sample_run.py --runs 3 --repeat 3

1. **End to end**: ``allocator allocate data/samples/force.yaml
   data/samples/demand.csv --current data/samples/current.csv --out DIR``, as
   ``make sample`` runs it, in a fresh process each time (imports included);
   wall and CPU seconds, best and median of ``--runs``; then the seconds of
   ``import allocator`` alone in a fresh process.
2. **Figures**, in this process: the report's three figures (utilisation
   after and before, officers on duty by hour) drawn by the library and by a
   plain reference in matplotlib's usual style (a text artist per heatmap
   cell, every panel's buckets named, one filter and sort per area and role),
   each drawn and turned into PNG bytes; CPU seconds, best of ``--repeat``,
   and the ratio. The library's figures must be the same bytes on every draw.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import allocator
from allocator.present.plots import figure_png, new_figure
from allocator.present.rota_plots import (
    UTILISATION_MAX,
    plot_on_duty,
    plot_utilisation,
    utilisation_grid,
)

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def end_to_end(runs: int) -> None:
    exe = str(Path(sys.executable).with_name("allocator"))
    with tempfile.TemporaryDirectory() as tmp:
        argv = [exe, "allocate", "data/samples/force.yaml", "data/samples/demand.csv", "--current",
                "data/samples/current.csv", "--out", str(Path(tmp) / "run"), "--force"]
        times = [_run(argv, ROOT) for _ in range(runs)]
    imports = [_run([sys.executable, "-c", "import allocator"], ROOT) for _ in range(runs)]
    for label, got in (("allocator allocate (make sample)", times), ("import allocator alone", imports)):
        walls, cpus = sorted(w for w, _ in got), sorted(c for _, c in got)
        print(f"{label:34s} wall best {walls[0]:.2f} s, median {statistics.median(walls):.2f} s; "
              f"CPU best {cpus[0]:.2f} s, median {statistics.median(cpus):.2f} s  (load average "
              f"{os.getloadavg()[0]:.1f}, {runs} runs)")


# --------------------------------------------------------------------- the plain reference
def reference_utilisation(buckets: pd.DataFrame, title: str = "after") -> Any:
    """Utilisation heatmaps as usually drawn: imshow, a text artist per cell, each panel's buckets named."""
    from matplotlib import colormaps

    roles = [str(r) for r in dict.fromkeys(buckets["role"].astype(str))]
    names = [str(b) for b in dict.fromkeys(buckets["bucket"].astype(str))]
    areas = [str(a) for a in dict.fromkeys(buckets["area"].astype(str))]
    cmap = colormaps["YlOrRd"].with_extremes(bad="#d9d9d9")
    width = max(6.0, 2.2 + 0.42 * len(names))
    panel = 0.32 * len(areas) + 0.9
    fig = new_figure(width, (panel + 0.7) * len(roles) + 0.3, margins=(1.9, 1.1, 0.3, 0.8), hspace=0.6)
    axes = fig.subplots(len(roles), 1, squeeze=False)[:, 0]
    image = None
    for ax, r in zip(axes, roles, strict=True):
        grid = utilisation_grid(buckets, r).to_numpy()
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=UTILISATION_MAX, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v > 0.7 * UTILISATION_MAX else "black")
        ax.set_yticks(range(len(areas)), areas, fontsize=7)
        ax.set_xticks(range(len(names)), names, fontsize=6, rotation=90)
        ax.set_title(f"{r}: utilisation (committed time, %), {title}", fontsize=9, loc="left")
    if image is not None:
        fig.colorbar(image, ax=list(axes), fraction=0.02, pad=0.02)
    return fig


def reference_on_duty(by_hour: pd.DataFrame) -> Any:
    """Officers on duty by hour as usually drawn: shared x, a filter and a sort per area and role."""
    areas = [str(a) for a in dict.fromkeys(by_hour["area"].astype(str))]
    roles = [str(r) for r in dict.fromkeys(by_hour["role"].astype(str))]
    fig = new_figure(10.0, 1.9 * len(areas) + 1.2, margins=(0.7, 0.2, 0.95, 0.4), hspace=0.35)
    axes = fig.subplots(len(areas), 1, squeeze=False, sharex=True)[:, 0]
    hours = np.arange(168)
    for ax, a in zip(axes, areas, strict=True):
        rows = by_hour[by_hour["area"].astype(str) == a]
        for r in roles:
            mine = rows[rows["role"].astype(str) == r].sort_values("hour_of_week")
            ax.fill_between(hours, np.nan_to_num(mine["demand"].to_numpy(dtype="float64")), step="mid", alpha=0.25)
            ax.step(hours, mine["on_duty"].to_numpy(dtype="float64"), where="mid")
            if "current_on_duty" in mine.columns:
                ax.step(hours, mine["current_on_duty"].to_numpy(dtype="float64"), where="mid", linestyle=":")
        ax.set_xticks(np.arange(0, 168, 24), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], fontsize=8)
        ax.set_xlim(0, 167)
        ax.set_title(a, fontsize=9, loc="left")
        ax.grid(axis="x", linewidth=0.4)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="upper right", frameon=False)
    return fig


def figures(repeat: int) -> None:
    from allocator.cli._common import jsonable
    from allocator.data.demand import load_demand
    from allocator.present.rota_report import RotaReportData

    force = allocator.load_force(allocator.sample_path("force.yaml"))
    work = allocator.compute_workload(load_demand(allocator.sample_path("demand.csv"), force).records, force)
    a = allocator.allocate(work, force, current=allocator.sample_path("current.csv"))
    d = RotaReportData.from_allocation(a, force, jsonable(a.solver))
    assert d.current_buckets is not None and d.by_hour is not None
    ours = {"utilisation": lambda: plot_utilisation(d.buckets),
            "utilisation_before": lambda: plot_utilisation(d.current_buckets, title="before"),
            "on_duty": lambda: plot_on_duty(d.by_hour)}
    plain = {"utilisation": lambda: reference_utilisation(d.buckets),
             "utilisation_before": lambda: reference_utilisation(d.current_buckets, title="before"),
             "on_duty": lambda: reference_on_duty(d.by_hour)}
    figure_png(plot_utilisation(d.buckets))  # matplotlib imported and fonts cached before any timing
    total_ours = total_plain = 0.0
    for name in ours:
        digests = set()
        best_ours = best_plain = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            png = figure_png(ours[name]())
            best_ours = min(best_ours, time.process_time() - t0)
            digests.add(hashlib.sha256(png).hexdigest())
            t0 = time.process_time()
            figure_png(plain[name]())
            best_plain = min(best_plain, time.process_time() - t0)
        total_ours += best_ours
        total_plain += best_plain
        same = "same bytes every draw" if len(digests) == 1 else "BYTES DIFFER"
        print(f"figure {name:20s} library {best_ours:.3f} s, reference {best_plain:.3f} s CPU, "
              f"ratio {best_plain / best_ours:.1f}x, {same}")
    print(f"figure {'all three':20s} library {total_ours:.3f} s, reference {total_plain:.3f} s CPU, "
          f"ratio {total_plain / total_ours:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of the command end to end")
    parser.add_argument("--repeat", type=int, default=5, help="draws of each figure (best taken)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    end_to_end(args.runs)
    figures(args.repeat)


if __name__ == "__main__":
    main()
