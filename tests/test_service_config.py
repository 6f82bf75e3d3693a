"""The force file's service_levels section: reading, round trip, and every fault named at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import allocator
from allocator.errors import ForceError
from allocator.model.service_levels import ServiceLevels

SAMPLE = allocator.sample_path("force.yaml")


def with_section(tmp_path: Path, section: str) -> Path:
    """The sample force with its service_levels section replaced by ``section`` (YAML text)."""
    text = SAMPLE.read_text(encoding="utf-8")
    start = text.index("service_levels:\n")
    end = text.index("\n# Judgement overrides")
    path = tmp_path / "force.yaml"
    path.write_text(text[:start] + section.strip("\n") + "\n" + text[end:], encoding="utf-8")
    shutil.copy(allocator.sample_path("judgement.csv"), tmp_path / "judgement.csv")
    return path


def problems(err: pytest.ExceptionInfo[ForceError]) -> list[str]:
    return [str(p) for p in err.value.problems]


def test_the_sample_force_has_the_issue_targets() -> None:
    force = allocator.load_force(SAMPLE)
    sl = force.service_levels
    assert sl is not None
    assert sl.responders == ["PC"] and sl.crew == 1 and sl.service_level == 0.8
    assert sl.grade_names == ("immediate", "priority")
    assert sl.target_minutes("immediate", "Swindon North") == 15
    assert sl.target_minutes("immediate", "Wiltshire South") == 20
    assert sl.target_minutes("priority", "Wiltshire South") == 60
    assert sl.wait_minutes("immediate", "Wiltshire South") == 20 - 12
    assert allocator.load_force(force.to_dict()) == force


def test_a_force_without_the_section_writes_what_it_wrote_before() -> None:
    force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    assert force.service_levels is None
    assert "service_levels" not in force.to_dict()
    assert "service_levels" not in force.to_yaml()


def test_defaults_and_per_area_crew(tmp_path: Path) -> None:
    path = with_section(tmp_path, """
service_levels:
  service_level: 0.8
  grades:
    immediate: {target_minutes: 20}
  areas:
    Wiltshire South: {crew: 1, travel_minutes: 5}
""")
    sl = allocator.load_force(path).service_levels
    assert sl is not None
    assert sl.responders == ["PC"] and sl.level == "hour" and sl.percentile == 100 and sl.chance is None
    assert sl.crew_of("Swindon North") == 2 and sl.crew_of("Wiltshire South") == 1  # default 2
    assert sl.wait_minutes("immediate", "Swindon North") == 20
    assert sl.wait_minutes("immediate", "Wiltshire South") == 15


def test_every_fault_is_named_at_once_with_its_line(tmp_path: Path) -> None:
    path = with_section(tmp_path, """
service_levels:
  responders: [PC, Sergeant, PC]
  service_level: 0.9
  grades:
    immediate: {target_minutes: {urban: 15, rural: 20}}
    emergency: {target_minutes: 10}
  areas:
    Swindon North: {type: urban, travel_minutes: 18}
    Swindon Nrth: {type: urban}
    Wiltshire North: {type: rural}
    Wiltshire East: {type: coastal}
    Wiltshire West: {type: rural}
