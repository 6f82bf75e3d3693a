"""Why a scenario's smallest coverage can rise with its demand: the response floors come first.

On the sample, domestic abuse up 15% lowers the share of the response floors
that can be met; fewer officers are then held to the floors, and the smallest
coverage rises above the base's. Without the floors the same growth lowers
it. The what-if report must say so rather than leave a resourcing team to
wonder.
"""

from __future__ import annotations

import numpy as np
import pytest

import allocator
from allocator.present.whatif_report import build_whatif_report, floor_trade_offs
from allocator.whatif import run_scenarios
from allocator.whatif.apply import grow_partials
from tests.whatif_helpers import spec

DA = "  - name: Domestic abuse +15%\n    demand:\n      - {type: DA, multiplier: 1.15}\n"


@pytest.fixture(scope="module")
def results():
    return run_scenarios(spec(DA), processes=1)


def test_more_response_demand_meets_fewer_floors_and_the_report_explains_the_coverage(results) -> None:
    comp = results.comparison.set_index("scenario")
    base, grown = comp.loc["base"], comp.loc["Domestic abuse +15%"]
    assert grown["response_floor_share"] < base["response_floor_share"]
    assert grown["min_coverage"] > base["min_coverage"]  # the floors held fewer officers
    lines = floor_trade_offs(results.comparison)
    assert len(lines) == 1 and lines[0].startswith("Domestic abuse +15%: response floors met to 75% (base 78%)")
    report = build_whatif_report(results, figures=False)
    assert "Response floors come first" in report.markdown
    for line in lines:
        assert line in report.markdown


def test_without_floors_more_demand_never_raises_the_smallest_coverage() -> None:
    """The same growth with the service-level stage off: the proven maximin can only fall."""
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    workload = allocator.compute_workload(allocator.load_demand(allocator.sample_path("demand.csv"), force).records,
                                          force)
    m = np.ones((len(force.area_names), len(force.demand_types)))
    m[:, [t.code for t in force.demand_types].index("DA")] = 1.15
    grown_workload = allocator.workload_from_partials(grow_partials(workload.partials, m), force, workload.as_of)
    base = allocator.allocate(workload, force, service_levels=False)
    grown = allocator.allocate(grown_workload, force, service_levels=False)
    assert base.solver.status == grown.solver.status == "optimal"
    assert grown.metrics.loc["all", "min_coverage"] < base.metrics.loc["all", "min_coverage"]
