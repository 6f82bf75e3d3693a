"""Bad force files, judgement tables, current postings and API arguments, each refused by name.

Every case asserts the error class and where it points (file, line or row,
field or column, value), and that the input files are byte for byte as they
were. Hostile files (alias bombs, deep nesting) must also be refused quickly
and in little memory.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import shutil
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

import allocator
from allocator.errors import ArgumentError, ForceError, InputError
from allocator.model import textfile
from allocator.model.current import read_current
from allocator.model.force import Force
from allocator.model.forcefile import force_files, load_force
from allocator.model.problem import read_current as read_current_from_problem
from allocator.solve.arguments import check_allocate_arguments
from allocator.solve.exact import greedy

from .strategies import forces

SAMPLE = allocator.sample_path()
FORCE_TEXT = (SAMPLE / "force_shifts.yaml").read_text()
JUDGEMENT_TEXT = (SAMPLE / "judgement.csv").read_text()
CURRENT_TEXT = (SAMPLE / "current_shifts.csv").read_text()


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A copy of the sample force; every file in it must be unchanged when the test ends."""
    shutil.copy(SAMPLE / "judgement.csv", tmp_path)
    shutil.copy(SAMPLE / "force_shifts.yaml", tmp_path)
    shutil.copy(SAMPLE / "current_shifts.csv", tmp_path)
    _before[tmp_path] = _digests(tmp_path)
    yield tmp_path
    assert _digests(tmp_path) == _before[tmp_path]


_before: dict[Path, dict[str, str]] = {}


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    _before[folder] = _digests(folder)
    return path


def _problem(err: pytest.ExceptionInfo[InputError], index: int = 0) -> allocator.Problem:
    return err.value.problems[index]


def _edit(old: str, new: str) -> str:
    assert old in FORCE_TEXT, old
    return FORCE_TEXT.replace(old, new, 1)


# --------------------------------------------------------------- force files: YAML safety
BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
)


def test_alias_bomb_is_refused_by_name_quickly_and_in_little_memory(folder: Path) -> None:
    assert len(BOMB.encode()) < 400  # expands to 9**9 = 387 million strings
    path = _write(folder, "bomb.yaml", BOMB)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ForceError) as err:
            load_force(path)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 2 and peak < 20_000_000
    p = _problem(err)
    assert p.source == "bomb.yaml"
    assert p.message.startswith("refused: its aliases expand to more than 100,000 values beyond the file's own")
    assert "alias bomb" in p.message


def test_an_alias_to_its_own_container_is_refused(folder: Path) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "loop.yaml", "name: x\nareas: &a [*a]\n"))
    assert _problem(err).message == "refused: an alias refers to a value that contains it (a recursive structure)"
    assert _problem(err).line == 2


def test_a_few_honest_aliases_are_fine(folder: Path) -> None:
    text = _edit("    min_on_duty: {Early: 2, Day: 1, Late: 3, Twilight: 2, Night: 3}",
                 "    min_on_duty: &mins {Early: 2, Day: 1, Late: 3, Twilight: 2, Night: 3}")
    text = text.replace("    min_on_duty: {Day: 1}", "    min_on_duty: *mins")
    force = load_force(_write(folder, "force_shifts.yaml", text))
    assert force.role("LCI").min_on_duty == force.role("PC").min_on_duty


def test_a_merge_key_override_is_not_a_duplicate(folder: Path) -> None:
    text = _edit("  - name: PCSO\n    establishment: 120\n    abstraction: 0.45\n",
                 "  - &pcso\n    name: PCSO\n    establishment: 120\n    abstraction: 0.45\n")
    text = text.replace("  - name: LCI\n    establishment: 60\n    abstraction: 0.45\n",
                        "  - <<: *pcso\n    name: LCI\n    establishment: 60\n")
    text = text.replace("    proactive_share: 0.5    # community engagement and visible patrol\n"
                        "    min_on_duty: {Early: 1, Late: 1}\n", "")
    force = load_force(_write(folder, "force_shifts.yaml", text))
    assert force.role("LCI").establishment == 60 and force.role("LCI").abstraction == 0.45


