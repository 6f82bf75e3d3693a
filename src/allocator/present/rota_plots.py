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

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.present.plots import FIGURE_DPI as _DPI
from allocator.present.plots import figure_png, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["UTILISATION_MAX", "plot_on_duty", "plot_utilisation", "utilisation_grid", "utilisation_pngs"]

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
    with nobody on duty is grey. Each cell is labelled with its percentage;
    the panels share their columns, named under the last one. The cells
    and their labels are one image per panel, drawn at the figure's pixel
    size (a text artist per cell made the figure several times slower to
    draw).
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    roles = [role] if role is not None else _ordered(buckets["role"])
    names = _ordered(buckets["bucket"])
    areas = _ordered(buckets["area"])
    cmap = colormaps[_CMAP].with_extremes(bad="#d9d9d9")
    norm = Normalize(0.0, UTILISATION_MAX)
    width = max(6.0, 2.2 + 0.42 * len(names))
    panel = 0.32 * len(areas) + 0.9
    fig = new_figure(width, (panel + 0.7) * len(roles) + 0.3, margins=(1.9, 1.1, 0.3, 0.8), hspace=0.6)
    axes = fig.subplots(len(roles), 1, squeeze=False)[:, 0]
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), fraction=0.02, pad=0.02)
    bar.set_label("utilisation, % of on-duty time (grey: nobody on duty)", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    for ax, r in zip(axes, roles, strict=True):
        ax.imshow(_panel_cells(ax, buckets, r, cmap, norm), interpolation="nearest", aspect="auto",
                  extent=(-0.5, len(names) - 0.5, len(areas) - 0.5, -0.5))
        ax.set_yticks(range(len(areas)), areas, fontsize=7)
        _panel_title(ax, r, title)
        ax.set_xticks([])
    # the panels share their columns: the buckets are named once, under the last
    axes[-1].set_xticks(range(len(names)), names, fontsize=6, rotation=90)
    return fig


def utilisation_pngs(tables: Sequence[tuple[pd.DataFrame, str]]) -> list[bytes]:
    """PNG bytes of :func:`plot_utilisation` for each ``(buckets, title)``, drawn on one figure when they can be.

    Tables with the first one's areas, roles and buckets (a posting before
    and after) only change the panels' cells and titles, so the figure is
    built once and redrawn: the bytes are those of drawing each table on a
    figure of its own.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    if not tables:
        return []
    first, title = tables[0]
    fig = plot_utilisation(first, title=title)
    layout = (_ordered(first["area"]), _ordered(first["role"]), _ordered(first["bucket"]))
    cmap = colormaps[_CMAP].with_extremes(bad="#d9d9d9")
    norm = Normalize(0.0, UTILISATION_MAX)
    out = [figure_png(fig)]
    for buckets, title in tables[1:]:
        if (_ordered(buckets["area"]), _ordered(buckets["role"]), _ordered(buckets["bucket"])) != layout:
            out.append(figure_png(plot_utilisation(buckets, title=title)))
            continue
        for ax, r in zip(fig.axes, layout[1], strict=False):  # the panels first, then the colour bar
            ax.images[0].set_data(_panel_cells(ax, buckets, r, cmap, norm))
            _panel_title(ax, r, title)
        out.append(figure_png(fig))
    return out


def _panel_title(ax: Any, role: str, title: str) -> None:
    ax.set_title(f"{role}: utilisation (committed time, %), {title}", fontsize=9, loc="left", y=1.0)


def _panel_cells(ax: Any, buckets: pd.DataFrame, role: str, cmap: Any, norm: Any) -> np.ndarray:
    """The cells of ``role``'s panel at the panel's size in pixels (where the colour bar left it)."""
    fig = ax.figure
    box = ax.get_position()
    wide = max(round(box.x1 * fig.bbox.width) - round(box.x0 * fig.bbox.width), 1)
    high = max(round(box.y1 * fig.bbox.height) - round(box.y0 * fig.bbox.height), 1)
    return _labelled_cells(utilisation_grid(buckets, role).to_numpy(), cmap, norm, wide, high)


def _labelled_cells(grid: np.ndarray, cmap: Any, norm: Any, wide: int, high: int) -> np.ndarray:
    """uint8 (high, wide, 4): each cell of ``grid`` in its colour, labelled with its value (no label where NaN)."""
    rows, cols = grid.shape
    x_edge = np.round(np.arange(cols + 1) * wide / max(cols, 1)).astype(int)
    y_edge = np.round(np.arange(rows + 1) * high / max(rows, 1)).astype(int)
    colours = (cmap(norm(np.ma.masked_invalid(grid))) * 255).round().astype(np.uint8)  # (rows, cols, 4)
    row_of = np.repeat(np.arange(rows), np.diff(y_edge))
    col_of = np.repeat(np.arange(cols), np.diff(x_edge))
    image = colours[row_of[:, None], col_of[None, :]].copy()
    for (i, j), v in np.ndenumerate(grid):
        if not np.isfinite(v):
            continue
        alpha = _glyphs(f"{v:.0f}").astype(np.float64) / 255.0
        h, w = alpha.shape
        top = (y_edge[i] + y_edge[i + 1] - h) // 2
        left = (x_edge[j] + x_edge[j + 1] - w) // 2
        t0, l0 = max(top, 0), max(left, 0)
        t1, l1 = min(top + h, high), min(left + w, wide)
        if t1 <= t0 or l1 <= l0:
            continue
        a = alpha[t0 - top:t1 - top, l0 - left:l1 - left, None]
        ink = 255.0 if v > 0.7 * UTILISATION_MAX else 0.0
        part = image[t0:t1, l0:l1, :3].astype(np.float64)
        image[t0:t1, l0:l1, :3] = np.round(part * (1.0 - a) + ink * a).astype(np.uint8)
    return image


@functools.cache
def _glyphs(text: str, size: float = 6.0) -> np.ndarray:
    """uint8 (h, w): ``text`` in the default font at ``size`` points, as coverage (0-255) at the figures' DPI."""
    from matplotlib.backends.backend_agg import get_hinting_flag
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties(size=size)))
    font.clear()
    font.set_size(size, _DPI)
    font.set_text(text, 0.0, flags=get_hinting_flag())
    font.draw_glyphs_to_bitmap(antialiased=True)
    out = np.array(font.get_image(), dtype=np.uint8)
    out.flags.writeable = False
    return out


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
    from matplotlib.ticker import MaxNLocator

    areas = [area] if area is not None else _ordered(by_hour["area"])
    roles = _ordered(by_hour["role"])
    fig = new_figure(10.0, 1.9 * len(areas) + 1.2, margins=(0.7, 0.2, 0.95, 0.4), hspace=0.35)
    axes = fig.subplots(len(areas), 1, squeeze=False)[:, 0]
    hours = np.arange(168)
    has_current = "current_on_duty" in by_hour.columns
    # every series as an (area, role, hour) array at once, not a filter and a sort per panel and role
    a = pd.Categorical(by_hour["area"].astype(str), categories=areas).codes
    r = pd.Categorical(by_hour["role"].astype(str), categories=roles).codes
    h = by_hour["hour_of_week"].to_numpy(dtype=np.int64)
    keep = (a >= 0) & (r >= 0) & (h >= 0) & (h < 168)

    def series(column: str) -> np.ndarray:
        out = np.full((len(areas), len(roles), 168), np.nan)
        out[a[keep], r[keep], h[keep]] = by_hour[column].to_numpy(dtype="float64")[keep]
        return out

    on_duty, demand = series("on_duty"), series("demand")
    current = series("current_on_duty") if has_current else None
    for i, (ax, name) in enumerate(zip(axes, areas, strict=True)):
        for k, role_name in enumerate(roles):
            colour = _ROLE_COLOURS[k % len(_ROLE_COLOURS)]
            if np.isfinite(demand[i, k]).any():
                ax.fill_between(hours, np.nan_to_num(demand[i, k]), step="mid", alpha=0.25, color=colour,
                                linewidth=0, label=f"{role_name} demand (officers busy)")
            ax.step(hours, on_duty[i, k], where="mid", color=colour, linewidth=1.1, label=f"{role_name} on duty")
            if current is not None:
                ax.step(hours, current[i, k], where="mid", color=colour, linewidth=0.9, linestyle=":",
                        label=f"{role_name} on duty now")
        # the days marked by one set of lines per panel; the weekdays named under the last panel only
        ax.vlines(np.arange(24, 168, 24), 0, 1, transform=ax.get_xaxis_transform(), colors="#b0b0b0",
                  linewidth=0.4, zorder=0.5)
        if i == len(areas) - 1:
            ax.set_xticks(np.arange(0, 168, 24), _DAYS, fontsize=8)
        else:
            ax.set_xticks([])
        ax.set_xlim(0, 167)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_ylabel("officers", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(name, fontsize=9, loc="left", y=1.0)  # a fixed place: no search for overlapping ticks
    fig.suptitle("Officers on duty against demand by hour of the week (one scale: officers)",
                 fontsize=10, x=0.07, ha="left", y=1 - 0.15 / fig.get_figheight())
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="upper right", ncols=min(len(labels), 6), frameon=False,
               bbox_to_anchor=(1 - 0.2 / 10.0, 1 - 0.35 / fig.get_figheight()))
    return fig

