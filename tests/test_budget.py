"""The exact parametric greedy under a move limit, against every backend's MILP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator.solve.exact.budget import PARAMETRIC, budget_applies, solve_budget
from allocator.solve.milp import MilpSpec, Stage, available_backends, get_backend

SOLVERS = [b for b in available_backends() if b != "pulp"]


@st.composite
def budget_specs(draw: st.DrawFn) -> MilpSpec:
    """1-3 areas x 1-3 shifts, cell and area bounds, a current posting, a move limit, two stages."""
    G, S = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n = G * S
    ints = lambda a, b, k: np.array(draw(st.lists(st.integers(a, b), min_size=k, max_size=k)))  # noqa: E731
    lo = ints(0, 2, n)
    hi = lo + ints(0, 5, n)
    group_lo = ints(0, 3, G) * ints(0, 1, G)
    group_hi = group_lo + ints(4, 18, G)
    total = draw(st.integers(int(lo.sum()), int(hi.sum())))
    scale = draw(st.sampled_from([1, 2, 1000]))
    return MilpSpec(
        "PC", lo, hi, np.repeat(np.arange(G), S), group_lo, group_hi, total, True,
        [Stage("proportional", "l1", np.ones(n, dtype=np.int64), ints(0, 6 * scale, n), scale),
         Stage("tie-break", "linear", np.arange(1, n + 1))],
        current=ints(0, 6, n), max_l1=draw(st.integers(0, 12)),
    )


@settings(max_examples=40, deadline=None)
@given(budget_specs())
def test_parametric_greedy_equals_every_backends_milp(spec: MilpSpec) -> None:
    assert budget_applies(spec)
    exact = solve_budget(spec)
    assert {s.method for s in exact.stages} == {PARAMETRIC}
    if exact.x is not None:
        assert spec.admits(exact.x) and exact.status == "optimal"
        assert all(s.objective == s.bound for s in exact.stages)
    for b in SOLVERS:
        milp = get_backend(b).solve(spec, time_limit=20, seed=0)
        assert milp.status == exact.status, b
        if exact.x is not None:
            assert [s.objective for s in milp.stages] == [s.objective for s in exact.stages], b


def test_parametric_greedy_by_hand() -> None:
    # targets 6, 0, 3 from 2, 4, 3: two moves allowed, both from cell 1 to cell 0
    spec = MilpSpec("PC", np.zeros(3, dtype=int), np.full(3, 9), np.array([0, 0, 1]), np.zeros(2, dtype=int),
                    np.array([9, 9]), 9, True,
                    [Stage("proportional", "l1", np.ones(3, dtype=int), np.array([6000, 0, 3000]), 1000),
                     Stage("tie-break", "linear", np.array([1, 2, 3]))],
                    current=np.array([2, 4, 3]), max_l1=4)
    res = solve_budget(spec)
    assert res.x is not None and res.x.tolist() == [4, 2, 3]
    # one move only: one post moves; no move: the current posting
    one = solve_budget(MilpSpec(**{**spec.__dict__, "max_l1": 2}))
    assert one.x is not None and one.x.tolist() == [3, 3, 3]
    none = solve_budget(MilpSpec(**{**spec.__dict__, "max_l1": 0}))
    assert none.x is not None and none.x.tolist() == [2, 4, 3]
    # a floor the limit cannot reach: infeasible, said so, no posting
    far = solve_budget(MilpSpec(**{**spec.__dict__, "lo": np.array([7, 0, 0]), "max_l1": 4}))
    assert far.x is None and far.status == "infeasible"
    with pytest.raises(ValueError, match="needs a move limit"):
        solve_budget(MilpSpec(**{**spec.__dict__, "max_l1": None}))


def test_move_limit_solve_is_exact_on_every_backend(sample_force: allocator.Force) -> None:
    rng = np.random.default_rng(21)
    W = rng.uniform(200, 4000, (6, 5, 3))
    current = allocator.allocate(rng.uniform(200, 4000, (6, 5, 3)), sample_force).posts
    exact = {b: allocator.allocate(W, sample_force, backend=b, current=current, max_moves=6) for b in SOLVERS}
    milp = {b: allocator.allocate(W, sample_force, backend=b, current=current, max_moves=6, exact_stages=False)
            for b in SOLVERS}
    first = next(iter(exact.values()))
    for b in SOLVERS:
        np.testing.assert_array_equal(exact[b].posts, first.posts)  # the same posting whatever the backend
        assert exact[b].solver.objective == pytest.approx(milp[b].solver.objective, rel=1e-12)
        assert (np.abs(exact[b].posts - current).sum(axis=(0, 1)) <= 12).all()
        methods = {s.method for s in exact[b].solver.stages if s.name != "maximin"}
        assert methods == {PARAMETRIC} and {s.method for s in milp[b].solver.stages
                                            if s.name != "maximin"} == {b}
