"""Allocation of forces on duty patterns: hand-worked figures, the rules' families, backends agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import allocator
from allocator.model.build import build_formulation, carry_forward
from allocator.model.force import DemandType, Force, JudgementRow, Role
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError

BACKENDS = [b for b in ("cpsat", "pulp:highs", "pulp:cbc") if b in allocator.solve.milp.available_backends()]


def rota_force(areas: int = 2, pc: int = 20, pcso: int = 6, minimum: dict | None = None,
               chance: float | None = None, rules: list | None = None, budget: dict | None = None,
               area_max: int | None = None) -> Force:
    data = {
        "name": "Tiny",
        "areas": [{"name": f"Area {i}", **({"max_posts": {"PC": area_max}} if area_max else {})}
                  for i in range(areas)],
        "windows": [{"name": "Early", "start": "07:00", "hours": 8}, {"name": "Late", "start": "15:00", "hours": 8},
                    {"name": "Night", "start": "23:00", "hours": 8}],
        "patterns": [
            {"name": "Response", "rota": "E E L L N N R R R R", "codes": {"E": "Early", "L": "Late", "N": "Night"},
             "teams": 5, "anchor": "2026-01-05"},
            {"name": "Days", "fixed": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Early"}},
        ],
        "roles": [
            Role(name="PC", establishment=pc, abstraction=0.5, patterns=["Response"], min_on_duty=minimum or {},
                 min_on_duty_chance=chance).model_dump(),
            Role(name="PCSO", establishment=pcso, abstraction=0.4, patterns=["Days"]).model_dump(),
        ],
        "demand_types": [DemandType(code="X").model_dump()],
        "judgement": [JudgementRow(demand_type="X", role="PC", share=0.8, minutes=60).model_dump(),
                      JudgementRow(demand_type="X", role="PCSO", share=0.2, minutes=60).model_dump()],
        "settings": {"window_days": 182},
        "rules": rules or [],
    }
    if budget is not None:
        data["move_budget"] = budget
    return Force.model_validate(data)


def hours_workload(force: Force, seed: int, scale: float = 50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.0, (len(force.areas), 168, len(force.roles))) * scale


# ------------------------------------------------------------------ hand-worked
def test_a_five_team_2_2_2_puts_a_fifth_of_its_posts_on_each_tour_every_day() -> None:
    force = rota_force(areas=1, pc=20)
    f = build_formulation(np.ones((1, 168, 2)), force, days=182)
    pc = np.flatnonzero(f.col_role == 0)
    assert pc.size == 5 and f.period_weeks == 10  # lcm(10, 7) days = 70 = 10 weeks
    x = np.zeros(f.n, dtype=np.int64)
    x[pc] = 4  # 20 PCs, four per team
    duty = f.on_duty(x)[0, 0]  # officers on duty per hour of the week, after 50% abstraction
    # one team of 4 on every tour every hour, half of them abstracted: 2 on duty, every hour of every day
    np.testing.assert_allclose(duty, 2.0)


def test_coverage_of_a_bucket_by_hand() -> None:
    force = rota_force(areas=1, pc=20)
    W = np.zeros((1, 168, 2))
    W[0, 7:15, 0] = 10.0  # Monday Early: 80 judged hours over the window
    f = build_formulation(W, force, days=182)
    x = np.zeros(f.n, dtype=np.int64)
    x[f.col_role == 0] = 4
    b = f.buckets.index("Mon Early")
    # on duty 4 officers x 8 h x 26 weeks x 0.5 available x 1 (no proactive share) = 416 reactive hours
    assert f.coverage(x)[0, 0, b] == pytest.approx(416.0 / 80.0)


def test_five_on_duty_on_nine_dates_in_ten_needs_fourteen_per_team() -> None:
    # one team on duty at a time, 50% abstraction: P(Bin(14, .5) >= 5) = 0.910, P(Bin(13, .5) >= 5) = 0.867
    force = rota_force(areas=1, pc=70, minimum={"Night": 5}, chance=0.9)
    a = allocator.allocate(hours_workload(force, 1), force)
    assert isinstance(a, RotaAllocation)
    teams = a.table[a.table["role"] == "PC"]["posts"]
    assert teams.min() >= 14 and teams.sum() == 70
    short = rota_force(areas=1, pc=65, minimum={"Night": 5}, chance=0.9)
    with pytest.raises(InfeasibleError, match="needs 14"):
        allocator.allocate(hours_workload(short, 1), short)


def test_on_average_the_same_minimum_needs_ten_per_team() -> None:
    force = rota_force(areas=1, pc=50, minimum={"Night": 5})
    a = allocator.allocate(hours_workload(force, 2), force)
    assert a.table[a.table["role"] == "PC"]["posts"].min() >= 10
    short = rota_force(areas=1, pc=49, minimum={"Night": 5})
    with pytest.raises(InfeasibleError, match="minimum staffing needs 50 PCs; the establishment is 49"):
        allocator.allocate(hours_workload(short, 2), short)


def test_work_in_buckets_nobody_works_is_shared_over_the_roles_duty_time() -> None:
    duty = np.array([[[0.0, 1.0, 0.0, 0.0, 3.0]]])
    w = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    # 8 idle hours shared 1:3 over the two worked buckets; the total is kept
    np.testing.assert_allclose(carry_forward(w, duty), [[[0.0, 4.0, 0.0, 0.0, 11.0]]])
    force = rota_force(areas=1)
    f = build_formulation(hours_workload(force, 3), force, days=182)
    pcso = f.workload[0, 1]
    saturday = [b for b, n in enumerate(f.buckets) if n.startswith(("Sat", "Sun"))]
    assert (pcso[saturday] == 0).all() and pcso.sum() == pytest.approx(hours_workload(force, 3)[0, :, 1].sum())


def test_teams_stay_within_one_post_and_the_establishment_is_kept() -> None:
    force = rota_force(areas=3, pc=37)
    a = allocator.allocate(hours_workload(force, 4), force)
    by = a.by_area
    pcs = by[by["role"] == "PC"]
    assert (pcs["largest_team"] - pcs["smallest_team"] <= 1).all()
    assert int(pcs["posts"].sum()) == 37 and int(a.metrics.loc["PCSO", "posts"]) == 6


def test_equal_teams_on_request() -> None:
    force = rota_force(areas=2, pc=40)
    a = allocator.allocate(hours_workload(force, 5), force, equal_teams=True)
    pcs = a.by_area[a.by_area["role"] == "PC"]
    assert (pcs["largest_team"] == pcs["smallest_team"]).all()


# ------------------------------------------------------------- rules across roles
def test_a_ratio_on_posts_and_a_headcount_cap_hold() -> None:
    rules = [{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.35}}, {"cap": {"posts": 14, "areas": ["Area 0"]}}]
    force = rota_force(areas=2, pc=20, pcso=6, rules=rules)
    a = allocator.allocate(hours_workload(force, 6), force)
    posts = a.posts
    assert (posts[:, 1] <= 0.35 * posts[:, 0] + 1e-9).all()
    assert posts[0].sum() <= 14


def test_a_ratio_on_duty_holds_in_every_hour() -> None:
    rules = [{"ratio": {"role": "PC", "per": "PCSO", "at_least": 1, "on": "duty"}}]
    force = rota_force(areas=2, pc=40, pcso=6, rules=rules)
    a = allocator.allocate(hours_workload(force, 7), force)
    duty = a.on_duty
    assert (duty[:, 0, :] >= duty[:, 1, :] - 1e-9).all()
    assert (duty[:, 1, :] > 0).any()
    tight = rota_force(areas=2, pc=20, pcso=6, rules=[{"ratio": {"role": "PC", "per": "PCSO", "at_least": 1.5,
                                                                "on": "duty"}}])
    with pytest.raises(InfeasibleError, match="ratio"):
        allocator.allocate(hours_workload(tight, 7), tight)


def test_a_force_wide_move_budget_holds_and_is_reported() -> None:
    force = rota_force(areas=3, pc=30, pcso=9, budget={"moves": 2, "weights": {"PCSO": 2}})
    W = hours_workload(force, 8)
    free = allocator.allocate(W[::-1].copy(), force)
    current = free.x
    a = allocator.allocate(W, force, current=current)
    f = a.formulation
    weights = np.where(f.col_role == 1, 2, 1)
    assert float((weights * np.abs(a.x - current)).sum()) / 2 <= 2
    assert a.metrics.loc["all", "moves"] >= 0


@pytest.mark.parametrize("rules,budget", [
    ([{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.3}}], None),
    ([{"ratio": {"role": "PC", "per": "PCSO", "at_least": 1, "on": "duty"}}], {"moves": 3}),
])
def test_rules_across_roles_solve_to_the_same_objectives_on_every_backend(rules, budget) -> None:
    force = rota_force(areas=3, pc=45, pcso=5, rules=rules, budget=budget)
    W = hours_workload(force, 9)
    current = allocator.allocate(W[:, ::-1].copy(), force).x if budget else None
    results = {b: allocator.allocate(W, force, current=current, backend=b, time_limit=60) for b in BACKENDS}
    first = results[BACKENDS[0]].solver
    for b in BACKENDS[1:]:
        other = results[b].solver
        assert other.status == "optimal"
        for key, value in first.objective.items():
            assert other.objective[key] == pytest.approx(value, rel=1e-9, nan_ok=True), (b, key)
        assert results[b].x.tolist() == results[BACKENDS[0]].x.tolist()


# ------------------------------------------------------------------- properties
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), areas=st.integers(1, 3), pc=st.integers(10, 40), minimum=st.integers(0, 3),
       chance=st.sampled_from([None, 0.8]))
def test_invariants_of_any_rota_allocation(seed: int, areas: int, pc: int, minimum: int, chance: float | None) -> None:
    force = rota_force(areas=areas, pc=pc, minimum={"Night": minimum} if minimum else None, chance=chance)
    try:
        a = allocator.allocate(hours_workload(force, seed), force, time_limit=30)
    except InfeasibleError:
        assume(False)
    f = a.formulation
    assert f.admits(a.x)  # every family's rows hold
    assert int(a.metrics.loc["PC", "posts"]) == pc  # totals kept
    pcs = a.by_area[a.by_area["role"] == "PC"]
    assert (pcs["largest_team"] - pcs["smallest_team"] <= 1).all()
    if minimum and chance is None:
        night = [b for b, n in enumerate(f.buckets) if n.endswith("Night")]
        hours = np.isin(f.bucket_of_hour, night)
        assert (a.on_duty[:, 0, hours] >= minimum - 1e-9).all()
    assert a.solver.status == "optimal"
    assert all(s.gap == 0 or math.isnan(s.gap) for s in a.solver.stages)


def test_same_inputs_same_posting() -> None:
    force = rota_force(areas=3, pc=33)
    W = hours_workload(force, 10)
    assert allocator.allocate(W, force).table.to_csv() == allocator.allocate(W, force).table.to_csv()


def test_the_rota_sample_allocates_with_a_utilisation_table() -> None:
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    W = hours_workload(force, 11, scale=3.0)
    a = allocator.allocate(W, force, time_limit=30)
    assert a.solver.status == "optimal"
    assert set(a.buckets.columns) >= {"area", "role", "bucket", "on_duty", "coverage", "utilisation"}
    assert len(a.formulation.buckets) == 21
    assert "Sat Night" in a.formulation.buckets


def test_out_of_time_in_the_later_stages_keeps_the_maximin_posting_as_feasible(monkeypatch) -> None:
    from allocator.solve.milp import MilpResult
    from allocator.solve.milp.cpsat import CpSatBackend
    from allocator.solve.report import StageReport

    force = rota_force(areas=3, pc=30)
    W = hours_workload(force, 12)
    exact = allocator.allocate(W, force)
    real = CpSatBackend.solve_linear

    def out_of_time(self, spec, time_limit, seed):  # the later stages find nothing in time
        if spec.stages:
            return MilpResult(None, [StageReport(spec.stages[0].name, spec.name, "no_solution", math.nan,
                                                 math.nan, 1.0, self.name)], "no_solution")
        return real(self, spec, time_limit, seed)

    monkeypatch.setattr(CpSatBackend, "solve_linear", out_of_time)
    a = allocator.allocate(W, force)
    assert a.solver.status == "feasible" and a.formulation.admits(a.x)
    assert a.ratios == pytest.approx(exact.ratios)  # the proven levels stand
    later = [s for s in a.solver.stages if s.name in ("proportional", "tie-break")]
    assert later and all(s.status == "feasible" and "time limit" in s.method for s in later)


@pytest.mark.parametrize("seed,rules", [(13, None), (14, [{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.4}}]),
                                        (15, [{"cap": {"posts": 16}}])])
def test_later_stages_on_totals_reach_the_whole_formulations_optimum(seed, rules) -> None:
    from allocator.solve.lexicographic import solve_formulation
    from allocator.solve.milp import get_backend
    from allocator.solve.report import SolverReport

    force = rota_force(areas=3, pc=32, pcso=7, minimum={"Night": 1}, rules=rules)
    f = build_formulation(hours_workload(force, seed), force, days=182)
    found = {}
    for route in ("areas", "whole"):
        report = SolverReport(backend="cpsat", status="optimal")
        x, levels = solve_formulation(f, get_backend("cpsat"), report, time_limit=60, route=route)
        assert x is not None and f.admits(x) and report.status == "optimal"
        found[route] = (levels, {s.name: s.objective for s in report.stages if s.name == "proportional"})
    assert found["areas"][0] == pytest.approx(found["whole"][0])
    assert found["areas"][1]["proportional"] == pytest.approx(found["whole"][1]["proportional"])


def test_the_route_can_be_forced_and_every_stage_says_which_and_why() -> None:
    force = rota_force(areas=2, pc=20)
    W = hours_workload(force, 16)
    split = allocator.allocate(W, force, route="areas")
    whole = allocator.allocate(W, force, route="whole")
    assert split.ratios == pytest.approx(whole.ratios)
    assert all(s.method == "exact bisection, per area" for s in split.solver.stages if s.name == "maximin")
    assert all("whole formulation was asked for" in s.method for s in whole.solver.stages if s.name == "maximin")
    budget = rota_force(areas=2, pc=20, budget={"moves": 2})
    with pytest.raises(ValueError, match="per-area route does not apply"):
        allocator.allocate(W, budget, current=split.x, route="areas")
    auto = allocator.allocate(W, budget, current=split.x)
    assert all("not split by area" in s.method for s in auto.solver.stages if s.name == "maximin")
