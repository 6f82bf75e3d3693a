"""The run directory: atomic files, output hashes, refusing to overwrite inputs; deterministic Excel."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from allocator.io import atomic as _io
from allocator.io import rundir
from allocator.io.excel import allocation_to_excel, excel_bytes
from allocator.io.rundir import (
    OutputError,
    RunError,
    RunWriter,
    check_output_dir,
    clean_stale,
    read_run,
)

TABLE = pd.DataFrame({"area": ["N", "N", "S", "S"], "shift": ["Day", "Night"] * 2, "role": ["PC"] * 4,
                      "posts": [3, 2, 4, 1], "coverage": [1.0, 1.5, 0.9, 2.0]})


def _old_run(out: Path) -> dict[str, bytes]:
    """Write a complete run into ``out`` plus a note of the user's; return every file's bytes."""
    w = RunWriter(out)
    w.write_csv("allocation.csv", TABLE)
    w.write_parquet("allocation.parquet", TABLE)
    w.write_bytes("figures/coverage.png", b"old png")
    w.finish({"command": "allocate", "inputs": {}})
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    return _files(out)


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


def _new_run(out: Path) -> None:
    with RunWriter(out) as w:
        w.write_csv("allocation.csv", TABLE.assign(posts=0))
        w.write_parquet("allocation.parquet", TABLE.assign(posts=0))
        w.write_text("report.md", "# new\n")
        w.finish({"command": "allocate", "inputs": {}})


@pytest.mark.parametrize("step", ["write_text", "to_parquet", "fsync", "manifest", "swap-in"])
def test_a_run_failing_at_any_step_leaves_the_old_run_whole_and_no_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    out = tmp_path / "run"
    before = _old_run(out)

    def fail(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C at this very step

    real_rename = os.rename
    if step == "write_text":
        monkeypatch.setattr(RunWriter, "write_text", fail)
    elif step == "to_parquet":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", fail)
    elif step == "fsync":
        monkeypatch.setattr(rundir.os, "fsync", fail)
    elif step == "manifest":
        monkeypatch.setattr(rundir.json, "dumps", fail)
    else:  # the old run is aside; the new one fails to come in

        def rename(src: object, dst: object) -> None:
            if ".new-" in str(src):
                raise KeyboardInterrupt
            real_rename(src, dst)  # type: ignore[arg-type]

        monkeypatch.setattr(rundir.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        _new_run(out)
    assert _files(out) == before
    assert _siblings(out) == ["run"]


def test_a_finished_run_replaces_the_old_one_whole_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _old_run(out)
    _new_run(out)
    files = _files(out)
    # the old run's figure is gone (the new run wrote none); the user's note stays
    assert sorted(files) == ["allocation.csv", "allocation.parquet", "notes.txt", "report.md", "run.json"]
    assert files["notes.txt"] == b"keep me"
    assert read_run(out).verify() == []
    assert _siblings(out) == ["run"]


def test_temporaries_of_a_killed_run_are_cleaned_and_an_old_run_put_back(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    out = tmp_path / "run"
    before = _old_run(out)
    # killed between the two renames: the old run aside, the new one not yet in
    os.rename(out, tmp_path / f".run.old-{dead}-abc")
    (tmp_path / f".run.new-{dead}-def").mkdir()
    (tmp_path / f".run.new-{dead}-def" / "allocation.csv").write_text("half", encoding="utf-8")
    live = tmp_path / f".run.new-{os.getpid()}-ghi"
    live.mkdir()
    assert len(clean_stale(out)) == 2
    assert _files(out) == before
    assert _siblings(out) == [live.name, "run"]  # a live process's temporary is left alone
    live.rmdir()
    _new_run(out)
    assert _siblings(out) == ["run"]


def test_manifest_lists_output_hashes_and_verify_finds_changes(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "run")
    w.write_csv("allocation.csv", TABLE)
    w.write_text("report.md", "# report\n")
    w.finish({"command": "allocate", "inputs": {}})
    run = read_run(tmp_path / "run")
    assert run.manifest["outputs"]["allocation.csv"]["rows"] == 4
    assert run.manifest["outputs"]["report.md"]["sha256"] == _io.sha256_file(tmp_path / "run" / "report.md")
    assert run.verify() == []
    (tmp_path / "run" / "report.md").write_text("edited\n", encoding="utf-8")
    (tmp_path / "run" / "allocation.csv").unlink()
    assert sorted(run.verify()) == ["allocation.csv: missing", "report.md: changed since the run"]


def test_input_unchanged_checks_the_recorded_hash(tmp_path: Path) -> None:
    src = tmp_path / "demand.csv"
    src.write_text("a\n1\n", encoding="utf-8")
    from allocator.io.rundir import describe_input

    w = RunWriter(tmp_path / "run")
    w.finish({"inputs": {"demand": describe_input(src, rows=1)}})
    run = read_run(tmp_path / "run")
    assert run.input_unchanged("demand") == src.resolve()
    src.write_text("a\n2\n", encoding="utf-8")
    assert run.input_unchanged("demand") is None
    assert run.input_unchanged("current") is None


def test_check_output_dir(tmp_path: Path) -> None:
    inp = tmp_path / "in" / "moves.csv"
    inp.parent.mkdir()
    inp.write_text("x", encoding="utf-8")
    assert check_output_dir(tmp_path / "new", [inp], ["moves.csv"]) == (tmp_path / "new").resolve()
    with pytest.raises(OutputError, match="--force"):
        check_output_dir(tmp_path / "in", [], ["allocation.csv"])
    assert check_output_dir(tmp_path / "in", [], ["allocation.csv"], force=True)
    with pytest.raises(OutputError, match="over the input"):
        check_output_dir(tmp_path / "in", [inp], ["moves.csv"], force=True)
    with pytest.raises(OutputError, match="as the output directory"):
        check_output_dir(inp, [inp], ["run.json"], force=True)
    with pytest.raises(RunError, match="no such run directory"):
        read_run(tmp_path / "new")
    with pytest.raises(OutputError, match="is a file, not a directory"):
        check_output_dir(inp / "run", [], ["allocation.csv"])


def test_excel_is_deterministic_with_a_sheet_per_role(tmp_path: Path) -> None:
    two_roles = pd.concat([TABLE, TABLE.assign(role="PCSO", posts=TABLE["posts"] * 2)], ignore_index=True)
    assert excel_bytes(two_roles) == excel_bytes(two_roles)
    allocation_to_excel(two_roles, tmp_path / "a.xlsx")
    sheets = pd.read_excel(tmp_path / "a.xlsx", sheet_name=None)
    assert list(sheets) == ["Summary", "PC", "PCSO"]
    summary = sheets["Summary"].set_index("area")
    assert summary.loc["Total", "PC"] == 10 and summary.loc["Total", "PCSO"] == 20
    assert summary.loc["N", "PCSO"] == 10
    pc = sheets["PC"]
    assert pc.iloc[:3, 0].tolist() == ["N", "S", "Total"]
    assert pc.loc[2, "Total"] == 10


def test_files_in_a_sub_folder_are_written_and_recorded_like_the_others(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "run")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    w.write_bytes("figures/coverage.png", png)
    w.finish({"command": "allocate"})
    assert (tmp_path / "run" / "figures" / "coverage.png").read_bytes() == png
    run = read_run(tmp_path / "run")
    assert run.manifest["outputs"]["figures/coverage.png"]["bytes"] == len(png)
    assert run.verify() == []
    (tmp_path / "run" / "figures" / "coverage.png").write_bytes(png[:-1])
    assert run.verify() == ["figures/coverage.png: changed since the run"]
    assert sorted(p.name for p in (tmp_path / "run" / "figures").iterdir()) == ["coverage.png"]
