"""Classic apportionment: textbook cases, paradoxes, properties, a sequential reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from allocator import apportion

DIVISOR = ["jefferson", "webster", "huntington-hill", "adams"]
ALL = ["hamilton", *DIVISOR]

# US census 1790 (apportionment population), the first House apportionment
CENSUS_1790 = {
    "CT": 236_841,
    "DE": 55_540,
    "GA": 70_835,
    "KY": 68_705,
    "MD": 278_514,
    "MA": 475_327,
    "NH": 141_822,
    "NJ": 179_570,
    "NY": 331_589,
    "NC": 353_523,
    "PA": 432_879,
    "RI": 68_446,
    "SC": 206_236,
    "VT": 85_533,
    "VA": 630_560,
}


def seats_of(method: str, total: int) -> dict[str, int]:
    out = apportion(list(CENSUS_1790.values()), total, method)
    return dict(zip(CENSUS_1790, out.tolist(), strict=True))


# ---------------------------------------------------------------- textbook cases


def test_dhondt_and_sainte_lague_textbook_example() -> None:
    votes = [100_000, 80_000, 30_000, 20_000]
    # D'Hondt quotients v/1, v/2, ...: the 8 largest are 100k, 80k, 50k, 40k, 33.3k,
    # 30k, 26.7k, 25k -> A 4, B 3, C 1, D 0
    assert apportion(votes, 8, "dhondt").tolist() == [4, 3, 1, 0]
    assert apportion(votes, 8, "jefferson").tolist() == [4, 3, 1, 0]
    # Sainte-Lague quotients v/1, v/3, v/5, ...: 100k, 80k, 33.3k, 30k, 26.7k, 20k, 20k, 16k
    # -> A 3, B 3, C 1, D 1 (the 20k tie between A/5 and D/1 is inside the eight)
    assert apportion(votes, 8, "sainte-lague").tolist() == [3, 3, 1, 1]
    assert apportion(votes, 8, "webster").tolist() == [3, 3, 1, 1]


def test_house_of_1790_jefferson_is_the_historical_apportionment() -> None:
    # the 105-seat House actually enacted in 1792 (Jefferson's method, divisor 33,000)
    assert seats_of("jefferson", 105) == {
        "CT": 7, "DE": 1, "GA": 2, "KY": 2, "MD": 8, "MA": 14, "NH": 4, "NJ": 5,
        "NY": 10, "NC": 10, "PA": 13, "RI": 2, "SC": 6, "VT": 2, "VA": 19,
    }  # fmt: skip


def test_house_of_1790_methods_differ() -> None:
    # quotas at 105 seats: VA 630560 x 105 / 3615920 = 18.31, DE 1.61, VT 2.48, PA 12.57
    jefferson, hamilton = seats_of("jefferson", 105), seats_of("hamilton", 105)
    webster, hill = seats_of("webster", 105), seats_of("huntington-hill", 105)
    # Jefferson gives Virginia 19, above its quota of 18.31 (Jefferson violates quota)
    assert jefferson["VA"] == 19 and jefferson["DE"] == 1
    # Hamilton and Webster keep Virginia at 18 and give Delaware its second seat
    assert hamilton["VA"] == webster["VA"] == 18
    assert hamilton["DE"] == webster["DE"] == 2
    # Huntington-Hill's geometric-mean signposts favour small states: Vermont's third
    # seat (signpost sqrt(2 x 3) = 2.449) beats Pennsylvania's thirteenth (sqrt(12 x 13))
    assert hill["VT"] == 3 and hill["PA"] == 12
    for plan in (jefferson, hamilton, webster, hill):
        assert sum(plan.values()) == 105


def test_alabama_paradox_for_hamilton() -> None:
    # quotas at 10 seats: 4.29, 4.29, 1.43 -> 4, 4, 2 (C has the largest remainder)
    assert apportion([6, 6, 2], 10, "hamilton").tolist() == [4, 4, 2]
    # at 11 seats: 4.71, 4.71, 1.57 -> 5, 5, 1: C loses a seat when the house grows
    assert apportion([6, 6, 2], 11, "hamilton").tolist() == [5, 5, 1]
    # divisor methods are house monotone on the same numbers
    for m in DIVISOR:
        a, b = apportion([6, 6, 2], 10, m), apportion([6, 6, 2], 11, m)
        assert (b >= a).all()


def test_huntington_hill_gives_every_party_a_seat_first() -> None:
    assert apportion([1000, 1, 1], 3, "huntington-hill").tolist() == [1, 1, 1]
    assert apportion([1000, 1, 1], 3, "webster").tolist() == [3, 0, 0]
    # not enough seats for everyone: the largest weights get the first seats
    assert apportion([1, 5, 3, 0], 2, "huntington-hill").tolist() == [0, 1, 1, 0]
    assert apportion([1, 5, 3, 0], 2, "adams").tolist() == [0, 1, 1, 0]


def test_minimums_come_first() -> None:
    # Webster with floors, x = max(min, round(w / d)): any d in (10/6.5, 10/5.5] gives
    # round(10/d) = 6 and round(1/d) <= 1 < 2, so the small parties sit at their floors
    assert apportion([10.0, 1.0, 1.0], 10, "webster", minimum=[0, 2, 2]).tolist() == [6, 2, 2]
    # Hamilton with constrained quotas: the small parties are fixed at their floors,
    # the 6 seats left go to the large party
    assert apportion([1, 1, 98], 10, "hamilton", minimum=[2, 2, 0]).tolist() == [2, 2, 6]
    # zero weights get their minimum and nothing more
    for m in ALL:
        assert apportion([0, 3, 1], 8, m, minimum=[2, 0, 0]).tolist()[0] == 2


def test_exact_ties_go_to_the_lowest_index() -> None:
    for m in ALL:
        assert apportion([1, 1, 1], 4, m).tolist() == [2, 1, 1], m
        assert apportion([1.0, 1.0, 1.0], 2, m).tolist() == [1, 1, 0], m
    # 0.75 and 3.75 (exact binary values) tie for Webster's marginal seat at 1 : 5
    assert apportion([0.75, 3.75], 7, "webster").tolist() == [1, 6]


def test_large_totals_are_vectorised() -> None:
    out = apportion([1.0, 2.0, 3.0, 4.0], 10**12, "webster")
    assert out.tolist() == [10**11, 2 * 10**11, 3 * 10**11, 4 * 10**11]
    assert apportion([1, 1], 10**12 + 1, "jefferson").tolist() == [5 * 10**11 + 1, 5 * 10**11]


def test_aliases_and_shape() -> None:
    w = np.array([[3.0, 1.0], [2.0, 5.0]])
    a = apportion(w, 11, "Sainte_Lague")
    assert a.shape == (2, 2) and a.dtype == np.int64
    assert a.tolist() == apportion(w, 11, "webster").tolist()
    assert apportion(w, 11, "D'Hondt").tolist() == apportion(w, 11, "jefferson").tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0, -1.0], 3), r"weights must be finite and non-negative; got -1\.0 at index 1"),
        (([1.0, math.inf], 3), r"got inf at index 1"),
        (([1.0, 2.0], 3, "borda"), r"unknown apportionment method 'borda'"),
        (([1.0, 2.0], 2.5), r"total must be a whole number of seats, got 2\.5"),
        (([1.0, 2.0], -1), r"total must not be negative, got -1"),
        (([1.0, 2.0], 3, "webster", [2, 2]), r"the minimums need 4 seats; the total is 3"),
        (([1.0, 2.0], 3, "webster", [0.5, 0]), r"minimum must be whole numbers; got 0\.5"),
        (([0.0, 0.0], 3), r"all weights are zero; cannot share 3 seat\(s\)"),
    ],
)
def test_bad_input(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apportion(*args)  # type: ignore[arg-type]


def test_all_zero_weights_with_nothing_to_share_give_the_minimums() -> None:
    assert apportion([0.0, 0.0], 3, "webster", minimum=[1, 2]).tolist() == [1, 2]


# ---------------------------------------------------------------- properties

WEIGHTS = st.lists(
    st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 0.1, 0.3, 1 / 3, 7.5, 100.0, 2500.0]),
    min_size=1,
    max_size=6,
).filter(lambda ws: any(w > 0 for w in ws))


def sequential(w: list[float], total: int, method: str, mins: list[int]) -> list[int]:
    """Huntington's sequential form, one seat at a time with exact priorities."""
    x = list(mins)
    fw = [Fraction(v) for v in w]
    for _ in range(total - sum(mins)):
        best: tuple[tuple[Fraction, Fraction, int], int] | None = None
        for i, f in enumerate(fw):
            if f == 0:
                continue
            j = x[i]
            if method == "jefferson":
                key = (Fraction(j + 1) / f, Fraction(0), i)
            elif method == "webster":
                key = (Fraction(2 * j + 1, 2) / f, Fraction(0), i)
            elif method == "adams":
                key = (Fraction(j) / f, -f if j == 0 else Fraction(0), i)
            else:
                key = (Fraction(j * (j + 1)) / f**2, -f if j == 0 else Fraction(0), i)
            if best is None or key < best[0]:
                best = (key, i)
        assert best is not None
        x[best[1]] += 1
    return x