@pytest.mark.parametrize(
    ("text", "line", "where", "message"),
    [
        (FORCE_TEXT + "name: Other\n", 81, "name", "key 'name' appears twice (lines 4 and 81); give it once"),
        (_edit("    abstraction: 0.5 ", "    establishment: 410\n    abstraction: 0.5 "), 36,
         "roles[0].establishment", "key 'establishment' appears twice (lines 35 and 36); give it once"),
        (_edit("max_posts: {PC: 95}", "max_posts: {PC: 95, PC: 90}"), 17, "areas[0].max_posts.PC",
         "key 'PC' appears twice (lines 17 and 17); give it once"),
    ],
    ids=["top-level", "nested", "flow mapping"],
)
def test_a_duplicated_key_names_both_lines(folder: Path, text: str, line: int, where: str, message: str) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force_shifts.yaml", text))
    p = _problem(err)
    assert (p.source, p.line, p.where, p.message) == ("force_shifts.yaml", line, where, message)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (bytes(range(256)) * 4, 1, "binary data (a NUL byte), not a text force file"),
        (FORCE_TEXT.replace("Swindon North", "Sw\xefndon North", 1).encode("latin-1"), 16,
         "not UTF-8 text: byte 0xef at column 13; save the file as UTF-8"),
        (FORCE_TEXT.encode("utf-16"), None, "UTF-16 (or UTF-32) text; save the file as UTF-8"),
        (("areas: " + "[" * 5000 + "]" * 5000 + "\n").encode(), 1, "refused: nested more than 100 levels deep"),
        (("areas: " + "{a: " * 1_000_000).encode(), 1, "refused: nested more than 100 levels deep"),
        ("".join("  " * i + f"k{i}:\n" for i in range(3000)).encode(), 100,
         "refused: nested more than 100 levels deep"),
    ],
    ids=["binary", "latin-1 byte", "utf-16", "5000 deep flow", "a million open braces", "3000 deep block"],
)
def test_unreadable_force_files_are_named(folder: Path, content: bytes, line: int | None, message: str) -> None:
    path = _write(folder, "force_shifts.yaml", content)
    t0 = time.perf_counter()
    with pytest.raises(ForceError) as err:
        load_force(path)
    assert time.perf_counter() - t0 < 3
    p = _problem(err)
    assert (p.source, p.line, p.message) == ("force_shifts.yaml", line, message)


