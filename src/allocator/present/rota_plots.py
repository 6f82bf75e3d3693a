"""Figures of an allocation on duty patterns (matplotlib, Agg backend, no pyplot state).

* :func:`plot_utilisation`: per role, a heatmap of utilisation (committed
  time, percent) over area x (weekday, duty window), on one colour scale for
  every role and for before and after; grey where nobody is on duty.
* :func:`plot_on_duty`: per area, officers on duty against demand by hour of
  the week, on one scale in officers: demand is the officers its recorded
  hours keep busy in the hour, so it never looks larger or smaller than the
  officers it needs.

The functions take the tidy tables of a
:class:`~allocator.results.rota.RotaAllocation` (``buckets``, ``by_hour``),
so a report can be drawn again from a run directory's CSV files. Turn a
figure into deterministic PNG bytes with
:func:`allocator.present.plots.figure_png`. matplotlib is the ``plot`` extra.

Examples
--------
>>> import pandas as pd

from allocator.present.plots import new_figure
>>> from allocator.present.plots import figure_png
>>> buckets = pd.DataFrame({"area": ["North", "North", "South", "South"], "role": "PC",
...                         "bucket": ["Mon Early", "Mon Night"] * 2,
...                         "utilisation": [40.0, 75.0, 30.0, float("nan")]})
>>> utilisation_grid(buckets, "PC").to_numpy().tolist()
[[40.0, 75.0], [30.0, nan]]
>>> png = figure_png(plot_utilisation(buckets))
>>> png[:4] == b"\\x89PNG", png == figure_png(plot_utilisation(buckets))
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allocator.present.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["UTILISATION_MAX", "plot_on_duty", "plot_utilisation", "utilisation_grid"]

_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: the top of the utilisation colour scale, percent (CPSM's benchmark, 60%, sits in its middle)
UTILISATION_MAX = 120.0
#: utilisation colours: pale at low committed time, dark red past the benchmark
_CMAP = "YlOrRd"
_ROLE_COLOURS = ("tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive")


def _ordered(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return [str(v) for v in dict.fromkeys(values.astype(str).tolist())]


def utilisation_grid(buckets: pd.DataFrame, role: str, column: str = "utilisation") -> pd.DataFrame:
    """``column`` of one role as an area x bucket frame, in the table's order (NaN: nobody on duty)."""
    areas, names = _ordered(buckets["area"]), _ordered(buckets["bucket"])
    rows = buckets[buckets["role"].astype(str) == role]
    grid = np.full((len(areas), len(names)), np.nan)
    a = pd.Categorical(rows["area"].astype(str), categories=areas).codes
    b = pd.Categorical(rows["bucket"].astype(str), categories=names).codes
    grid[a, b] = rows[column].to_numpy(dtype="float64")
    return pd.DataFrame(grid, index=pd.Index(areas, name="area"), columns=pd.Index(names, name="bucket"))


def plot_utilisation(buckets: pd.DataFrame, role: str | None = None, title: str = "after") -> Figure:
    """Utilisation heatmaps, area x (weekday, window), one panel per role.

    Parameters
    ----------
    buckets
        Tidy ``area, role, bucket, utilisation`` (``RotaAllocation.buckets``).
    role
        Draw one role only (default: every role).
    title
        What the posting is (``"after"``, ``"before: the current posting"``).

    Every panel and every figure uses the same colour scale, 0 to
    :data:`UTILISATION_MAX` percent, so before and after read alike; a bucket
    with nobody on duty is grey. Each cell is labelled with its percentage.
    """
    from matplotlib import colormaps

    roles = [role] if role is not None else _ordered(buckets["role"])
    names = _ordered(buckets["bucket"])
    areas = _ordered(buckets["area"])
    cmap = colormaps[_CMAP].with_extremes(bad="#d9d9d9")
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
        bar = fig.colorbar(image, ax=list(axes), fraction=0.02, pad=0.02)
        bar.set_label("utilisation, % of on-duty time (grey: nobody on duty)", fontsize=7)
        bar.ax.tick_params(labelsize=7)
    return fig


def plot_on_duty(by_hour: pd.DataFrame, area: str | None = None) -> Figure:
    """Officers on duty against demand by hour of the week, one panel per area, one scale (officers).

    Parameters
    ----------
    by_hour
        Tidy ``area, role, hour_of_week, on_duty, demand`` and optionally
        ``current_on_duty`` (``RotaAllocation.by_hour``).
    area
        Draw one area only (default: every area).

    Each role has a colour: a solid step line for the officers on duty under
    the allocation (rest days and abstraction included), a dotted one for
    the current posting when given, and a shaded area for the demand, the
    officers its recorded hours keep busy in that hour. All on the same axis.
    """
    areas = [area] if area is not None else _ordered(by_hour["area"])
    roles = _ordered(by_hour["role"])
    fig = new_figure(10.0, 1.9 * len(areas) + 1.0, margins=(0.7, 0.2, 0.75, 0.4), hspace=0.35)
    axes = fig.subplots(len(areas), 1, squeeze=False, sharex=True)[:, 0]
    hours = np.arange(168)
    has_current = "current_on_duty" in by_hour.columns
    for ax, a in zip(axes, areas, strict=True):
        rows = by_hour[by_hour["area"].astype(str) == a]
        for k, r in enumerate(roles):
            colour = _ROLE_COLOURS[k % len(_ROLE_COLOURS)]
            mine = rows[rows["role"].astype(str) == r].sort_values("hour_of_week")
            demand = mine["demand"].to_numpy(dtype="float64")
            if np.isfinite(demand).any():
                ax.fill_between(hours, np.nan_to_num(demand), step="mid", alpha=0.25, color=colour,
                                linewidth=0, label=f"{r} demand (officers busy)")
            ax.step(hours, mine["on_duty"].to_numpy(dtype="float64"), where="mid", color=colour,
                    linewidth=1.1, label=f"{r} on duty")
            if has_current:
                ax.step(hours, mine["current_on_duty"].to_numpy(dtype="float64"), where="mid", color=colour,
                        linewidth=0.9, linestyle=":", label=f"{r} on duty now")
        ax.set_xticks(np.arange(0, 168, 24), _DAYS, fontsize=8)
        ax.set_xlim(0, 167)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("officers", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(a, fontsize=9, loc="left")
        ax.grid(axis="x", linewidth=0.4)
    fig.suptitle("Officers on duty against demand by hour of the week (one scale: officers)",
                 fontsize=10, x=0.07, ha="left", y=1 - 0.15 / fig.get_figheight())
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="upper right", ncols=min(len(labels), 6), frameon=False,
               bbox_to_anchor=(1 - 0.2 / 10.0, 1 - 0.35 / fig.get_figheight()))
    return fig

