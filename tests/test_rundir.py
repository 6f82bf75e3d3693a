"""The run directory: atomic files, output hashes, refusing to overwrite inputs; deterministic Excel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allocator.io import atomic as _io
from allocator.io.excel import allocation_to_excel, excel_bytes
from allocator.io.rundir import OutputError, RunWriter, check_output_dir, read_run

TABLE = pd.DataFrame({"area": ["N", "N", "S", "S"], "shift": ["Day", "Night"] * 2, "role": ["PC"] * 4,
                      "posts": [3, 2, 4, 1], "coverage": [1.0, 1.5, 0.9, 2.0]})


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    w = RunWriter(tmp_path)
    w.write_csv("allocation.csv", TABLE)
    w.write_parquet("allocation.parquet", TABLE)
    old_csv = (tmp_path / "allocation.csv").read_bytes()
    old_parquet = (tmp_path / "allocation.parquet").read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C in the middle of the write

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail)
    with pytest.raises(KeyboardInterrupt):
        w.write_parquet("allocation.parquet", TABLE.assign(posts=0))
    real_fsync = _io.os.fsync

    def fail_sync(fd: int) -> None:
        real_fsync(fd)
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "fsync", fail_sync)
    with pytest.raises(OSError, match="disk full"):
        w.write_csv("allocation.csv", TABLE.assign(posts=0))
    assert (tmp_path / "allocation.csv").read_bytes() == old_csv
    assert (tmp_path / "allocation.parquet").read_bytes() == old_parquet
    assert sorted(p.name for p in tmp_path.iterdir()) == ["allocation.csv", "allocation.parquet"]


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
    with pytest.raises(FileNotFoundError):
        read_run(tmp_path / "new")


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
