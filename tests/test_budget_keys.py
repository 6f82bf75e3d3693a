"""The parametric greedy sorts its unit costs as int64 when they fit and as exact ranks otherwise: the same answer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from allocator.solve.exact import budget
from allocator.solve.exact.budget import solve_budget
from tests.test_budget import budget_specs


@given(budget_specs())
def test_int64_keys_and_exact_ranks_give_the_same_posting(spec) -> None:
    fast = solve_budget(spec)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget, "_INT64_SAFE", 1)  # every cost too large for int64: exact ranks of Python ints
        exact = solve_budget(spec)
    assert fast.status == exact.status
    if fast.x is not None:
        assert fast.x.tolist() == exact.x.tolist()
        assert [s.objective for s in fast.stages] == [s.objective for s in exact.stages]


def test_keys_order_the_costs_exactly() -> None:
    rng = np.random.default_rng(0)
    df = np.array([int(v) for v in rng.integers(-10**12, 10**12, 400)], dtype=object)
    dg = rng.choice([-1, 1], 400).astype(np.int64)
    runs = object.__new__(budget._Runs)  # only the cost fields matter here
    runs.df, runs.dg = df, dg
    runs.df_top = int(np.abs(df).max())
    runs.df64 = df.astype(np.int64)
    for a, b in ((4, 1), (4, 2 * 10**12 + 1), (4, 3)):
        cost = df * a + dg * b
        key = runs.cost_key(a, b)
        assert key.dtype == np.int64
        assert np.argsort(key, kind="stable").tolist() == sorted(range(400), key=lambda i: (cost[i], i))
    big = runs.cost_key(4, 1 << 62)  # past int64: ranks of the exact Python-int costs
    cost = df * 4 + dg * (1 << 62)
    assert np.argsort(big, kind="stable").tolist() == sorted(range(400), key=lambda i: (cost[i], i))