@given(WEIGHTS, st.integers(0, 40), st.data())
def test_sum_and_floors(w: list[float], extra: int, data: st.DataObject) -> None:
    mins = data.draw(st.lists(st.integers(0, 3), min_size=len(w), max_size=len(w)))
    total = sum(mins) + extra
    for m in ALL:
        out = apportion(w, total, m, minimum=mins)
        assert int(out.sum()) == total
        assert (out >= np.asarray(mins)).all()
        for i, v in enumerate(w):  # zero weights get their minimum only
            if v == 0:
                assert out[i] == mins[i]


@given(WEIGHTS, st.integers(0, 40), st.data(), st.sampled_from(DIVISOR))
def test_divisor_methods_match_the_sequential_definition(
    w: list[float], extra: int, data: st.DataObject, method: str
) -> None:
    mins = data.draw(st.lists(st.integers(0, 3), min_size=len(w), max_size=len(w)))
    total = sum(mins) + extra
    assert apportion(w, total, method, minimum=mins).tolist() == sequential(w, total, method, mins)


@given(WEIGHTS, st.integers(0, 40), st.data(), st.sampled_from(DIVISOR))
def test_divisor_methods_are_house_monotone(
    w: list[float], extra: int, data: st.DataObject, method: str
) -> None:
    mins = data.draw(st.lists(st.integers(0, 3), min_size=len(w), max_size=len(w)))
    total = sum(mins) + extra
    a = apportion(w, total, method, minimum=mins)
    b = apportion(w, total + 1, method, minimum=mins)
    assert (b >= a).all()


