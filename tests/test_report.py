"""The report: self-contained HTML, inline images, aggregates only, deterministic; the plots."""

from __future__ import annotations

import base64
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.present import report as report_mod
from allocator.present.report import ReportData, binding_rules, build_report, posting_summary


def _table(force: allocator.Force, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a in force.area_names:
        for s in force.shift_names:
            for r in force.role_names:
                posts = int(rng.integers(1, 15))
                work = float(rng.uniform(100, 900))
                rows.append((a, s, r, posts, posts * 0.5, work, posts * 400 / work, posts + int(rng.integers(-1, 2))))
    t = pd.DataFrame(rows, columns=["area", "shift", "role", "posts", "on_duty", "workload_hours", "coverage",
                                    "current"])
    t["change"] = t["posts"] - t["current"]
    return t


def _tiny_force() -> allocator.Force:
    return allocator.Force(
        name="Tiny",
        areas=[allocator.Area(name="North", max_posts={"PC": 5}), allocator.Area(name="South")],
        shifts=[allocator.Shift(name="Day", start="07:00", hours=12),
                allocator.Shift(name="Night", start="19:00", hours=12)],
        roles=[allocator.Role(name="PC", establishment=10, abstraction=0.5, min_on_duty={"Night": 1})],
        demand_types=[allocator.DemandType(code="T")],
        judgement=[allocator.JudgementRow(demand_type="T", role="PC", share=1.0, minutes=60)],
        pins=[allocator.Pin(area="South", shift="Day", role="PC", posts=3)],
    )


def _data(f: allocator.Force, moves: pd.DataFrame) -> ReportData:
    rng = np.random.default_rng(1)
    by_type = pd.DataFrame(
        [(a, s, t, r, 2, float(rng.uniform(0, 20))) for a in f.area_names for s in f.shift_names
         for t in f.type_codes for r in f.role_names],
        columns=["area", "shift", "demand_type", "role", "records", "hours"])
    by_hour = pd.DataFrame(
        [(a, h, r, float(rng.uniform(0, 5))) for a in f.area_names for h in range(168) for r in f.role_names],
        columns=["area", "hour_of_week", "role", "hours"])
    return ReportData(force=f, table=_table(f), by_type=by_type, by_hour=by_hour, moves=moves,
                      solver={"backend": "cpsat", "status": "optimal", "gap": 0.0},
                      data={"records_read": 120, "records_accepted": 117, "records_rejected": 3,
                            "window_start": "2026-05-03 00:54:13+01:00",
                            "window_end": "2026-10-31 23:54:13+00:00"},
                      parameters={"backend": "cpsat", "max_moves": 2})


@pytest.fixture(scope="module")
def data(sample_force: allocator.Force) -> ReportData:
    moves = pd.DataFrame({"role": ["PC"], "from_area": ["Swindon North"], "from_shift": ["Early"],
                          "to_area": ["Wiltshire East"], "to_shift": ["Night"], "officers": [2]})
    return _data(sample_force, moves)


@pytest.fixture(scope="module")
def rendered(data: ReportData) -> report_mod.Report:
    """The sample force's report, text only (the figures are drawn for a tiny force below)."""
    return build_report(data, figures=False)


@pytest.fixture(scope="module")
def with_figures() -> report_mod.Report:
    moves = pd.DataFrame({"role": ["PC"], "from_area": ["North"], "from_shift": ["Day"],
                          "to_area": ["South"], "to_shift": ["Night"], "officers": [1]})
    return build_report(_data(_tiny_force(), moves), figures=True)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.links.append((tag, name, value))


def test_html_parses_with_inline_images_and_no_external_links(with_figures: report_mod.Report) -> None:
    rendered = with_figures
    p = _Collect()
    p.feed(rendered.html)
    p.close()
    images = [v for tag, name, v in p.links if tag == "img"]
    assert len(images) == 3
    assert all(v.startswith("data:image/png;base64,") for v in images)
    assert not [v for _, _, v in p.links if v.startswith(("http:", "https:", "//"))]
    assert "script" not in p.tags and "link" not in p.tags
    assert "http://" not in rendered.html and "https://" not in rendered.html
    # the inline images are the figure files, byte for byte, in report order
    inline = [base64.b64decode(v.split(",", 1)[1]) for v in images]
    assert inline == list(rendered.figures.values())


def test_markdown_links_its_figures_as_files_and_stays_small(
    with_figures: report_mod.Report, rendered: report_mod.Report
) -> None:
    md = with_figures.markdown
    assert "data:image" not in md and "base64" not in md
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == list(with_figures.figures) == list(report_mod.FIGURE_FILES)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in with_figures.figures.values())
    assert len(rendered.markdown.encode("utf-8")) < 30_000  # the sample force's report, as text


