"""The exact maximin / leximin fast path, checked against brute-force enumeration."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from allocator import MaximinResult, apportion, maximin_posts
from allocator.solve.exact.maximin import maximin_roles

NO_CAP = 2**62

# values chosen so that exact ties (and float near-ties such as 0.1 x 3 vs 0.3) occur often
WORK = st.sampled_from([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 0.1, 0.3, 0.5, 1 / 3, 7.5, 12.0])
CAP = st.sampled_from([1.0, 2.0, 3.0, 0.5, 0.1, 0.25, 1.5])


def exact_ratios(w: list[float], k: list[float], x: list[int]) -> list[Fraction]:
    """Sorted exact coverage ratios of the cells with workload."""
    return sorted(
        Fraction(int(xi)) * Fraction(ki) / Fraction(wi)
        for wi, ki, xi in zip(w, k, x, strict=True)
        if wi > 0
    )


def postings(lo: list[int], up: list[int], total: int) -> Iterator[tuple[int, ...]]:
    """Every integer vector with lo <= x <= up summing to total."""
    if not lo:
        if total == 0:
            yield ()
        return
    rest_lo = sum(lo[1:])
    for x0 in range(lo[0], min(up[0], total - rest_lo) + 1):
        for tail in postings(lo[1:], up[1:], total - x0):
            yield (x0, *tail)


def brute(
    w: list[float], k: list[float], lo: list[int], up: list[int], total: int
) -> tuple[Fraction, list[Fraction]] | None:
    """(best smallest ratio, leximin-best sorted ratio vector) by enumeration."""
    best: list[Fraction] | None = None
    best_min: Fraction | None = None
    for x in postings(lo, up, total):
        v = exact_ratios(w, k, list(x))
        if best is None or v > best:
            best = v
        m = v[0] if v else None
        if m is not None and (best_min is None or m > best_min):
            best_min = m
    if best is None:
        return None
    return (best_min if best_min is not None else Fraction(-1)), best


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[float], list[float], list[int], list[int], int]:
    n = draw(st.integers(1, 5))
    w = [draw(WORK) for _ in range(n)]
    k = [draw(CAP) for _ in range(n)]
    lo = [draw(st.integers(0, 2)) for _ in range(n)]
    up = [lo[i] + draw(st.integers(0, 6)) for i in range(n)]
    total = draw(st.integers(0, 12))
    return w, k, lo, up, total


# ---------------------------------------------------------------- brute force


@given(cases())
def test_matches_brute_force_maximin_and_leximin(
    case: tuple[list[float], list[float], list[int], list[int], int],
) -> None:
    w, k, lo, up, total = case
    res = maximin_posts(w, k, lo, up, total)
    best = brute(w, k, lo, up, total)
    if best is None:
        assert not res.feasible
        assert res.reason
        return
    assert res.feasible and res.reason == ""
    x = res.posts.tolist()
    assert sum(x) == total
    assert all(lo[i] <= x[i] <= up[i] for i in range(len(x)))
    got = exact_ratios(w, k, x)
    best_min, best_vec = best
    assert got == best_vec  # leximin: the sorted ratio vector is the best there is
    if got:
        assert res.ratio == float(best_min)
        # binding cells: exactly those at u*
        u = got[0]
        at_u = [
            i
            for i in range(len(w))
            if w[i] > 0 and Fraction(x[i]) * Fraction(k[i]) / Fraction(w[i]) == u
        ]
        assert res.binding.tolist() == at_u
        # needed: reaches u*, and one fewer post in any cell above its floor falls short
        need = res.needed.tolist()
        assert all(lo[i] <= need[i] <= x[i] for i in range(len(x)))
        for i in range(len(w)):
            if w[i] > 0:
                assert Fraction(need[i]) * Fraction(k[i]) / Fraction(w[i]) >= u
                if need[i] > lo[i]:
                    assert Fraction(need[i] - 1) * Fraction(k[i]) / Fraction(w[i]) < u
            else:
                assert need[i] == lo[i]
    else:
        assert res.ratio == float("inf")
        assert res.binding.size == 0


@given(cases())
def test_without_exact_total_stops_at_the_minimal_posting(
    case: tuple[list[float], list[float], list[int], list[int], int],
) -> None:
    w, k, lo, up, total = case
    assume(sum(lo) <= total and all(a <= b for a, b in zip(lo, up, strict=True)))
    res = maximin_posts(w, k, lo, up, total, exact_total=False)
    assert res.feasible
    assert res.posts.tolist() == res.needed.tolist()
    assert res.unallocated == total - int(res.posts.sum())
    # the best smallest ratio over postings of at most `total` posts
    best = None
    for t in range(sum(lo), total + 1):
        b = brute(w, k, lo, up, t)
        if b is not None and b[1]:
            best = b[0] if best is None else max(best, b[0])
    if best is not None:
        assert res.ratio == float(best)
        assert exact_ratios(w, k, res.posts.tolist())[0] == best


# ---------------------------------------------------------------- invariances


@given(cases(), st.randoms(use_true_random=False))
def test_relabelling_cells_permutes_the_answer(
    case: tuple[list[float], list[float], list[int], list[int], int], rnd: object
) -> None:
    w, k, lo, up, total = case
    perm = list(range(len(w)))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    a = maximin_posts(w, k, lo, up, total)
    b = maximin_posts(
        [w[p] for p in perm],
        [k[p] for p in perm],
        [lo[p] for p in perm],
        [up[p] for p in perm],
        total,
    )
    assert a.feasible == b.feasible
    if not a.feasible:
        return
    assert a.ratio == b.ratio
    xa, xb = a.posts.tolist(), b.posts.tolist()
    wb, kb = [w[p] for p in perm], [k[p] for p in perm]
    assert exact_ratios(w, k, xa) == exact_ratios(wb, kb, xb)
    rates = [Fraction(w[i]) / Fraction(k[i]) for i in range(len(w)) if w[i] > 0]
    if len(set(rates)) == len(rates) and sum(1 for v in w if v == 0) <= 1:
        # no two cells interchangeable: the posting itself is unique
        assert xb == [xa[p] for p in perm]


@given(cases(), st.sampled_from([0.25, 0.5, 2.0, 8.0]))
def test_scaling_workload_divides_the_ratio(
    case: tuple[list[float], list[float], list[int], list[int], int], c: float
) -> None:
    w, k, lo, up, total = case
    a = maximin_posts(w, k, lo, up, total)
    b = maximin_posts([v * c for v in w], k, lo, up, total)
    assert a.feasible == b.feasible
    if a.feasible:
        assert b.posts.tolist() == a.posts.tolist()
        assert b.ratio == a.ratio / c


@given(cases())
def test_more_establishment_never_lowers_the_ratio(
    case: tuple[list[float], list[float], list[int], list[int], int],
) -> None:
    w, k, lo, _, total = case
    up = [NO_CAP] * len(w)
    a = maximin_posts(w, k, lo, up, total)
    b = maximin_posts(w, k, lo, up, total + 1)
    if a.feasible:
        assert b.feasible
        assert b.ratio >= a.ratio


@given(cases(), st.sampled_from(["hamilton", "jefferson", "webster", "huntington-hill", "adams"]))
def test_never_worse_than_an_apportionment_method(
    case: tuple[list[float], list[float], list[int], list[int], int], method: str
) -> None:
    w, k, lo, _, total = case
    assume(any(v > 0 for v in w) and total >= sum(lo))
    weights = [wi / ki for wi, ki in zip(w, k, strict=True)]
    classic = apportion(weights, total, method, minimum=lo).tolist()
    res = maximin_posts(w, k, lo, NO_CAP, total)
    assert Fraction(res.ratio) >= exact_ratios(w, k, classic)[0] - Fraction(1, 10**12)
    assert exact_ratios(w, k, res.posts.tolist()) >= exact_ratios(w, k, classic)


# ---------------------------------------------------------------- worked examples


def test_hand_worked_example() -> None:
    # rates w/k = 1, 2, 3 posts per unit of coverage: 6 posts give coverage 1 everywhere
    res = maximin_posts([10.0, 20.0, 30.0], 10.0, 0, NO_CAP, 6)
    assert isinstance(res, MaximinResult)
    assert res.posts.tolist() == [1, 2, 3]
    assert res.ratio == 1.0
    assert res.binding.tolist() == [0, 1, 2]
    # a 7th post: all at coverage 1, it goes where it lifts most (the smallest cell: 1 -> 2)
    assert maximin_posts([10.0, 20.0, 30.0], 10.0, 0, NO_CAP, 7).posts.tolist() == [2, 2, 3]
    # 5 posts: coverage 1 for all is out of reach; best smallest is 2/3 (cell 2 with 2 posts)
    res = maximin_posts([10.0, 20.0, 30.0], 10.0, 0, NO_CAP, 5)
    assert res.posts.tolist() == [1, 2, 2]
    assert res.ratio == pytest.approx(2 / 3)
    assert res.binding.tolist() == [2]
    assert res.needed.tolist() == [1, 2, 2]


def test_spare_post_goes_to_the_lowest_current_ratio_not_the_lowest_next_ratio() -> None:
    # cells at coverage 1 with 1 and 10 posts; one spare post. Jefferson's order
    # (smallest next ratio) would lift the big cell to 1.1; leximin gives (1, 2).
    res = maximin_posts([1.0, 10.0], 1.0, [1, 10], NO_CAP, 12)
    assert res.posts.tolist() == [2, 10]
    assert sorted(exact_ratios([1.0, 10.0], [1.0, 1.0], res.posts.tolist())) == [1, 2]


def test_exact_ties_are_not_lost_to_float_error() -> None:
    # rates 0.1/0.1 and 3/3 are exactly 1 in binary floats only for the second;
    # 0.75/0.5 and 3.75/2.5 are exact binary ties (1.5 each)
    res = maximin_posts([0.75, 3.75], [0.5, 2.5], 0, NO_CAP, 4)
    assert res.posts.tolist() == [2, 2]
    assert res.binding.tolist() == [0, 1]
    # identical cells: ties go to the lowest index
    assert maximin_posts([3.0, 3.0, 3.0], 1.0, 0, NO_CAP, 4).posts.tolist() == [2, 1, 1]


def test_upper_bounds_and_zero_workload_cells() -> None:
    # busy cells capped at 2 each: the rest goes to idle cells in index order
    res = maximin_posts([5.0, 0.0, 5.0, 0.0], 1.0, 0, [2, 3, 2, 10], 9)
    assert res.posts.tolist() == [2, 3, 2, 2]
    assert res.ratio == pytest.approx(0.4)
    # without an exact total, only what lifts coverage is posted
    res = maximin_posts([5.0, 0.0, 5.0, 0.0], 1.0, 0, [2, 3, 2, 10], 9, exact_total=False)
    assert res.posts.tolist() == [2, 0, 2, 0]
    assert res.unallocated == 5


def test_no_workload_anywhere() -> None:
    res = maximin_posts([0.0, 0.0], 1.0, [1, 0], [2, 5], 4)
    assert res.ratio == float("inf")
    assert res.posts.tolist() == [2, 2]
    assert res.binding.size == 0


def test_large_totals_are_vectorised() -> None:
    # a per-post loop would take minutes here
    res = maximin_posts([1.0, 2.0, 3.0], 1.0, 0, NO_CAP, 6 * 10**9)
    assert res.posts.tolist() == [10**9, 2 * 10**9, 3 * 10**9]
    assert res.ratio == 10**9


def test_two_dimensional_cells_keep_their_shape() -> None:
    w = np.array([[4.0, 0.0], [2.0, 2.0]])
    res = maximin_posts(w, 1.0, 0, NO_CAP, 8)
    assert res.posts.shape == (2, 2)
    assert res.posts.tolist() == [[4, 0], [2, 2]]
    assert res.binding.tolist() == [0, 2, 3]  # flat indexes


# ---------------------------------------------------------------- infeasible and bad input


def test_infeasible_inputs_give_reasons_not_exceptions() -> None:
    r = maximin_posts([5.0, 5.0, 5.0], 1.0, [150, 150, 132], NO_CAP, 400)
    assert not r.feasible
    assert r.reason == "minimum staffing needs 432 posts; the establishment is 400"
    assert np.isnan(r.ratio)
    r = maximin_posts([5.0, 5.0], 1.0, 0, [3, 4], 10)
    assert not r.feasible
    assert r.reason == "the caps allow at most 7 posts; the establishment is 10"
    # ... but leaving posts unallocated is allowed without an exact total: the cap of 3
    # holds the first cell at coverage 0.6, which the second reaches with 3 posts
    r = maximin_posts([5.0, 5.0], 1.0, 0, [3, 4], 10, exact_total=False)
    assert r.feasible and r.posts.tolist() == [3, 3] and r.unallocated == 4
    assert r.ratio == pytest.approx(0.6)
    r = maximin_posts([5.0, 5.0], 1.0, [2, 4], [3, 3], 10)
    assert not r.feasible
    assert r.reason == "the minimum exceeds the maximum in 1 cell(s): cell 1 (lower 4, upper 3)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"workload": [1.0, -2.0]},
            r"workload must be finite and non-negative; got -2\.0 at index 1",
        ),
        ({"workload": [1.0, float("nan")]}, r"got nan at index 1"),
        (
            {"capacity_per_post": [1.0, 0.0]},
            r"capacity_per_post must be finite and positive; got 0\.0",
        ),
        ({"lower": [0.5, 0]}, r"lower must be whole numbers; got 0\.5 at index 0"),
        ({"upper": [3, -1]}, r"upper must not be negative; got -1 at index 1"),
        ({"lower": [0, 0, 0]}, r"lower has shape \(3,\), which does not fit workload shape \(2,\)"),
        ({"total": 2.5}, r"the establishment must be a whole number, got 2\.5"),
        ({"total": -1}, r"the establishment must not be negative, got -1"),
    ],
)
def test_bad_input_raises_naming_the_value(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "workload": [1.0, 2.0],
        "capacity_per_post": 1.0,
        "lower": 0,
        "upper": 10,
        "total": 3,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        maximin_posts(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- several roles


def test_roles_are_independent() -> None:
    rng = np.random.default_rng(7)
    w = rng.gamma(2.0, 50.0, size=(6, 5, 3))
    w[0, 0, :] = 0.0
    cap = np.array([300.0, 250.0, 400.0])
    lower = np.ones((6, 5, 3), dtype=np.int64)
    est = np.array([400, 120, 60])
    res = maximin_roles(w, cap, lower, NO_CAP, est)
    assert res.posts.shape == (6, 5, 3)
    assert res.posts.sum(axis=(0, 1)).tolist() == est.tolist()
    for r in range(3):
        one = maximin_posts(w[:, :, r], cap[r], lower[:, :, r], NO_CAP, int(est[r]))
        assert res.posts[:, :, r].tolist() == one.posts.tolist()
        assert res.ratios[r] == one.ratio
    assert res.feasible.all() and res.reasons == ("", "", "")
    short = maximin_roles(w, cap, lower, NO_CAP, np.array([400, 10, 60]))
    assert short.feasible.tolist() == [True, False, True]
    assert short.reasons[1] == "minimum staffing needs 30 posts; the establishment is 10"
