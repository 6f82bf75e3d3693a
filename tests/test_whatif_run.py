"""run_scenarios: the base read once, each scenario solved; the same answer wherever it runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.whatif import ScenarioResults, load_base, run_scenarios
from allocator.whatif.apply import grow_partials
from tests.whatif_helpers import rota_force, small_base, spec


@pytest.fixture(scope="module")
def sample_run() -> tuple[ScenarioResults, allocator.whatif.Base]:
    s = spec("  - name: Unchanged\n"
             "  - name: Abstraction 60%\n    roles: {PC: {abstraction: 0.6}}\n", current=True)
    base = load_base(s)
    return run_scenarios(s, processes=1, base=base), base


def test_a_scenario_without_variation_equals_a_plain_allocate(sample_run) -> None:
    results, _ = sample_run
    force = rota_force()
    loaded = allocator.load_demand(allocator.sample_path("demand.csv"), force)
    plain = allocator.allocate(allocator.compute_workload(loaded.records, force), force,
                               current=allocator.sample_path("current.csv"), time_limit=30)
    for name in ("base", "Unchanged"):
        outcome = results[name]
        assert outcome.status == plain.solver.status == "optimal"
        pd.testing.assert_frame_equal(outcome.posts, plain.table)
        pd.testing.assert_frame_equal(outcome.buckets, plain.buckets)
        assert outcome.ratios == plain.ratios
    row = results.comparison.set_index("scenario").loc["Unchanged"]
    assert row["min_coverage"] == pytest.approx(float(plain.metrics.loc["all", "min_coverage"]), rel=0, abs=0)
    assert row["moves"] == float(plain.metrics.loc["all", "moves"])


def test_more_abstraction_lowers_coverage_in_proportion_to_the_officers_available(sample_run) -> None:
    """Abstraction scales every PC bucket's capacity by (1 - a): the posting holds, coverage scales."""
    results, _ = sample_run
    comp = results.comparison.set_index("scenario")
    ratio = comp.loc["Abstraction 60%", "min_coverage_PC"] / comp.loc["base", "min_coverage_PC"]
    assert ratio == pytest.approx(0.4 / 0.5, rel=1e-9)
    np.testing.assert_array_equal(results["Abstraction 60%"].x, results["base"].x)


def test_the_tidy_table_has_one_row_per_scenario_area_role_and_bucket(sample_run) -> None:
    results, base = sample_run
    t = results.table
    assert list(t.columns) == ["scenario", "area", "role", "bucket", "posts", "on_duty", "coverage", "utilisation"]
    n_buckets = results["base"].buckets["bucket"].nunique()
    assert len(t) == 3 * len(base.force.areas) * len(base.force.roles) * n_buckets
    base_rows = t[t["scenario"] == "base"]
    per_area_role = base_rows.groupby(["area", "role"])["posts"].agg(["min", "max"])
    assert (per_area_role["min"] == per_area_role["max"]).all()
    pc = base_rows[base_rows["role"] == "PC"].groupby("area")["posts"].first().sum()
    assert pc == 400
    solver = results.solver
    assert {"objective", "bound", "gap", "seconds", "status"} <= set(solver.columns)
    assert (solver[solver["scenario"] == "base"]["status"] == "optimal").all()


def test_an_establishment_change_is_solved_without_the_current_posting_and_says_so() -> None:
    s = spec("  - name: Lose 20 PCs\n    roles: {PC: {establishment_change: -20}}\n", current=True)
    results = run_scenarios(s, processes=1, base=load_base(s))
    row = results.comparison.set_index("scenario").loc["Lose 20 PCs"]
    assert row["status"] == "optimal" and np.isnan(row["moves"])
    assert "solved without the current posting" in row["note"]
    changes = results.posting_changes("Lose 20 PCs")
    assert changes.loc[changes["role"] == "PC", "change"].sum() == -20
    assert changes.loc[changes["role"] != "PC", "change"].abs().sum() == 0


def test_demand_growth_of_one_everywhere_changes_nothing_and_scales_exactly() -> None:
    base = small_base()
    s = spec("  - name: One\n    demand: [{multiplier: 1.0}]\n"
             "  - name: Double\n    demand: [{multiplier: 2.0}]\n")
    results = run_scenarios(s, processes=1, base=base)
    np.testing.assert_array_equal(results["One"].x, results["base"].x)
    # twice the demand everywhere: the same posting (shares are unchanged), half the coverage
    np.testing.assert_array_equal(results["Double"].x, results["base"].x)
    assert results["Double"].ratios["PC"] == pytest.approx(results["base"].ratios["PC"] / 2, rel=1e-12)
    util = results.table.pivot_table(index=["area", "role", "bucket"], columns="scenario", values="utilisation",
                                     observed=True)
    np.testing.assert_allclose(util["Double"], 2 * util["base"], rtol=1e-9)
    assert grow_partials(base.partials, np.ones((6, len(base.force.demand_types)))) is base.partials


def test_local_processes_give_the_same_results_as_in_process() -> None:
    base = small_base()
    s = spec("  - name: DA up\n    demand: [{type: DA, multiplier: 1.3}]\n"
             "  - name: Abstraction 40%\n    roles: {PC: {abstraction: 0.4}}\n")
    here = run_scenarios(s, processes=1, base=base)
    there = run_scenarios(s, processes=2, base=base)
    pd.testing.assert_frame_equal(here.table, there.table)
    pd.testing.assert_frame_equal(here.comparison, there.comparison)


def test_processes_must_be_positive() -> None:
    with pytest.raises(allocator.ArgumentError, match="processes"):
        run_scenarios(spec("  - name: A\n"), processes=0, base=small_base())


def test_a_force_of_shifts_is_refused_by_name() -> None:
    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    with pytest.raises(allocator.InputError, match="need a force on duty patterns"):
        allocator.whatif.Base.from_records(allocator.sample_demand(force, 100, seed=1), force)


def test_a_bad_current_posting_is_reported_before_the_demand_is_read(tmp_path) -> None:
    current = pd.read_csv(allocator.sample_path("current.csv"))
    current.loc[3, "area"] = "Swindon Nowhere"
    current.to_csv(tmp_path / "current.csv", index=False)
    text = (f"base: {{force: {allocator.sample_path('force.yaml')}, demand: {tmp_path / 'missing.csv'}, "
            f"current: {tmp_path / 'current.csv'}}}\nscenarios: []\n")
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(allocator.InputError, match="Swindon Nowhere"):
        load_base(tmp_path / "s.yaml")