def test_summary_comes_first_with_posting_status_window_and_counts(
    data: ReportData, rendered: report_mod.Report, with_figures: report_mod.Report
) -> None:
    md = with_figures.markdown
    assert (md.index("## Summary") < md.index("## Coverage by area and shift") < md.index("## Moves")
            < md.index("## Workload") < md.index("## Judgement used") < md.index("## Run"))
    md = rendered.markdown
    posts = data.table.groupby("role")["posts"].sum()
    summary = md[md.index("## Summary"):md.index("## Figures")]
    assert "- Status: optimal (solver cpsat, gap 0)" in summary
    assert (f"- Posts allocated: PC {posts['PC']} of 400, PCSO {posts['PCSO']} of 120, "
            f"LCI {posts['LCI']} of 60") in summary
    assert "- Officers moved: 2 (PC 2, PCSO 0, LCI 0); limit 2 per role" in summary
    # dates only, even when the window is given as full timestamps
    assert "- Demand: 2026-05-03 to 2026-10-31; 120 records read, 117 used, 3 rejected" in summary
    assert "00:54" not in md


def test_numbers_in_a_column_share_their_decimals(rendered: report_mod.Report) -> None:
    md = rendered.markdown
    judgement = md[md.index("## Judgement used"):md.index("## Rules")]
    row = next(line for line in judgement.splitlines() if line.startswith("| THEFT | Theft | PC |"))
    assert row == "| THEFT | Theft | PC | 0.50 | 120 | 1.00 |"
    assert "objective': " not in md  # the solver stages are a table, not a dict dump


def test_same_data_gives_the_same_bytes(data: ReportData) -> None:
    # figures are compared byte for byte in the CLI's two-run test; here the text
    one, two = build_report(data, figures=False), build_report(data, figures=False)
    assert one == two


def test_without_matplotlib_the_report_says_so(data: ReportData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_mod, "_have_matplotlib", lambda: False)
    rep = build_report(data)
    assert "<img" not in rep.html and "figures/" not in rep.markdown and rep.figures == {}
    assert "allocator[plot]" in rep.markdown


def test_plots_name_the_extra_when_matplotlib_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from allocator.present import plots

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    table = pd.DataFrame({"area": ["A"], "shift": ["D"], "role": ["PC"], "posts": [1],
                          "workload_hours": [1.0], "coverage": [1.0]})
    with pytest.raises(ImportError, match=r"allocator\[plot\]"):
        plots.plot_allocation(table)


def test_posting_summary_totals(sample_force: allocator.Force) -> None:
    t = _table(sample_force)
    s = posting_summary(t, sample_force)
    assert s["area"].tolist()[-1] == "Total"
    pc = t[t["role"] == "PC"]
    assert s["PC new"].iloc[-1] == pc["posts"].sum()
    assert s["PC current"].iloc[0] == pc[pc["area"] == "Swindon North"]["current"].sum()


def test_binding_rules_hand_example() -> None:
    force = _tiny_force()
    table = pd.DataFrame({"area": ["North", "North", "South", "South"], "shift": ["Day", "Night"] * 2,
                          "role": ["PC"] * 4, "posts": [3, 2, 3, 2]})
    moves = pd.DataFrame({"role": ["PC"], "officers": [1]})
    rules = binding_rules(table, force, max_moves=1, moves=moves)
    got = set(rules[["rule", "area", "shift"]].itertuples(index=False, name=None))
    assert got == {
        ("establishment shared in full", "all", "all"),
        ("minimum staffing", "North", "Night"),   # 1 on duty at 50% needs 2 posts: has 2
        ("minimum staffing", "South", "Night"),
        ("area maximum", "North", "all"),         # 3 + 2 = 5 = max_posts
        ("pin", "South", "Day"),
        ("move limit", "all", "all"),
    }
