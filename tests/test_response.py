"""Response demand, load in progress, queueing floors and the measurement of a posting's service."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import allocator
from allocator.errors import ArgumentError, WorkloadError
from allocator.model.force import Area, DemandType, Force, JudgementRow, Role, Settings, Shift
from allocator.model.service_levels import ServiceLevels
from allocator.queueing.erlang import servers_for, service_level
from allocator.queueing.response import (
    effective_weeks,
    in_progress,
    measure,
    response_demand,
    response_floors,
)

AS_OF = pd.Timestamp("2024-01-29 00:00", tz="UTC")  # a Monday; the window is the 4 weeks before


def tiny_force(half_life: float | None = None, data_weight: float = 1.0, crew: int = 2) -> Force:
    """One or two areas, PCs (responders) and PCSOs; DA immediate, CFW priority, THEFT standard."""
    return Force(
        name="Tiny",
        areas=[Area(name="North"), Area(name="South")],
        shifts=[Shift(name="Day", start="07:00", hours=12), Shift(name="Night", start="19:00", hours=12)],
        roles=[Role(name="PC", establishment=40, abstraction=0.5),
               Role(name="PCSO", establishment=10, abstraction=0.4)],
        demand_types=[DemandType(code="DA", grade="immediate"), DemandType(code="CFW", grade="Priority"),
                      DemandType(code="THEFT", grade="standard")],
        judgement=[
            JudgementRow(demand_type="DA", role="PC", share=1.0, minutes=90, impact=1.5),
            JudgementRow(demand_type="CFW", role="PC", share=0.8, minutes=100, impact=1.2),
            JudgementRow(demand_type="CFW", role="PCSO", share=0.2, minutes=60, impact=1.0),
            JudgementRow(demand_type="THEFT", role="PC", share=0.5, minutes=60, impact=1.0),
            JudgementRow(demand_type="THEFT", role="PCSO", share=0.5, minutes=30, impact=1.0),
        ],
        settings=Settings(data_weight=data_weight, half_life_days=half_life, window_days=28, timezone="UTC"),
        service_levels=ServiceLevels.model_validate({
            "crew": crew, "service_level": 0.9,
            "grades": {"immediate": {"target_minutes": 15}, "priority": {"target_minutes": 60}},
            "areas": {"North": {"travel_minutes": 5}, "South": {"travel_minutes": 5}},
        }),
    )


def every_hour(area: str, code: str, duration: float | None, weeks: int = 4) -> list[dict[str, object]]:
    """One record at the middle of every hour of the ``weeks`` weeks before AS_OF."""
    hours = pd.date_range(AS_OF - pd.Timedelta(weeks=weeks), AS_OF, freq="h", inclusive="left")
    return [{"timestamp": t + pd.Timedelta(minutes=30), "area": area, "demand_type": code,
             "duration": np.nan if duration is None else duration} for t in hours]


def workload(force: Force, rows: list[dict[str, object]]) -> allocator.Workload:
    return allocator.compute_workload(pd.DataFrame(rows), force, as_of=AS_OF)


# ------------------------------------------------------------------ hand-worked example
def test_hand_worked_uniform_week() -> None:
    """One 90-minute DA call and one 60-minute theft every hour in North for four weeks.

    calls = 1 an hour, mean service 90 minutes, so the load is 1.5 Erlangs of units in
    every hour; PCs do half of the theft work: busy = 0.5 officers. The wait allowed
    is 15 - 5 = 10 minutes; Erlang C by hand (B1 = 0.6, B2 = 0.3103, B3 = 0.1343,
    B4 = 0.0480): SL(3) = 1 - 0.2368 exp(-1.5 x 10/90) = 0.7995 < 0.9,
    SL(4) = 1 - 0.0746 exp(-2.5 x 10/90) = 0.9435, so 4 units, 2 x 4 + 0.5 = 8.5 officers.
    """
    force = tiny_force()
    wl = workload(force, every_hour("North", "DA", 90) + every_hour("North", "THEFT", 60))
    floors = response_floors(force, wl)
    assert floors is not None
    north = 0
    np.testing.assert_allclose(floors.weeks, 4.0)
    np.testing.assert_allclose(floors.calls[north], 1.0)
    np.testing.assert_allclose(floors.load[north], 1.5, rtol=1e-12)
    np.testing.assert_allclose(floors.mean_service[north], 90.0, rtol=1e-12)
    np.testing.assert_allclose(floors.busy[north], 0.5, rtol=1e-12)
    assert (floors.units[north] == 4).all()
    np.testing.assert_allclose(floors.officers[north], 8.5, rtol=1e-12)
    np.testing.assert_allclose(floors.target, [10.0, 10.0])
    np.testing.assert_allclose(floors.targets[:, 1], [55.0, 55.0])
    # South has no demand: no load, no floor
    assert (floors.load[1] == 0).all() and (floors.units[1] == 0).all() and (floors.officers[1] == 0).all()

    service = measure(floors, np.array([[8.5] * 168, [0.0] * 168]))
    row = service.iloc[0]
    assert row["servers"] == 4 and bool(row["met"]) and row["occupancy"] == pytest.approx(1.5 / 4)
    assert row["p_wait"] == pytest.approx(0.0746, abs=1e-4)
    assert row["within_immediate"] == pytest.approx(0.9435, abs=1e-4)
    assert row["within_priority"] == pytest.approx(service_level(1.5, 4, 55, 90), rel=1e-12)
    assert service[service["area"] == "South"]["met"].all()

    short = measure(floors, np.array([[6.5] * 168, [0.0] * 168])).iloc[0]
    assert short["servers"] == 3 and not short["met"]
    assert short["within_immediate"] == pytest.approx(0.7995, abs=1e-4)
    assert short["note"] == ""

    jammed = measure(floors, np.array([[3.5] * 168, [0.0] * 168])).iloc[0]
    assert jammed["servers"] == 1 and jammed["p_wait"] == 1.0 and jammed["mean_wait"] == np.inf
    assert jammed["within_immediate"] == 0.0 and bool(jammed["never_empties"]) and not jammed["met"]
    assert jammed["note"] == "the queue never empties" and jammed["occupancy"] == pytest.approx(1.5)


def test_judgement_minutes_where_no_duration_is_recorded_and_the_blend() -> None:
    # no durations: the PC's standard 90 minutes; data_weight 0.5 with 30 recorded: 0.5*30 + 0.5*90
    force = tiny_force(data_weight=0.5)
    floors = response_floors(force, workload(force, every_hour("North", "DA", None)))
    assert floors is not None
    np.testing.assert_allclose(floors.mean_service[0], 90.0, rtol=1e-12)
    floors = response_floors(force, workload(force, every_hour("North", "DA", 30)))
    assert floors is not None
    np.testing.assert_allclose(floors.mean_service[0], 60.0, rtol=1e-12)


def test_priority_grade_matches_without_regard_to_case_and_shares_the_queue() -> None:
    force = tiny_force()
    wl = workload(force, every_hour("North", "DA", 60) + every_hour("North", "CFW", 120))
    demand = response_demand(force, wl)
    assert demand.response_types == ("DA", "CFW")
    # a CFW call needs a PC with the PCs' share of its work, 0.8: 1 + 0.8 calls an hour
    np.testing.assert_allclose(demand.calls[0], 1.8)
    np.testing.assert_allclose(demand.by_grade[0], np.tile([1.0, 0.8], (168, 1)))
    np.testing.assert_allclose(demand.call_minutes[0], (60.0 + 0.8 * 120.0) / 1.8)
    floors = response_floors(force, wl)
    assert floors is not None
    # 1 x 60 + 0.8 x 120 minutes an hour: 2.6 Erlangs, the PCs' committed hours of response work
    np.testing.assert_allclose(floors.load[0], 2.6, rtol=1e-12)


def test_arrival_rate_divides_by_the_total_recency_weight_not_by_weeks() -> None:
    """With a half-life, one call every hour is still one call an hour."""
    force = tiny_force(half_life=7.0)
    floors = response_floors(force, workload(force, every_hour("North", "DA", 90)))
    assert floors is not None
    np.testing.assert_allclose(floors.calls[0], 1.0, rtol=1e-12)
    assert floors.weeks.max() < 2.0  # counted by weeks, the rate would be half of it or less


def test_load_in_progress_carries_calls_into_later_hours() -> None:
    """Two-hour calls on Mondays 10:00-10:59 only: they are still being served at 11:00 and 12:00."""
    force = tiny_force()
    rows = [r for r in every_hour("North", "DA", 120) if r["timestamp"].hour == 10  # type: ignore[attr-defined]
            and r["timestamp"].day_of_week == 0]  # type: ignore[attr-defined]
    floors = response_floors(force, workload(force, rows))
    assert floors is not None
    load = floors.load[0]
    assert load[10] > 0 and load[11] > 0 and load[12] > 0
    assert load[11] > load[13] > load[20] > 0
    assert load.sum() == pytest.approx(1.0 * 2.0, rel=1e-8)  # one call of two hours a week
    assert floors.units[0, 11] >= 1 and floors.officers[0, 11] >= 2


# ------------------------------------------------------------------ properties
@given(
    rate=arrays(np.float64, (2, 168), elements=st.floats(0, 5)),
    hours=arrays(np.float64, (2, 168), elements=st.floats(0.05, 30)),
)
def test_load_in_progress_conserves_work(rate: np.ndarray, hours: np.ndarray) -> None:
    load, mean = in_progress(rate, hours)
    assert np.all(load >= 0)
    np.testing.assert_allclose(load.sum(axis=1), (rate * hours).sum(axis=1), rtol=1e-9, atol=168e-9)
    for r in range(2):  # the mean length in progress lies between the arrivals' shortest and longest
        active = rate[r] > 0
        if active.any():
            on = load[r] > 0
            assert np.all(mean[r, on] >= hours[r, active].min() * (1 - 1e-9))
            assert np.all(mean[r, on] <= hours[r, active].max() * (1 + 1e-9))


@given(rate=st.floats(0.01, 10), hours=st.floats(0.05, 20))
def test_steady_demand_gives_the_stationary_load(rate: float, hours: float) -> None:
    load, mean = in_progress(np.full((1, 168), rate), np.full((1, 168), hours))
    np.testing.assert_allclose(load, rate * hours, rtol=1e-9)
    np.testing.assert_allclose(mean, hours, rtol=1e-9)


def test_effective_weeks_count_each_hour_of_the_week() -> None:
    w = effective_weeks(AS_OF, 28, None, "UTC")
    np.testing.assert_array_equal(w, np.full(168, 4.0))
    # across the change of clocks in London (31 March 2024) local Sunday 01:00 happens once fewer;
    # the window is 28 x 24 hours on the absolute clock, as record ages are, so it reaches an hour
    # further back in local time (Sunday 23:00 five times)
    spring = effective_weeks(pd.Timestamp("2024-04-08", tz="Europe/London"), 28, None, "Europe/London")
    assert spring[6 * 24 + 1] == 3.0 and spring[6 * 24 + 2] == 4.0 and spring[167] == 5.0
    assert spring.sum() == 28 * 24


# ------------------------------------------------------------------ the sample force
@pytest.fixture(scope="module")
def sample() -> tuple[Force, allocator.Workload]:
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    return force, allocator.compute_workload(allocator.sample_demand(force, 20_000, seed=7), force)


def test_sample_floors_are_the_least_that_meet_the_target(sample: tuple[Force, allocator.Workload]) -> None:
    force, wl = sample
    floors = response_floors(force, wl)
    assert floors is not None
    assert floors.areas == tuple(force.area_names) and floors.responders == ("PC",)
    assert floors.officers.shape == (6, 168) and floors.units.dtype == np.int64
    active = floors.load > 0
    assert (floors.units[active] > floors.load[active]).all()
    np.testing.assert_allclose(floors.officers, np.where(active, floors.crew[:, None] * floors.units
                                                         + floors.busy, 0))
    # the least: each cell recomputed alone
    for a, k in [(0, 0), (3, 100), (5, 167)]:
        assert floors.units[a, k] == servers_for(
            float(floors.load[a, k]), float(floors.target[a]), force.service_levels.service_level,
            float(floors.mean_service[a, k]))
    met = measure(floors, floors.officers)
    assert met["met"].all()
    one_short = measure(floors, np.maximum(floors.officers - floors.crew[:, None], 0))
    assert not one_short.loc[active.reshape(-1), "met"].any()
    # level: bucket, percentile 75 -> every hour of a bucket takes the floor of the hour at its
    # 75th percentile ("higher": a value one of its hours needs)
    assert force.service_levels.level == "bucket" and force.service_levels.percentile == 75
    for b in range(len(floors.buckets)):
        hours = np.flatnonzero(floors.bucket_of_hour == b)
        want = np.percentile(floors.officers[:, hours], 75, axis=1, method="higher")
        np.testing.assert_array_equal(floors.required[:, hours], np.repeat(want[:, None], hours.size, 1))
    frame = floors.frame()
    assert list(frame.columns) == ["area", "hour", "weekday", "time", "bucket", "calls", "load",
                                   "mean_service", "busy", "units", "officers", "required"]
    assert len(frame) == 6 * 168 and frame["time"].iloc[25] == "01:00" and frame["weekday"].iloc[25] == "Tue"
    assert "ResponseFloors 6 areas" in repr(floors)


def test_same_inputs_same_floors_and_partitions_add_up(sample: tuple[Force, allocator.Workload]) -> None:
    force, wl = sample
    first, again = response_floors(force, wl), response_floors(force, wl)
    assert first is not None and again is not None
    for f in dataclasses.fields(first):
        x, y = getattr(first, f.name), getattr(again, f.name)
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
    pd.testing.assert_frame_equal(measure(first, first.required), measure(again, again.required))
    records = allocator.sample_demand(force, 4000, seed=9)
    as_of = records["timestamp"].max()
    parts = [allocator.prepare_records(p, force, as_of=as_of).partials()
             for p in (records.iloc[:1500], records.iloc[1500:])]
    split = response_floors(force, allocator.workload_from_partials(parts[0] + parts[1], force, as_of))
    whole = response_floors(force, allocator.compute_workload(records, force))
    assert split is not None and whole is not None
    np.testing.assert_allclose(split.load, whole.load, rtol=1e-12)
    np.testing.assert_array_equal(split.units, whole.units)


def test_level_hour_and_a_percentile(sample: tuple[Force, allocator.Workload]) -> None:
    force, wl = sample
    assert force.service_levels is not None
    hourly = force.model_copy(update={"service_levels": force.service_levels.model_copy(update={"level": "hour"})})
    floors = response_floors(hourly, wl)
    assert floors is not None
    np.testing.assert_array_equal(floors.required, floors.officers)
    median = force.model_copy(update={"service_levels": force.service_levels.model_copy(
        update={"percentile": 50.0})})
    mid = response_floors(median, wl)
    assert mid is not None
    assert (mid.required <= floors.officers.max(axis=1, keepdims=True)).all()
    for b in range(len(mid.buckets)):
        values = mid.officers[:, mid.bucket_of_hour == b]
        assert all(v in row for v, row in zip(mid.bucket_officers[:, b], values, strict=True))


def test_the_section_does_not_change_the_allocation_inputs(sample: tuple[Force, allocator.Workload]) -> None:
    force, wl = sample
    plain = force.model_copy(update={"service_levels": None})
    with_section = allocator.build_formulation(wl, force)
    without = allocator.build_formulation(wl, plain)
    for f in dataclasses.fields(with_section):
        x, y = getattr(with_section, f.name), getattr(without, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert repr(x) == repr(y), f.name


# ------------------------------------------------------------------ bad input
def test_no_section_gives_none() -> None:
    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    wl = allocator.compute_workload(allocator.sample_demand(force, 500, seed=1), force)
    assert response_floors(force, wl) is None
    with pytest.raises(ValueError, match="no service_levels section"):
        response_demand(force, wl)


def test_a_force_of_shifts_worked_every_day_gets_floors_per_shift_bucket() -> None:
    sample = allocator.load_force(allocator.sample_path("force.yaml"))
    data = allocator.load_force(allocator.sample_path("force_shifts.yaml")).to_dict()
    data["service_levels"] = sample.to_dict()["service_levels"] | {"percentile": 100}
    force = allocator.load_force(data)
    floors = response_floors(force, allocator.compute_workload(allocator.sample_demand(force, 5000, seed=2), force))
    assert floors is not None and floors.officers.shape == (6, 168)
    assert (floors.required >= floors.officers).all() and len(floors.buckets) > 1


def test_records_in_hours_a_short_window_never_covers_are_named() -> None:
    force = tiny_force().model_copy(update={"settings": Settings(data_weight=1.0, window_days=2, timezone="UTC")})
    rows = every_hour("North", "DA", 60, weeks=1)
    with pytest.raises(WorkloadError) as err:
        response_floors(force, workload(force, rows))
    first = err.value.problems[0]
    assert first.where == "hour Mon 00:00"
    assert "1 record falls in an hour of the week the 2.0-day window never covers" in first.message
    assert len(err.value.problems) == 168 - 48


def test_zero_service_times_are_named_by_area_type_and_hour() -> None:
    force = tiny_force()
    rows = every_hour("North", "DA", 0.0)[:3] + every_hour("South", "DA", 30)[:3]
    with pytest.raises(WorkloadError) as err:
        response_floors(force, workload(force, rows))
    (problem,) = err.value.problems
    assert problem.where == "area North, demand type DA"
    assert "service time of 0 minutes in 3 hour(s) of the week (Mon 00:00, Mon 01:00, Mon 02:00)" in problem.message


def test_a_workload_of_another_force_is_refused(sample: tuple[Force, allocator.Workload]) -> None:
    _, wl = sample
    with pytest.raises(ArgumentError, match="other areas or demand types"):
        response_floors(tiny_force(), wl)


def test_measure_refuses_bad_on_duty(sample: tuple[Force, allocator.Workload]) -> None:
    force, wl = sample
    floors = response_floors(force, wl)
    assert floors is not None
    with pytest.raises(ArgumentError, match=r"must have shape \(6, 168\)"):
        measure(floors, np.zeros((6, 24)))
    duty = floors.officers.copy()
    duty[2, 30] = -1.0
    duty[4, 5] = np.nan
    with pytest.raises(ArgumentError, match=r"2 bad values; the first in Wiltshire North, Tue 06:00"):
        measure(floors, duty)
    with pytest.raises(ArgumentError, match="array of numbers"):
        measure(floors, "many")


@pytest.mark.parametrize("s", [0.3, 1.0, 2.5])
def testlag_weights_match_the_integral_they_stand_for(s: float) -> None:
    """Hours in service during hour d of a job arriving uniformly in hour 0, exponential of mean s.

    E = int_0^1 int_d^(d+1) P(S > x - u) dx du (x >= u): the inner integral in closed form,
    the outer by the midpoint rule, weeks folded in, against the closed form of both.
    """
    from allocator.queueing.response import lag_weights

    u = (np.arange(2000) + 0.5) / 2000
    for d in (0, 1, 2, 5):
        expected = 0.0
        for week in range(3):
            lo = np.maximum(d + 168 * week, u)
            hi = d + 168 * week + 1.0
            expected += float((s * (np.exp(-(lo - u) / s) - np.exp(-(hi - u) / s))).mean())
        got = float(lag_weights(np.array([s]), d)[0])
        assert got == pytest.approx(expected, rel=2e-4, abs=1e-12)


@given(a=st.floats(0.01, 50), more=st.floats(0, 20), t=st.floats(0, 60), s=st.floats(5, 240),
       level=st.floats(0.05, 0.99))
def test_more_load_never_needs_fewer_units(a: float, more: float, t: float, s: float, level: float) -> None:
    assert servers_for(a, t, level, s) <= servers_for(a + more, t, level, s)
