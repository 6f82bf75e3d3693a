"""The report, figures and notebook display of an allocation on duty patterns (the rota sample)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import allocator
from allocator.cli._common import jsonable
from allocator.data.demand import load_demand
from allocator.present.plots import figure_png
from allocator.present.rota_report import (
    UTILISATION_NOTE,
    RotaReportData,
    binding_by_family,
    build_rota_report,
    posts_with_teams,
    team_sizes,
)
from allocator.results.rota import RotaAllocation
from allocator.workload.engine import compute_workload

SAMPLE = allocator.sample_path()


@pytest.fixture(scope="module")
def force() -> allocator.Force:
    return allocator.load_force(SAMPLE / "force.yaml")


@pytest.fixture(scope="module")
def allocation(force: allocator.Force) -> RotaAllocation:
    loaded = load_demand(SAMPLE / "demand.csv", force)
    workload = compute_workload(loaded.records, force)
    result = allocator.allocate(workload, force, current=SAMPLE / "current.csv", time_limit=30)
    assert isinstance(result, RotaAllocation)
    return result


@pytest.fixture(scope="module")
def data(allocation: RotaAllocation, force: allocator.Force) -> RotaReportData:
    return RotaReportData.from_allocation(allocation, force, jsonable(allocation.solver),
                                          parameters={"backend": "cpsat", "time_limit": 30, "max_moves": None})


def test_team_sizes_read_as_a_resourcing_team_says_them() -> None:
    assert team_sizes([12, 14, 13, 13, 12]) == "12-14 per team"
    assert team_sizes([13] * 5) == "13 per team"
    assert team_sizes([9]) == ""


def test_posts_table_has_each_rota_team_sizes(allocation: RotaAllocation, force: allocator.Force) -> None:
    grid = posts_with_teams(allocation.table, force.area_names, force.role_names)
    row = grid[grid["area"] == "Wiltshire East"].iloc[0]
    teams = allocation.table[(allocation.table["area"] == "Wiltshire East")
                             & (allocation.table["role"] == "PC")]["posts"].tolist()
    assert row["PC"] == sum(teams)
    assert row["PC teams"] == f"Response: {team_sizes(teams)}"
    assert row["LCI teams"] == "Investigation"
    total = grid[grid["area"] == "Total"].iloc[0]
    assert (total["PC"], total["PCSO"], total["LCI"]) == (400, 120, 60)
    now = allocation.table.groupby("role", observed=True)["current"].sum()
    assert total["PC now"] == now["PC"]


def test_report_sections_and_numbers(data: RotaReportData, allocation: RotaAllocation) -> None:
    rep = build_rota_report(data, figures=False)
    md = rep.markdown
    heads = re.findall(r"^#+ (.*)$", md, flags=re.M)
    assert heads == ["Allocation report: Sample Constabulary", "Summary", "Posts per area and role", "Rotas",
                     "Figures", "Busiest buckets", "Service levels", "Buckets short of the floor", "Buckets the service level decides",
                     "Expected waits",
                     "Moves", "Rules that bound the answer", "Run", "Solver stages"]
    assert "Figures left out: matplotlib is not installed" in md
    m = allocation.metrics
    assert "Posts allocated: PC 400 of 400, PCSO 120 of 120, LCI 60 of 60" in md
    assert "Smallest coverage: " + ", ".join(f"{r} {m.loc[r, 'min_coverage']:.3f}" for r in ("PC", "PCSO", "LCI")) in md
    for r in ("PC", "PCSO", "LCI"):
        assert f"{r} {m.loc[r, 'utilisation']:.0f}% (buckets {m.loc[r, 'min_utilisation']:.0f}% to " in md
    moved = int(allocation.moves["officers"].sum())
    assert f"Officers moved: {moved:,} (" in md and moved == int(m.loc["all", "moves"])
    assert "CPSM's benchmark is at most 60%" in md and UTILISATION_NOTE.split(":")[0] in md
    # the rota table: cycle, teams, relief factor, duty hours
    assert "| Response | PC | rota | 10 | 5 | 1.67 | 36.40 |" in md
    # rule families with counts
    fams = binding_by_family(allocation.binding)
    for row in fams.itertuples(index=False):
        assert f"| {row.family} | {row[1]} |" in md
    assert "seconds" not in md.lower().replace("the solve time is in run.json", "")
    assert "<script" not in rep.html and "http" not in rep.html


def test_report_figures_are_drawn_and_inline(data: RotaReportData) -> None:
    rep = build_rota_report(data, figures=True)
    assert list(rep.figures) == ["figures/utilisation.png", "figures/utilisation_before.png", "figures/on_duty.png",
                                 "figures/service_levels.png"]
    for png in rep.figures.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![utilisation per role, after](figures/utilisation.png)" in rep.markdown
    assert rep.html.count("data:image/png;base64,") == 4
    assert build_rota_report(data, figures=True) == rep


def test_by_hour_demand_adds_up_to_the_buckets(allocation: RotaAllocation) -> None:
    f = allocation.formulation
    h = allocation.by_hour
    pc = h[(h["area"] == "Swindon North") & (h["role"] == "PC")]
    buckets = allocation.buckets
    row = buckets[(buckets["area"] == "Swindon North") & (buckets["role"] == "PC")]
    # PCs work every bucket, so nothing is carried forward: hourly committed hours add up to the bucket's
    hours_in = pc["demand"].to_numpy() * f.weeks
    per_bucket = np.bincount(f.bucket_of_hour, weights=hours_in, minlength=len(f.buckets))
    np.testing.assert_allclose(per_bucket, row["committed_hours"].to_numpy(), rtol=1e-9)
    per_duty = np.array([pc["on_duty"].to_numpy()[f.bucket_of_hour == b].mean() for b in range(len(f.buckets))])
    np.testing.assert_allclose(per_duty, row["on_duty"].to_numpy(), rtol=1e-9)
    assert "current_on_duty" in h.columns


def test_current_buckets_are_the_picture_before(allocation: RotaAllocation) -> None:
    before = allocation.current_buckets
    assert before is not None
    f = allocation.formulation
    np.testing.assert_allclose(before["utilisation"].to_numpy(), f.utilisation(f.current).ravel())


def test_notebook_display_and_plot(allocation: RotaAllocation) -> None:
    text = allocation._repr_html_()
    assert text.startswith('<div class="allocator-allocation allocator-repr">')
    assert "Response: " in text and " per team" in text and "utilisation %" in text
    assert "CPSM" in text
    fig = allocation.plot()
    assert len(fig.axes) == 4  # three roles and the colour bar
    assert figure_png(allocation.plot("PC"))[:4] == b"\x89PNG"
    with pytest.raises(KeyError, match="unknown role 'PCX'; one of PC, PCSO, LCI"):
        allocation.plot("PCX")


def test_hostile_names_are_shown_as_text_and_a_workload_array_has_no_demand_line(tmp_path: Path) -> None:
    # an area named like markup and a spreadsheet formula; a bare workload array carries no records
    name = "<script>x</script> =HYPERLINK(1)"
    text = (SAMPLE / "force.yaml").read_text(encoding="utf-8").replace("Swindon North", name)
    (tmp_path / "force.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "judgement.csv").write_bytes((SAMPLE / "judgement.csv").read_bytes())
    force = allocator.load_force(tmp_path / "force.yaml")
    W = np.random.default_rng(3).uniform(0.5, 3.0, (len(force.areas), 168, len(force.roles)))
    result = allocator.allocate(W, force, time_limit=30)
    assert isinstance(result, RotaAllocation)
    assert result.by_hour["demand"].isna().all()
    rep = build_rota_report(RotaReportData.from_allocation(result, force, jsonable(result.solver)), figures=True)
    assert "<script>" not in rep.html and "&lt;script&gt;x&lt;/script&gt; =HYPERLINK(1)" in rep.html
    assert "<script>" not in rep.markdown and "&lt;script&gt;x&lt;/script&gt; =HYPERLINK(1)" in rep.markdown
    # without records the committed time is unknown: no utilisation, said as such
    assert result.buckets["utilisation"].isna().all()
    assert "PC - (buckets - to -)" in rep.markdown
    assert list(rep.figures) == ["figures/utilisation.png", "figures/on_duty.png"]


def test_an_explanation_names_the_work_carried_to_a_bucket(allocation: RotaAllocation) -> None:
    e = allocation.explain("Wiltshire East", "LCI", "Mon Early")
    assert e.by_type is not None
    carried = e.workload_hours - float(e.by_type["hours"].sum())
    assert carried > 0  # LCIs work weekdays: Monday's early takes the weekend's and the nights' work
    assert f"plus {carried:.1f} judged h shared in from buckets with no LCI on duty" in str(e)
    pc = allocation.explain("Wiltshire East", "PC", "Mon Early")
    assert pc.by_type is not None and "carried" not in str(pc)
    assert float(pc.by_type["hours"].sum()) == pytest.approx(pc.workload_hours, rel=1e-9)
