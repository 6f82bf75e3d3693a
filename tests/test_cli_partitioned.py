"""``allocator allocate`` and ``allocator workload`` on a partitioned demand dataset.

The sample's demand split into three Parquet files gives the same allocation
and workload as the one CSV; one extract still takes the path it always took.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import allocator
from tests.test_cli import run

pytest.importorskip("dask")

SAMPLE = allocator.sample_path()
AS_OF = "2026-10-01"
#: Outputs of a run on the sample force that do not depend on how the demand was read.
SAME = ("allocation.csv", "allocation.parquet", "buckets.csv", "rota.csv", "moves.csv", "workload.csv",
        "workload_by_type.csv", "workload_by_hour.csv", "explanations.csv", "service_levels.csv")
#: Files a run on the sample force on patterns writes from one extract.
ONE_EXTRACT = {"allocation.csv", "allocation.parquet", "allocation.xlsx", "buckets.csv", "rota.csv", "moves.csv",
               "workload.csv", "workload_by_type.csv", "workload_by_hour.csv", "explanations.csv",
               "service_levels.csv", "rejects.csv", "report.md", "report.html", "run.json", "figures"}


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's demand.csv as three Parquet files, its cells as read (text), row order kept."""
    folder = tmp_path_factory.mktemp("dataset") / "demand"
    (folder / "year=2026").mkdir(parents=True)
    df = pd.read_csv(SAMPLE / "demand.csv", dtype=str, keep_default_na=False)
    bounds = [0, len(df) // 3, 2 * len(df) // 3, len(df)]
    for k in range(3):
        df.iloc[bounds[k]:bounds[k + 1]].to_parquet(folder / "year=2026" / f"part.{k}.parquet", index=False)
    (folder / "_SUCCESS").write_text("", encoding="utf-8")  # left out, as Spark's marker should be
    return folder


def allocate(demand: Path | list[Path], out: Path, *more: str) -> tuple[int, str, str]:
    paths = demand if isinstance(demand, list) else [demand]
    r = run("allocate", SAMPLE / "force.yaml", *paths, "--current", SAMPLE / "current.csv", "--out", out,
            "--as-of", AS_OF, *more)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "single"
    code, _, err = allocate(SAMPLE / "demand.csv", out)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def folder(parts: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("runs") / "folder"
    code, _, err = allocate(parts, out, "--workers", "2")
    assert code == 0, err
    return out, err


def manifest(out: Path) -> dict:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def test_a_folder_of_partitions_allocates_as_the_one_extract(single: Path, folder: tuple[Path, str]) -> None:
    out, err = folder
    assert "reading 3 demand files on 2 local threads" in err
    for name in SAME:  # the response floors (service_levels.csv) included
        assert (out / name).read_bytes() == (single / name).read_bytes(), name
    a, b = manifest(single), manifest(out)
    assert b["summary"] == a["summary"]
    assert {k: v for k, v in b["data"].items() if k != "files"} == a["data"]
    assert b["data"]["files"] == 3
    assert b["parameters"]["workers"] == 2 and b["parameters"]["dask"] is None
    # every partition is an input, hashed, with its rows; the folder's marker file is not
    demand = {k: v for k, v in b["inputs"].items() if k.startswith("demand")}
    assert list(demand) == [f"demand[year=2026/part.{k}.parquet]" for k in range(3)]
    assert sum(v["rows"] for v in demand.values()) == a["inputs"]["demand"]["rows"] == a["data"]["records_read"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Input year=2026/part.1.parquet: SHA-256 " + demand["demand[year=2026/part.1.parquet]"]["sha256"] in report


def test_the_run_writes_the_table_per_file_and_every_reject_named_by_file(
    single: Path, folder: tuple[Path, str]
) -> None:
    out, _ = folder
    table = pd.read_csv(out / "partitions.csv")
    assert list(table["file"]) == [f"year=2026/part.{k}.parquet" for k in range(3)]
    assert list(table.columns[:4]) == ["file", "rows_read", "accepted", "rejected"]
    assert (table["rows_read"] == table["accepted"] + table["rejected"]).all()
    data = manifest(single)["data"]
    assert table["accepted"].sum() == data["records_accepted"]
    for reason, n in data["rejected_by_reason"].items():
        assert table[reason].sum() == n, reason
    rejects, one = pd.read_csv(out / "rejects.csv", dtype=str), pd.read_csv(single / "rejects.csv", dtype=str)
    assert rejects.columns[0] == "file" and list(rejects.columns[1:]) == list(one.columns)
    assert len(rejects) == len(one)
    assert rejects["reason"].value_counts().to_dict() == one["reason"].value_counts().to_dict()
    # each reject's row is its data row in its own file: the same record as the one extract's row
    offset = {f"year=2026/part.{k}.parquet": int(table["rows_read"].iloc[:k].sum()) for k in range(3)}
    moved = (rejects["row"].astype(int) + rejects["file"].map(offset)).astype(str)
    assert sorted(zip(moved, rejects["id"].fillna(""), strict=True)) == sorted(
        zip(one["row"], one["id"].fillna(""), strict=True))


def test_one_extract_keeps_its_path(single: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import allocator.workload.partitioned as partitioned

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("one extract went through the partitioned loader")

    monkeypatch.setattr(partitioned, "load_partitioned_workload", refuse)
    out = tmp_path / "again"
    code, _, err = allocate(SAMPLE / "demand.csv", out, "--quiet")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == ONE_EXTRACT
    for name in (*SAME, "rejects.csv", "report.md", "allocation.xlsx"):
        assert (out / name).read_bytes() == (single / name).read_bytes(), name
    m = manifest(out)
    assert set(m["parameters"]) == {"backend", "time_limit", "verify", "max_moves", "as_of", "mapping",
                                    "accept_rejects", "current", "service_levels"}
    assert "files" not in m["data"] and list(m["inputs"]) == ["force", "judgement", "demand", "current"]


def test_explain_reads_a_partitioned_run_from_its_saved_tables(folder: tuple[Path, str]) -> None:
    r = run("explain", folder[0], "--area", "Swindon North", "--role", "PC", "--bucket", "Sat Night", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] != "recomputed from the recorded inputs"


def test_every_bad_file_is_named_at_once_with_exit_code_2(parts: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for k in range(3):
        (bad / f"part.{k}.parquet").write_bytes((parts / "year=2026" / f"part.{k}.parquet").read_bytes())
    pd.read_parquet(bad / "part.1.parquet").drop(columns=["area"]).to_parquet(bad / "part.1.parquet")
    (bad / "part.2.parquet").write_bytes(b"not parquet at all")
    out = tmp_path / "run"
    code, stdout, err = allocate(bad, out)
    assert code == 2
    assert "Traceback" not in err and stdout == ""
    assert "allocator: error: " in err and "2 problems" in err
    assert "part.1.parquet" in err and "missing required column(s) 'area'" in err
    assert "part.2.parquet" in err and "not a readable Parquet file" in err
    assert "part.0.parquet:" not in err
    assert not out.exists()
    assert sorted(p.name for p in bad.iterdir()) == [f"part.{k}.parquet" for k in range(3)]  # inputs left alone


def test_a_missing_demand_file_is_named(tmp_path: Path, parts: Path) -> None:
    code, _, err = allocate([parts / "year=2026" / "part.0.parquet", tmp_path / "nope.parquet"], tmp_path / "run")
    assert code == 2 and "nope.parquet" in err and "no such file" in err and "Traceback" not in err


def test_a_partitioned_dataset_needs_as_of_named_before_anything_is_read(parts: Path, tmp_path: Path) -> None:
    r = run("allocate", SAMPLE / "force.yaml", parts, "--out", tmp_path / "run")
    assert r.returncode == 2
    assert "--as-of DATE is required with a folder or several demand files" in r.stderr
    assert "reading" not in r.stderr and not (tmp_path / "run").exists()
    r = run("workload", SAMPLE / "force.yaml", parts / "year=2026" / "part.0.parquet",
            parts / "year=2026" / "part.1.parquet")
    assert r.returncode == 2 and "--as-of" in r.stderr
    r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", "01/10/2026")  # refused as for one extract
    assert r.returncode == 2 and "ISO 8601" in r.stderr


def test_dask_and_workers_are_refused_for_one_extract_and_together(parts: Path, tmp_path: Path) -> None:
    r = run("workload", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--workers", "2")
    assert r.returncode == 2 and "--workers reads a partitioned dataset" in r.stderr
    r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--workers", "2", "--dask", "tcp://x:1")
    assert r.returncode == 2 and "give one of them" in r.stderr
    r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--workers", "0")
    assert r.returncode == 2 and "from 1 to 1024" in r.stderr


def test_without_dask_the_message_names_the_extra(parts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # ``import dask`` fails as where it is not installed
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, stdout, err = allocate(parts, tmp_path / "run")
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert "needs Dask, an optional extra: pip install 'allocator[distributed]'" in err
    r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--dask", "tcp://127.0.0.1:8786")
    assert r.returncode == 2 and "pip install 'allocator[distributed]'" in r.stderr and "Traceback" not in r.stderr
    # one extract needs no Dask
    r = run("workload", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--as-of", AS_OF, "--quiet")
    assert r.returncode == 0, r.stderr


def test_workload_of_a_folder_equals_one_extract_and_writes_the_table_per_file(parts: Path, tmp_path: Path) -> None:
    one = run("workload", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--as-of", AS_OF, "--by", "hour", "--quiet")
    assert one.returncode == 0, one.stderr
    outs = []
    for workers in ("1", "3"):
        out, table = tmp_path / f"w{workers}.csv", tmp_path / f"p{workers}.csv"
        r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--by", "hour", "--out", out,
                "--partitions", table, "--workers", workers, "--json")
        assert r.returncode == 0, r.stderr
        assert [f["file"] for f in json.loads(r.stdout)["files"]] == [f"year=2026/part.{k}.parquet" for k in range(3)]
        outs.append((out.read_bytes(), table.read_bytes()))
    assert outs[0] == outs[1]  # where the files were read does not change a byte
    assert outs[0][0].decode() == one.stdout
    table = pd.read_csv(tmp_path / "p1.csv")
    assert table["rows_read"].sum() == len(pd.read_csv(SAMPLE / "demand.csv", dtype=str))
    r = run("workload", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--partitions", tmp_path / "p.csv")
    assert r.returncode == 2 and "--partitions writes the table per file" in r.stderr


def test_compare_names_the_dataset_against_the_extract(single: Path, folder: tuple[Path, str]) -> None:
    r = run("compare", single, folder[0], "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["demand"] == [{"what": "demand file", "before": "demand.csv",
                              "after": "3 files (year=2026/part.0.parquet .. year=2026/part.2.parquet)"}]
    assert out["postings"] == []
    r = run("compare", folder[0], folder[0], "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["demand"] == []


def test_no_output_is_written_inside_the_dataset(parts: Path) -> None:
    before = sorted(p.relative_to(parts) for p in parts.rglob("*"))
    code, _, err = allocate(parts, parts / "run")
    assert code == 2 and "inside the demand dataset" in err
    r = run("workload", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--out", parts / "year=2027" / "w.parquet")
    assert r.returncode == 2 and "inside the demand dataset" in r.stderr
    assert sorted(p.relative_to(parts) for p in parts.rglob("*")) == before


def test_validate_checks_every_file_and_counts_them_per_file(parts: Path, tmp_path: Path) -> None:
    one = run("validate", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--as-of", AS_OF, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    r = run("validate", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--out", tmp_path / "checks")
    assert r.returncode == 0, r.stderr
    assert "3 files: year=2026/part.0.parquet" in r.stdout
    table = pd.read_csv(tmp_path / "checks" / "partitions.csv")
    rejects = pd.read_csv(tmp_path / "checks" / "rejects.csv")
    single = pd.read_csv(tmp_path / "one" / "rejects.csv")
    assert int(table["rows_read"].sum()) == len(pd.read_csv(SAMPLE / "demand.csv"))
    assert int(table["accepted"].sum()) + len(rejects) == int(table["rows_read"].sum())
    assert len(rejects) == len(single) and list(rejects.columns[:1]) == ["file"]
    assert sorted(rejects["reason"]) == sorted(single["reason"])  # the same rows refused, for the same reasons
    assert not (tmp_path / "one" / "partitions.csv").exists()  # one extract: no table per file
    r = run("validate", SAMPLE / "force.yaml", parts)
    assert r.returncode == 2 and "--as-of DATE is required" in r.stderr


def test_validate_writes_nothing_inside_the_dataset(parts: Path) -> None:
    r = run("validate", SAMPLE / "force.yaml", parts, "--as-of", AS_OF, "--out", parts / "checks")
    assert r.returncode == 2 and "inside the demand dataset" in r.stderr
    assert not (parts / "checks").exists()


def test_a_file_that_is_not_demand_is_named_once_and_left_out(parts: Path, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "with-notes"
    folder.mkdir()
    for p in sorted(parts.rglob("*.parquet")):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "README.txt").write_text("exported 2026-10-01", encoding="utf-8")
    with caplog.at_level("WARNING", logger="allocator"):
        r = run("validate", SAMPLE / "force.yaml", folder, "--as-of", AS_OF)
    assert r.returncode == 0, r.stderr
    said = [rec.getMessage() for rec in caplog.records if "neither Parquet nor CSV" in rec.getMessage()]
    assert said == [f"{folder}: 1 file neither Parquet nor CSV left out: README.txt"]  # once, not per listing
    assert "3 files: part.0.parquet" in r.stdout