@given(WEIGHTS, st.integers(0, 60))
def test_hamilton_stays_within_quota(w: list[float], total: int) -> None:
    out = apportion(w, total, "hamilton").tolist()
    fw = [Fraction(v) for v in w]
    for x, f in zip(out, fw, strict=True):
        quota = total * f / sum(fw)
        assert math.floor(quota) <= x <= math.ceil(quota)


@given(WEIGHTS, st.integers(0, 40), st.data())
def test_hamilton_with_minimums_stays_within_constrained_quota(
    w: list[float], extra: int, data: st.DataObject
) -> None:
    mins = data.draw(st.lists(st.integers(0, 3), min_size=len(w), max_size=len(w)))
    total = sum(mins) + extra
    assume(extra > 0)
    out = apportion(w, total, "hamilton", minimum=mins).tolist()
    fw = [Fraction(v) for v in w]
    # the constrained quota: lambda with sum max(min_i, lambda w_i) = total
    fixed = [False] * len(w)
    while True:
        rest = total - sum(m for m, f in zip(mins, fixed, strict=True) if f)
        wsum = sum(f for f, fx in zip(fw, fixed, strict=True) if not fx)
        lam = Fraction(rest) / wsum
        newly = [i for i in range(len(w)) if not fixed[i] and lam * fw[i] < mins[i]]
        if not newly:
            break
        for i in newly:
            fixed[i] = True
    for i, x in enumerate(out):
        q = max(Fraction(mins[i]), lam * fw[i])
        assert math.floor(q) <= x <= math.ceil(q)


@given(WEIGHTS, st.integers(0, 40), st.sampled_from(ALL))
def test_scaling_weights_changes_nothing(w: list[float], total: int, method: str) -> None:
    a = apportion(w, total, method)
    b = apportion([v * 4.0 for v in w], total, method)
    assert a.tolist() == b.tolist()
