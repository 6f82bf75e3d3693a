"""The library in a notebook: HTML reprs, plots and Excel on Allocation and Workload."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.workload.engine import Workload, compute_workload

_VOID = {"br", "img", "meta", "hr", "input", "link"}


class _Strict(HTMLParser):
    """Collects text per table cell and checks every tag is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self.stack and self.stack[-1] != "style":
            self.text.append(data)


def _parse(text: str) -> _Strict:
    p = _Strict()
    p.feed(text)
    p.close()
    assert p.errors == [] and p.stack == [], (p.errors, p.stack)
    return p


def _frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.fixture(scope="module")
def workload(sample_force: allocator.Force) -> Workload:
    return compute_workload(allocator.sample_demand(sample_force, 3000, seed=11), sample_force)


@pytest.fixture(scope="module")
def moved(sample_force: allocator.Force, workload: Workload) -> allocator.Allocation:
    """An allocation against the sample's current posting, at most 5 moves per role."""
    return allocator.allocate(workload, sample_force, current=allocator.sample_path("current_shifts.csv"),
                              max_moves=5, time_limit=20)


@pytest.fixture(scope="module")
def fresh(sample_force: allocator.Force) -> allocator.Allocation:
    w = np.random.default_rng(4).uniform(200, 2000, (6, 5, 3))
    return allocator.allocate(w, sample_force, time_limit=20)


def test_allocation_repr_is_valid_html_with_the_posts_coverage_and_moves(moved: allocator.Allocation) -> None:
    text = moved._repr_html_()
    p = _parse(text)
    assert "<img" not in text and "<script" not in text
    head = "".join(p.text)
    assert f"{moved.solver.backend} {moved.solver.status}" in head
    posts, coverage = _frame(p.tables[0]), _frame(p.tables[1])
    table = moved.table
    for role in moved.problem.roles:
        per_area = table[table["role"] == role].groupby("area", observed=True)["posts"].sum()
        assert posts[f"{role} new"].tolist() == [f"{n:,}" for n in [*per_area.tolist(), int(per_area.sum())]]
        was = table[table["role"] == role].groupby("area", observed=True)["current"].sum()
        assert posts[f"{role} change"].tolist()[:-1] == [
            f"{d:+d}" if d else "0" for d in (per_area - was).tolist()
        ]
    smallest = dict(zip(coverage["role"], coverage["smallest"], strict=True))
    metrics = moved.metrics
    for role in moved.problem.roles:
        assert smallest[role] == f"{float(metrics['min_coverage'][role]):,.2f}"
    per_role = {r: int(metrics["moves"][r]) for r in moved.problem.roles}
    assert all(n <= 5 for n in per_role.values())
    assert (f"Officers moved: {sum(per_role.values())} ("
            + ", ".join(f"{r} {n}" for r, n in per_role.items()) + "); limit 5 per role") in head


def test_allocation_repr_holds_aggregates_only(moved: allocator.Allocation,
                                              fresh: allocator.Allocation) -> None:
    p = _parse(moved._repr_html_())
    assert len(p.tables) == 2
    assert len(p.tables[0]) == 1 + len(moved.problem.areas) + 1  # header, areas, total: no cell-level rows
    plain = _parse(fresh._repr_html_())
    assert _frame(plain.tables[0]).columns.tolist() == ["area", "PC", "PCSO", "LCI"]
    assert "Officers moved" not in "".join(plain.text)


def test_workload_repr_totals_match_the_arrays(workload: Workload) -> None:
    p = _parse(workload._repr_html_())
    by_area, by_shift = _frame(p.tables[0]), _frame(p.tables[1])
    assert by_area["area"].tolist() == [*workload.areas, "Total"]
    assert by_shift["shift"].tolist() == [*workload.shifts, "Total"]
    total = f"{workload.array.sum():,.0f}"
    assert by_area["Total"].iloc[-1] == by_shift["Total"].iloc[-1] == total
    pc = workload.array[:, :, workload.roles.index("PC")].sum(axis=1)
    assert by_area["PC"].tolist()[:-1] == [f"{h:,.0f}" for h in pc]
    assert f"{workload.n_records:,} records" in "".join(p.text)