def test_yaml_syntax_error_names_the_line(folder: Path) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force_shifts.yaml", _edit("  - {name: Day,", "  - {name: Day,,]")))
    p = _problem(err)
    assert p.line == 28 and p.message.startswith("not valid YAML:")


@pytest.mark.parametrize(("text", "message"), [("- a\n- b\n", "expected a mapping of force settings at the top"),
                                               ("", "expected a mapping of force settings at the top"),
                                               ("# only a comment\n", "expected a mapping of force settings at the top")],
                         ids=["list", "empty", "comment"])
def test_a_force_file_that_is_not_a_mapping(folder: Path, text: str, message: str) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force_shifts.yaml", text))
    assert _problem(err).message == message


def test_an_oversized_force_file_is_refused_unread(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textfile, "MAX_TEXT_BYTES", 1000)
    with pytest.raises(ForceError) as err:
        load_force(folder / "force_shifts.yaml")
    size = (folder / "force_shifts.yaml").stat().st_size
    assert _problem(err).message == f"force is {size:,} bytes; at most 1,000 are read"
    _before[folder] = _digests(folder)


def test_a_folder_given_as_force_file(folder: Path) -> None:
    (folder / "sub.yaml").mkdir()
    _before[folder] = _digests(folder)
    with pytest.raises(ForceError, match="force is a folder, not a file"):
        load_force(folder / "sub.yaml")


# --------------------------------------------------------------- force files: types and bounds
@pytest.mark.parametrize(
    ("old", "new", "line", "where", "message", "value"),
    [
        ("establishment: 400", "establishment: true", 35, "roles[0].establishment",
         "must be a whole number, not true/false", True),
        ("establishment: 400", "establishment: 12.5", 35, "roles[0].establishment", "must be a whole number", 12.5),
        ("establishment: 400", "establishment: 400.0", 35, "roles[0].establishment",
         "must be a whole number written without a decimal point", 400.0),
        ("establishment: 400", 'establishment: "400"', 35, "roles[0].establishment", "must be a whole number",
         "400"),
        ("establishment: 400", "establishment: 1000000000000", 35, "roles[0].establishment",
         "Input should be less than or equal to 1000000", 1000000000000),
        ("abstraction: 0.5 ", "abstraction: yes ", 36, "roles[0].abstraction", "must be a number, not true/false",
         True),
        ("hours: 9}", "hours: .nan}", 27, "shifts[0].hours", "Input should be less than or equal to 24", math.nan),
        ("min_on_duty: {Day: 1}", "min_on_duty: {Day: true}", 51, "roles[2].min_on_duty.Day",
         "must be a number, not true/false", True),
        ("min_on_duty: {Day: 1}", "min_on_duty: {Day: 1e12}", 51, "roles[2].min_on_duty",
         "minimum on duty must be 0 to 1,000,000, got {'Day': 1000000000000.0}", None),
        ("max_posts: {PC: 95}", "max_posts: {PC: 9.5}", 17, "areas[0].max_posts.PC", "must be a whole number", 9.5),
        ("window_days: 182", "window_days: 100000", 9, "settings.window_days",
         "Input should be less than or equal to 3660", 100000),
        ("window_days: 182", "window_days: false", 9, "settings.window_days",
         "must be a whole number, not true/false", False),
        ("data_weight: 0.6", "data_weight: on", 7, "settings.data_weight", "must be a number, not true/false", True),
        ("PC: 1.1}", "PC: true}", 76, "area_factors.Wiltshire East.PC", "must be a number, not true/false", True),
        ("pins: []", "pins: [{area: Swindon North, shift: Night, role: PC, posts: true}]", 80, "pins[0].posts",
         "must be a whole number, not true/false", True),
        ("grade: standard}\n  - {code: BURG", "grade: standard, priority: 1.5}\n  - {code: BURG", 54,
         "demand_types[0].priority", "must be a whole number", 1.5),
    ],
    ids=["establishment true", "establishment 12.5", "establishment 400.0", "establishment text",
         "establishment 10**12", "abstraction yes", "hours nan", "minimum true", "minimum 1e12", "max_posts 9.5",
         "window 100000 days", "window false", "data_weight on", "area factor true", "pin posts true",
         "priority 1.5"],
)
def test_numbers_are_strict_and_bounded(folder: Path, old: str, new: str, line: int, where: str, message: str,
                                        value: object) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force_shifts.yaml", _edit(old, new)))
    found = [p for p in err.value.problems if p.where == where]
    assert found, [str(p) for p in err.value.problems]
    p = found[0]
    assert (p.source, p.line, p.message) == ("force_shifts.yaml", line, message)
    if value is None:
        assert p.as_dict()["value"] is None
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(p.value)
    else:
        assert p.value == value and type(p.value) is type(value)


def test_too_many_areas_are_refused_with_the_bound(folder: Path) -> None:
    areas = "".join(f"  - name: A{i}\n" for i in range(10_001))
    text = FORCE_TEXT.split("areas:\n")[0] + "areas:\n" + areas + "\n# " + FORCE_TEXT.split("# Duty windows")[1]
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force_shifts.yaml", text))
    p = next(p for p in err.value.problems if p.where == "areas")
    assert p.message == "List should have at most 10000 items after validation, not 10001"


# --------------------------------------------------------------- TOML force files
@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b'name = "A"\nname = "B"\n', 2, "not valid TOML: Cannot overwrite a value (at line 2, column 11)"),
        (("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(), None, "refused: nested too deeply"),
        (b'name = "Sw\xefndon"\n', 1, "not UTF-8 text: byte 0xef at column 11; save the file as UTF-8"),
        (b"\x00\x01\x02", 1, "binary data (a NUL byte), not a text force file"),
    ],
    ids=["duplicate key", "5000 deep", "latin-1 byte", "binary"],
)
def test_bad_toml_is_named(folder: Path, content: bytes, line: int | None, message: str) -> None:
    with pytest.raises(ForceError) as err:
        load_force(_write(folder, "force.toml", content))
    p = _problem(err)
    assert (p.source, p.line, p.message) == ("force.toml", line, message)