""")
    with pytest.raises(ForceError) as err:
        allocator.load_force(path)
    found = problems(err)
    text = "\n".join(found)
    assert "service_levels.responders: unknown role 'Sergeant'" in text
    assert "service_levels.responders: 'PC' appears more than once" in text
    assert "service_levels.areas: unknown area 'Swindon Nrth'; did you mean 'Swindon North'?" in text
    assert "no demand type has grade 'emergency'" in text
    assert ("Swindon North: the immediate target of 15 minutes is shorter than the travel "
            "allowance of 18 minutes; no number of officers can meet it") in text
    assert "grade 'immediate' has no target for area type 'coastal'" in text
    assert "area 'Swindon South' has no type" in text and "area 'Wiltshire South' has no type" in text
    # each problem names the file and the line of its field
    assert all(p.startswith("force.yaml, line ") for p in found), found
    lines = (SAMPLE.read_text(encoding="utf-8").split("service_levels:")[0].count("\n")) + 1
    travel = next(p for p in found if "shorter than the travel" in p)
    assert int(re.search(r"line (\d+)", travel).group(1)) == lines + 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("service_level: 1.0", "service_levels.service_level: must be above 0 and below 1: no number "
         "of officers attends every call within a target, so a level of 1 can never be met (got 1.0)"),
        ("service_level: 0", "service_levels.service_level: must be above 0 and below 1"),
        ("service_level: .nan", "service_levels.service_level: must be above 0 and below 1"),
        ("service_level: true", "must be a number, not true/false"),
        ("service_level: 0.9\n  crew: 0", "service_levels.crew: Input should be greater than or equal to 1"),
        ("service_level: 0.9\n  crew: 1.5", "service_levels.crew: must be a whole number"),
        ("service_level: 0.9\n  level: shift", "service_levels.level: Input should be 'hour' or 'bucket'"),
        ("service_level: 0.9\n  percentile: 0", "service_levels.percentile: Input should be greater than 0"),
        ("service_level: 0.9\n  chance: 1", "service_levels.chance: Input should be less than 1"),
        ("service_level: 0.9\n  responders: []", "service_levels.responders: List should have at least 1"),
        ("service_level: 0.9\n  colour: blue", "unknown key 'colour'"),
    ],
)
def test_field_faults(tmp_path: Path, section: str, expected: str) -> None:
    path = with_section(tmp_path, f"""
service_levels:
  {section}
  grades:
    immediate: {{target_minutes: 15}}
""")
    with pytest.raises(ForceError) as err:
        allocator.load_force(path)
    assert any(expected in p for p in problems(err)), problems(err)


def test_negative_and_missing_targets(tmp_path: Path) -> None:
    path = with_section(tmp_path, """
service_levels:
  service_level: 0.9
  grades:
    immediate: {target_minutes: -5}
    priority: {}
""")
    with pytest.raises(ForceError) as err:
        allocator.load_force(path)
    text = "\n".join(problems(err))
    assert "service_levels.grades.immediate.target_minutes" in text
    assert "service_levels.grades.priority.target_minutes: Field required" in text


def test_response_types_need_responder_judgement() -> None:
    data = allocator.load_force(SAMPLE).to_dict()
    data["service_levels"]["responders"] = ["PCSO"]   # PCSOs have no share of silent 999 calls
    with pytest.raises(ForceError) as err:
        allocator.load_force(data)
    text = "\n".join(problems(err))
    assert "demand type 'SIL999' is response demand but no responder role (PCSO) has a share" in text
    assert "demand type 'DA' is response demand" in text


def test_response_types_need_standard_minutes() -> None:
    data = allocator.load_force(SAMPLE).to_dict()
    for row in data["judgement"]:
        if row["demand_type"] == "SIL999":
            row["minutes"] = 0
    with pytest.raises(ForceError) as err:
        allocator.load_force(data)
    assert any("demand type 'SIL999' is response demand but its responders' standard minutes are 0"
               in p for p in problems(err))


def test_grades_match_without_regard_to_case() -> None:
    data = allocator.load_force(SAMPLE).to_dict()
    data["service_levels"]["grades"] = {"Immediate": {"target_minutes": 20}}
    force = allocator.load_force(data)
    assert force.service_levels is not None
    assert force.service_levels.grade_names == ("Immediate",)


def test_the_model_alone() -> None:
    sl = ServiceLevels.model_validate({"service_level": 0.5, "grades": {"g": {"target_minutes": 9}}})
    assert sl.crew_of("anywhere") == 2 and sl.travel_minutes("anywhere") == 0
    with pytest.raises(KeyError):
        ServiceLevels.model_validate(
            {"service_level": 0.5, "grades": {"g": {"target_minutes": {"urban": 9}}}}
        ).target_minutes("g", "nowhere")
