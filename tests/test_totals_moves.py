"""The later stages at a monthly reallocation on (area, role) totals: the whole formulation's optimum, brute force."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.model.build import build_formulation
from allocator.solve.exact.areas import RoleGrid, area_route
from allocator.solve.exact.totals import split_table
from allocator.solve.lexicographic import TARGET_SCALE, proportional_targets, solve_formulation
from allocator.solve.milp import available_backends, get_backend
from allocator.solve.report import SolverReport
from tests.formulation_factory import brute, tiny
from tests.test_rota_allocate import hours_workload, rota_force
from tests.test_service_floors import _with_floors

LATER = ("moves", "proportional", "tie-break")
BACKENDS = [b for b in ("cpsat", "pulp:highs", "pulp:cbc") if b in available_backends()]


def _solve(f, route: str, backend: str = "cpsat"):
    report = SolverReport(backend=backend, status="optimal")
    x, levels = solve_formulation(f, get_backend(backend), report, time_limit=30, route=route)
    return x, levels, report


def _later(report: SolverReport) -> dict[str, float]:
    return {s.name: s.objective for s in report.stages if s.name in LATER}


def _with_current(f, seed: int, spread: int = 3):
    rng = np.random.default_rng(seed)
    return replace(f, current=rng.integers(0, spread + 1, f.n).astype(np.int64))


@st.composite
def tiny_reallocations(draw):
    roles = draw(st.integers(1, 2))
    teams = draw(st.integers(1, 3)) if roles == 1 else 1
    f = tiny(
        seed=draw(st.integers(0, 10_000)),
        areas=draw(st.integers(1, 3)),
        teams=teams,
        roles=roles,
        establishment=(draw(st.integers(0, 9)), draw(st.integers(0, 4))),
        minimum=draw(st.integers(0, 3)),
        team_rule=True,
        ratio=draw(st.booleans()),
    )
    return _with_current(f, draw(st.integers(0, 10_000)), draw(st.integers(0, 4)))


@given(tiny_reallocations())
def test_routes_agree_on_every_later_stage(f) -> None:
    assert not isinstance(area_route(f), str)
    whole, split = _solve(f, "whole"), _solve(f, "areas")
    assert (whole[0] is None) == (split[0] is None)
    if whole[0] is None:
        return
    assert f.admits(split[0]), f.broken(split[0])
    got, want = _later(split[2]), _later(whole[2])
    assert got.keys() == want.keys() == set(LATER)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-9), k
    assert all(s.status == "optimal" and s.gap == 0 for s in split[2].stages)
    assert all("on (area, role) totals" in s.method for s in split[2].stages if s.name in LATER)


def _brute_later(f) -> tuple[float, float, float]:
    """Over every posting meeting the rules at the best levels: the least (moves, shares, tie-break)."""
    levels, _ = brute(f)
    coupled = any(fam.links_roles for fam in f.families) and len(f.roles) > 1
    targets = np.round(proportional_targets(f).ravel() * TARGET_SCALE).astype(np.int64)
    best = None
    for x in itertools.product(*[range(int(f.col_lo[j]), int(f.col_hi[j]) + 1) for j in range(f.n)]):
        xa = np.array(x, dtype=np.int64)
        if not f.admits(xa):
            continue
        key = [(-1.0 if math.isnan(v) else v) for v in (f.min_coverage(xa, r) for r in range(len(f.roles)))]
        if coupled:
            key = [min(key), *key]
        if not np.allclose(key, levels, rtol=1e-12, atol=0):
            continue
        value = (int(np.abs(xa - f.current).sum()),
                 int(np.abs(TARGET_SCALE * f.posts(xa).ravel() - targets).sum()),
                 int((np.arange(1, f.n + 1) * xa).sum()))
        best = value if best is None or value < best else best
    assert best is not None
    return best[0] / 2, best[1] / TARGET_SCALE, float(best[2])


@pytest.mark.parametrize("case", [
    dict(seed=0, teams=2, establishment=(6, 3)),
    dict(seed=1, teams=3, establishment=(5, 3), minimum=2),
    dict(seed=2, teams=1, areas=3, establishment=(5, 3)),
    dict(seed=3, roles=2, teams=1, establishment=(4, 2), ratio=True),
    dict(seed=4, roles=2, teams=1, areas=3, establishment=(3, 2), ratio=True),
], ids=str)
def test_later_stages_match_brute_force(case) -> None:
    f = _with_current(tiny(team_rule=True, **case), case["seed"])
    want = _brute_later(f)
    x, _, report = _solve(f, "areas")
    assert x is not None and f.admits(x)
    got = _later(report)
    assert (got["moves"], got["proportional"], got["tie-break"]) == pytest.approx(want)


def test_a_current_posting_far_from_any_admissible_one_widens_the_windows() -> None:
    # nobody posted now, and PCSOs have no judged work, so their 7 posts may go anywhere: each (area, role)
    # alone needs no PCSO move, yet 7 must be made
    force = rota_force(areas=3, pc=31, pcso=7, minimum={"Night": 1})
    W = hours_workload(force, 3)
    W[:, :, 1] = 0.0
    f = build_formulation(W, force, days=182)
    f = replace(f, current=np.zeros(f.n, dtype=np.int64))
    backend = get_backend("cpsat")
    asked = []

    class Counting:
        name = backend.name

        def solve_linear(self, spec, time_limit, seed):
            asked.append(spec.name)
            return backend.solve_linear(spec, time_limit, seed)

    report = SolverReport(backend="cpsat", status="optimal")
    x, _ = solve_formulation(f, Counting(), report, time_limit=30, route="areas")  # type: ignore[arg-type]
    assert x is not None and f.admits(x)
    # 38 posts to fill: sum |x - current| = 38, reported as 19 moves (a move takes a post here and puts it there)
    assert _later(report)["moves"] == 19
    assert asked.count("totals") >= 2  # the first windows held no posting of so few moves
    assert _later(report) == pytest.approx(_later(_solve(f, "whole")[2]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_on_the_reallocation_of_a_force_of_rotas(backend) -> None:
    force = rota_force(areas=3, pc=33, pcso=8, minimum={"Night": 1},
                       rules=[{"ratio": {"role": "PCSO", "per": "PC", "at_most": 0.4}}])
    f = build_formulation(hours_workload(force, 5), force, days=182)
    f = _with_current(f, 5, 4)
    x, _, report = _solve(f, "auto", backend)
    assert x is not None and f.admits(x)
    reference = _solve(f, "whole", "cpsat")
    assert _later(report) == pytest.approx(_later(reference[2]))


def test_the_sample_reallocation_is_the_whole_formulations() -> None:
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    W = hours_workload(force, 11, scale=8.0)
    current = allocator.sample_path("current.csv")
    split = allocator.allocate(W, force, current=current)
    whole = allocator.allocate(W, force, current=current, route="whole")
    assert split.solver.status == whole.solver.status == "optimal"
    assert _later(split.solver) == pytest.approx(_later(whole.solver))
    assert split.ratios == pytest.approx(whole.ratios)


def test_split_table_against_every_split() -> None:
    # three teams, one lower-bound row on teams 0 and 2, current (4, 0, 1)
    g = RoleGrid(0, np.array([[3, 4, 5]]), np.array([[30, 0, 10]]), np.zeros((1, 1), dtype=np.int64),
                 np.zeros(1, dtype=np.int64), np.full(1, 50, dtype=np.int64))
    cur = np.array([[4, 0, 1]])
    n = np.arange(0, 12)
    moves, tie, split = split_table(g, np.array([[95]]), cur, np.zeros(n.size, dtype=np.int64), n)
    for i, total in enumerate(n.tolist()):
        best = None
        for x in itertools.product(range(total + 1), repeat=3):
            if sum(x) != total or max(x) - min(x) > 1 or 30 * x[0] + 10 * x[2] < 95:
                continue
            key = (sum(abs(a - b) for a, b in zip(x, cur[0], strict=True)), 4 * x[0] + 5 * x[1] + 6 * x[2])
            best = key if best is None or key < best else best
        if best is None:
            assert moves[i] > 10**15
        else:
            assert (moves[i], tie[i]) == best
            assert split[i].sum() == total and 30 * split[i, 0] + 10 * split[i, 2] >= 95


@given(tiny_reallocations(), st.integers(0, 10_000))
def test_with_response_floors_the_routes_agree_and_the_floors_hold_at_their_level(f, seed) -> None:
    # the service-level stage comes first and holds the floors at its level; the later stages on
    # totals must keep them there exactly as the whole formulation does
    f = _with_floors(f, np.random.default_rng(seed))
    whole, split = _solve(f, "whole"), _solve(f, "auto")
    assert (whole[0] is None) == (split[0] is None)
    if whole[0] is None:
        return
    stages = lambda r: {s.name: s.objective for s in r.stages}  # noqa: E731
    got, want = stages(split[2]), stages(whole[2])
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-9), k
    level = got.get("service level", 1.0)
    held = f.floors_held_at(level)
    assert held.admits(split[0]), held.broken(split[0])