def test_toml_establishment_true_is_refused(folder: Path, sample_force: Force) -> None:
    import tomllib

    data = sample_force.to_dict()
    data["roles"][0]["establishment"] = True
    lines = ['name = "T"', "[[roles]]", 'name = "PC"', "establishment = true", "abstraction = 0.5"]
    path = _write(folder, "force.toml", "\n".join(lines) + "\n")
    assert tomllib.loads(path.read_text())["roles"][0]["establishment"] is True
    with pytest.raises(ForceError) as err:
        load_force(path)
    p = next(p for p in err.value.problems if p.where == "roles[0].establishment")
    assert p.message == "must be a whole number, not true/false" and p.value is True


# --------------------------------------------------------------- judgement tables
def _judgement(old: str, new: str) -> str:
    assert old in JUDGEMENT_TEXT, old
    return JUDGEMENT_TEXT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("table", "source", "line", "where", "message"),
    [
        (_judgement("BURG,PC,0.5,180,1.2", "BURG,PCX,0.5,180,1.2"), "judgement.csv", 5, "row 4",
         "unknown role 'PCX'; did you mean 'PC'?"),
        (_judgement("BURG,PC,0.5,180,1.2", "BURGLRY,PC,0.5,180,1.2"), "judgement.csv", 5, "row 4",
         "unknown demand type 'BURGLRY'; did you mean 'BURG'?"),
        (JUDGEMENT_TEXT + "THEFT,LCI,0.3,120,1.0\n", "judgement.csv", 35, "row 34", "(THEFT, LCI) is given more than once"),
        (_judgement("THEFT,PC,0.5,120,1.0", "THEFT,PC,0.6,120,1.0"), "judgement.csv", None, "rows 1, 2, 3, column share",
         "shares of demand type 'THEFT' sum to 1.1, not 1"),
        (_judgement("THEFT,PC,0.5,120,1.0", "THEFT,PC,true,120,1.0"), "judgement.csv", 2, "row 1, column share",
         "Input should be a valid number, unable to parse string as a number"),
        (_judgement("THEFT,PC,0.5,120,1.0", "THEFT,PC,0.5,nan,1.0"), "judgement.csv", 2, "row 1, column minutes",
         "Input should be a finite number"),
        (JUDGEMENT_TEXT + "X,PC,1,1,1,9\n", "judgement.csv", 35,
         "", "not a readable CSV table: Error tokenizing data. C error: Expected 5 fields in line 35, saw 6"),
        (_judgement("demand_type,role,share,minutes,impact", "demand_type,role,share,minutes,share"),
         "judgement.csv", 1, "header", "column 'share' appears more than once"),
        ("", "judgement.csv", None, "", "the judgement file is empty (not even a header)"),
    ],
    ids=["unknown role", "unknown type", "pair twice", "shares sum", "share true", "minutes nan", "ragged row",
         "duplicate column", "empty file"],
)
def test_judgement_faults_point_at_the_table_row(folder: Path, table: str, source: str, line: int | None,
                                                  where: str, message: str) -> None:
    _write(folder, "judgement.csv", table)
    with pytest.raises(ForceError) as err:
        load_force(folder / "force_shifts.yaml")
    found = [p for p in err.value.problems if p.where == where and p.message == message]
    assert found, [str(p) for p in err.value.problems]
    assert (found[0].source, found[0].line) == (source, line)
    assert not any("judgement[" in p.where for p in err.value.problems)  # never the force file's list index


def test_judgement_with_an_unbalanced_quote_is_named(folder: Path) -> None:
    _write(folder, "judgement.csv", _judgement("BURG,PC,0.5,180,1.2", 'BURG,"PC,0.5,180,1.2'))
    with pytest.raises(ForceError) as err:
        load_force(folder / "force_shifts.yaml")
    p = _problem(err)
    assert p.source == "judgement.csv" and p.message.startswith("not a readable CSV table:")
    assert "EOF inside string starting at row 4" in p.message


