"""Properties of the workload engine on random forces and records.

The engine is checked against a plain per-record loop written from the
methodology (Python datetimes and zoneinfo, minute-by-minute shift cover), so
that it shares nothing with the vectorised code but the force.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.model.force import Force
from allocator.workload.engine import compute_workload, prepare_records, workload_from_partials
from tests.strategies import forces

# each example runs the engine a few times: cap the examples so these stay well under 60 s
FEW = settings(max_examples=min(settings().max_examples, 30))

# spans the change to summer time on 31 March 2024
START = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)
SPAN_SECONDS = 70 * 86400


@st.composite
def records_for(draw: st.DrawFn, force: Force, min_size: int = 1, max_size: int = 40) -> pd.DataFrame:
    """Random demand records for ``force``: any area, type and second in a 70-day span."""
    n = draw(st.integers(min_size, max_size))
    area = draw(st.lists(st.integers(0, len(force.areas) - 1), min_size=n, max_size=n))
    dtype = draw(st.lists(st.integers(0, len(force.demand_types) - 1), min_size=n, max_size=n))
    seconds = draw(st.lists(st.integers(0, SPAN_SECONDS), min_size=n, max_size=n))
    durations = draw(
        st.lists(
            st.one_of(st.none(), st.floats(0, 600, allow_nan=False), st.integers(0, 300)),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame(
        {
            "row": np.arange(1, n + 1, dtype=np.int64),
            "timestamp": pd.DatetimeIndex([START + dt.timedelta(seconds=s) for s in seconds]).tz_convert(
                force.settings.timezone
            ),
            "area": [force.area_names[i] for i in area],
            "demand_type": [force.type_codes[i] for i in dtype],
            "duration": [np.nan if d is None else float(d) for d in durations],
        }
    )


@st.composite
def force_and_records(draw: st.DrawFn, min_size: int = 1) -> tuple[Force, pd.DataFrame]:
    force = draw(forces())
    return force, draw(records_for(force, min_size=min_size))


def shift_shares_by_minutes(force: Force, rule: str) -> np.ndarray:
    """(24, shifts) shares of each hour of the day, counted minute by minute."""
    out = np.zeros((24, len(force.shifts)))
    for h in range(24):
        for s, shift in enumerate(force.shifts):
            length = round(shift.hours * 60)
            on = sum(1 for m in range(h * 60, h * 60 + 60) if (m - shift.start_minutes) % 1440 < length)
            out[h, s] = on / 60 if rule == "time" else float(on > 0)
        out[h] /= out[h].sum()
    return out


def reference(force: Force, records: pd.DataFrame, rule: str) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(areas, shifts, roles) and (areas, 168, roles) hours, and per-record total hours, by loop."""
    zone = ZoneInfo(force.settings.timezone)
    # in UTC: subtracting two datetimes of one zone would ignore a change of clocks between them
    as_of = max(records["timestamp"]).to_pydatetime().astimezone(dt.UTC)
    shares = shift_shares_by_minutes(force, rule)
    table = {(j.demand_type, j.role): j for j in force.judgement}
    factors = force.area_factor_array()
    dw, half_life = force.settings.data_weight, force.settings.half_life_days
    by_shift = np.zeros((len(force.areas), len(force.shifts), len(force.roles)))
    by_hour = np.zeros((len(force.areas), 168, len(force.roles)))
    per_record = []
    for rec in records.itertuples():
        when = rec.timestamp.to_pydatetime()
        local = when.astimezone(zone)
        hour_of_week = local.weekday() * 24 + local.hour
        age_days = (as_of - when.astimezone(dt.UTC)).total_seconds() / 86400
        w = 1.0 if half_life is None else 0.5 ** (age_days / half_life)
        a = force.area_names.index(rec.area)
        total = 0.0
        for r, role in enumerate(force.role_names):
            j = table.get((rec.demand_type, role))
            if j is None:
                continue
            if np.isnan(rec.duration):
                minutes = j.minutes
            else:
                minutes = dw * rec.duration + (1 - dw) * j.minutes
            h = j.share * j.impact * w * minutes / 60 * factors[a, r]
            total += h
            by_hour[a, hour_of_week, r] += h
            by_shift[a, :, r] += h * shares[local.hour]
        per_record.append(total)
    return by_shift, by_hour, per_record


