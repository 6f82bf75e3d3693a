"""The force configuration: loading, validation that reports every problem, round trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import allocator
from allocator.errors import ForceError
from allocator.model.force import Force, Role, Shift
from allocator.model.forcefile import load_force, load_judgement

from .strategies import broken_force_data, forces

SAMPLE = allocator.sample_path()


def test_sample_force_loads(sample_force: Force) -> None:
    assert sample_force.area_names == [
        "Swindon North",
        "Swindon South",
        "Wiltshire North",
        "Wiltshire East",
        "Wiltshire West",
        "Wiltshire South",
    ]
    assert len(sample_force.shifts) == 5
    pc = sample_force.role("PC")
    assert pc.establishment == 400
    assert pc.abstraction == 0.5
    # judgement came from the CSV beside the YAML
    assert len(sample_force.judgement) == len(load_judgement(SAMPLE / "judgement.csv"))
    assert sample_force.settings.catch_all_type == "OTHER"


def test_minimum_posts_allow_for_abstraction(sample_force: Force) -> None:
    pc = sample_force.role("PC")
    # 4 on duty at night in Swindon North at 50% abstraction needs 8 posts
    assert pc.min_posts("Swindon North", "Night") == 8
    # elsewhere the force-wide minimum of 3 applies: ceil(3 / 0.5) = 6
    assert pc.min_posts("Wiltshire West", "Night") == 6
    mins = sample_force.min_posts_array()
    assert mins.shape == (6, 5, 3)
    assert mins[:, :, 0].sum() == 140


def test_shift_cover_crosses_midnight() -> None:
    night = Shift(name="Night", start="22:00", hours=10)
    cover = night.cover()
    assert cover[22] == cover[23] == cover[0] == cover[7] == 1.0
    assert cover[8] == cover[21] == 0.0
    assert cover.sum() == 10


def test_unquoted_yaml_time_is_read_as_clock_time(tmp_path: Path) -> None:
    # YAML 1.1 reads 07:00 unquoted as the integer 420 (minutes); it must still mean 07:00
    text = (SAMPLE / "force_shifts.yaml").read_text().replace('start: "07:00"', "start: 07:00")
    shutil.copy(SAMPLE / "judgement.csv", tmp_path)
    (tmp_path / "force_shifts.yaml").write_text(text)
    assert load_force(tmp_path / "force_shifts.yaml").shift("Early").start == "07:00"


def _broken_copy(tmp_path: Path, edits: list[tuple[str, str]], judgement_edits=()) -> Path:
    text = (SAMPLE / "force_shifts.yaml").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    jtext = (SAMPLE / "judgement.csv").read_text()
    for old, new in judgement_edits:
        assert old in jtext, old
        jtext = jtext.replace(old, new)
    (tmp_path / "force_shifts.yaml").write_text(text)
    (tmp_path / "judgement.csv").write_text(jtext)
    return tmp_path / "force_shifts.yaml"


def test_broken_force_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = _broken_copy(
        tmp_path,
        [
            ("abstraction: 0.5 ", "abstraction: 1.5 "),
            ("min_on_duty: {Early: 2", "min_on_duty: {Erly: 2"),
            ('{name: Day,      start: "10:00", hours: 8}', '{name: Day, start: "25:00", hours: 8, colour: red}'),
            ("pins: []", "pins: [{area: Swindon Nrth, shift: Night, role: PC, posts: 9}]"),
        ],
        [("THEFT,PC,0.5,120", "THEFT,PC,0.6,120")],
    )
    with pytest.raises(ForceError) as info:
        load_force(path)
    text = str(info.value)
    expected = [
        "roles[0].abstraction",  # out of range
        "(got 1.5)",
        "unknown shift 'Erly'; did you mean 'Early'?",
        "shifts[1].start",
        "(got '25:00')",
        "unknown key 'colour'",
        "shares of demand type 'THEFT' sum to 1.1, not 1",
        "unknown area 'Swindon Nrth'; did you mean 'Swindon North'?",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert len(info.value.problems) == 6
    # every problem in the YAML carries its line number
    lines = {p.where: p.line for p in info.value.problems}
    assert lines["roles[0].abstraction"] == text_line(path, "abstraction: 1.5")
    table = info.value.table()
    assert list(table.columns) == ["source", "line", "where", "message", "value"]
    assert len(table) == 6


def text_line(path: Path, fragment: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if fragment in line:
            return n
    raise AssertionError(fragment)


def test_broken_judgement_table_names_row_and_column(tmp_path: Path) -> None:
    path = _broken_copy(
        tmp_path,
        [],
        [("BURG,PC,0.5,180,1.2", "BURG,PC,0.5,-180,1.2"), ("ASB,PCSO,0.7,90,1.0", "ASB,PCSO,0.7,ninety,1.0")],
    )
    with pytest.raises(ForceError) as info:
        load_force(path)
    problems = [str(p) for p in info.value.problems]
    assert any("judgement.csv" in p and "row 4, column minutes" in p and "'-180'" in p for p in problems)
    assert any("row 8, column minutes" in p and "'ninety'" in p for p in problems)


def test_judgement_from_excel(tmp_path: Path, sample_force: Force) -> None:
    table = sample_force.judgement_table()
    table.to_excel(tmp_path / "judgement.xlsx", sheet_name="Judgement", index=False)
    text = (SAMPLE / "force_shifts.yaml").read_text().replace(
        "judgement: judgement.csv", "judgement: {file: judgement.xlsx, sheet: Judgement}"
    )
    (tmp_path / "force_shifts.yaml").write_text(text)
    assert load_force(tmp_path / "force_shifts.yaml") == sample_force


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ForceError, match="force file not found"):
        load_force(tmp_path / "nope.yaml")
    (tmp_path / "force_shifts.yaml").write_text((SAMPLE / "force_shifts.yaml").read_text())
    with pytest.raises(ForceError, match="judgement file not found"):
        load_force(tmp_path / "force_shifts.yaml")


def test_shifts_must_cover_the_day() -> None:
    with pytest.raises(ValueError, match="no shift is on duty for all of the hours starting 20:00"):
        Force(
            areas=[{"name": "A"}],
            shifts=[{"name": "Day", "start": "08:00", "hours": 12}, {"name": "Night", "start": "21:00", "hours": 11}],
            roles=[{"name": "PC", "establishment": 4, "abstraction": 0.5}],
            demand_types=[{"code": "T"}],
            judgement=[{"demand_type": "T", "role": "PC", "share": 1, "minutes": 30}],
        )


def test_min_posts_is_not_fooled_by_float_error() -> None:
    role = Role(name="PC", establishment=10, abstraction=0.7, min_on_duty={"Day": 0.3})
    assert role.min_posts("A", "Day") == 1


def test_arrays_follow_force_order(sample_force: Force) -> None:
    share, minutes, impact, defined = sample_force.judgement_arrays()
    t = sample_force.type_codes.index("DA")
    r = sample_force.role_names.index("LCI")
    assert (share[t, r], minutes[t, r], impact[t, r]) == (0.3, 270, 1.5)
    assert not defined[sample_force.type_codes.index("SIL999"), r]
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    factors = sample_force.area_factor_array()
    assert factors[sample_force.area_names.index("Wiltshire South"), 0] == 1.15
    assert factors[0].tolist() == [1.0, 1.0, 1.0]


def test_yaml_round_trip_of_the_sample(tmp_path: Path, sample_force: Force) -> None:
    sample_force.to_yaml(tmp_path / "copy.yaml")
    assert load_force(tmp_path / "copy.yaml") == sample_force


@given(forces())
def test_yaml_round_trip(force: Force) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "force_shifts.yaml"
        force.to_yaml(path)
        assert load_force(path) == force


@given(forces())
def test_generated_forces_cover_every_hour_and_fit_their_minimums(force: Force) -> None:
    assert (force.shift_cover().sum(axis=1) >= 1).all()
    mins = force.min_posts_array().sum(axis=(0, 1))
    assert (mins <= np.array([r.establishment for r in force.roles])).all()


@given(broken_force_data())
def test_every_planted_fault_is_reported_with_its_place(case: tuple[dict, list[str]]) -> None:
    import tempfile

    import yaml

    data, paths = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "force_shifts.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        with pytest.raises(ForceError) as info:
            load_force(path)
    reported = [p.where for p in info.value.problems]
    for where in paths:
        assert any(r == where or r.startswith(where) for r in reported), (where, reported)
    # every problem in a YAML file carries a line number
    assert all(p.line is not None for p in info.value.problems)


def test_force_from_toml(tmp_path: Path) -> None:
    (tmp_path / "force.toml").write_text(
        """
name = "Tiny"
[settings]
data_weight = 1.0
[[areas]]
name = "North"
[[shifts]]
name = "Day"
start = "08:00"
hours = 12
[[shifts]]
name = "Night"
start = "20:00"
hours = 12
[[roles]]
name = "PC"
establishment = 10
abstraction = 0.5
min_on_duty = { Night = 1 }
[[demand_types]]
code = "THEFT"
[[judgement]]
demand_type = "THEFT"
role = "PC"
share = 1.0
minutes = 60
"""
    )
    force = load_force(tmp_path / "force.toml")
    assert force.shift_names == ["Day", "Night"]
    assert force.role("PC").min_posts("North", "Night") == 2
    (tmp_path / "bad.toml").write_text('[[areas]]\nname = "North"\ncolour = "red"\n')
    with pytest.raises(ForceError, match="unknown key 'colour'"):
        load_force(tmp_path / "bad.toml")
