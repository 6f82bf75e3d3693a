"""The service-level heat map: areas x buckets, the share of Immediate calls attended within target.

:func:`plot_service` draws ``RotaAllocation.service_levels`` (or the run
directory's ``service_levels.csv``): each cell the share of the first
grade's calls attended within target at the bucket's worst hour, or, when
the queueing model's figures are not there, the officers short of the floor.
Grey: no floor in that bucket. matplotlib is the ``plot`` extra.

Examples
--------
>>> import pandas as pd
>>> from allocator.present.plots import figure_png
>>> frame = pd.DataFrame({"area": ["North", "North", "South"], "bucket": ["Mon Early", "Mon Night", "Mon Night"],
...                       "shortfall": [0.0, 1.5, 0.0], "met": [True, False, True],
...                       "within_immediate": [0.93, 0.41, 0.95]})
>>> service_grid(frame, "within_immediate").to_numpy().tolist()
[[0.93, 0.41], [nan, 0.95]]
>>> service_column(frame)
'within_immediate'
>>> png = figure_png(plot_service(frame))
>>> png[:4] == b"\\x89PNG", png == figure_png(plot_service(frame))
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allocator.present.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

__all__ = ["plot_service", "service_column", "service_grid"]


def _ordered(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return [str(v) for v in dict.fromkeys(values.astype(str).tolist())]


def service_column(frame: pd.DataFrame) -> str:
    """The column the heat map shows: the first ``within_<grade>`` share, else ``shortfall``."""
    return next((str(c) for c in frame.columns if str(c).startswith("within_")), "shortfall")


def service_grid(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` as an area x bucket frame, in the table's order (NaN: no floor in the bucket)."""
    areas, names = _ordered(frame["area"]), _ordered(frame["bucket"])
    grid = np.full((len(areas), len(names)), np.nan)
    a = pd.Categorical(frame["area"].astype(str), categories=areas).codes
    b = pd.Categorical(frame["bucket"].astype(str), categories=names).codes
    grid[a, b] = frame[column].to_numpy(dtype="float64")
    return pd.DataFrame(grid, index=pd.Index(areas, name="area"), columns=pd.Index(names, name="bucket"))


def plot_service(frame: pd.DataFrame, service_level: float | None = None) -> Figure:
    """Heat map of the service per (area, bucket).

    With the queueing model's figures: the share of the first grade's calls
    attended within target (0 to 100%; cells below ``service_level`` are
    outlined). Without them: officers short of the floor (0 is met).
    """
    from matplotlib import colormaps

    column = service_column(frame)
    share = column != "shortfall"
    grid = service_grid(frame, column)
    values = grid.to_numpy()
    areas, names = list(grid.index), list(grid.columns)
    cmap = colormaps["RdYlGn" if share else "Reds"].with_extremes(bad="#d9d9d9")
    top = 1.0 if share else max(float(np.nanmax(values)) if np.isfinite(values).any() else 0.0, 1.0)
    width = max(6.0, 2.2 + 0.42 * len(names))
    fig = new_figure(width, 0.32 * len(areas) + 1.9, margins=(1.9, 1.1, 0.3, 0.8))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=top, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            text = f"{100 * v:.0f}" if share else f"{v:.1f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=6, color="black")
            if share and service_level is not None and v < service_level:
                ax.add_patch(_outline(j, i))
    ax.set_yticks(range(len(areas)), areas, fontsize=7)
    ax.set_xticks(range(len(names)), names, fontsize=6, rotation=90)
    grade = column.removeprefix("within_").capitalize()
    ax.set_title(f"{grade} calls attended within target, % (worst hour of each bucket)" if share
                 else "officers short of the response floor (0: met)", fontsize=9, loc="left")
    bar = fig.colorbar(image, ax=ax, fraction=0.02, pad=0.02)
    bar.set_label("share within target (grey: no floor)" if share else "officers short (grey: no floor)",
                  fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return fig


def _outline(x: int, y: int) -> Rectangle:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.0)