def test_judgement_with_a_bad_byte_names_its_line(folder: Path) -> None:
    _write(folder, "judgement.csv", JUDGEMENT_TEXT.encode().replace(b"BURG,PC", b"B\xffRG,PC", 1))
    with pytest.raises(ForceError) as err:
        load_force(folder / "force_shifts.yaml")
    p = _problem(err)
    assert (p.source, p.line, p.message) == ("judgement.csv", 5,
                                             "not UTF-8 text: byte 0xff at column 2; save the file as UTF-8")


def test_a_damaged_workbook_is_named(folder: Path) -> None:
    _write(folder, "judgement.xlsx", b"PK\x03\x04 not really a workbook")
    _write(folder, "force_shifts.yaml", _edit("judgement: judgement.csv", "judgement: judgement.xlsx"))
    with pytest.raises(ForceError) as err:
        load_force(folder / "force_shifts.yaml")
    p = _problem(err)
    assert p.source == "judgement.xlsx" and p.message == "cannot read judgement workbook: File is not a zip file"


def test_inline_judgement_faults_keep_the_force_file_line(folder: Path, sample_force: Force) -> None:
    data = sample_force.to_dict()
    data["judgement"][3]["role"] = "PCX"
    import yaml

    path = _write(folder, "inline.yaml", yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ForceError) as err:
        load_force(path)
    p = _problem(err)
    assert (p.source, p.where, p.message) == ("inline.yaml", "judgement[3]", "unknown role 'PCX'; did you mean 'PC'?")
    assert p.line is not None


# --------------------------------------------------------------- the files a force reads; dicts
def test_force_files_lists_the_force_and_its_judgement(folder: Path) -> None:
    assert force_files(folder / "force_shifts.yaml") == (folder / "force_shifts.yaml", folder / "judgement.csv")
    _write(folder, "other.yaml", _edit("judgement: judgement.csv", "judgement: {file: j.xlsx, sheet: J}"))
    assert force_files(folder / "other.yaml") == (folder / "other.yaml", folder / "j.xlsx")
    with pytest.raises(ForceError, match="force file not found"):
        force_files(folder / "missing.yaml")


def test_force_from_a_dict_reports_every_problem(sample_force: Force) -> None:
    data = sample_force.to_dict()
    assert load_force(data) == sample_force
    data["roles"][0]["establishment"] = True
    data["shifts"][0]["hours"] = 30
    with pytest.raises(ForceError) as err:
        load_force(data)
    assert {(p.source, p.where) for p in err.value.problems} == {("<dict>", "roles[0].establishment"),
                                                                ("<dict>", "shifts[0].hours")}


@given(forces())
def test_a_valid_force_survives_the_dict_round_trip(force: Force) -> None:
    again = load_force(force.to_dict())
    assert again == force
    assert again.to_dict() == force.to_dict()


