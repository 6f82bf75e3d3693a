"""Infeasible and undefined inputs: each case with its message, in the force's words."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import allocator
from allocator.model.force import Area, Pin
from allocator.model.problem import build_problem
from allocator.solve.diagnose import InfeasibleError, diagnose, explain_infeasible
from allocator.solve.milp import MilpResult, MilpSpec


def _with_role(force: allocator.Force, k: int, **update: object) -> allocator.Force:
    roles = list(force.roles)
    roles[k] = roles[k].model_copy(update=update)
    return force.model_copy(update={"roles": roles})


def _reasons(force: allocator.Force, W: np.ndarray | None = None, **kw: object) -> list[str]:
    W = np.full((len(force.areas), len(force.shifts), len(force.roles)), 500.0) if W is None else W
    with pytest.raises(InfeasibleError) as err:
        allocator.allocate(W, force, **kw)
    assert err.value.report is not None and err.value.report.status == "infeasible"
    assert str(err.value).startswith("no allocation is possible")
    return err.value.reasons


def test_minimum_staffing_above_establishment(sample_force: allocator.Force) -> None:
    reasons = _reasons(_with_role(sample_force, 0, establishment=100))
    assert reasons[0] == "minimum staffing needs 140 PCs; the establishment is 100"
    assert reasons[-1] == "PC: these rules conflict: minimum staffing; establishment 100"


def test_every_role_is_reported_at_once(sample_force: allocator.Force) -> None:
    force = _with_role(_with_role(sample_force, 0, establishment=100), 2, establishment=5)
    reasons = _reasons(force)
    assert "minimum staffing needs 140 PCs; the establishment is 100" in reasons
    assert "minimum staffing needs 12 LCIs; the establishment is 5" in reasons


def test_pins_above_the_area_bound(sample_force: allocator.Force) -> None:
    pins = [Pin(area="Swindon North", shift="Night", role="PC", posts=60),
            Pin(area="Swindon North", shift="Late", role="PC", posts=40)]
    reasons = _reasons(sample_force.model_copy(update={"pins": pins}))
    assert reasons[0] == "pins in Swindon North exceed the area's bound: 100 PCs pinned, at most 95"
    assert "pins" in reasons[-1] and "area bounds" in reasons[-1]


def test_pin_below_minimum_staffing(sample_force: allocator.Force) -> None:
    pins = [Pin(area="Swindon South", shift="Night", role="PC", posts=3)]
    reasons = _reasons(sample_force.model_copy(update={"pins": pins}))
    assert reasons[0] == ("the pin of 3 PCs in Swindon South / Night is below the minimum staffing of 8")


def test_minimums_above_an_area_bound(sample_force: allocator.Force) -> None:
    areas = list(sample_force.areas)
    areas[2] = Area(name="Wiltshire North", max_posts={"PC": 20})
    reasons = _reasons(sample_force.model_copy(update={"areas": areas}))
    assert reasons[0] == "minimum staffing in Wiltshire North need 22 PCs; the area's bound is 20"


def test_area_bounds_leave_posts_over(sample_force: allocator.Force) -> None:
    areas = [Area(name=a.name, max_posts={"LCI": 8}) for a in sample_force.areas]
    reasons = _reasons(sample_force.model_copy(update={"areas": areas}))
    assert reasons[0].startswith("area bounds and pins allow at most 48 LCIs; the establishment is 60")
    # posting fewer than the establishment is then allowed on request
    W = np.full((6, 5, 3), 500.0)
    a = allocator.allocate(W, sample_force.model_copy(update={"areas": areas}), allow_unallocated=True)
    assert a.metrics.loc["LCI", "unallocated"] == 12


def test_area_minimum_unreachable(sample_force: allocator.Force) -> None:
    areas = list(sample_force.areas)
    areas[3] = Area(name="Wiltshire East", min_posts={"PCSO": 10})
    posts = {"Early": 2, "Day": 1, "Late": 2, "Twilight": 1, "Night": 1}  # at the minimums
    pins = [Pin(area="Wiltshire East", shift=s, role="PCSO", posts=n) for s, n in posts.items()]
    reasons = _reasons(sample_force.model_copy(update={"areas": areas, "pins": pins}))
    assert reasons[0] == "Wiltshire East must have at least 10 PCSOs but its pins and bounds allow at most 7"


def test_move_limit_too_small(sample_force: allocator.Force) -> None:
    current = np.zeros((6, 5, 3), dtype=np.int64)
    current[2, 2, 0] = 400  # every PC on one cell: reaching the minimums needs many moves
    current[:, :, 1] = 4
    current[:, :, 2] = 2
    reasons = _reasons(sample_force, current=current, max_moves=5)
    pc = [r for r in reasons if r.startswith("PC: max_moves")]
    need = int(np.maximum(sample_force.min_posts_array()[:, :, 0] - current[:, :, 0], 0).sum())
    assert pc == [f"PC: max_moves 5 cannot reach the minimums and bounds: at least {need} moves needed"]
    assert "PC: these rules conflict: minimum staffing; max_moves 5" in reasons


def test_uncovered_cells_are_named_as_a_warning(sample_force: allocator.Force, caplog) -> None:
    force = _with_role(sample_force, 2, establishment=14)  # 12 LCIs for minimums, 2 to spare
    W = np.full((6, 5, 3), 500.0)
    W[0, 0, 2] = 10.0
    found = diagnose(build_problem(W, force))
    assert found.ok and len(found.warnings) == 1
    text = found.warnings[0]
    assert text.startswith("LCI: 2 LCIs left after minimums for 24 cells with workload and no minimum")
    assert "at least 22 of them will have no LCI" in text and "Swindon North / Early" in text
    with caplog.at_level("WARNING", logger="allocator.solve.planner"):
        a = allocator.allocate(W, force)
    assert a.warnings == found.warnings and text in caplog.text
    assert a.metrics.loc["LCI", "uncovered_cells"] == 22 and a.metrics.loc["LCI", "min_coverage"] == 0


class _OutOfTime:
    """A backend that runs out of time before finding any posting."""

    name = "out-of-time"

    def solve(self, spec: MilpSpec, time_limit: float, seed: int) -> MilpResult:
        return MilpResult(None, [], "no_solution")


def _current(force: allocator.Force) -> np.ndarray:
    return build_problem(np.ones((6, 5, 3)), force, allocator.sample_path("current_shifts.csv")).current


def test_exact_stages_are_not_cut_short_by_the_time_limit(sample_force: allocator.Force) -> None:
    a = allocator.allocate(np.full((6, 5, 3), 500.0), sample_force, time_limit=0)
    assert a.solver.status == "optimal"
    assert a.posts.sum(axis=(0, 1)).tolist() == [400, 120, 60]


def test_out_of_time_keeps_the_stage_one_posting_and_says_so(
    sample_force: allocator.Force, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys.modules["allocator.solve.planner"], "get_backend", lambda name: _OutOfTime())
    work = np.full((6, 5, 3), 500.0)
    current = _current(sample_force)
    exact = allocator.allocate(work, sample_force, current=current, max_moves=400)
    a = allocator.allocate(work, sample_force, current=current, max_moves=400, time_limit=1, exact_stages=False)
    assert a.solver.status == "feasible"
    assert "not optimised for shares (it has the fewest moves)" in caplog.text
    assert {s.method for s in a.solver.stages if s.name != "maximin"} == {"closest posting (time limit)"}
    # the fallback still meets every rule and the exact smallest coverage
    assert a.posts.sum(axis=(0, 1)).tolist() == [400, 120, 60]
    assert (a.posts >= sample_force.min_posts_array()).all()
    for role in ("PC", "PCSO", "LCI"):
        assert a.metrics.loc[role, "min_coverage"] == pytest.approx(exact.metrics.loc[role, "min_coverage"])


def test_out_of_time_with_a_tight_move_limit_keeps_a_posting_within_it(
    sample_force: allocator.Force, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = np.random.default_rng(3).uniform(200, 4000, (6, 5, 3))
    current = _current(sample_force)
    p = build_problem(work, sample_force, current)
    # the tightest limit that still lets every role reach its exact smallest coverage
    need = []
    for r in range(3):
        rp = p.role_problem(r)
        need.append(rp.min_l1(rp.floors(sys.modules["allocator.solve.planner"].maximin_ratio(rp)), rp.hi))
    limit = max(need) // 2 + max(need) % 2
    exact = allocator.allocate(work, sample_force, current=current, max_moves=limit)
    monkeypatch.setattr(sys.modules["allocator.solve.planner"], "get_backend", lambda name: _OutOfTime())
    a = allocator.allocate(work, sample_force, current=current, max_moves=limit, time_limit=1, exact_stages=False)
    assert a.solver.status == "feasible"
    moved = np.abs(a.posts - current).sum(axis=(0, 1))
    assert (moved <= 2 * limit).all() and moved.tolist() == need  # the fewest moves of every role
    assert a.posts.sum(axis=(0, 1)).tolist() == [400, 120, 60]
    for role in ("PC", "PCSO", "LCI"):
        assert a.metrics.loc[role, "min_coverage"] == pytest.approx(exact.metrics.loc[role, "min_coverage"])


def test_time_limit_without_a_posting_is_a_clear_status(
    sample_force: allocator.Force, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["allocator.solve.planner"], "get_backend", lambda name: _OutOfTime())
    monkeypatch.setattr(MilpSpec, "admits", lambda self, x: False)
    work = np.full((6, 5, 3), 500.0)
    with pytest.raises(InfeasibleError) as err:
        allocator.allocate(work, sample_force, current=_current(sample_force), max_moves=400, time_limit=0,
                           exact_stages=False)
    assert err.value.report.status == "no_solution"
    assert "found no posting within the time limit (0 s)" in err.value.reasons[0]


def test_explain_infeasible_is_empty_for_a_feasible_role(sample_force: allocator.Force) -> None:
    p = build_problem(np.ones((6, 5, 3)), sample_force)
    assert explain_infeasible(p, 0) == []
    q = p.with_lower_bound("queueing", np.full((6, 5, 3), 14))  # 420 PCs, 70 per area
    reasons = explain_infeasible(q, 0)
    assert reasons[0] == "minimum staffing and queueing need 420 PCs; the establishment is 400"
    assert reasons[-1] == "PC: these rules conflict: queueing; establishment 400"
    # 20 per cell: Swindon North alone needs 100 > 95, a smaller conflict without the establishment
    r = explain_infeasible(p.with_lower_bound("queueing", np.full((6, 5, 3), 20)), 0)
    assert r[-1] == "PC: these rules conflict: queueing; area bounds"
