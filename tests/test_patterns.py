"""Duty windows, patterns and rotas: on-duty profiles, buckets, rostered sets, welfare, validation."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.errors import ForceError
from allocator.model.force import Force
from allocator.model.patterns import (
    WEEKDAYS,
    buckets_for,
    check_welfare,
    least_team_total,
    legacy_patterns,
    make_buckets,
    pattern_profile,
    pattern_profiles,
    rostered_sets,
)
from allocator.model.rota import BucketDayparts, BucketSplit, Daypart, DutyWindow, Pattern

EARLY = DutyWindow(name="Early", start="07:00", hours=8)
LATE = DutyWindow(name="Late", start="14:00", hours=8)
NIGHT = DutyWindow(name="Night", start="22:00", hours=9)
ELN = [EARLY, LATE, NIGHT]
CODES = {"E": "Early", "L": "Late", "N": "Night", "A": "Late"}
TWO_TWO_TWO = Pattern(name="Response", rota="E E L L N N R R R R", codes=CODES, teams=5)
VSA_WEEKS = [
    "N N N N R R R",
    "A A A R R E E",
    "E E R R N N N",
    "R R R A A A A",
    "R R E E E R R",
]


def vsa(weeks: list[str] = VSA_WEEKS, codes: dict[str, str] = CODES) -> Pattern:
    return Pattern(name="VSA", rota=" ".join(weeks), codes=codes, teams=5, anchor="2026-01-05")


def hour(day: str, hh: int) -> int:
    return 24 * WEEKDAYS.index(day) + hh


# ------------------------------------------------------------------ 2-2-2
def test_two_two_two_puts_a_fifth_on_each_window_every_day() -> None:
    p = pattern_profile(TWO_TWO_TWO, ELN)
    assert p.teams == ("1", "2", "3", "4", "5")
    assert p.period_days == 70
    assert p.offsets == (0, 2, 4, 6, 8)
    assert Fraction(p.relief_factor).limit_denominator(100) == Fraction(10, 6)
    # 10 and 7 share no factor: every team's week is the same
    np.testing.assert_allclose(p.on_duty, np.broadcast_to(p.on_duty[0], p.on_duty.shape))
    np.testing.assert_allclose(p.window_share, np.full((5, 7, 3), 0.2))
    # a fifth of the posts on each window each day: 1/5 in single hours, 2/5 where Early and Late meet
    mean = p.on_duty.mean(axis=0)
    for day in WEEKDAYS:
        assert mean[hour(day, 10)] == pytest.approx(0.2)  # Early
        assert mean[hour(day, 14)] == pytest.approx(0.4)  # Early 07-15 and Late 14-22
        assert mean[hour(day, 18)] == pytest.approx(0.2)  # Late
        assert mean[hour(day, 23)] == pytest.approx(0.2)  # Night
        assert mean[hour(day, 3)] == pytest.approx(0.2)  # last night's Night
    # two fifths rest on any day: the duty share of a day is 3/5
    assert p.window_share[0].sum(axis=1) == pytest.approx(np.full(7, 0.6))
    assert p.duty_hours_per_week == pytest.approx((2 * 8 + 2 * 8 + 2 * 9) * 7 / 10)


def test_a_fixed_weekday_pattern_has_relief_factor_seven_fifths() -> None:
    day = DutyWindow(name="Day", start="09:00", hours=8)
    p = pattern_profile(Pattern(name="LCI", fixed={"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Day"}), [day])
    assert p.kind == "fixed" and p.teams == ("all",) and p.period_days == 7
    assert p.relief_factor == pytest.approx(7 / 5)
    assert p.duty_hours_per_week == pytest.approx(40)
    assert p.on_duty[0, hour("Mon", 9)] == 1 and p.on_duty[0, hour("Sat", 9)] == 0


# -------------------------------------------------------------------- VSA
def test_vsa_on_duty_per_weekday_and_window_is_the_column_count_over_five() -> None:
    p = pattern_profile(vsa(), ELN)
    assert p.period_days == 35 and p.offsets == (0, 7, 14, 21, 28)
    assert p.relief_factor == pytest.approx(35 / 21)
    grid = np.array([w.split() for w in VSA_WEEKS])  # (week, weekday)
    for d in range(7):
        for w, name in enumerate(("E", "A", "N")):
            count = int((grid[:, d] == name).sum())
            assert p.window_share[:, d, w] == pytest.approx(np.full(5, count / 5))
    assert p.window_share.mean(axis=0) == pytest.approx(np.full((7, 3), 0.2))


def test_changing_one_saturday_start_moves_only_saturday() -> None:
    base = pattern_profile(vsa(), ELN).on_duty.mean(axis=0)
    early_sat = DutyWindow(name="Early", start="07:00", hours=8, starts={"Sat": "09:00"})
    moved = pattern_profile(vsa(), [early_sat, LATE, NIGHT]).on_duty.mean(axis=0)
    changed = np.flatnonzero(~np.isclose(base, moved))
    assert changed.tolist() == [hour("Sat", 7), hour("Sat", 8), hour("Sat", 15), hour("Sat", 16)]
    assert base.sum() == pytest.approx(moved.sum())


def test_a_weekend_super_late_puts_more_on_friday_and_saturday_nights() -> None:
    super_late = DutyWindow(name="Super Late", start="18:00", hours=10, days=["Fri", "Sat"])
    weeks = [*VSA_WEEKS[:4], "R R E E S S R"]
    p = pattern_profile(vsa(weeks, {**CODES, "S": "Super Late"}), [*ELN, super_late])
    mean = p.on_duty.mean(axis=0)
    for day in ("Fri", "Sat"):
        assert mean[hour(day, 23)] == pytest.approx(0.4)
        assert mean[hour(day, 19)] == pytest.approx(0.4)  # Late and Super Late
    for day in ("Mon", "Tue", "Wed", "Thu", "Sun"):
        assert mean[hour(day, 23)] == pytest.approx(0.2)
    assert mean[hour("Sun", 3)] == pytest.approx(0.4)  # Saturday's Super Late runs to 04:00 Sunday


def test_a_cycle_sharing_a_factor_with_the_week_gives_teams_different_weeks() -> None:
    rota = Pattern(name="Fortnight", rota="E E L L N N R R R R R R R R", codes=CODES, offsets=[0, 3])
    p = pattern_profile(rota, ELN)
    assert p.teams == ("1", "2") and p.period_days == 14
    assert not np.allclose(p.on_duty[0], p.on_duty[1])
    assert p.on_duty[0, hour("Mon", 10)] == pytest.approx(0.5)  # Early on Mon in one week of two
    assert p.on_duty[1, hour("Mon", 10)] == 0
    assert p.on_duty[1, hour("Thu", 10)] == pytest.approx(0.5)
    assert p.on_duty.sum(axis=1) == pytest.approx(np.full(2, p.duty_hours_per_week))


# ---------------------------------------------------------------- buckets
def test_window_buckets_partition_the_week_and_sun_night_wraps() -> None:
    b = buckets_for(ELN, "windows")
    assert len(b.names) == 21
    assert np.bincount(b.of_hour, minlength=21).sum() == 168
    np.testing.assert_array_equal(b.matrix().sum(axis=1), np.ones(168))
    sun_night = b.index("Sun Night")
    assert b.hours(sun_night).tolist() == [166, 167, 0, 1, 2, 3, 4, 5, 6]
    assert b.hours(b.index("Mon Early")).tolist() == list(range(7, 14))
    assert b.label[sun_night] == "Night" and b.weekday[sun_night] == 6 and b.start_hour[sun_night] == 166
    workload = np.arange(168.0)
    assert (workload @ b.matrix())[sun_night] == pytest.approx(166 + 167 + sum(range(7)))


def test_weekday_only_windows_split_only_their_days_and_shared_starts_share_a_bucket() -> None:
    super_late = DutyWindow(name="Super Late", start="18:00", hours=10, days=["Fri", "Sat"])
    day = DutyWindow(name="Day", start="07:30", hours=8, starts={"Sun": "10:00"})
    b = buckets_for([*ELN, super_late, day], "windows")
    assert "Fri Super Late" in b.names and "Sat Super Late" in b.names
    assert "Thu Super Late" not in b.names
    assert "Mon Early/Day" in b.names and "Sun Early" in b.names and "Sun Day" in b.names
    assert b.hours(b.index("Fri Late")).tolist() == list(range(hour("Fri", 14), hour("Fri", 18)))
    assert b.hours(b.index("Thu Late")).tolist() == list(range(hour("Thu", 14), hour("Thu", 22)))
    assert len(b.names) == 7 * 3 + 2 + 1


def test_a_weekday_with_no_start_at_the_force_day_start_gets_an_hour_bucket() -> None:
    weekday_early = DutyWindow(name="Early", start="07:00", hours=8, days=["Mon", "Tue", "Wed", "Thu", "Fri"])
    late = DutyWindow(name="Late", start="15:00", hours=8)
    b = buckets_for([weekday_early, late], "windows")
    assert "Sat 07:00" in b.names and "Sat Early" not in b.names
    assert b.hours(b.index("Sat 07:00")).tolist() == list(range(hour("Sat", 7), hour("Sat", 15)))


def test_split_at_dayparts_and_hours_modes() -> None:
    split = buckets_for(ELN, BucketSplit(split_at=["Early", "Night"]))
    assert split.names[:2] == ("Mon Early", "Mon Night")
    assert split.hours(split.index("Mon Early")).tolist() == list(range(7, 22))
    parts = buckets_for(ELN, {"dayparts": [{"name": "Morning", "start": "07:00"}, {"name": "Evening", "start": "17:00"}]})
    assert len(parts.names) == 14 and parts.names[0] == "Mon Morning"
    assert parts.hours(parts.index("Sun Evening")).tolist() == [*range(hour("Sun", 17), 168), *range(7)]
    hours = buckets_for(ELN, "hours")
    assert len(hours.names) == 168 and hours.names[7] == "Mon 07:00" and hours.of_hour.tolist() == list(range(168))
    with pytest.raises(ValueError, match="same hour"):
        buckets_for(ELN, BucketDayparts(dayparts=[Daypart(name="A", start="07:00"), Daypart(name="B", start="07:30")]))


# ------------------------------------------------------- q of dates, sets
def test_least_team_total_hand_checked() -> None:
    assert least_team_total(5, 0.5, 0.9) == 14
    p14 = sum(math.comb(14, k) for k in range(5, 15)) / 2**14
    p13 = sum(math.comb(13, k) for k in range(5, 14)) / 2**13
    assert p14 == pytest.approx(0.910, abs=5e-4) and p13 == pytest.approx(0.867, abs=5e-4)
    assert least_team_total(5, 0.5, p13) == 13
    assert least_team_total(0, 0.3, 0.99) == 0
    assert least_team_total(4, 1.0, 0.99) == 4
    assert least_team_total(1, 0.5, 0.5) == 1
    assert least_team_total(1, 0.5, 0.75) == 2
    with pytest.raises(ValueError, match="never"):
        least_team_total(1, 0.0, 0.5)


@given(st.integers(1, 12), st.floats(0.05, 0.95), st.floats(0.05, 0.99))
def test_least_team_total_is_the_least(need: int, available: float, chance: float) -> None:
    n = least_team_total(need, available, chance)

    def p(m: int) -> float:
        return sum(math.comb(m, k) * available**k * (1 - available) ** (m - k) for k in range(need, m + 1))

    assert p(n) >= chance - 1e-9
    assert n == need or p(n - 1) < chance + 1e-9


def test_rostered_sets_for_two_two_two() -> None:
    p = pattern_profile(TWO_TWO_TWO, ELN)
    b = buckets_for(ELN, "windows")
    singles = [((0, k),) for k in range(5)]
    assert rostered_sets([p], b.hours(b.index("Sat Early"))) == singles
    assert rostered_sets([p], b.hours(b.index("Sun Night"))) == singles
    # the overlap hour: Early and Late teams on together, always two teams two days apart in the cycle
    both = rostered_sets([p], np.array([hour("Tue", 14)]))
    assert len(both) == 5 and all(len(s) == 2 for s in both)
    assert {tuple(sorted(k for _, k in s)) for s in both} == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)}


def test_rostered_sets_across_patterns_join_their_periods() -> None:
    day = DutyWindow(name="Day", start="09:00", hours=8)
    lci = Pattern(name="LCI", fixed={"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Day"})
    profiles = [pattern_profile(TWO_TWO_TWO, [*ELN, day]), pattern_profile(lci, [*ELN, day])]
    sets = rostered_sets(profiles, np.array([hour("Wed", 10)]))
    assert sets == [((0, k), (1, 0)) for k in range(5)]
    assert rostered_sets(profiles, np.array([hour("Sat", 10)])) == [((0, k),) for k in range(5)]


# ----------------------------------------------------------------- welfare
def test_no_welfare_warnings_for_two_two_two() -> None:
    assert check_welfare(pattern_profile(TWO_TWO_TWO, ELN)) == []
    assert check_welfare(pattern_profile(vsa(), ELN)) == []


def test_welfare_warnings_for_a_bad_rota() -> None:
    long_night = DutyWindow(name="Night", start="20:00", hours=12)
    bad = Pattern(name="Bad", rota="L E E E E E E R R N N N N N R R R R", codes=CODES)
    warnings = check_welfare(pattern_profile(bad, [EARLY, LATE, long_night]))
    assert warnings == [
        "Bad: Night is 12 h; duties of 8-10 h are recommended (12-hour shifts are not recommended)",
        "Bad: backward rotation: Late on cycle day 1 is followed by Early on cycle day 2 "
        "(forward rotation is early, then late, then night)",
        "Bad: 9 h between Late on cycle day 1 (ends 22:00) and Early on cycle day 2 (starts 07:00); "
        "at least 11 h is recommended",
        "Bad: 7 duties in a row from cycle day 1; at most 6 before rest days are recommended",
        "Bad: 5 nights in a row from cycle day 10; at most 4 are recommended",
    ]
    single = check_welfare(pattern_profile(Pattern(name="One", rota="E E R L L R R", codes=CODES), ELN))
    assert single == ["One: a single rest day on cycle day 3; rest days in blocks of at least 2 are recommended"]
    short_gap = DutyWindow(name="Late", start="16:00", hours=8)
    gap = check_welfare(pattern_profile(Pattern(name="Gap", rota="L E R R", codes=CODES), [EARLY, short_gap]))
    assert "Gap: 7 h between Late on cycle day 1 (ends 00:00) and Early on cycle day 2 (starts 07:00)" in gap[1]


# ----------------------------------------------------------- legacy forces
def test_the_legacy_sample_loads_unchanged(sample_force: Force) -> None:
    assert sample_force.is_legacy and not sample_force.windows and not sample_force.patterns
    windows, patterns = legacy_patterns(sample_force)
    assert [w.name for w in windows] == sample_force.shift_names
    assert [p.name for p in patterns] == sample_force.shift_names
    profiles = pattern_profiles(sample_force)
    for p, shift in zip(profiles, sample_force.shifts, strict=True):
        assert p.relief_factor == 1 and p.teams == ("all",)
        np.testing.assert_allclose(p.on_duty[0].reshape(7, 24), np.tile(shift.cover(), (7, 1)))
    assert len(make_buckets(sample_force).names) == 35


# ------------------------------------------------------------- validation
def rota_force(sample_force: Force, **changes: Any) -> dict[str, Any]:
    data = sample_force.to_dict()
    data.pop("shifts")
    data["windows"] = [
        {"name": "Early", "start": "07:00", "hours": 8},
        {"name": "Late", "start": "14:00", "hours": 8},
        {"name": "Night", "start": "22:00", "hours": 9},
        {"name": "Super Late", "start": "18:00", "hours": 10, "days": ["Fri", "Sat"]},
        {"name": "Day", "start": "09:00", "hours": 8, "starts": {"Sat": "10:00", "Sun": "10:00"}},
    ]
    data["patterns"] = [
        {"name": "Response", "rota": "E E L L N N R R R R", "codes": {"E": "Early", "L": "Late", "N": "Night"},
         "teams": 5, "anchor": "2026-01-05"},
        {"name": "Neighbourhood", "fixed": {"Mon": "Early", "Tue": "Late", "Wed": "Early", "Thu": "Late", "Fri": "Early"}},
        {"name": "Investigation", "fixed": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Day"}},
    ]
    chosen = {"PC": ["Response"], "PCSO": ["Neighbourhood"], "LCI": ["Investigation"]}
    for role in data["roles"]:
        role["patterns"] = chosen[role["name"]]
        role["min_on_duty"] = {}
        role["min_on_duty_by_area"] = {}
    data["roles"][0]["min_on_duty"] = {"Night": 5, "Sat Night": 7}
    data["roles"][0]["min_on_duty_chance"] = 0.9
    for path, value in changes.items():
        node: Any = data
        keys = path.split("/")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


def load(tmp_path: Path, data: dict[str, Any]) -> Force:
    path = tmp_path / "force.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return allocator.load_force(path)


def faults(tmp_path: Path, data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ForceError) as info:
        load(tmp_path, data)
    return [(p.where, p.message) for p in info.value.problems]


def test_a_rota_force_loads_and_round_trips(sample_force: Force, tmp_path: Path) -> None:
    force = load(tmp_path, rota_force(sample_force))
    assert not force.is_legacy
    assert force.window_names == ["Early", "Late", "Night", "Super Late", "Day"]
    assert force.pattern_names == ["Response", "Neighbourhood", "Investigation"]
    assert force.role("PC").patterns == ["Response"] and force.role("PC").min_on_duty_chance == 0.9
    assert force.pattern("Investigation").fixed == dict.fromkeys(["Mon", "Tue", "Wed", "Thu", "Fri"], "Day")
    assert Force.model_validate(force.to_dict()) == force
    assert load(tmp_path, force.to_dict()) == force
    b = make_buckets(force)
    assert "Sat Night" in b.names and "Sat Early" in b.names and "Sat Day" in b.names
    assert [p.name for p in pattern_profiles(force)] == force.pattern_names


def test_every_pattern_fault_is_reported_at_once(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    data["windows"].append({"name": "Early", "start": "06:00", "hours": 8})
    data["patterns"][0]["rota"] = "E E L L N Nihgt R R R R"
    data["patterns"][0]["offsets"] = [0, 2, 4, 12]
    data["patterns"][1]["fixed"]["Sat"] = "Super Lat"
    data["patterns"].append({"name": "Investigation", "fixed": {"Mon": "Day"}})
    data["roles"][1]["patterns"] = ["Neighborhood"]
    data["roles"][2]["patterns"] = []
    data["roles"][0]["min_on_duty"] = {"Nite": 5, "Sat Nigth": 7}
    found = faults(tmp_path, data)
    assert ("windows", "'Early' appears more than once") in found
    assert ("patterns", "'Investigation' appears more than once") in found
    assert ("patterns[0].rota", "cycle day 6: unknown window or code 'Nihgt'; did you mean 'Night'?") in found
    assert ("patterns[0].offsets", "4 offsets for 5 teams; give one per team") in found
    assert ("patterns[0].offsets", "offsets must be 0 to 9 (cycle days), got [12]") in found
    assert ("patterns[1].fixed.Sat", "unknown window 'Super Lat'; did you mean 'Super Late'?") in found
    assert ("roles[1].patterns", "unknown pattern 'Neighborhood'; did you mean 'Neighbourhood'?") in found
    assert (
        "roles[2].patterns",
        "role 'LCI' names no patterns it may work (known: 'Response', 'Neighbourhood', 'Investigation', 'Investigation')",
    ) in found
    assert ("roles[0].min_on_duty", "unknown window or bucket 'Nite'; did you mean 'Night'?") in found
    assert ("roles[0].min_on_duty", "unknown window or bucket 'Sat Nigth'; did you mean 'Sat Night'?") in found
    data = rota_force(sample_force)
    data["settings"]["buckets"] = {"split_at": ["Early", "Lat"]}
    data["roles"][1]["min_on_duty"] = {"Early": 1}
    assert faults(tmp_path, data) == [("settings.buckets.split_at", "unknown window 'Lat'; did you mean 'Late'?")]
    data["settings"]["buckets"] = {"split_at": ["Early", "Late"]}  # no night buckets
    assert faults(tmp_path, data) == [
        ("roles[0].min_on_duty", "unknown window or bucket 'Sat Night'; did you mean 'Night'?")
    ]


def test_teams_below_one_and_a_pattern_with_both_kinds(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    data["patterns"][0]["teams"] = 0
    data["patterns"][1]["rota"] = "E R"
    found = faults(tmp_path, data)
    assert ("patterns[0].teams", "Input should be greater than or equal to 1") in found
    assert (
        "patterns[1]",
        "give exactly one of rota (a cycle of days) and fixed (weekday -> window)",
    ) in found


def test_a_weekday_only_window_on_a_day_it_does_not_run(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    # a 10-day cycle moves through the week, so the Super Late would land on every weekday
    data["patterns"][0]["rota"] = "E E L L S N R R R R"
    data["patterns"][0]["codes"]["S"] = "Super Late"
    data["patterns"][1]["fixed"]["Thu"] = "Super Late"
    found = faults(tmp_path, data)
    assert (
        "patterns[0].rota",
        "teams 1, 2, 3, 4, 5 work Super Late on cycle day 5, a Mon, Tue, Wed, Thu, Sun; "
        "Super Late runs only on Fri, Sat",
    ) in found
    assert ("patterns[1].fixed.Thu", "Super Late does not run on Thu; it runs only on Fri, Sat") in found
    # a five-week cycle anchored on a Monday fixes each cycle day's weekday: the Friday is fine
    data = rota_force(sample_force)
    data["patterns"][0] = {
        "name": "Response", "rota": " ".join([*VSA_WEEKS[:4], "R R E E S R R"]),
        "codes": {**CODES, "S": "Super Late"}, "teams": 5, "anchor": "2026-01-05",
    }
    load(tmp_path, data)
    data["patterns"][0]["anchor"] = "2026-01-07"  # a Wednesday: the Super Late falls on a Sunday
    assert faults(tmp_path, data) == [
        (
            "patterns[0].rota",
            "teams 1, 2, 3, 4, 5 work Super Late on cycle day 33, a Sun; Super Late runs only on Fri, Sat",
        )
    ]


def test_overlapping_duties_of_one_team_are_an_error(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    data["windows"][2]["hours"] = 10  # Night 22:00-08:00 runs into the next day's Early
    data["patterns"][0]["rota"] = "E E L L N E R R R R"
    found = faults(tmp_path, data)
    assert (
        "patterns[0]",
        "Night on cycle day 5 ends after Early on cycle day 6 starts: a post cannot work both",
    ) in found


def test_legacy_and_rota_keys_do_not_mix(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    data["shifts"] = sample_force.to_dict()["shifts"]
    assert ("shifts", "give duty windows (windows) or the older shifts, not both") in faults(tmp_path, data)
    legacy = sample_force.to_dict()
    legacy["roles"][0]["patterns"] = ["Response"]
    assert ("roles[0].patterns", "the force has no patterns for roles to name") in faults(tmp_path, legacy)
    data = rota_force(sample_force)
    data.pop("patterns")
    assert ("windows", "duty windows need patterns saying who works them (see docs/rotas.md)") in faults(tmp_path, data)


# --------------------------------------------------------------- property
@st.composite
def rotas(draw: st.DrawFn) -> tuple[Pattern, list[DutyWindow]]:
    n_windows = draw(st.integers(1, 3))
    windows = [
        DutyWindow(
            name=f"W{i}",
            start=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30])):02d}",
            hours=draw(st.sampled_from([4, 6, 7.5, 8, 9, 10])),
            starts={d: f"{draw(st.integers(0, 23)):02d}:00" for d in draw(st.sets(st.sampled_from(WEEKDAYS), max_size=2))},
        )
        for i in range(n_windows)
    ]
    # duties on alternate days at most, so one team's duties never overlap
    cycle = draw(st.integers(2, 16))
    days = [draw(st.sampled_from([None, *range(n_windows)])) if c % 2 == 0 else None for c in range(cycle)]
    if cycle % 2 == 1:
        days[-1] = None
    if all(d is None for d in days):
        days[0] = 0
    teams = draw(st.integers(1, 6))
    offsets = draw(st.lists(st.integers(0, cycle - 1), min_size=teams, max_size=teams)) if draw(st.booleans()) else None
    pattern = Pattern(
        name="P",
        rota=["R" if d is None else f"W{d}" for d in days],
        teams=teams,
        offsets=offsets,
        anchor=draw(st.sampled_from([None, "2026-01-05", "2025-07-17"])),
    )
    return pattern, windows


@given(rotas())
def test_on_duty_sums_to_duty_hours_and_averages_the_roster(case: tuple[Pattern, list[DutyWindow]]) -> None:
    pattern, windows = case
    p = pattern_profile(pattern, windows)
    assert p.on_duty.shape == (pattern.team_count, 168)
    assert (p.on_duty >= 0).all() and (p.on_duty <= 1 + 1e-12).all()
    np.testing.assert_allclose(p.on_duty.sum(axis=1), p.duty_hours_per_week)
    hours = sum(windows[w].hours for w in p.schedule[0] if w >= 0) * 7 / p.period_days
    assert p.duty_hours_per_week == pytest.approx(hours)
    # the mean over teams is the mean roster: minute by minute over the period, folded into the week
    minutes = np.zeros(p.period_days * 1440)
    for k in range(len(p.teams)):
        for day, w in enumerate(p.schedule[k]):
            if w >= 0:
                begin = day * 1440 + windows[w].start_on(day % 7)
                idx = np.arange(begin, begin + windows[w].minutes) % minutes.size
                minutes[idx] += 1
    roster = minutes.reshape(-1, 168, 60).mean(axis=(0, 2)) / len(p.teams)
    np.testing.assert_allclose(p.on_duty.mean(axis=0), roster, atol=1e-12)
    assert p.window_share.sum() == pytest.approx(sum(1 for w in p.schedule.ravel() if w >= 0) * 7 / p.period_days)


def test_field_faults_in_windows_patterns_and_buckets_name_their_place(sample_force: Force, tmp_path: Path) -> None:
    data = rota_force(sample_force)
    data["windows"][0]["days"] = ["Fr"]
    data["windows"][1]["starts"] = {"Sat": "25:00"}
    data["windows"][3]["starts"] = {"Sun": "19:00"}
    data["patterns"][1]["fixed"]["Mo"] = "Early"
    data["patterns"][2]["codes"] = {"E": "Early"}
    data["roles"][0]["min_on_duty_chance"] = 1.0
    data["settings"]["buckets"] = {"dayparts": [{"name": "Morning", "start": "7am"}]}
    assert faults(tmp_path, data) == [
        ("roles[0].min_on_duty_chance", "Input should be less than 1"),
        ("settings.buckets.dayparts[0].start", "a time must be HH:MM on the 24-hour clock, e.g. '07:00'"),
        ("windows[0].days", "unknown weekday 'Fr'; did you mean 'Fri'?"),
        ("windows[1].starts", "a time must be HH:MM on the 24-hour clock, e.g. '07:00'"),
        ("windows[3]", "starts names Sun, when the window does not run (days: Fri, Sat)"),
        ("patterns[1].fixed", "unknown weekday 'Mo'; did you mean 'Mon'?"),
        ("patterns[2]", "codes apply to a rota only, not to a fixed pattern"),
    ]
    for spec, where, message in [
        ("weekly", "settings.buckets", "Input should be 'windows' or 'hours'"),
        ({"split_at": []}, "settings.buckets.split_at", "List should have at least 1 item after validation, not 0"),
        (
            {"splitat": ["Early"]},
            "settings.buckets",
            "buckets must be windows, hours, {split_at: [windows]} or {dayparts: [{name, start}]}",
        ),
    ]:
        data = rota_force(sample_force)
        data["settings"]["buckets"] = spec
        assert faults(tmp_path, data) == [(where, message)]


DOCS = Path(__file__).resolve().parents[1] / "docs" / "rotas.md"


def test_the_rotas_guide_examples_run_and_its_force_file_loads(sample_force: Force, tmp_path: Path) -> None:
    import doctest

    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
    blocks = DOCS.read_text(encoding="utf-8").split("```yaml\n")[1:]
    guide = yaml.safe_load(blocks[0].split("```")[0])
    data = rota_force(sample_force)
    data["windows"], data["patterns"] = guide["windows"], guide["patterns"]
    data["settings"]["buckets"] = guide["settings"]["buckets"]
    data["roles"][0].update(guide["roles"][0])
    data["roles"][1]["patterns"] = ["Neighbourhood days"]
    data["roles"][2]["patterns"] = ["Investigation"]
    force = load(tmp_path, data)
    assert force.role("PC").min_on_duty == {"Night": 5, "Sat Night": 7}
    vsa_rota = yaml.safe_load(blocks[1].split("```")[0])[0]
    data["patterns"][0] = vsa_rota
    force = load(tmp_path, data)
    assert pattern_profile(force.pattern("Response"), force.windows).relief_factor == pytest.approx(35 / 21)


@st.composite
def window_sets(draw: st.DrawFn) -> list[DutyWindow]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        days = draw(st.one_of(st.none(), st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)))
        running = WEEKDAYS if days is None else days
        out.append(
            DutyWindow(
                name=f"W{i}",
                start=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
                hours=8,
                days=days,
                starts={d: f"{draw(st.integers(0, 23)):02d}:00" for d in draw(st.sets(st.sampled_from(running), max_size=2))},
            )
        )
    return out


@given(window_sets(), st.sampled_from(["windows", "hours", "split"]))
def test_buckets_always_partition_the_week(windows: list[DutyWindow], mode: str) -> None:
    spec: Any = BucketSplit(split_at=[windows[0].name]) if mode == "split" else mode
    b = buckets_for(windows, spec)
    n = len(b.names)
    assert len(set(b.names)) == n and b.of_hour.shape == (168,)
    assert sorted(set(b.of_hour.tolist())) == list(range(n))
    assert (np.diff(b.start_hour) > 0).all()
    joined = np.concatenate([b.hours(i) for i in range(n)])
    assert sorted(joined.tolist()) == list(range(168))
    for i in range(n):
        assert b.hours(i)[0] == b.start_hour[i] and (b.of_hour[b.hours(i)] == i).all()
        assert b.names[i] == f"{WEEKDAYS[b.weekday[i]]} {b.label[i]}"
    if mode == "windows":
        for w in windows:
            for d in range(7):
                if w.runs_on(d):
                    start = 24 * d + w.start_on(d) // 60
                    assert start in b.start_hour and w.name in b.label[b.of_hour[start]].split("/")


def test_rostered_sets_with_a_half_hour_handover_are_the_teams_going_off_and_coming_on() -> None:
    early = DutyWindow(name="Early", start="07:30", hours=8)
    late = DutyWindow(name="Late", start="15:00", hours=8)
    night = DutyWindow(name="Night", start="22:30", hours=9)
    p = pattern_profile(TWO_TWO_TWO, [early, late, night])
    assert not p.rostered[:, hour("Wed", 7)].any()  # nobody is on for the whole of 07:00-08:00
    # yet someone always is: the night team going off, then the early team coming on
    assert rostered_sets([p], np.array([hour("Wed", 7)])) == [((0, k),) for k in range(5)]
    weekdays = Pattern(name="Days", fixed={"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "window": "Early"})
    days = pattern_profile(weekdays, [early])
    assert rostered_sets([days], np.array([hour("Sat", 10)])) == [()]
    assert rostered_sets([days], np.array([hour("Fri", 10)])) == [((0, 0),)]


def test_welfare_warnings_for_fixed_patterns_name_weekdays(sample_force: Force) -> None:
    mixed = Pattern(name="Neighbourhood", fixed={"Mon": "Late", "Tue": "Early", "Wed": "Early", "Fri": "Early"})
    assert check_welfare(pattern_profile(mixed, ELN)) == [
        "Neighbourhood: backward rotation: Late on Mon is followed by Early on Tue "
        "(forward rotation is early, then late, then night)",
        "Neighbourhood: 9 h between Late on Mon (ends 22:00) and Early on Tue (starts 07:00); "
        "at least 11 h is recommended",
        "Neighbourhood: a single rest day on Thu; rest days in blocks of at least 2 are recommended",
    ]
    night = next(p for p in pattern_profiles(sample_force) if p.name == "Night")
    assert check_welfare(night) == [
        "Night: a duty every day, no rest days",
        "Night: 7 nights in a row from Mon; at most 4 are recommended",
    ]


def _reference_sets(profiles: list[Any], windows: list[DutyWindow], hours: list[int]) -> set[tuple[tuple[int, int], ...]]:
    """Straight from the schedules: who is on duty at each minute of the hours, over the joint period."""
    joint = math.lcm(7, *(p.period_days for p in profiles))
    duties = []  # (pattern, team, begin, end) in minutes from day 0, repeated over the joint period
    for i, p in enumerate(profiles):
        for k in range(len(p.teams)):
            for rep in range(joint // p.period_days):
                for d, w in enumerate(p.schedule[k]):
                    if w >= 0:
                        begin = (rep * p.period_days + d) * 1440 + windows[w].start_on(d % 7)
                        duties.append((i, k, begin, begin + windows[w].minutes))
    total = joint * 1440
    found = set()
    for h in hours:
        for week in range(joint // 7):
            for m in range(60):
                t = (week * 7 * 24 + h) * 60 + m
                on = {(i, k) for i, k, b, e in duties if b <= t < e or b <= t + total < e}
                found.add(tuple(sorted(on)))
    return {s for s in found if not any(set(o) < set(s) for o in found)}


@given(rotas(), st.lists(st.integers(0, 167), min_size=1, max_size=3))
def test_rostered_sets_match_the_schedules(case: tuple[Pattern, list[DutyWindow]], hours: list[int]) -> None:
    pattern, windows = case
    fixed = Pattern(name="F", fixed={"Mon": windows[0].name, "Sat": windows[-1].name})
    profiles = [pattern_profile(pattern, windows), pattern_profile(fixed, windows)]
    got = rostered_sets(profiles, np.array(hours))
    assert set(got) == _reference_sets(profiles, windows, hours)
    assert got == sorted(got, key=lambda s: (len(s), s))
