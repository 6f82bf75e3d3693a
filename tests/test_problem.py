"""The solver-neutral problem: building it, reading a current posting, the exact feasibility test."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.errors import InputError
from allocator.model.force import Pin
from allocator.model.problem import MIN_STAFFING, RoleProblem, build_problem, read_current


def test_build_problem_arrays_follow_the_force(sample_force: allocator.Force) -> None:
    W = np.arange(90, dtype=float).reshape(6, 5, 3)
    p = build_problem(W, sample_force)
    assert p.shape == (6, 5, 3)
    assert p.areas[0] == "Swindon North" and p.shifts[-1] == "Night" and p.roles == ("PC", "PCSO", "LCI")
    np.testing.assert_array_equal(p.workload, W)
    # PC: (1 - 0.5) on duty x (1 - 0.3) reactive x 10 night hours x 182 days
    assert p.capacity[3, 4, 0] == pytest.approx(0.5 * 0.7 * 10 * 182)
    # PCSO Early: 0.55 x 0.5 x 9 x 182
    assert p.capacity[0, 0, 1] == pytest.approx(0.55 * 0.5 * 9 * 182)
    np.testing.assert_array_equal(p.lower_bounds[MIN_STAFFING], sample_force.min_posts_array())
    assert p.lower[0, 4, 0] == 8  # Swindon North nights: 4 on duty at 50% abstraction
    assert p.area_max[:, 0].tolist() == [95, 95, 400, 400, 400, 400]
    assert p.upper[0, 0, 0] == 95 and p.upper[2, 0, 0] == 400 and p.upper[0, 0, 1] == 120
    assert (p.pins == -1).all() and p.current is None


def test_pins_and_area_bounds_reach_the_role_problem(sample_force: allocator.Force) -> None:
    force = sample_force.model_copy(
        update={"pins": [Pin(area="Wiltshire East", shift="Day", role="PCSO", posts=5)]}
    )
    p = build_problem(np.ones((6, 5, 3)), force)
    assert p.pins[3, 1, 1] == 5 and p.pinned.sum() == 1
    assert not p.objective_mask[3, 1, 1]
    rp = p.role_problem(1)
    c = 3 * 5 + 1
    assert rp.lo[c] == rp.hi[c] == 5 and rp.pinned[c]
    assert rp.total == 120 and rp.exact_total
    rp0 = p.role_problem(0)
    assert rp0.area_max.tolist()[:2] == [95, 95]


def test_with_lower_bound_adds_a_named_source(sample_force: allocator.Force) -> None:
    p = build_problem(np.ones((6, 5, 3)), sample_force)
    extra = np.zeros((6, 5, 3))
    extra[1, 2, 0] = 10.2  # fractional posts round up
    q = p.with_lower_bound("queueing", extra)
    assert q.lower[1, 2, 0] == 11 and q.lower_source(1, 2, 0) == "queueing"
    assert q.lower_source(0, 4, 0) == MIN_STAFFING
    assert "queueing" not in p.lower_bounds  # the original is unchanged
    with pytest.raises(ValueError, match="shape"):
        p.with_lower_bound("bad", np.zeros((2, 2, 2)))


def test_bad_workload_is_reported_cell_by_cell(sample_force: allocator.Force) -> None:
    W = np.ones((6, 5, 3))
    W[0, 1, 2] = -3.0
    W[5, 4, 0] = np.nan
    with pytest.raises(InputError) as err:
        build_problem(W, sample_force)
    text = str(err.value)
    assert "Swindon North / Day / LCI" in text and "-3.0" in text
    assert "Wiltshire South / Night / PC" in text and len(err.value.problems) == 2
    with pytest.raises(InputError, match="expected"):
        build_problem(np.ones((6, 5)), sample_force)


def test_current_posting_from_csv_and_frame(sample_force: allocator.Force, tmp_path) -> None:
    path = tmp_path / "current_shifts.csv"
    path.write_text("area,shift,role,posts\nSwindon North,Night,PC,9\nWiltshire West,Early,LCI,2\n")
    arr = read_current(path, sample_force, missing="zero", allow_vacancies=True)
    assert arr[0, 4, 0] == 9 and arr[4, 0, 2] == 2 and arr.sum() == 11 and arr.dtype == np.int64
    frame = pd.DataFrame({"area": ["Swindon North"], "shift": ["Night"], "role": ["PC"], "posts": [9]})
    assert read_current(frame, sample_force, missing="zero", allow_vacancies=True).sum() == 9
    p = build_problem(np.ones((6, 5, 3)), sample_force, current=arr, max_moves=4)
    assert p.current is not None and p.current[0, 4, 0] == 9 and p.max_moves == 4


def test_current_posting_errors_all_at_once(sample_force: allocator.Force, tmp_path) -> None:
    path = tmp_path / "current_shifts.csv"
    path.write_text(
        "area,shift,role,posts\n"
        "Swindon Nrth,Night,PC,9\n"
        "Swindon North,Nights,PC,-1\n"
        "Swindon North,Early,PC,2.5\n"
        "Swindon North,Early,PC,3\n"
        "Swindon North,Early,PC,4\n"
    )
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    problems = [str(p) for p in err.value.problems]
    assert any("line 2, row 1, column area: unknown area 'Swindon Nrth'; did you mean 'Swindon North'? "
               "(got 'Swindon Nrth')" in p for p in problems)
    assert any("row 2, column shift: unknown shift 'Nights'; did you mean 'Night'? (got 'Nights')" in p
               for p in problems)
    assert any("row 2, column posts" in p and "'-1'" in p for p in problems)
    assert any("row 3, column posts" in p and "'2.5'" in p for p in problems)
    assert any("row 5" in p and "given twice (first in row 4)" in p for p in problems)
    assert all(p.startswith("current_shifts.csv") for p in problems)
    with pytest.raises(InputError, match="missing column 'posts'"):
        read_current(pd.DataFrame({"area": [], "shift": [], "role": []}), sample_force)


# ----------------------------------------------------- the exact feasibility test
@st.composite
def tiny_roles(draw: st.DrawFn) -> RoleProblem:
    """Two areas x two shifts, small bounds, optional area bounds and move limit."""
    lo = np.array(draw(st.lists(st.integers(0, 2), min_size=4, max_size=4)))
    hi = lo + np.array(draw(st.lists(st.integers(0, 4), min_size=4, max_size=4)))
    area_min = np.array(draw(st.lists(st.integers(0, 4), min_size=2, max_size=2)))
    area_max = area_min + np.array(draw(st.lists(st.integers(0, 6), min_size=2, max_size=2)))
    current = np.array(draw(st.lists(st.integers(0, 4), min_size=4, max_size=4)))
    return RoleProblem(
        name="PC",
        workload=np.array([1.0, 2.0, 3.0, 0.0]),
        capacity=np.ones(4),
        lo=lo,
        hi=hi,
        n_areas=2,
        n_shifts=2,
        area_min=area_min,
        area_max=area_max,
        total=draw(st.integers(0, 12)),
        exact_total=draw(st.booleans()),
        pinned=np.zeros(4, dtype=bool),
        current=current,
        max_moves=draw(st.none() | st.integers(0, 6)),
    )


def _brute(rp: RoleProblem) -> list[np.ndarray]:
    out = []
    for x in itertools.product(*(range(int(a), int(b) + 1) for a, b in zip(rp.lo, rp.hi, strict=True))):
        x = np.array(x)
        s = x.sum()
        if s > rp.total or (rp.exact_total and s != rp.total):
            continue
        areas = x.reshape(2, 2).sum(axis=1)
        if (areas < rp.area_min).any() or (areas > rp.area_max).any():
            continue
        out.append(x)
    return out


@given(tiny_roles())
def test_check_and_min_moves_match_enumeration(rp: RoleProblem) -> None:
    assert rp.current is not None
    postings = _brute(rp)
    within = [x for x in postings if rp.max_moves is None or np.abs(x - rp.current).sum() <= 2 * rp.max_moves]
    assert rp.check() == bool(within)
    if postings:
        assert rp.check(moves=False)
        assert rp.min_l1(rp.lo, rp.hi) == min(int(np.abs(x - rp.current).sum()) for x in postings)


def test_floors_hit_breakpoints_exactly() -> None:
    rp = RoleProblem("PC", np.array([3.0, 7.0]), np.array([0.1, 0.7]), np.zeros(2, dtype=np.int64),
                     np.full(2, 100), 1, 2, np.zeros(1, dtype=np.int64), np.array([100]), 50, True,
                     np.zeros(2, dtype=bool))
    u = 0.1 * 7 / 3.0  # cell 0 at 7 posts
    assert rp.floors(u).tolist() == [7, 3]  # ceil(0.2333 x 7 / 0.7)
    nb = rp.next_breakpoint(u)
    assert nb > u and nb == pytest.approx(min(0.1 * 8 / 3.0, 0.7 * 3 / 7.0))
