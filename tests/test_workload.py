"""The workload engine on hand-worked examples, and every error it reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.errors import WorkloadError
from allocator.model.force import Area, DemandType, Force, JudgementRow, Role, Settings, Shift
from allocator.workload import kernel as _kernel
from allocator.workload.engine import compute_workload, prepare_records, workload_from_partials


def tiny_force(half_life: float | None = None, overlap_rule: str = "equal") -> Force:
    """Two areas, two overlapping shifts, two roles, two demand types.

    Day 06:00-19:30 and Night 18:00-06:00 overlap from 18:00 to 19:30: hour 18
    is covered by both in full, hour 19 by Day for half of it and by Night in full.
    """
    return Force(
        name="Tiny",
        areas=[Area(name="North"), Area(name="South")],
        shifts=[
            Shift(name="Day", start="06:00", hours=13.5),
            Shift(name="Night", start="18:00", hours=12),
        ],
        roles=[Role(name="PC", establishment=20, abstraction=0.5), Role(name="PCSO", establishment=8, abstraction=0.4)],
        demand_types=[DemandType(code="THEFT"), DemandType(code="ASB")],
        judgement=[
            JudgementRow(demand_type="THEFT", role="PC", share=0.75, minutes=60, impact=1.0),
            JudgementRow(demand_type="THEFT", role="PCSO", share=0.25, minutes=40, impact=0.8),
            JudgementRow(demand_type="ASB", role="PC", share=0.4, minutes=30, impact=1.0),
            JudgementRow(demand_type="ASB", role="PCSO", share=0.6, minutes=60, impact=1.0),
        ],
        settings=Settings(data_weight=0.5, half_life_days=half_life, overlap_rule=overlap_rule),
        area_factors={"South": {"PC": 1.5}},
    )


# Twelve records in January 2024 (GMT, so local = UTC); Monday is the 15th.
# Per-record judged hours, h = share * impact * T / 60 * area_factor, with
# T = 0.5 * recorded + 0.5 * standard when a duration is recorded, else standard:
#   THEFT: PC share*impact 0.75, standard 60;  PCSO 0.25*0.8 = 0.2, standard 40
#   ASB:   PC 0.4, standard 30;                PCSO 0.6, standard 60
#                                         PC hours                  PCSO hours
#  1 North THEFT Mon 10:00 120  T 90 -> .75*90/60 = 1.125      T 80 -> .2*80/60 = 4/15
#  2 North THEFT Mon 10:30  -   T 60 -> 0.75                   T 40 -> 2/15
#  3 North ASB   Mon 18:15  60  T 45 -> .4*45/60 = 0.3         T 60 -> 0.6
#  4 North ASB   Tue 19:45  -   T 30 -> 0.2                    T 60 -> 0.6
#  5 North THEFT Wed 23:00  90  T 75 -> 0.9375                 T 65 -> 13/60
#  6 North THEFT Thu 03:00  -   0.75                           2/15
#  7 South THEFT Mon 12:00  30  T 45 -> 0.5625 * 1.5 = 0.84375 T 35 -> 7/60
#  8 South ASB   Fri 19:10 120  T 75 -> 0.5 * 1.5 = 0.75       T 90 -> 0.9
#  9 South ASB   Sat 02:00  -   0.2 * 1.5 = 0.3                0.6
# 10 South THEFT Sun 18:59  -   0.75 * 1.5 = 1.125             2/15
# 11 South ASB   Sun 07:00   0  T 15 -> 0.1 * 1.5 = 0.15       T 30 -> 0.3
# 12 North ASB   Mon 05:59  -   0.2                            0.6
# Records 3 and 10 fall in hour 18 (both shifts, half each under either rule);
# 4 and 8 in hour 19: half each under "equal", Day 1/3 and Night 2/3 under "time".
RECORDS = [
    ("North", "THEFT", "2024-01-15 10:00", 120.0),
    ("North", "THEFT", "2024-01-15 10:30", np.nan),
    ("North", "ASB", "2024-01-15 18:15", 60.0),
    ("North", "ASB", "2024-01-16 19:45", np.nan),
    ("North", "THEFT", "2024-01-17 23:00", 90.0),
    ("North", "THEFT", "2024-01-18 03:00", np.nan),
    ("South", "THEFT", "2024-01-15 12:00", 30.0),
    ("South", "ASB", "2024-01-19 19:10", 120.0),
    ("South", "ASB", "2024-01-20 02:00", np.nan),
    ("South", "THEFT", "2024-01-21 18:59", np.nan),
    ("South", "ASB", "2024-01-21 07:00", 0.0),
    ("North", "ASB", "2024-01-15 05:59", np.nan),
]


def frame(records: list[tuple[str, str, str, float]], tz: str = "Europe/London") -> pd.DataFrame:
    area, dtype, when, duration = zip(*records, strict=True)
    return pd.DataFrame(
        {
            "row": np.arange(2, len(records) + 2, dtype=np.int64),
            "timestamp": pd.to_datetime(list(when)).tz_localize(tz),
            "area": list(area),
            "demand_type": list(dtype),
            "duration": np.array(duration, dtype=np.float64),
        }
    )


# [area][shift][role] with shifts (Day, Night) and roles (PC, PCSO)
EQUAL = [
    # North Day PC: 1.125 + .75 + .3/2 + .2/2;  Night PC: .3/2 + .2/2 + .9375 + .75 + .2
    # North Day PCSO: 4/15 + 2/15 + .6/2 + .6/2; Night PCSO: .3 + .3 + 13/60 + 2/15 + .6
    [[2.125, 1.0], [2.1375, 1.55]],
    # South Day PC: .84375 + .75/2 + 1.125/2 + .15; Night PC: .75/2 + .3 + 1.125/2
    # South Day PCSO: 7/60 + .9/2 + (2/15)/2 + .3;  Night PCSO: .9/2 + .6 + (2/15)/2
    [[1.93125, 7 / 60 + 0.45 + 1 / 15 + 0.3], [1.2375, 0.45 + 0.6 + 1 / 15]],
]
TIME = [
    # record 4 (North, hour 19): PC .2 -> 1/3 Day, 2/3 Night; PCSO .6 -> .2 Day, .4 Night
    [[1.125 + 0.75 + 0.15 + 0.2 / 3, 0.4 + 0.3 + 0.2], [0.15 + 0.4 / 3 + 0.9375 + 0.75 + 0.2, 0.3 + 0.4 + 0.35 + 0.6]],
    # record 8 (South, hour 19): PC .75 -> .25 Day, .5 Night; PCSO .9 -> .3 Day, .6 Night
    [[0.84375 + 0.25 + 0.5625 + 0.15, 7 / 60 + 0.3 + 1 / 15 + 0.3], [0.5 + 0.3 + 0.5625, 0.6 + 0.6 + 1 / 15]],
]
# records counted in every shift on duty in their hour: [area][shift][type] (THEFT, ASB)
RECORD_COUNTS = [[[2, 2], [2, 3]], [[2, 2], [1, 2]]]


@pytest.mark.parametrize(("rule", "expected"), [("equal", EQUAL), ("time", TIME)])
def test_hand_worked_example(rule: str, expected: list) -> None:
    force = tiny_force(overlap_rule=rule)
    wl = compute_workload(frame(RECORDS), force)
    np.testing.assert_allclose(wl.array, np.array(expected), rtol=1e-12)
    assert wl.array.sum() == pytest.approx(7.43125 + 4.6)  # every record's hours, once
    np.testing.assert_array_equal(wl.records_by_type, np.array(RECORD_COUNTS))
    assert wl.n_records == 12
    assert wl.as_of == pd.Timestamp("2024-01-21 18:59", tz="Europe/London")
    assert wl.overlap_rule == rule


def test_override_rule_and_hour_of_week() -> None:
    force = tiny_force(overlap_rule="equal")
    wl = compute_workload(frame(RECORDS), force, overlap_rule="time")
    np.testing.assert_allclose(wl.array, np.array(TIME), rtol=1e-12)
    # by hour of week: record 4 is Tuesday 19:45 (hour 24 + 19), record 12 Monday 05:59
    north, pc = 0, 0
    assert wl.hour_array[north, 43, pc] == pytest.approx(0.2)
    assert wl.hour_array[north, 5, pc] == pytest.approx(0.2)
    assert wl.hour_array[1, 162, 0] == pytest.approx(1.125)  # Sunday 18:59 in South
    assert np.count_nonzero(wl.hour_array[..., 0]) == 11  # records 1 and 2 share Monday 10:00


def test_hour_of_week_is_local_time_across_daylight_saving() -> None:
    force = tiny_force()
    # given in UTC: 08:30 UTC on Monday 1 July 2024 is 09:30 BST; 23:30 UTC on
    # Sunday 30 June is 00:30 BST on Monday; in January UTC is local.
    utc = pd.to_datetime(["2024-07-01 08:30", "2024-06-30 23:30", "2024-01-07 23:30"]).tz_localize("UTC")
    records = pd.DataFrame(
        {"timestamp": utc, "area": "North", "demand_type": "THEFT", "duration": np.nan}
    )
    prepared = prepare_records(records, force)
    assert prepared.hour_of_week.tolist() == [9, 0, 167]
    assert prepared.as_of == pd.Timestamp("2024-07-01 09:30", tz="Europe/London")


def test_recency_halves_every_half_life() -> None:
    force = tiny_force(half_life=7)
    records = frame(
        [
            ("North", "THEFT", "2024-01-15 10:00", np.nan),  # age 0: weight 1
            ("North", "THEFT", "2024-01-08 10:00", np.nan),  # age 7 days: 0.5
            ("North", "THEFT", "2024-01-01 10:00", np.nan),  # age 14 days: 0.25
        ]
    )
    wl = compute_workload(records, force)
    np.testing.assert_allclose(wl.partials.weight.sum(), 1.75)
    assert wl.array[0, 0, 0] == pytest.approx(0.75 * 1.75)  # PC, Day
    # as_of a week later: every weight halves
    later = compute_workload(records, force, as_of="2024-01-22 10:00")
    assert later.array[0, 0, 0] == pytest.approx(0.75 * 1.75 / 2)
    assert later.as_of == pd.Timestamp("2024-01-22 10:00", tz="Europe/London")


def test_categorical_and_string_columns_agree() -> None:
    force = tiny_force()
    plain = frame(RECORDS)
    cats = plain.assign(
        area=pd.Categorical(plain["area"], categories=force.area_names),
        demand_type=pd.Categorical(plain["demand_type"], categories=["ASB", "THEFT"]),  # other order
    )
    a = compute_workload(plain, force)
    b = compute_workload(cats, force)
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_array_equal(a.by_type_array, b.by_type_array)


def test_tidy_frames_and_explain() -> None:
    force = tiny_force()
    wl = compute_workload(frame(RECORDS), force)
    assert list(wl.by_shift.columns) == ["area", "shift", "role", "hours"]
    assert len(wl.by_shift) == 2 * 2 * 2
    assert list(wl.by_hour.columns) == ["area", "hour_of_week", "role", "hours"]
    assert len(wl.by_hour) == 2 * 168 * 2
    assert list(wl.by_type.columns) == ["area", "shift", "demand_type", "role", "records", "hours"]
    assert len(wl.by_type) == 2 * 2 * 2 * 2
    for f in (wl.by_shift, wl.by_type):
        assert f["area"].cat.ordered
        assert list(f["area"].cat.categories) == ["North", "South"]
    row = wl.by_shift.query("area == 'South' and shift == 'Night' and role == 'PC'")
    assert row["hours"].item() == pytest.approx(1.2375)
    pd.testing.assert_frame_equal(wl.to_frame(), wl.by_shift)

    cell = wl.explain("South", "Night", "PC")
    # South Night PC: THEFT 1.125/2 = .5625 (record 10), ASB .75/2 + .3 = .675 (records 8, 9)
    assert cell["demand_type"].astype(str).tolist() == ["ASB", "THEFT"]
    assert cell["records"].tolist() == [2, 1]
    np.testing.assert_allclose(cell["hours"], [0.675, 0.5625])
    np.testing.assert_allclose(cell["share"], [0.675 / 1.2375, 0.5625 / 1.2375])
    assert "2 areas x 2 shifts x 2 roles from 12 records" in repr(wl)
    with pytest.raises(KeyError, match="did you mean 'South'"):
        wl.explain("Suoth", "Night", "PC")


def test_partials_of_parts_add_up() -> None:
    force = tiny_force(half_life=30)
    prepared = prepare_records(frame(RECORDS), force)
    whole = prepared.partials()
    parts = prepared.subset(slice(0, 5)).partials() + prepared.subset(slice(5, None)).partials()
    np.testing.assert_array_equal(parts.count, whole.count)
    np.testing.assert_allclose(parts.weight, whole.weight, rtol=1e-12)
    np.testing.assert_allclose(parts.minutes, whole.minutes, rtol=1e-12)
    a = workload_from_partials(parts, force, prepared.as_of)
    np.testing.assert_allclose(a.array, compute_workload(prepared, force).array, rtol=1e-12)


def test_chunks_blocks_and_threads_do_not_change_the_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    area = rng.integers(0, 3, n).astype(np.int16)
    dtype = rng.integers(0, 4, n).astype(np.int16)
    hour = rng.integers(0, 168, n).astype(np.int16)
    duration = np.where(rng.random(n) < 0.3, np.nan, rng.exponential(60, n))
    weight = rng.random(n)
    one = _kernel.partial_sums(area, dtype, hour, duration, weight, 3, 4, threads=1)
    monkeypatch.setattr(_kernel, "CHUNK", 64)
    monkeypatch.setattr(_kernel, "BLOCK", 640)
    serial = _kernel.partial_sums(area, dtype, hour, duration, weight, 3, 4, threads=1)
    threaded = _kernel.partial_sums(area, dtype, hour, duration, weight, 3, 4, threads=2)
    for field in ("count", "weight", "minutes"):
        np.testing.assert_array_equal(getattr(serial, field), getattr(threaded, field))
        np.testing.assert_allclose(getattr(serial, field), getattr(one, field), rtol=1e-12)
    # checked against a direct sum
    has = ~np.isnan(duration)
    assert one.count.sum() == n
    assert one.count[..., 1].sum() == has.sum()
    assert one.weight.sum() == pytest.approx(weight.sum())
    assert one.minutes.sum() == pytest.approx((weight * duration)[has].sum())
    sel = (area == 2) & (hour == 100) & (dtype == 3)
    assert one.count[2, 100, 3].sum() == sel.sum()
    assert one.minutes[2, 100, 3] == pytest.approx((weight * duration)[sel & has].sum())


def test_sample_force_end_to_end(sample_force: Force) -> None:
    records = allocator.sample_demand(sample_force, 5000, seed=11)
    wl = allocator.compute_workload(records, sample_force)
    assert wl.array.shape == (6, 5, 3)
    assert wl.n_records == 5000
    assert wl.array.sum() == pytest.approx(wl.hour_array.sum(), rel=1e-12)
    # every record lies in some shift, and in all shifts on duty in its hour
    assert wl.records_by_type.sum() >= 5000
    assert (wl.array > 0).all()


# ---------------------------------------------------------------------- errors
def messages(err: pytest.ExceptionInfo[WorkloadError]) -> list[str]:
    return [str(p) for p in err.value.problems]


def test_unknown_and_blank_codes_are_named_with_counts_and_rows() -> None:
    force = tiny_force()
    records = frame(RECORDS)
    records.loc[[2, 4], "area"] = "Nrth"
    records.loc[7, "area"] = None
    records.loc[[0, 1, 3], "demand_type"] = "BURGLARY"
    with pytest.raises(WorkloadError) as err:
        compute_workload(records, force)
    got = messages(err)
    assert len(got) == 3
    assert got[0] == "<records>, column area: blank area in 1 record (row 9)"
    assert got[1] == (
        "<records>, column area: unknown area 'Nrth'; did you mean 'North'?: 2 records (rows 4, 6) "
        "(got 'Nrth')"
    )
    assert got[2].startswith("<records>, column demand_type: unknown demand type 'BURGLARY'")
    assert "3 records (rows 2, 3, 5)" in got[2]
    assert "3 problems" in str(err.value)


def test_categorical_with_unknown_category_is_an_error() -> None:
    force = tiny_force()
    records = frame(RECORDS)
    records["demand_type"] = pd.Categorical(records["demand_type"].replace("ASB", "DRUGS"))
    with pytest.raises(WorkloadError, match=r"unknown demand type 'DRUGS'.*: 6 records \(rows 4, 5, 9, 10, 12, \.\.\.\)"):
        compute_workload(records, force)


def test_timezone_naive_timestamps() -> None:
    records = frame(RECORDS)
    records["timestamp"] = records["timestamp"].dt.tz_localize(None)
    with pytest.raises(WorkloadError, match="timestamps are timezone-naive \\(12 records\\); localize"):
        compute_workload(records, tiny_force())


def test_timestamps_that_are_not_datetimes_or_missing() -> None:
    records = frame(RECORDS)
    records["timestamp"] = records["timestamp"].astype(str)
    with pytest.raises(WorkloadError, match="expected timezone-aware datetimes, got dtype"):
        compute_workload(records, tiny_force())
    records = frame(RECORDS)
    records.loc[[3, 8], "timestamp"] = pd.NaT
    with pytest.raises(WorkloadError, match=r"missing timestamp in 2 records \(rows 5, 10\)"):
        compute_workload(records, tiny_force())


def test_bad_durations() -> None:
    records = frame(RECORDS)
    records.loc[5, "duration"] = -10.0
    records.loc[6, "duration"] = np.inf
    with pytest.raises(WorkloadError) as err:
        compute_workload(records, tiny_force())
    assert messages(err) == [
        "<records>, column duration: negative duration in 1 record (row 7) (got -10.0)",
        "<records>, column duration: infinite duration in 1 record (row 8) (got inf)",
    ]
    # without a row column, rows are counted from 1 in the frame's order
    with pytest.raises(WorkloadError, match=r"negative duration in 1 record \(row 6\)"):
        compute_workload(frame(RECORDS).drop(columns="row").assign(duration=lambda f: f["duration"].where(f.index != 5, -1.0)), tiny_force())
    records = frame(RECORDS)
    records["duration"] = records["duration"].astype(str)
    with pytest.raises(WorkloadError, match="expected minutes as numbers"):
        compute_workload(records, tiny_force())


def test_demand_type_without_judgement() -> None:
    force = tiny_force()
    # a force built without validation (model_copy) can lack judgement for a type
    broken = force.model_copy(update={"judgement": [j for j in force.judgement if j.demand_type != "ASB"]})
    with pytest.raises(WorkloadError) as err:
        compute_workload(frame(RECORDS), broken)
    assert messages(err) == [
        "<Force>, judgement: demand type 'ASB' has no judgement rows; 6 records need it (got 'ASB')"
    ]
    # not an error when no record needs it
    theft = [r for r in RECORDS if r[1] == "THEFT"]
    assert compute_workload(frame(theft), broken).n_records == 6


def test_missing_columns_records_after_as_of_and_all_at_once() -> None:
    with pytest.raises(WorkloadError) as err:
        compute_workload(frame(RECORDS).drop(columns=["duration", "area"]), tiny_force())
    assert messages(err) == [
        "<records>, header: missing column 'area'",
        "<records>, header: missing column 'duration'",
    ]
    with pytest.raises(WorkloadError, match=r"2 records after as_of 2024-01-21 00:00:00\+00:00 \(rows 11, 12\)"):
        compute_workload(frame(RECORDS), tiny_force(), as_of="2024-01-21")
    records = frame(RECORDS)
    records.loc[0, "area"] = "East"
    records.loc[1, "duration"] = -1.0
    records.loc[2, "timestamp"] = pd.NaT
    with pytest.raises(WorkloadError) as err:
        compute_workload(records, tiny_force())
    assert len(err.value.problems) == 3
    assert list(err.value.table()["where"]) == ["column area", "column timestamp", "column duration"]


def test_other_argument_errors() -> None:
    force = tiny_force()
    empty = frame(RECORDS).iloc[:0]
    with pytest.raises(WorkloadError, match="no records to take the latest timestamp from"):
        compute_workload(empty, force)
    wl = compute_workload(empty, force, as_of="2024-01-01")
    assert wl.n_records == 0 and wl.array.sum() == 0
    with pytest.raises(WorkloadError, match="as_of: not a time"):
        compute_workload(frame(RECORDS), force, as_of="next Tuesday")
    with pytest.raises(ValueError, match="unknown overlap rule 'even'"):
        compute_workload(frame(RECORDS), force, overlap_rule="even")
    prepared = prepare_records(frame(RECORDS), force)
    other = force.model_copy(update={"areas": [Area(name="North")]})
    with pytest.raises(ValueError, match="prepared for a force with other areas"):
        compute_workload(prepared, other)
    with pytest.raises(TypeError, match="records must be a pandas DataFrame"):
        prepare_records([1, 2], force)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("Europe/London", "2023-01-01", "2025-01-01"),  # two clock changes a year
        ("Australia/Lord_Howe", "2023-01-01", "2025-01-01"),  # changes by 30 minutes
        ("Asia/Kathmandu", "2023-01-01", "2024-01-01"),  # +05:45
        ("Europe/London", "1847-01-01", "1849-01-01"),  # local mean time -00:01:15 until Dec 1847
    ],
)
def test_local_hour_of_week_matches_pandas_in_any_zone(zone: str, start: str, end: str) -> None:
    from allocator.workload.kernel import LocalClock

    rng = np.random.default_rng(3)
    utc = np.sort(rng.integers(pd.Timestamp(start).value, pd.Timestamp(end).value, 20_000))
    local = pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC").tz_convert(zone)
    expected = (local.day_of_week * 24 + local.hour).to_numpy()
    np.testing.assert_array_equal(LocalClock(utc, zone).hour_of_week(utc), expected)


def test_same_inputs_same_output_byte_for_byte() -> None:
    force = tiny_force(half_life=30)
    records = frame(RECORDS * 50)
    a = compute_workload(records, force)
    b = compute_workload(records.copy(), force)
    assert a.by_type.to_csv() == b.by_type.to_csv()
    assert a.by_hour.to_csv() == b.by_hour.to_csv()
    assert a.array.tobytes() == b.array.tobytes()
