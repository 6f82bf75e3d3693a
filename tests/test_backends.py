"""Conformance: every installed backend must agree on stage objectives and invariants.

The same small problems run on every backend (not identical postings: equal
stage objective values and the same rules honoured).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator.model.force import Area, Pin
from allocator.solve.exact.greedy import solve_greedy
from allocator.solve.milp import MilpSpec, Stage, available_backends, get_backend, maximin_spec
from allocator.solve.planner import maximin_ratio
from tests.strategies import forces

BACKENDS = available_backends()
#: pulp is an alias of pulp:cbc; solve each solver once
SOLVERS = [b for b in BACKENDS if b != "pulp"]


@st.composite
def workloads(draw: st.DrawFn, force: allocator.Force) -> np.ndarray:
    """A workload array for ``force``: hours per cell, some cells empty."""
    shape = (len(force.areas), len(force.shifts), len(force.roles))
    values = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(1.0, 5000.0, allow_nan=False, allow_infinity=False)),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    return np.array(values).reshape(shape)


@st.composite
def cases(draw: st.DrawFn, coupled: bool = False) -> tuple[allocator.Force, np.ndarray]:
    """A small random force with a workload; ``coupled`` adds area bounds and pins."""
    force = draw(forces(max_areas=3, max_roles=2, max_types=2))
    W = draw(workloads(force))
    if coupled:
        p = allocator.build_problem(W, force)
        areas = []
        for i, area in enumerate(force.areas):
            cap = {}
            for r, role in enumerate(force.roles):
                if draw(st.booleans()):
                    need = int(p.lower[i, :, r].sum())
                    cap[role.name] = need + draw(st.integers(0, 6))
            areas.append(Area(name=area.name, max_posts=cap))
        pins = []
        if draw(st.booleans()):
            r = draw(st.integers(0, len(force.roles) - 1))
            s = draw(st.integers(0, len(force.shifts) - 1))
            low = int(p.lower[0, s, r])
            pins.append(Pin(area=force.areas[0].name, shift=force.shifts[s].name,
                            role=force.roles[r].name, posts=low + draw(st.integers(0, 2))))
        force = force.model_copy(update={"areas": areas, "pins": pins})
    return force, W


def _solve_all(force: allocator.Force, W: np.ndarray, **kw: object) -> dict[str, allocator.Allocation]:
    return {b: allocator.allocate(W, force, backend=b, time_limit=20, **kw) for b in SOLVERS}


def _check_invariants(a: allocator.Allocation) -> None:
    p = a.problem
    x = a.posts
    assert x.dtype == np.int64 and (x >= 0).all()
    totals = x.sum(axis=(0, 1))
    if p.allow_unallocated:
        assert (totals <= p.establishment).all()
    else:
        np.testing.assert_array_equal(totals, p.establishment)
    assert (x >= p.lower).all(), "minimum staffing broken"
    assert (x <= p.upper).all()
    pinned = p.pins >= 0
    np.testing.assert_array_equal(x[pinned], p.pins[pinned])
    area_tot = x.sum(axis=1)
    assert (area_tot <= p.area_max).all() and (area_tot >= p.area_min).all()
    if p.current is not None and p.max_moves is not None:
        # the move limit holds for each role (roles share no constraint)
        assert (np.abs(x - p.current).sum(axis=(0, 1)) <= 2 * p.max_moves).all()
    # stage 1's reported objective is the posting's real smallest coverage
    for r, role in enumerate(p.roles):
        mask = p.objective_mask[:, :, r]
        if mask.any():
            got = (p.capacity[:, :, r] * x[:, :, r] / np.where(mask, p.workload[:, :, r], 1))[mask].min()
            assert got == pytest.approx(a.solver.objective[f"maximin[{role}]"], rel=1e-9)


def _agree(results: dict[str, allocator.Allocation]) -> None:
    reports = [a.solver for a in results.values()]
    for a in results.values():
        assert a.solver.status == "optimal", str(a.solver)
        _check_invariants(a)
    keys = reports[0].objective.keys()
    for rep in reports[1:]:
        assert rep.objective.keys() == keys
        for k in keys:
            assert rep.objective[k] == pytest.approx(reports[0].objective[k], rel=1e-9, abs=1e-9, nan_ok=True), k


def test_registry_names_and_errors() -> None:
    assert "cpsat" in BACKENDS and "pulp:cbc" in BACKENDS
    assert get_backend("pulp").name == "pulp:cbc"
    with pytest.raises(ValueError, match="unknown backend 'gurobi'"):
        get_backend("gurobi")
    with pytest.raises(ValueError, match="unknown option"):
        get_backend("pulp:glpk")


@pytest.mark.parametrize("backend", SOLVERS)
def test_lexicographic_stages_on_a_hand_worked_spec(backend: str) -> None:
    # 3 cells, total 5; stage 1 pulls towards (2, 2, 1); stage 2 breaks the tie to the lowest index
    spec = MilpSpec(
        name="PC",
        lo=np.array([0, 0, 1]),
        hi=np.array([5, 5, 5]),
        groups=np.array([0, 0, 1]),
        group_lo=np.array([0, 0]),
        group_hi=np.array([3, 5]),  # area 0 (cells 0, 1) at most 3
        total=5,
        exact_total=True,
        stages=[
            Stage("proportional", "l1", np.ones(3, dtype=np.int64), np.array([2000, 2000, 1000]), 1000),
            Stage("tie-break", "linear", np.array([1, 2, 3])),
        ],
    )
    res = get_backend(backend).solve(spec, time_limit=10, seed=0)
    assert res.status == "optimal"
    # area 0 holds at most 3, so one of the first two cells gives a post to cell 2: deviation 2
    assert res.stages[0].objective == 2000 and res.stages[0].bound == pytest.approx(2000)
    assert res.x is not None and res.x.tolist() == [2, 1, 2]  # tie-break: 1*2 + 2*1 + 3*2 = 10
    assert res.stages[1].objective == 10


@pytest.mark.parametrize("backend", SOLVERS)
def test_infeasible_spec_is_reported_not_raised(backend: str) -> None:
    spec = MilpSpec("PC", np.array([3, 3]), np.array([5, 5]), np.array([0, 1]), np.zeros(2, dtype=np.int64),
                    np.array([5, 5]), 4, True, [Stage("tie-break", "linear", np.array([1, 1]))])
    res = get_backend(backend).solve(spec, time_limit=10, seed=0)
    assert res.status == "infeasible" and res.x is None


def test_backends_agree_on_the_sample(sample_force: allocator.Force) -> None:
    W = np.random.default_rng(7).uniform(200, 4000, (6, 5, 3))
    results = _solve_all(sample_force, W)
    _agree(results)
    # the tie-break makes the posting itself the same on every backend
    first = next(iter(results.values())).posts
    for a in results.values():
        np.testing.assert_array_equal(a.posts, first)


def test_backends_agree_with_a_current_posting(sample_force: allocator.Force) -> None:
    rng = np.random.default_rng(3)
    W = rng.uniform(200, 4000, (6, 5, 3))
    current = allocator.allocate(rng.uniform(200, 4000, (6, 5, 3)), sample_force).posts
    _agree(_solve_all(sample_force, W, current=current))
    limited = _solve_all(sample_force, W, current=current, max_moves=10)
    _agree(limited)
    for a in limited.values():
        assert (a.metrics.loc[["PC", "PCSO", "LCI"], "moves"] <= 10).all()


@settings(max_examples=15)
@given(cases())
def test_backends_agree_on_random_forces(case: tuple[allocator.Force, np.ndarray]) -> None:
    force, W = case
    _agree(_solve_all(force, W))


@settings(max_examples=15)
@given(cases(coupled=True))
def test_backends_agree_with_area_bounds_and_pins(case: tuple[allocator.Force, np.ndarray]) -> None:
    force, W = case
    p = allocator.build_problem(W, force)
    if not allocator.solve.diagnose.diagnose(p).ok:
        with pytest.raises(allocator.InfeasibleError):
            allocator.allocate(W, force)
        return
    _agree(_solve_all(force, W))


# ------------------------------------------------ the exact maximin against each backend's MILP
@st.composite
def moved_cases(draw: st.DrawFn) -> tuple[allocator.Force, np.ndarray, np.ndarray | None, int | None]:
    """A coupled case (area bounds, pins), often with a current posting and a move limit."""
    force, W = draw(cases(coupled=True))
    current, limit = None, None
    if draw(st.booleans()):
        shape = W.shape
        flat = draw(st.lists(st.integers(0, 4), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        current = np.array(flat, dtype=np.int64).reshape(shape)
        limit = draw(st.one_of(st.none(), st.integers(0, 6)))
    return force, W, current, limit


@settings(max_examples=25, deadline=None)
@given(moved_cases())
def test_exact_maximin_equals_every_backends_plain_milp(
    case: tuple[allocator.Force, np.ndarray, np.ndarray | None, int | None],
) -> None:
    force, W, current, limit = case
    p = allocator.build_problem(W, force, current=current, max_moves=limit)
    if not allocator.solve.diagnose.diagnose(p).ok:
        return
    for r in range(len(p.roles)):
        rp = p.role_problem(r)
        if not rp.objective.any():
            continue
        exact = maximin_ratio(rp)
        for b in SOLVERS:
            res = get_backend(b).solve(maximin_spec(rp), time_limit=20, seed=0)
            assert res.status == "optimal", (b, res.stages)
            got = res.stages[0]
            assert got.method == b and got.name == "maximin"
            assert got.objective == pytest.approx(exact, rel=1e-6), b
            # the reported objective is the posting's own smallest coverage; the bound is above it
            assert res.x is not None and np.nanmin(rp.ratios(res.x)) == pytest.approx(got.objective, rel=1e-12)
            assert got.bound >= got.objective * (1 - 1e-6)


@settings(max_examples=15, deadline=None)
@given(moved_cases())
def test_structured_solve_agrees_with_the_milp_on_every_backend(
    case: tuple[allocator.Force, np.ndarray, np.ndarray | None, int | None],
) -> None:
    force, W, current, limit = case
    p = allocator.build_problem(W, force, current=current, max_moves=limit)
    if not allocator.solve.diagnose.diagnose(p).ok:
        return
    fast = allocator.allocate(W, force, current=current, max_moves=limit)
    plain = {b: allocator.allocate(W, force, backend=b, current=current, max_moves=limit, structured=False,
                                   time_limit=20) for b in SOLVERS}
    _agree({"structured": fast, **plain})
    for a in plain.values():
        assert {s.method for s in a.solver.stages} == {a.solver.backend}
    if limit is None or current is None:  # nothing couples the cells but laminar bounds: no solver at all
        methods = {s.name: s.method for s in fast.solver.stages}
        assert methods.pop("maximin") in ("exact search", "water-filling")
        assert set(methods.values()) == {"greedy"}
    elif all(p.role_problem(r).exact_total for r in range(len(p.roles))):  # a move limit: no solver either
        assert {s.method for s in fast.solver.stages if s.name != "maximin"} <= {"parametric greedy"}


@pytest.mark.parametrize("backend", SOLVERS)
def test_greedy_matches_the_backend_on_a_spec_with_area_bounds(backend: str) -> None:
    rng = np.random.default_rng(8)
    n = 12
    target = rng.integers(0, 6000, n)
    spec = MilpSpec(
        name="PC", lo=rng.integers(0, 2, n), hi=np.full(n, 9), groups=np.repeat(np.arange(4), 3),
        group_lo=np.array([0, 8, 0, 0]), group_hi=np.array([4, 12, 12, 5]), total=30, exact_total=True,
        stages=[Stage("moves", "l1", np.ones(n, dtype=np.int64), rng.integers(0, 5, n), 1),
                Stage("proportional", "l1", np.ones(n, dtype=np.int64), target, 1000),
                Stage("tie-break", "linear", np.arange(1, n + 1))],
    )
    exact = solve_greedy(spec)
    milp = get_backend(backend).solve(spec, time_limit=20, seed=0)
    assert exact.status == milp.status == "optimal"
    assert [s.objective for s in exact.stages] == [s.objective for s in milp.stages]
    assert {s.method for s in exact.stages} == {"greedy"}
    assert exact.x is not None and milp.x is not None
    np.testing.assert_array_equal(exact.x, milp.x)  # the tie-break leaves one optimum here


@pytest.mark.parametrize("backend", SOLVERS)
def test_verify_records_the_milp_check(backend: str, sample_force: allocator.Force) -> None:
    W = np.random.default_rng(12).uniform(200, 4000, (6, 5, 3))
    a = allocator.allocate(W, sample_force, backend=backend, verify=True)
    rep = a.solver
    assert rep.status == "optimal" and [c.role for c in rep.checks] == ["PC", "PCSO", "LCI"]
    for c in rep.checks:  # the check proves on HiGHS whatever the backend
        assert c.method == "pulp:highs" and c.status == "optimal"
        assert c.objective == pytest.approx(rep.objective[f"maximin[{c.role}]"], rel=1e-6)
    text = str(rep)
    # the PC area bounds of Swindon bind: the exact search, then the greedy
    assert "maximin[PC] by exact search" in text and "proportional[PC] by greedy" in text
    assert "check maximin[PC] by pulp:highs" in text
    assert 0 < rep.build_seconds <= rep.seconds


def test_a_verify_check_without_a_proof_is_not_an_error(sample_force: allocator.Force, monkeypatch) -> None:
    from allocator.solve import planner
    from allocator.solve.milp import MilpResult
    from allocator.solve.report import StageReport

    class _NoProof:
        name = "pulp:highs"

        def solve(self, spec, time_limit, seed):  # ran out of time with a worse posting
            return MilpResult(None, [StageReport("maximin", spec.name, "feasible", 1e-6, 9.0, 1.0, self.name)],
                              "feasible")

    monkeypatch.setattr(planner, "get_backend", lambda name: _NoProof() if name == "pulp:highs" else
                        allocator.solve.milp.get_backend(name))
    W = np.random.default_rng(12).uniform(200, 4000, (6, 5, 3))
    a = allocator.allocate(W, sample_force, verify=True)
    assert a.solver.status == "optimal" and all(c.status == "feasible" for c in a.solver.checks)


def test_report_names_the_backend_only_where_it_solved(sample_force: allocator.Force) -> None:
    rng = np.random.default_rng(13)
    W = rng.uniform(200, 4000, (6, 5, 3))
    current = allocator.allocate(rng.uniform(200, 4000, (6, 5, 3)), sample_force).posts
    a = allocator.allocate(W, sample_force, backend="pulp:highs", current=current, max_moves=5)
    by_stage = {(s.name, s.role): s.method for s in a.solver.stages}
    # a move limit couples the cells: the maximin is the exact search, the rest the parametric greedy
    # (or, with exact_stages=False, the backend's MILP)
    assert by_stage[("maximin", "PC")] == "exact search"
    assert by_stage[("proportional", "PC")] == by_stage[("tie-break", "PC")] == "parametric greedy"
    b = allocator.allocate(W, sample_force, backend="pulp:highs", current=current, max_moves=5, exact_stages=False)
    by_stage = {(s.name, s.role): s.method for s in b.solver.stages}
    assert by_stage[("proportional", "PC")] == by_stage[("tie-break", "PC")] == "pulp:highs"
    assert "maximin[PC] by exact search" in str(a.solver)


def test_cbc_solves_a_small_model_every_time() -> None:
    # CBC's `threads 1` mode stalled this model until the time limit in about 1 solve in 10
    spec = MilpSpec(
        name="PC", lo=np.array([0, 0, 1]), hi=np.array([5, 5, 5]), groups=np.array([0, 0, 1]),
        group_lo=np.array([0, 0]), group_hi=np.array([3, 5]), total=5, exact_total=True,
        stages=[Stage("proportional", "l1", np.ones(3, dtype=np.int64), np.array([2000, 2000, 1000]), 1000),
                Stage("tie-break", "linear", np.array([1, 2, 3]))],
    )
    cbc = get_backend("pulp:cbc")
    statuses = [cbc.solve(spec, time_limit=5, seed=0).status for _ in range(40)]
    assert statuses == ["optimal"] * 40