def _heatmaps(fig: object) -> list[object]:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]  # type: ignore[attr-defined]


def test_plot_returns_a_figure_with_one_heatmap_per_role(fresh: allocator.Allocation,
                                                         moved: allocator.Allocation) -> None:
    from matplotlib.figure import Figure

    fig = fresh.plot()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in _heatmaps(fig)]  # type: ignore[attr-defined]
    assert titles == [f"{r}: coverage after" for r in fresh.problem.roles]
    assert [ax.get_title() for ax in _heatmaps(fresh.plot(role="PCSO"))] == ["PCSO: coverage after"]  # type: ignore[attr-defined]
    # with a current posting: before and after for each role
    assert len(_heatmaps(moved.plot())) == 2 * len(moved.problem.roles)
    with pytest.raises(KeyError, match="PC, PCSO, LCI"):
        fresh.plot(role="Sergeant")


def test_workload_plot_stacks_every_demand_type(workload: Workload, sample_force: allocator.Force) -> None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    labels = {t.code: t.label for t in sample_force.demand_types}
    fig = workload.plot(labels)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    legend_box = ax.get_legend()
    assert legend_box is not None
    legend = [t.get_text() for t in legend_box.get_texts()]
    assert legend == [labels[c] for c in workload.demand_types]
    widths = np.array([bar.get_width() for bar in ax.patches if isinstance(bar, Rectangle)])
    widths = widths.reshape(len(workload.demand_types), -1)
    np.testing.assert_allclose(widths.sum(axis=0), workload.array.sum(axis=(1, 2)), rtol=1e-9)


def test_plots_without_matplotlib_name_the_extra(fresh: allocator.Allocation, workload: Workload,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'allocator\[plot\]'"):
        fresh.plot()
    with pytest.raises(ImportError, match=r"pip install 'allocator\[plot\]'"):
        workload.plot()


def test_to_excel_round_trips_through_read_excel(moved: allocator.Allocation, tmp_path: Path) -> None:
    path = tmp_path / "allocation.xlsx"
    moved.to_excel(path)
    sheets = pd.read_excel(path, sheet_name=None)
    roles = list(moved.problem.roles)
    assert list(sheets) == ["Summary", *roles, "Moves"]
    summary = sheets["Summary"]
    table = moved.table
    for role in roles:
        per_area = table[table["role"] == role].groupby("area", observed=True)["posts"].sum()
        assert summary[role].tolist() == [*per_area.tolist(), int(per_area.sum())]
    # each role's sheet: its area x shift grid, then its rows of the table
    grid_rows = len(moved.problem.areas) + 1
    pc = pd.read_excel(path, sheet_name="PC", skiprows=grid_rows + 3)
    mine = table[table["role"] == "PC"].reset_index(drop=True)
    assert pc["posts"].tolist() == mine["posts"].tolist()
    np.testing.assert_allclose(pc["coverage"].to_numpy(), mine["coverage"].to_numpy(), rtol=1e-12)
    moves = sheets["Moves"]
    assert moves["officers"].sum() == moved.moves["officers"].sum()
    # the same allocation gives the same bytes; no temporary file is left beside it
    again = tmp_path / "again.xlsx"
    moved.to_excel(again)
    assert again.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.xlsx", "allocation.xlsx"]


def test_to_excel_without_a_current_posting_has_no_moves_sheet(fresh: allocator.Allocation,
                                                               tmp_path: Path) -> None:
    fresh.to_excel(tmp_path / "a.xlsx")
    assert list(pd.read_excel(tmp_path / "a.xlsx", sheet_name=None)) == ["Summary", "PC", "PCSO", "LCI"]
