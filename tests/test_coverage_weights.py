"""Weights of the roles' coverage when rules couple roles: the force file, a hand-worked maximin, every route and backend."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.errors import ForceError
from allocator.model.build import build_formulation
from allocator.model.force import Force
from allocator.solve.exact.areas import area_route
from allocator.solve.lexicographic import solve_formulation
from allocator.solve.milp import available_backends, get_backend
from allocator.solve.report import SolverReport
from tests.formulation_factory import tiny

BACKENDS = [b for b in ("cpsat", "pulp:highs", "pulp:cbc") if b in available_backends()]


def two_roles(weights: dict | None = None, cap: int | None = 10) -> Force:
    """One area, PCs and PCSOs on the same weekday days, alike in every way; at most ``cap`` posts of both."""
    role = {"establishment": 10, "abstraction": 0.5, "patterns": ["Days"]}
    data = {
        "name": "Weighted",
        "areas": [{"name": "Town"}],
        "windows": [{"name": "Day", "start": "08:00", "hours": 8}],
        "patterns": [{"name": "Days", "fixed": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Day"}}],
        "roles": [{"name": "PC", **role}, {"name": "PCSO", **role}],
        "demand_types": [{"code": "X"}],
        "judgement": [{"demand_type": "X", "role": "PC", "share": 0.5, "minutes": 60},
                      {"demand_type": "X", "role": "PCSO", "share": 0.5, "minutes": 60}],
        "rules": [{"cap": {"posts": cap}}] if cap is not None else [],
    }
    if weights is not None:
        data["coverage_weights"] = weights
    return allocator.load_force(data)


def day_workload(force: Force) -> np.ndarray:
    """The same judged hours for both roles in every hour of the weekday days, none elsewhere."""
    W = np.zeros((1, 168, 2))
    for day in range(5):
        W[0, 24 * day + 8: 24 * day + 16, :] = 3.0
    return W


def _posts(a) -> tuple[int, int]:
    return int(a.metrics.loc["PC", "posts"]), int(a.metrics.loc["PCSO", "posts"])


# ------------------------------------------------------------------ hand-worked
@pytest.mark.parametrize("weights,posts,level", [
    # both roles alike: coverage is c x posts for the same c, and at most 10 posts between them, so the
    # joint level t = min(c p, c s) is largest at 5 and 5
    (None, (5, 5), 5),
    # PCSO weight 0.5: t = min(c p / 1, c s / 0.5) = c min(p, 2 s) with p + s <= 10; 7 + 3 gives min(7, 6) = 6,
    # 6 + 4 gives min(6, 8) = 6, 8 + 2 gives 4: t = 6c; PCs' own maximin then takes the 7th post (3 PCSOs
    # still give 2 x 3 = 6)
    ({"PC": 1.0, "PCSO": 0.5}, (7, 3), 6),
    # PCSO weight 2: t = c min(p, s / 2); 3 + 7 gives min(3, 3.5) = 3, 4 + 6 gives min(4, 3) = 3; PCs then
    # take 4, leaving the 6 PCSOs that the level needs
    ({"PCSO": 2}, (4, 6), 3),
])
def test_weights_change_the_coupled_maximin_as_stated(weights, posts, level) -> None:
    force = two_roles(weights)
    W = day_workload(force)
    a = allocator.allocate(W, force, allow_unallocated=True)
    assert _posts(a) == posts
    f = a.formulation
    per_post = f.min_coverage(np.where(f.col_role == 0, 1, 0), 0)  # c: the coverage one post gives
    joint = next(s for s in a.solver.stages if s.name == "maximin" and s.role == "all")
    assert joint.status == "optimal" and joint.objective == pytest.approx(level * per_post)
    # the level is the smallest of coverage_r / weight_r
    w = f.role_weights
    assert joint.objective == pytest.approx(min(a.ratios["PC"] / w[0], a.ratios["PCSO"] / w[1]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("route", ["auto", "whole"])
def test_every_route_and_backend_honours_the_weights(backend, route) -> None:
    force = two_roles({"PCSO": 0.5})
    W = day_workload(force)
    f = build_formulation(W, force, allow_unallocated=True)
    assert not isinstance(area_route(f), str)  # the cap is a row on totals: the per-area route applies
    a = allocator.allocate(W, force, allow_unallocated=True, backend=backend, route=route)
    assert _posts(a) == (7, 3)
    assert a.solver.status == "optimal"


def test_on_a_force_of_rotas_the_routes_and_backends_agree_on_weighted_levels() -> None:
    from tests.test_rota_allocate import hours_workload, rota_force

    force = rota_force(areas=3, pc=38, pcso=9, minimum={"Night": 1},
                       rules=[{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.3}}])
    weighted = Force.model_validate({**force.to_dict(), "coverage_weights": {"PC": 1.5, "PCSO": 0.75}})
    W = hours_workload(force, 21)
    joint = {}
    for backend in BACKENDS:
        for route in ("auto", "whole"):
            a = allocator.allocate(W, weighted, backend=backend, route=route, time_limit=60)
            assert a.solver.status == "optimal"
            joint[backend, route] = [s.objective for s in a.solver.stages if s.name == "maximin"]
    first = next(iter(joint.values()))
    for v in joint.values():
        assert v == pytest.approx(first, rel=1e-12)
    plain = allocator.allocate(W, force)
    assert [s.objective for s in plain.solver.stages if s.name == "maximin"][0] != pytest.approx(first[0])


def test_weights_without_a_rule_coupling_roles_change_nothing_and_say_so(caplog) -> None:
    force = two_roles({"PCSO": 0.5}, cap=None)
    W = day_workload(force)
    with caplog.at_level(logging.WARNING, logger="allocator.solve.lexicographic"):
        a = allocator.allocate(W, force)
    assert "no rule couples roles" in caplog.text
    assert _posts(a) == (10, 10)
    assert not any(s.name == "maximin" and s.role == "all" for s in a.solver.stages)


@given(st.integers(0, 10_000), st.sampled_from([0.5, 2.0, 3.0]), st.floats(0.25, 4.0))
def test_scaling_every_weight_divides_the_joint_level_and_keeps_the_posting(seed, scale, pcso) -> None:
    f = tiny(seed=seed, roles=2, teams=1, areas=2, establishment=(5, 3), ratio=True)
    report = {}
    for k, weights in (("base", [1.0, pcso]), ("scaled", [scale, scale * pcso])):
        rep = SolverReport(backend="cpsat", status="optimal")
        x, _ = solve_formulation(replace(f, role_weights=np.array(weights)), get_backend("cpsat"), rep, 30)
        report[k] = (x, rep)
    (x0, r0), (x1, r1) = report["base"], report["scaled"]
    assert x0 is not None and x1 is not None and x0.tolist() == x1.tolist()
    j0 = next(s.objective for s in r0.stages if s.role == "all" and s.name == "maximin")
    j1 = next(s.objective for s in r1.stages if s.role == "all" and s.name == "maximin")
    assert j1 == pytest.approx(j0 / scale, rel=1e-9)
    level = min(f.min_coverage(x0, 0) / 1.0, f.min_coverage(x0, 1) / pcso)
    assert j0 == pytest.approx(level, rel=1e-9)


# ------------------------------------------------------------------ the force file
def _write(tmp_path: Path, weights_line: str) -> Path:
    text = allocator.sample_path("force.yaml").read_text(encoding="utf-8")
    path = tmp_path / "force.yaml"
    path.write_text(text + "\n" + weights_line + "\n", encoding="utf-8")
    (tmp_path / "judgement.csv").write_bytes(allocator.sample_path("judgement.csv").read_bytes())
    return path


def test_weights_load_from_the_force_file_and_round_trip(tmp_path: Path) -> None:
    force = allocator.load_force(_write(tmp_path, "coverage_weights: {PC: 1.0, PCSO: 0.5}"))
    assert force.coverage_weights == {"PC": 1.0, "PCSO": 0.5}
    assert allocator.load_force(force.to_dict()) == force
    assert allocator.load_force(allocator.sample_path("force.yaml")).coverage_weights == {}


def test_bad_weights_are_all_named_with_file_line_field_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "coverage_weights:\n  PC: 0\n  PCS0: 0.5\n  LCI: lots\n  PCSO: -1")
    with pytest.raises(ForceError) as info:
        allocator.load_force(path)
    problems = {p.where: p for p in info.value.problems}
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert problems["coverage_weights.PC"].line == n - 3
    assert problems["coverage_weights.PC"].value == 0 and "greater than 0" in problems["coverage_weights.PC"].message
    assert problems["coverage_weights.LCI"].value == "lots" and "must be a number" in problems[
        "coverage_weights.LCI"].message
    assert problems["coverage_weights.LCI"].line == n - 1
    assert problems["coverage_weights.PCSO"].value == -1
    unknown = problems["coverage_weights"]
    assert "PCS0" in unknown.message and "PCSO" in unknown.message  # did you mean
    text = str(info.value)
    assert "force.yaml" in text and "coverage_weights.PC" in text


@pytest.mark.parametrize("value", ["true", "null", "'0.5'", ".inf", ".nan"])
def test_a_weight_must_be_a_finite_number_above_zero(tmp_path: Path, value: str) -> None:
    with pytest.raises(ForceError) as info:
        allocator.load_force(_write(tmp_path, f"coverage_weights: {{PCSO: {value}}}"))
    (problem,) = info.value.problems
    assert problem.where == "coverage_weights.PCSO" and problem.line is not None
    assert not (isinstance(problem.value, float) and math.isnan(problem.value)) or value == ".nan"


def test_a_force_of_shifts_refuses_weights_it_could_not_use() -> None:
    data = allocator.load_force(allocator.sample_path("force_shifts.yaml")).to_dict()
    with pytest.raises(ForceError) as info:
        allocator.load_force({**data, "coverage_weights": {"PC": 2.0}})
    (problem,) = info.value.problems
    assert problem.where == "coverage_weights" and "force on duty patterns" in problem.message