# --------------------------------------------------------------- the current posting
def _rows(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("table", "line", "where", "message", "value"),
    [
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon Nrth,Early,PC,13"), 2, "row 1, column area",
         "unknown area 'Swindon Nrth'; did you mean 'Swindon North'?", "Swindon Nrth"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Erly,PC,13"), 2, "row 1, column shift",
         "unknown shift 'Erly'; did you mean 'Early'?", "Erly"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PCS,13"), 2, "row 1, column role",
         "unknown role 'PCS'; did you mean 'PCSO'?", "PCS"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", ",Early,PC,13"), 2, "row 1, column area",
         "area is blank", ""),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,3.5"), 2, "row 1, column posts",
         "posts must be a whole number from 0 to 1,000,000", "3.5"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,-1"), 2, "row 1, column posts",
         "posts must be a whole number from 0 to 1,000,000", "-1"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,true"), 2, "row 1, column posts",
         "posts must be a whole number from 0 to 1,000,000", "true"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,"), 2, "row 1, column posts",
         "posts must be a whole number from 0 to 1,000,000", ""),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,thirteen"), 2,
         "row 1, column posts", "posts must be a whole number from 0 to 1,000,000", "thirteen"),
        (_rows(CURRENT_TEXT, "Swindon North,Early,PC,13", "Swindon North,Early,PC,1e300"), 2,
         "row 1, column posts", "posts must be a whole number from 0 to 1,000,000", "1e300"),
        (CURRENT_TEXT + "Swindon North,Early,PC,13\n", 92, "row 91", "cell given twice (first in row 1)",
         "Swindon North / Early / PC"),
        (_rows(CURRENT_TEXT, "area,shift,role,posts", "area,shift,role,post"), None, "header",
         "missing column 'posts'", None),
    ],
    ids=["unknown area", "unknown shift", "unknown role", "blank area", "3.5", "negative", "true", "blank posts",
         "text", "1e300", "cell twice", "column misspelt"],
)
def test_bad_current_rows_are_named(folder: Path, sample_force: Force, table: str, line: int | None, where: str,
                                    message: str, value: object) -> None:
    path = _write(folder, "current_shifts.csv", table)
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    found = [p for p in err.value.problems if p.where == where and p.message == message]
    assert found, [str(p) for p in err.value.problems]
    assert found[0].source == "current_shifts.csv" and found[0].line == line
    assert found[0].as_dict()["value"] == value


def test_current_totals_must_match_the_establishment(folder: Path, sample_force: Force) -> None:
    path = _write(folder, "current_shifts.csv", _rows(CURRENT_TEXT, "Swindon North,Early,PC,13",
                                               "Swindon North,Early,PC,10013"))
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    assert [str(p) for p in err.value.problems] == [
        "current_shifts.csv, column posts: current posting has 10,400 PCs; the establishment is 400 "
        "(declare vacancies={...} or pass allow_vacancies=True if that is so)"
    ]
    assert read_current(path, sample_force, allow_vacancies=True)[0, 0, 0] == 10013
    assert read_current(path, sample_force, vacancies={"PC": -10000})[0, 0, 0] == 10013
    with pytest.raises(InputError) as err:
        read_current(path, sample_force, vacancies={"PC": 5})
    assert _problem(err).message == ("current posting has 10,400 PCs; the establishment is 400 "
                                     "less 5 declared vacancies (395)")


def test_current_header_only_and_missing_cells(folder: Path, sample_force: Force) -> None:
    path = _write(folder, "current_shifts.csv", "area,shift,role,posts\n")
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    assert _problem(err).message == "no rows: the current posting has a header and no cells"
    rows = CURRENT_TEXT.splitlines()
    path = _write(folder, "current_shifts.csv", "\n".join(r for r in rows if ",Night,PCSO," not in r) + "\n")
    with pytest.raises(InputError) as err:
        read_current(path, sample_force, allow_vacancies=True)
    assert [str(p) for p in err.value.problems] == [
        "current_shifts.csv, role PCSO: no row for 6 cells: Swindon North / Night, Swindon South / Night, "
        "Wiltshire North / Night, Wiltshire East / Night, Wiltshire West / Night, Wiltshire South / Night; "
        "write them with posts 0, or pass missing='zero'"
    ]
    arr = read_current(path, sample_force, allow_vacancies=True, missing="zero")
    assert (arr[:, 4, 1] == 0).all()


def test_current_file_faults(folder: Path, sample_force: Force) -> None:
    path = _write(folder, "current_shifts.csv", CURRENT_TEXT.encode().replace(b"Swindon South", b"Sw\xe9ndon South", 1))
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    assert (_problem(err).line, _problem(err).message) == (
        17, "not UTF-8 text: byte 0xe9 at column 3; save the file as UTF-8")
    path = _write(folder, "current_shifts.csv", CURRENT_TEXT + "Swindon North,Early,PC,1,extra\n")
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    assert _problem(err).line == 92 and "Expected 4 fields in line 92, saw 5" in _problem(err).message
    with pytest.raises(InputError, match="current posting file not found"):
        read_current(folder / "nope.csv", sample_force)


