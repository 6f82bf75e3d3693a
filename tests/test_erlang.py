"""Erlang B and C: textbook values, an independent log-space reference, properties, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.errors import ArgumentError
from allocator.queueing.erlang import (
    MAX_LOAD,
    erlang_b,
    erlang_c,
    mean_wait,
    servers_for,
    service_level,
    wait_measures,
)


def reference_b(a: float, c: int) -> float:
    """Erlang B from its definition, (a^c / c!) / sum_k a^k / k!, summed in log space."""
    if c == 0:
        return 1.0
    if a == 0:
        return 0.0
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / sum(math.exp(x - top) for x in logs)


def reference_c(a: float, c: int) -> float:
    """Erlang C from its definition: P0-weighted tail of the M/M/c queue, in log space."""
    if a == 0:
        return 0.0
    if c <= a:
        return 1.0
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    top = max([*logs, last])
    return math.exp(last - top) / (sum(math.exp(x - top) for x in logs) + math.exp(last - top))


# ------------------------------------------------------------------ textbook values
def test_textbook_call_centre() -> None:
    """10 Erlangs, 14 agents: P(wait) 0.1741, occupancy 0.7143; 3-minute calls, 20 s target."""
    assert erlang_c(10, 14) == pytest.approx(0.1741, abs=5e-5)
    # the occupancy a / c = 10 / 14 = 0.7143 is measure()'s ``occupancy`` (tests/test_response.py)
    assert service_level(10, 14, 20, 180) == pytest.approx(0.8884, abs=5e-5)
    assert service_level(10, 13, 20, 180) == pytest.approx(0.7956, abs=5e-5)
    assert servers_for(10, 20, 0.8, 180) == 14
    # the mean wait (average speed of answer): C s / (c - a) = 0.1741 * 180 / 4
    assert mean_wait(10, 14, 180) == pytest.approx(0.17412 * 180 / 4, rel=1e-3)


def test_units_of_time_only_need_to_agree() -> None:
    assert service_level(10, 14, 20 / 60, 3) == pytest.approx(service_level(10, 14, 20, 180), rel=1e-12)
    assert servers_for(10, 1 / 3, 0.8, 3) == 14


def test_public_api_exports_the_three_functions() -> None:
    assert allocator.erlang_c(10, 14) == erlang_c(10, 14)
    assert allocator.service_level(10, 14, 20, 180) == service_level(10, 14, 20, 180)
    assert allocator.servers_for(10, 20, 0.8, 180) == 14
    for name in ("erlang_c", "service_level", "servers_for", "ResponseFloors", "response_floors"):
        assert name in allocator.__all__


def test_no_load_and_no_servers() -> None:
    assert erlang_c(0, 0) == 0.0 and erlang_c(0, 5) == 0.0
    assert service_level(0, 0, 10, 0) == 1.0
    assert mean_wait(0, 0, 0) == 0.0
    assert servers_for(0, 10, 0.9, 0) == 0
    assert erlang_b(3.0, 0) == 1.0


def test_at_or_below_the_load_the_queue_never_empties() -> None:
    assert erlang_c(4.0, 4) == 1.0 and erlang_c(4.5, 4) == 1.0
    assert service_level(4.0, 4, 60, 90) == 0.0
    assert mean_wait(4.0, 3, 90) == math.inf


# ------------------------------------------------------------------ stability
def test_stable_at_a_thousand_erlangs() -> None:
    c = np.arange(900, 1300)
    p = erlang_c(1000.0, c)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.all(p[c <= 1000] == 1.0)
    above = p[c > 1000]
    assert np.all(np.diff(above) < 0)
    for k in (1001, 1010, 1050, 1100):
        assert erlang_c(1000.0, k) == pytest.approx(reference_c(1000.0, k), rel=1e-9)
    assert erlang_b(1000.0, 1000) == pytest.approx(reference_b(1000.0, 1000), rel=1e-9)
    need = servers_for(1000.0, 20, 0.8, 180)
    assert need > 1000
    assert service_level(1000.0, need, 20, 180) >= 0.8 > service_level(1000.0, need - 1, 20, 180)


def test_vectorised_equals_cell_by_cell() -> None:
    rng = np.random.default_rng(4)
    load = rng.uniform(0, 30, size=200)
    load[::17] = 0.0
    servers = rng.integers(0, 45, size=200)
    target = rng.uniform(0, 60, size=200)
    s = rng.uniform(5, 200, size=200)
    level = rng.uniform(0.1, 0.99, size=200)
    p = erlang_c(load, servers)
    sl = service_level(load, servers, target, s)
    need = servers_for(load, target, level, s)
    assert need.dtype == np.int64 and need.shape == (200,)
    for i in range(200):
        assert p[i] == erlang_c(float(load[i]), int(servers[i]))
        assert sl[i] == service_level(float(load[i]), int(servers[i]), float(target[i]), float(s[i]))
        assert need[i] == servers_for(float(load[i]), float(target[i]), float(level[i]), float(s[i]))


def test_broadcasting_over_areas_and_hours() -> None:
    load = np.array([[1.0, 2.0, 0.0], [3.0, 0.5, 4.0]])
    target = np.array([[10.0], [20.0]])
    need = servers_for(load, target, 0.9, 60.0)
    assert need.shape == (2, 3)
    assert need[0, 2] == 0
    assert np.all(need[load > 0] > load[load > 0])


# ------------------------------------------------------------------ properties
loads = st.floats(min_value=0.01, max_value=60, allow_nan=False)


@given(load=loads, extra=st.integers(0, 40))
def test_erlang_b_and_c_match_their_definitions(load: float, extra: int) -> None:
    c = max(int(load) - 3, 0) + extra
    assert erlang_b(load, c) == pytest.approx(reference_b(load, c), rel=1e-9, abs=1e-300)
    assert erlang_c(load, c) == pytest.approx(reference_c(load, c), rel=1e-9, abs=1e-300)


@given(load=loads)
def test_p_wait_falls_as_servers_grow_and_is_one_at_or_below_the_load(load: float) -> None:
    c = np.arange(0, int(load) + 40)
    p = erlang_c(load, c)
    assert np.all(p[c <= load] == 1.0)
    above = p[c > load]
    assert np.all((above > 0) & (above < 1))
    assert np.all(np.diff(above) <= 0)
    assert np.all(np.diff(above)[above[1:] > 1e-300] < 0)


@given(
    load=st.floats(min_value=0.0, max_value=40, allow_nan=False),
    target=st.floats(min_value=0.0, max_value=120, allow_nan=False),
    level=st.floats(min_value=0.0, max_value=0.999, allow_nan=False),
    s=st.floats(min_value=1.0, max_value=300, allow_nan=False),
)
def test_servers_for_is_the_least_count_meeting_the_target(
    load: float, target: float, level: float, s: float
) -> None:
    need = servers_for(load, target, level, s)
    if load == 0:
        assert need == 0
        return
    # brute force: the first c above the load whose service level reaches the level
    c = 0
    while not (c > load and service_level(load, c, target, s) >= level):
        c += 1
    assert need == c
    assert need > load


@given(load=loads, c=st.integers(0, 80), t=st.floats(0, 100), s=st.floats(1, 200))
def test_service_level_is_a_probability_rising_with_the_target(load: float, c: int, t: float, s: float) -> None:
    sl = service_level(load, c, t, s)
    assert 0.0 <= sl <= 1.0
    assert service_level(load, c, t + 10, s) >= sl
    assert sl >= (1 - erlang_c(load, c)) - 1e-12 if c > load else sl == 0.0


# ------------------------------------------------------------------ bad input by name
@pytest.mark.parametrize(
    ("call", "argument", "words"),
    [
        (lambda: erlang_c(-1.0, 3), "load", "0 or more"),
        (lambda: erlang_c(float("nan"), 3), "load", "finite"),
        (lambda: erlang_c(MAX_LOAD * 2, 3), "load", "at most"),
        (lambda: erlang_c(2.0, 2.5), "servers", "whole numbers"),
        (lambda: erlang_c(2.0, -1), "servers", "0 or more"),
        (lambda: erlang_c(True, 3), "load", "true/false"),
        (lambda: erlang_c("many", 3), "load", "number"),
        (lambda: service_level(2.0, 3, -5, 60), "target", "0 or more"),
        (lambda: service_level(2.0, 3, 5, 0), "mean_service", "where the load is above 0"),
        (lambda: servers_for(2.0, 5, 1.0, 60), "service_level", "below 1"),
        (lambda: servers_for(2.0, 5, 0.9, float("inf")), "mean_service", "finite"),
        (lambda: servers_for(np.array([1.0, -2.0, -3.0]), 5, 0.9, 60), "load", "2 bad values"),
    ],
)
def test_bad_input_is_named(call: object, argument: str, words: str) -> None:
    with pytest.raises(ArgumentError) as err:
        call()  # type: ignore[operator]
    assert err.value.argument == argument
    assert words in str(err.value)


def test_wait_measures_are_the_separate_functions_at_once() -> None:
    rng = np.random.default_rng(11)
    load = rng.uniform(0, 12, size=(3, 50))
    load[0, :5] = 0.0
    servers = rng.integers(0, 20, size=(3, 50))
    s = rng.uniform(10, 120, size=(3, 50))
    targets = [np.array([[5.0], [10.0], [0.0]]), 60.0]
    p, w, levels = wait_measures(load, servers, s, targets)
    np.testing.assert_array_equal(p, erlang_c(load, servers))
    np.testing.assert_array_equal(w, mean_wait(load, servers, s))
    for t, sl in zip(targets, levels, strict=True):
        np.testing.assert_array_equal(sl, service_level(load, servers, t, s))
