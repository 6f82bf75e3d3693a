"""Figures of an allocation and its workload (matplotlib, Agg backend, no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`figure_png`
turns one into PNG bytes that are the same for the same figure, byte for byte
(no software tag, no dates). matplotlib is the ``plot`` extra: without it the
functions raise ``ImportError`` naming ``allocator[plot]``.

The functions take the library's objects (an ``Allocation``, a ``Workload``)
or the tidy tables they carry, so a report can be drawn again from a run
directory's CSV files.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({
...     "area": ["North", "North", "South", "South"],
...     "shift": ["Day", "Night"] * 2,
...     "role": ["PC"] * 4,
...     "posts": [5, 3, 4, 2],
...     "workload_hours": [100.0, 60.0, 80.0, 0.0],
...     "coverage": [1.1, 1.2, 1.0, float("inf")],
... })
>>> fig = plot_allocation(table)
>>> png = figure_png(fig)
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", png == figure_png(plot_allocation(table))
(True, True)
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_DPI",
    "before_coverage",
    "coverage_grid",
    "figure_png",
    "on_duty_by_hour",
    "plot_allocation",
    "plot_hour_profile",
    "plot_workload",
]

#: the resolution of every figure (PNG bytes depend on it)
FIGURE_DPI = 100
_DPI = FIGURE_DPI
#: coverage colours: dark red (a role's smallest) through pale yellow to dark blue (its largest)
_COVERAGE_CMAP = "RdYlBu"
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def new_figure(width: float, height: float, margins: tuple[float, float, float, float] = (0.8, 0.3, 0.5, 0.6),
            hspace: float = 0.45, wspace: float = 0.3) -> Figure:
    """A new figure on the Agg canvas, detached from pyplot.

    ``margins`` are left, right, top, bottom in inches (fixed margins draw far
    faster than matplotlib's constrained layout).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "plots need matplotlib: install the plot extra, pip install 'allocator[plot]'"
        ) from exc
    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    left, right, top, bottom = margins
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height, hspace=hspace, wspace=wspace)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, deterministic (no ``Software`` tag, fixed DPI)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _ordered(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return [str(v) for v in dict.fromkeys(values.tolist())]


def _table(allocation: Any) -> pd.DataFrame:
    return allocation if isinstance(allocation, pd.DataFrame) else allocation.table


def before_coverage(table: pd.DataFrame) -> pd.Series:
    """Coverage the current posting gave, per row of an allocation table.

    Capacity is proportional to posts within a (shift, role): one post there
    gives ``coverage x workload_hours / posts`` hours wherever it is. That
    capacity per post times ``current``, over ``workload_hours``, is the
    coverage before. NaN where the (shift, role) has no posts to measure by,
    or where there is no workload (then coverage is not defined).
    """
    t = table.assign(shift=table["shift"].astype(str), role=table["role"].astype(str))
    ok = (t["posts"] > 0) & np.isfinite(t["coverage"]) & (t["workload_hours"] > 0)
    per_post = (t["coverage"] * t["workload_hours"] / t["posts"]).where(ok)
    cpp = per_post.groupby([t["shift"], t["role"]]).transform("median")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = t["current"] * cpp / t["workload_hours"]
    return out.where(t["workload_hours"] > 0).astype("float64")


def coverage_grid(table: pd.DataFrame, role: str, column: str = "coverage") -> pd.DataFrame:
    """``column`` for one role as an area x shift frame, in the table's order.

    NaN where the table has no row for the cell or its value is NaN (no
    workload: drawn grey, not as a coverage of 0).

    >>> t = pd.DataFrame({"area": ["A", "A", "B"], "shift": ["D", "N", "D"], "role": "PC",
    ...                   "coverage": [1.5, float("nan"), 2.0]})
    >>> coverage_grid(t, "PC").to_numpy().tolist()
    [[1.5, nan], [2.0, nan]]
    """
    areas, shifts = _ordered(table["area"]), _ordered(table["shift"])
    rows = table[table["role"].astype(str) == role]
    a = pd.Categorical(rows["area"].astype(str), categories=areas).codes
    s = pd.Categorical(rows["shift"].astype(str), categories=shifts).codes
    total = np.zeros((len(areas), len(shifts)))
    seen = np.zeros((len(areas), len(shifts)), dtype=bool)
    np.add.at(total, (a, s), rows[column].to_numpy(dtype="float64"))
    seen[a, s] = True
    return pd.DataFrame(np.where(seen, total, np.nan), index=pd.Index(areas, name="area"),
                        columns=pd.Index(shifts, name="shift"))


def _heatmap(ax: Any, values: np.ndarray, posts: np.ndarray | None, areas: list[str],
             shifts: list[str], title: str, vmin: float, vmax: float) -> Any:
    shown = np.where(np.isfinite(values), values, np.nan)
    masked = np.ma.masked_invalid(shown)
    im = ax.imshow(masked, cmap=_COVERAGE_CMAP, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_facecolor("#dddddd")
    ax.set_xticks(range(len(shifts)), shifts, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(areas)), areas, fontsize=8)
    ax.set_title(title, fontsize=9)
    for i in range(len(areas)):
        for j in range(len(shifts)):
            v = values[i, j]
            label = "-" if not np.isfinite(v) else f"{v:.2f}"
            if posts is not None:
                label = f"{int(posts[i, j])}\n{label}"
            # the scale is dark at both ends: white figures there, black in the pale middle
            level = (v - vmin) / (vmax - vmin) if np.isfinite(v) and vmax > vmin else 0.5
            colour = "white" if level < 0.2 or level > 0.8 else "black"
            ax.text(j, i, label, ha="center", va="center", fontsize=7, color=colour)
    return im


def plot_allocation(allocation: Any, role: str | None = None) -> Figure:
    """Heatmaps area x shift of coverage (posts and ratio in each cell), per role.

    Each role has its own colour scale, from its smallest coverage (dark red)
    to its largest (dark blue), shared by its before and after panels.

    With a current posting in the table (column ``current``), each role gets
    two panels: before (the current posting) and after (the allocation).

    Parameters
    ----------
    allocation
        An ``Allocation`` or its tidy table (``area, shift, role, posts,
        workload_hours, coverage`` and optionally ``current``).
    role
        Draw only this role; default all roles.
    """
    table = _table(allocation)
    roles = _ordered(table["role"]) if role is None else [role]
    if role is not None and role not in _ordered(table["role"]):
        raise KeyError(f"unknown role {role!r}; known: {', '.join(_ordered(table['role']))}")
    areas, shifts = _ordered(table["area"]), _ordered(table["shift"])
    with_before = "current" in table.columns
    table = table.assign(before=before_coverage(table)) if with_before else table
    ncols = 2 if with_before else 1
    label_in = 0.09 * max(len(a) for a in areas) + 0.3
    fig = new_figure(3.6 * ncols + label_in * ncols + 1.2, (0.42 * len(areas) + 1.3) * len(roles) + 0.2,
                  margins=(label_in, 0.2, 0.35, 0.6), hspace=0.4, wspace=0.05 + 1.2 * label_in / 3.6)
    axes = np.atleast_2d(fig.subplots(len(roles), ncols, squeeze=False))
    for r, name in enumerate(roles):
        after = coverage_grid(table, name).to_numpy()
        posts = coverage_grid(table, name, "posts").to_numpy()
        panels = [(after, posts, f"{name}: coverage after")]
        if with_before:
            before = coverage_grid(table, name, "before").to_numpy()
            current = coverage_grid(table, name, "current").to_numpy()
            panels.insert(0, (before, current, f"{name}: coverage before (current posting)"))
        finite = np.concatenate([p[0][np.isfinite(p[0])] for p in panels])
        vmin = float(finite.min()) if finite.size else 0.0
        vmax = max(float(finite.max()) if finite.size else 1.0, vmin + 1e-9)
        images = [
            _heatmap(axes[r, c], values, n, areas, shifts, title, vmin, vmax)
            for c, (values, n, title) in enumerate(panels)
        ]
        fig.colorbar(images[-1], ax=list(axes[r, :]), shrink=0.9, fraction=0.04, pad=0.02, label="coverage")
    return fig


def _by_type(workload: Any) -> pd.DataFrame:
    return workload if isinstance(workload, pd.DataFrame) else workload.by_type


def plot_workload(workload: Any, labels: dict[str, str] | None = None) -> Figure:
    """Judged workload hours by demand type per area (stacked bars, all roles and shifts).

    Parameters
    ----------
    workload
        A ``Workload`` or its ``by_type`` table (``area, demand_type, hours``).
    labels
        Demand type code -> name for the legend.
    """
    by_type = _by_type(workload)
    areas, types = _ordered(by_type["area"]), _ordered(by_type["demand_type"])
    grid = (
        pd.DataFrame({"area": by_type["area"].astype(str).to_numpy(),
                      "demand_type": by_type["demand_type"].astype(str).to_numpy(),
                      "hours": by_type["hours"].astype("float64").to_numpy()})
        .pivot_table(index="area", columns="demand_type", values="hours", aggfunc="sum", sort=False)
        .reindex(index=areas, columns=types)
        .fillna(0.0)
    )
    label_in = 0.09 * max(len(a) for a in areas) + 0.3
    legend_in = 0.075 * max(len((labels or {}).get(t, t)) for t in types) + 0.6
    fig = new_figure(7.0 + label_in + legend_in, 0.4 * len(areas) + 1.2, margins=(label_in, legend_in, 0.4, 0.55))
    ax = fig.subplots()
    left = np.zeros(len(areas))
    cmap = _colormap("tab20")
    for k, t in enumerate(types):
        vals = grid[t].to_numpy()
        ax.barh(range(len(areas)), vals, left=left, color=cmap(k % 20),
                label=(labels or {}).get(t, t))
        left += vals
    ax.set_yticks(range(len(areas)), areas, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("judged workload, hours over the window")
    ax.set_title("Workload by demand type per area", fontsize=10)
    ax.legend(fontsize=7, ncols=1, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _colormap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def on_duty_by_hour(table: pd.DataFrame, force: Any, column: str = "posts") -> pd.DataFrame:
    """Officers on duty in each hour of the week per role, from a posting.

    ``column`` of the table (posts or current) x (1 - abstraction) x the
    fraction of the hour each shift is on duty, summed over areas and shifts.
    Returns a tidy frame ``hour_of_week, role, on_duty`` (168 rows per role).
    """
    shifts, roles = force.shift_names, force.role_names
    cover = force.shift_cover()  # (24, shifts)
    rows = []
    for k, role in enumerate(roles):
        keep = table["role"].astype(str) == role
        posts = (
            table[keep].assign(shift=table.loc[keep, "shift"].astype(str))
            .groupby("shift", sort=False)[column].sum()
            .reindex(shifts).fillna(0).to_numpy(dtype="float64")
        )
        daily = cover @ (posts * (1.0 - force.roles[k].abstraction))  # (24,)
        weekly = np.tile(daily, 7)
        rows.append(pd.DataFrame({"hour_of_week": np.arange(168), "role": role, "on_duty": weekly}))
    return pd.concat(rows, ignore_index=True)


def plot_hour_profile(by_hour: pd.DataFrame, on_duty: pd.DataFrame, weeks: float,
                      current: pd.DataFrame | None = None) -> Figure:
    """Hour-of-week demand against officers on duty, one panel per role.

    Demand is the judged workload hours in each hour of the week, summed over
    areas and divided by the weeks in the window: the officers kept busy on
    average in that hour. It is drawn against the on-duty officers of the
    allocation (and of the current posting, when given), on its own scale
    (right) so the two shapes can be compared.

    Parameters
    ----------
    by_hour
        Tidy ``area, hour_of_week, role, hours`` (``Workload.by_hour``).
    on_duty
        Tidy ``hour_of_week, role, on_duty`` (:func:`on_duty_by_hour`).
    weeks
        Weeks in the demand window.
    current
        The same as ``on_duty`` for the current posting.
    """
    roles = _ordered(by_hour["role"])
    fig = new_figure(9.0, 2.0 * len(roles) + 1.05, margins=(0.7, 0.5, 0.65, 0.4), hspace=0.3)
    axes = fig.subplots(len(roles), 1, squeeze=False)[:, 0]
    hours = np.arange(168)
    for ax, role in zip(axes, roles, strict=True):
        rows = by_hour[by_hour["role"].astype(str) == role]
        demand = (
            rows.groupby(rows["hour_of_week"].astype("int64"))["hours"].sum()
            .reindex(hours).fillna(0.0).to_numpy() / max(weeks, 1e-9)
        )
        twin = ax.twinx()
        twin.fill_between(hours, demand, step="mid", alpha=0.3, color="tab:red", linewidth=0)
        twin.set_ylim(bottom=0, top=max(float(demand.max()), 1e-9) * 1.15)
        twin.tick_params(axis="y", labelsize=7, colors="tab:red")
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.fill_between([], [], color="tab:red", alpha=0.3, label="demand, officers busy (right scale)")
        duty = on_duty[on_duty["role"].astype(str) == role].sort_values("hour_of_week")
        ax.step(hours, duty["on_duty"].to_numpy(), where="mid", color="tab:blue",
                label="on duty (allocation)")
        if current is not None:
            cur = current[current["role"].astype(str) == role].sort_values("hour_of_week")
            ax.step(hours, cur["on_duty"].to_numpy(), where="mid", color="tab:gray",
                    linestyle="--", label="on duty (current)")
        ax.set_xticks(np.arange(0, 168, 24), _DAYS, fontsize=8)
        ax.set_xlim(0, 167)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{role} on duty", fontsize=9)
        ax.grid(axis="x", linewidth=0.4)
    axes[0].set_title("Demand by hour of week against officers on duty", fontsize=10, loc="left", pad=16)
    # above the first panel, clear of the data
    axes[0].legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False)
    return fig