def test_current_workbook_and_device_are_named(folder: Path, sample_force: Force) -> None:
    path = _write(folder, "current.xlsx", b"PK\x03\x04 workbook")
    with pytest.raises(InputError) as err:
        read_current(path, sample_force)
    assert _problem(err).message == "a workbook; save the sheet as CSV, or pass pd.read_excel(...) as a DataFrame"
    with pytest.raises(ForceError) as err:
        load_force("/dev/zero")
    assert str(_problem(err)) == "/dev/zero: force is not a regular file"


def test_current_frame_with_a_column_twice(sample_force: Force) -> None:
    frame = pd.read_csv(SAMPLE / "current_shifts.csv")
    frame.columns = ["area", "shift", "role", "Posts"]
    frame["posts"] = frame["Posts"]
    with pytest.raises(InputError) as err:
        read_current(frame, sample_force)
    assert str(_problem(err)) == "<DataFrame>, header: column 'posts' appears more than once"


def test_current_from_frames_and_arrays(sample_force: Force) -> None:
    frame = pd.read_csv(SAMPLE / "current_shifts.csv")
    assert read_current(frame, sample_force).sum() == 580
    bad = frame.astype({"posts": object})
    bad.loc[0, "posts"] = True
    with pytest.raises(InputError) as err:
        read_current(bad, sample_force)
    assert str(_problem(err)) == ("<DataFrame>, row 1, column posts: posts must be a whole number from 0 to "
                                  "1,000,000 (got True)")
    with pytest.raises(InputError, match=r"expected \(areas, shifts, roles\) = \(6, 5, 3\)"):
        read_current(np.zeros((6, 5)), sample_force)
    with pytest.raises(InputError, match="posts must be whole numbers from 0 to 1,000,000"):
        read_current(np.full((6, 5, 3), -1), sample_force)
    with pytest.raises(InputError, match="posts must be whole numbers"):
        read_current(np.ones((6, 5, 3), dtype=bool), sample_force)
    with pytest.raises(ArgumentError, match="current: must be a DataFrame, a CSV path or an int array"):
        read_current([1, 2], sample_force)


def test_current_keyword_faults(sample_force: Force) -> None:
    with pytest.raises(ArgumentError, match="missing: must be 'error' or 'zero'"):
        read_current(SAMPLE / "current_shifts.csv", sample_force, missing="skip")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="unknown role 'PCs'; did you mean 'PC'"):
        read_current(SAMPLE / "current_shifts.csv", sample_force, vacancies={"PCs": 3})
    with pytest.raises(ArgumentError, match="vacancies of PC must be a whole number, got True"):
        read_current(SAMPLE / "current_shifts.csv", sample_force, vacancies={"PC": True})


def test_read_current_is_still_importable_from_problem() -> None:
    assert read_current_from_problem is read_current


