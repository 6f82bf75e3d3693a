"""The maximin split by area: the same levels as the whole formulation, brute force on tiny forces, routes named."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.model.build import build_formulation
from allocator.solve.exact.areas import RoleGrid, area_route
from allocator.solve.lexicographic import solve_formulation
from allocator.solve.milp import get_backend
from allocator.solve.report import SolverReport
from tests.formulation_factory import brute, tiny
from tests.test_rota_allocate import hours_workload, rota_force


def _solve(f, route: str):
    report = SolverReport(backend="cpsat", status="optimal")
    x, levels = solve_formulation(f, get_backend("cpsat"), report, time_limit=30, route=route)
    return x, levels, report


def _maximin(report: SolverReport) -> dict[str, float]:
    return {s.role: s.objective for s in report.stages if s.name == "maximin"}


@st.composite
def tiny_rotas(draw):
    roles = draw(st.integers(1, 2))
    teams = draw(st.integers(1, 4))
    return tiny(
        seed=draw(st.integers(0, 10_000)),
        areas=draw(st.integers(1, 4)),
        teams=teams,
        roles=roles,
        establishment=(draw(st.integers(0, 14)), draw(st.integers(0, 6))),
        minimum=draw(st.integers(0, 4)),
        team_rule=True,
        ratio=draw(st.booleans()) and teams == 1,
    )


@given(tiny_rotas())
def test_per_area_route_gives_the_whole_formulation_levels(f) -> None:
    whole = _solve(f, "whole")
    split = _solve(f, "areas")
    assert (whole[0] is None) == (split[0] is None)
    if whole[0] is None:
        assert split[2].status == whole[2].status == "infeasible"
        return
    assert f.admits(split[0]), f.broken(split[0])
    got, want = _maximin(split[2]), _maximin(whole[2])
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-12) or (math.isnan(v) and math.isnan(got[k])), k
    assert all(s.status == "optimal" and s.gap == 0 for s in split[2].stages if s.name == "maximin")


@pytest.mark.parametrize("case", [
    dict(seed=0, team_rule=True), dict(seed=1, teams=3, establishment=(5, 3), team_rule=True),
    dict(seed=2, minimum=2, team_rule=True), dict(seed=3, areas=3, teams=1, establishment=(5, 3)),
    dict(seed=4, roles=2, establishment=(4, 2), teams=1, ratio=True),
    dict(seed=5, roles=2, establishment=(3, 2), teams=1, areas=3, ratio=True),
    dict(seed=6, minimum=3, team_rule=True, establishment=(6, 3)),
], ids=str)
def test_per_area_route_matches_brute_force(case) -> None:
    f = tiny(**case)
    best, _ = brute(f)
    x, levels, report = _solve(f, "areas")
    assert x is not None and f.admits(x), f.broken(x)
    got = [levels.get(r, math.nan) for r in f.roles]
    for g, w in zip(got, best[-len(f.roles):], strict=True):
        assert (math.isnan(g) and w == -1.0) or g == pytest.approx(w, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_on_a_force_of_rotas_both_routes_agree(seed: int) -> None:
    # PCs on a five-team 2-2-2 with minimum staffing, PCSOs on weekday days, PCSOs at most half the PCs
    force = rota_force(areas=3, pc=36 + seed, pcso=7, minimum={"Night": 1},
                       rules=[{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.5}}])
    f = build_formulation(hours_workload(force, seed), force)
    assert not isinstance(area_route(f), str)
    whole, split = _solve(f, "whole"), _solve(f, "areas")
    assert split[0] is not None and f.admits(split[0])
    assert _maximin(split[2]) == pytest.approx(_maximin(whole[2]), rel=1e-12)


@given(st.integers(1, 7), st.integers(0, 200), st.data())
def test_closed_form_equals_enumeration_on_symmetric_rotas(teams: int, minutes: int, data) -> None:
    # every row treats the teams alike: a rota whose teams have identical on-duty minutes
    A, K = 6, 4
    coefs = data.draw(st.lists(st.integers(0, 600), min_size=K, max_size=K))
    G = np.repeat(np.array(coefs, dtype=np.int64)[:, None], teams, axis=1)
    rhs = np.array(data.draw(st.lists(st.integers(0, 20_000), min_size=A * K, max_size=A * K)),
                   dtype=np.int64).reshape(A, K)
    lo = np.full(A, minutes % 9, dtype=np.int64)
    g = RoleGrid(0, np.arange(A * teams).reshape(A, teams), G, np.zeros((A, K), dtype=np.int64), lo,
                 np.full(A, 10**6, dtype=np.int64))
    assert g.symmetric
    assert g.least(rhs, closed=True).tolist() == g.least(rhs, closed=False).tolist()


def test_least_posts_by_hand_on_teams_that_differ() -> None:
    # two teams: team 0 works 60 minutes of the bucket, team 1 none; 130 minutes need 3 posts on team 0,
    # and within one post of each other that is 5 posts (3 + 2)
    g = RoleGrid(0, np.array([[0, 1]]), np.array([[60, 0]]), np.zeros((1, 1), dtype=np.int64),
                 np.zeros(1, dtype=np.int64), np.full(1, 100, dtype=np.int64))
    assert not g.symmetric
    assert g.least(np.array([[130]])).tolist() == [5]
    assert g.split(np.array([[130]]), np.array([5])).tolist() == [[3, 2]]


def test_routes_are_named_in_the_stage_reports() -> None:
    force = rota_force(areas=2, pc=20, pcso=6)
    f = build_formulation(hours_workload(force, 0), force)
    for route, method in (("auto", "exact bisection, per area"),
                          ("whole", "exact bisection (cpsat; the whole formulation was asked for)")):
        report = _solve(f, route)[2]
        assert {s.method for s in report.stages if s.name == "maximin"} == {method}
    # a move budget links areas: the default route is the whole formulation
    moved = tiny(seed=3, budget=1, establishment=(4, 3))
    assert area_route(moved) == "a move limit or budget links areas"
    assert {s.method for s in _solve(moved, "auto")[2].stages if s.name == "maximin"} == {
        "exact bisection (cpsat; not split by area: a move limit or budget links areas)"}
    with pytest.raises(ValueError, match="the per-area route does not apply: a move limit or budget links areas"):
        _solve(moved, "areas")


def test_too_small_an_establishment_is_infeasible_on_the_per_area_route() -> None:
    f = tiny(seed=1, minimum=4, team_rule=True, establishment=(3, 3))
    x, _, report = _solve(f, "areas")
    assert x is None and report.status == "infeasible"
    assert report.stages[0].method == "per area"