@FEW
@given(force_and_records(), st.sampled_from(["equal", "time"]))
def test_engine_equals_per_record_loop(case: tuple[Force, pd.DataFrame], rule: str) -> None:
    force, records = case
    wl = compute_workload(records, force, overlap_rule=rule)
    by_shift, by_hour, per_record = reference(force, records, rule)
    np.testing.assert_allclose(wl.array, by_shift, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(wl.hour_array, by_hour, rtol=1e-9, atol=1e-9)
    # totals conserved: by shift = by hour = sum of every record's hours
    total = sum(per_record)
    assert wl.by_shift["hours"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert wl.by_hour["hours"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert wl.by_type["hours"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert wl.n_records == len(records)


@FEW
@given(force_and_records(), st.randoms(use_true_random=False))
def test_permuting_records_changes_nothing(case: tuple[Force, pd.DataFrame], rnd) -> None:  # type: ignore[no-untyped-def]
    force, records = case
    order = list(range(len(records)))
    rnd.shuffle(order)
    a = compute_workload(records, force)
    b = compute_workload(records.iloc[order].reset_index(drop=True), force)
    np.testing.assert_allclose(a.by_type_array, b.by_type_array, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a.records_by_type, b.records_by_type)


@FEW
@given(force_and_records())
def test_doubling_durations_with_full_data_weight_doubles_workload(case: tuple[Force, pd.DataFrame]) -> None:
    force, records = case
    force = force.model_copy(update={"settings": force.settings.model_copy(update={"data_weight": 1.0})})
    records = records.assign(duration=records["duration"].fillna(45.0))
    once = compute_workload(records, force)
    twice = compute_workload(records.assign(duration=2 * records["duration"]), force)
    np.testing.assert_allclose(twice.array, 2 * once.array, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(twice.hour_array, 2 * once.hour_array, rtol=1e-12, atol=1e-12)


@FEW
@given(force_and_records(min_size=2), st.data())
def test_partials_of_a_partition_sum_to_the_whole(case: tuple[Force, pd.DataFrame], data: st.DataObject) -> None:
    force, records = case
    prepared = prepare_records(records, force)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(records)), min_size=1, max_size=3)))
    bounds = [0, *cuts, len(records)]
    parts = [prepared.subset(slice(lo, hi)).partials() for lo, hi in zip(bounds, bounds[1:], strict=False)]
    summed = parts[0]
    for p in parts[1:]:
        summed = summed + p
    whole = prepared.partials()
    np.testing.assert_array_equal(summed.count, whole.count)
    np.testing.assert_allclose(summed.weight, whole.weight, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(summed.minutes, whole.minutes, rtol=1e-12, atol=1e-12)
    # each partition prepared on its own, with the whole's as_of, gives the same workload
    separately = [
        prepare_records(records.iloc[lo:hi], force, as_of=prepared.as_of).partials()
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    total = separately[0]
    for p in separately[1:]:
        total = total + p
    np.testing.assert_allclose(
        workload_from_partials(total, force, prepared.as_of).array,
        compute_workload(prepared, force).array,
        rtol=1e-12,
        atol=1e-12,
    )


@FEW
@given(force_and_records())
def test_explain_of_every_cell_sums_to_the_cell(case: tuple[Force, pd.DataFrame]) -> None:
    force, records = case
    wl = compute_workload(records, force)
    for area in wl.areas:
        for shift in wl.shifts:
            for role in wl.roles:
                cell = wl.explain(area, shift, role)
                hours = wl.hours(area, shift, role)
                assert cell["hours"].sum() == pytest.approx(hours, rel=1e-12, abs=1e-12)
                assert (cell["hours"].diff().dropna() <= 0).all()
                if hours > 0:
                    assert cell["share"].sum() == pytest.approx(1.0)
                i, j = wl.areas.index(area), wl.shifts.index(shift)
                assert cell["records"].sum() <= wl.records_by_type[i, j].sum()


@FEW
@given(force_and_records())
def test_every_record_is_counted_in_each_shift_on_duty_in_its_hour(case: tuple[Force, pd.DataFrame]) -> None:
    force, records = case
    wl = compute_workload(records, force)
    shares = shift_shares_by_minutes(force, "equal")
    local_hour = records["timestamp"].dt.tz_convert(force.settings.timezone).dt.hour.to_numpy()
    expected = np.zeros_like(wl.records_by_type)
    for rec, hour in zip(records.itertuples(), local_hour, strict=True):
        a, t = force.area_names.index(rec.area), force.type_codes.index(rec.demand_type)
        expected[a, :, t] += shares[hour] > 0
    np.testing.assert_array_equal(wl.records_by_type, expected)