# --------------------------------------------------------------- allocate's arguments
CURRENT = np.zeros((6, 5, 3), dtype=np.int64)


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"max_moves": 10**30, "current": CURRENT}, "max_moves", "must be at most 1,000,000,000"),
        ({"max_moves": -5, "current": CURRENT}, "max_moves", "must be a whole number, 0 or more"),
        ({"max_moves": True, "current": CURRENT}, "max_moves", "must be a whole number from 0 to 1,000,000,000"),
        ({"max_moves": 2.5, "current": CURRENT}, "max_moves", "must be a whole number from 0 to 1,000,000,000"),
        ({"max_moves": "5", "current": CURRENT}, "max_moves", "must be a whole number from 0 to 1,000,000,000"),
        ({"max_moves": 10}, "max_moves", "a move limit needs a current posting (current=...)"),
        ({"backend": "x"}, "backend", "unknown backend 'x'"),
        ({"backend": "gurobi"}, "backend", "unknown backend 'gurobi'"),
        ({"backend": None}, "backend", "must be a backend name such as 'cpsat'"),
        ({"time_limit": -1}, "time_limit", "must be a finite number of seconds, 0 or more"),
        ({"time_limit": math.nan}, "time_limit", "must be a finite number of seconds, 0 or more"),
        ({"time_limit": math.inf}, "time_limit", "must be a finite number of seconds, 0 or more"),
        ({"time_limit": True}, "time_limit", "must be a number of seconds, 0 or more"),
        ({"time_limit": 10**9}, "time_limit", "must be at most 604,800 seconds (one week)"),
        ({"fairness": "x"}, "fairness", "unknown fairness 'x'; known: 'maximin'"),
        ({"fairness": "leximin"}, "fairness", "the leximin option was removed"),
        ({"seed": "a"}, "seed", "must be a whole number from 0 to 2,147,483,647"),
        ({"seed": -1}, "seed", "must be a whole number, 0 or more"),
        ({"seed": True}, "seed", "must be a whole number from 0 to 2,147,483,647"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_bad_arguments_are_refused_before_any_work(sample_force: Force, monkeypatch: pytest.MonkeyPatch,
                                                   kwargs: dict, argument: str, message: str) -> None:
    planner = __import__("allocator.solve.planner", fromlist=["build_problem"])

    def no_work(*args: object, **kw: object) -> None:
        raise AssertionError("work began before the arguments were checked")

    monkeypatch.setattr(planner, "build_problem", no_work)
    with pytest.raises(ArgumentError) as err:
        allocator.allocate(np.ones((6, 5, 3)), sample_force, **kwargs)
    assert isinstance(err.value, allocator.AllocatorError) and isinstance(err.value, ValueError)
    assert err.value.argument == argument
    assert message in err.value.message
    given_value = kwargs[argument]
    assert err.value.value is given_value or err.value.value == given_value


def test_good_arguments_come_back_normalised() -> None:
    args = check_allocate_arguments(backend=" CPSAT ", time_limit=5, max_moves=np.int64(7), seed=3.0,
                                    has_current=True)
    assert (args.backend, args.time_limit, args.max_moves, args.seed) == ("cpsat", 5.0, 7, 3)
    assert type(args.max_moves) is int and type(args.time_limit) is float


# --------------------------------------------------------------- cost independent of the establishment
def _big_force(sample_force: Force, establishment: int) -> Force:
    data = sample_force.to_dict()
    for role in data["roles"]:
        role["establishment"] = establishment
    for area in data["areas"]:
        area["max_posts"] = {}
    return load_force(data)


def _count_pops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pops = [0]
    real: Callable = heapq.heappop

    def counting(heap: list) -> object:
        pops[0] += 1
        return real(heap)

    monkeypatch.setattr(greedy.heapq, "heappop", counting)
    return pops


def test_greedy_steps_do_not_grow_with_the_establishment(sample_force: Force,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pops = _count_pops(monkeypatch)
    work = np.zeros((6, 5, 3))  # no workload: every post is placed by the greedy stages
    small = allocator.allocate(work, _big_force(sample_force, 1_000), time_limit=5)
    small_pops, pops[0] = pops[0], 0
    big = allocator.allocate(work, _big_force(sample_force, 1_000_000), time_limit=5)
    assert big.posts.sum(axis=(0, 1)).tolist() == [1_000_000] * 3
    assert small.posts.sum(axis=(0, 1)).tolist() == [1_000] * 3
    assert pops[0] <= small_pops + 200  # one-post-at-a-time would be three million pops


def test_a_huge_establishment_under_a_move_limit_keeps_to_the_time_limit(sample_force: Force) -> None:
    big = _big_force(sample_force, 1_000_000)
    rng = np.random.default_rng(1)
    work = rng.uniform(0, 3000, (6, 5, 3))
    work[work < 1500] = 0
    current = allocator.allocate(rng.uniform(0, 3000, (6, 5, 3)), big).posts
    t0 = time.perf_counter()
    result = allocator.allocate(work, big, current=current, max_moves=100_000, time_limit=5)
    assert time.perf_counter() - t0 < 5
    assert result.solver.status == "optimal"
    moved = np.abs(result.posts - current).sum(axis=(0, 1)) // 2
    assert (moved <= 100_000).all() and result.posts.sum(axis=(0, 1)).tolist() == [1_000_000] * 3
