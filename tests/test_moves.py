"""The closest posting to the current one, the move ranges, and the move-limit hint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.model.problem import RoleProblem
from allocator.solve.exact.moves import closest_posting, move_ranges


@st.composite
def small_roles(draw: st.DrawFn) -> RoleProblem:
    """A role of 1-3 areas x 1-2 shifts with cell bounds 0..5, area bounds, a current posting."""
    A, S = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    C = A * S
    cells = st.lists(st.integers(0, 5), min_size=C, max_size=C)
    a, b = np.array(draw(cells)), np.array(draw(cells))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    area_min = np.array(draw(st.lists(st.integers(0, 6), min_size=A, max_size=A)))
    area_max = area_min + np.array(draw(st.lists(st.integers(0, 8), min_size=A, max_size=A)))
    current = np.array(draw(st.lists(st.integers(0, 6), min_size=C, max_size=C)))
    return RoleProblem("PC", np.ones(C), np.ones(C), lo, hi, A, S, area_min, area_max,
                       draw(st.integers(0, 12)), draw(st.booleans()), np.zeros(C, dtype=bool),
                       current=current)


def _postings(rp: RoleProblem) -> list[np.ndarray]:
    """Every posting meeting the cell, area and total rules (brute force)."""
    out = []
    for combo in itertools.product(*(range(int(lo), int(hi) + 1) for lo, hi in zip(rp.lo, rp.hi, strict=True))):
        x = np.array(combo, dtype=np.int64)
        per_area = x.reshape(rp.n_areas, rp.n_shifts).sum(axis=1)
        if (per_area < rp.area_min).any() or (per_area > rp.area_max).any():
            continue
        if (x.sum() != rp.total) if rp.exact_total else (x.sum() > rp.total):
            continue
        out.append(x)
    return out


def _admissible(rp: RoleProblem, x: np.ndarray) -> bool:
    per_area = x.reshape(rp.n_areas, rp.n_shifts).sum(axis=1)
    ok_total = (x.sum() == rp.total) if rp.exact_total else (x.sum() <= rp.total)
    return bool((x >= rp.lo).all() and (x <= rp.hi).all() and (per_area >= rp.area_min).all()
                and (per_area <= rp.area_max).all() and ok_total)


@settings(max_examples=150, deadline=None)
@given(small_roles(), st.randoms(use_true_random=False))
def test_closest_posting_has_the_fewest_moves(rp: RoleProblem, rnd) -> None:
    feasible = _postings(rp)
    assert rp.check(moves=False) == bool(feasible)
    if not feasible:
        with pytest.raises(ValueError, match="admit no posting"):
            closest_posting(rp, rp.lo)
        return
    prefer = np.array([rnd.uniform(0, 6) for _ in range(rp.lo.size)])
    for pref in (None, prefer):
        x = closest_posting(rp, rp.lo, prefer=pref)
        assert x.dtype == np.int64 and _admissible(rp, x)
        moves = int(np.abs(x - rp.current).sum())
        assert moves == rp.min_l1(rp.lo, rp.hi)
        assert moves == min(int(np.abs(y - rp.current).sum()) for y in feasible)
        np.testing.assert_array_equal(x, closest_posting(rp, rp.lo, prefer=pref))  # deterministic


@settings(max_examples=100, deadline=None)
@given(small_roles(), st.integers(0, 8))
def test_move_ranges_keep_every_posting_within_the_limit(rp: RoleProblem, limit: int) -> None:
    assert rp.current is not None
    lo, hi = move_ranges(rp.lo, rp.hi, rp.current, rp.total, rp.exact_total, 2 * limit)
    for x in _postings(rp):
        if np.abs(x - rp.current).sum() <= 2 * limit:
            assert (x >= lo).all() and (x <= hi).all()


def test_closest_posting_by_hand() -> None:
    # two areas of two shifts; area 1 needs 3 in its first cell, the total is 10
    rp = RoleProblem("PC", np.ones(4), np.ones(4), np.array([0, 0, 3, 0]), np.full(4, 9), 2, 2,
                     np.zeros(2, dtype=int), np.array([9, 9]), 10, True, np.zeros(4, dtype=bool),
                     current=np.array([5, 4, 0, 0]))
    # 3 posts into area 1 and 2 out of area 0: 5 changes; the 2 leave the cell furthest above target
    x = closest_posting(rp, rp.lo, prefer=np.array([4.0, 1.0, 3.0, 2.0]))
    assert x.tolist() == [5, 2, 3, 0]
    assert closest_posting(rp, rp.lo).tolist() == [3, 4, 3, 0]
    with pytest.raises(ValueError, match="needs a current posting"):
        closest_posting(RoleProblem("PC", np.ones(1), np.ones(1), np.zeros(1, dtype=int), np.ones(1, dtype=int),
                                    1, 1, np.zeros(1, dtype=int), np.ones(1, dtype=int), 1, True,
                                    np.zeros(1, dtype=bool)), np.zeros(1, dtype=int))
