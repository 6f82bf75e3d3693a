"""End-to-end runs of the ``allocator`` command line on the sample force, through a subprocess."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import allocator
from allocator._io import sha256_file
from allocator.demand import load_demand
from allocator.rundir import read_run
from allocator.workload import compute_workload

SAMPLE = allocator.sample_path()


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allocator", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample force written by ``allocator sample``."""
    d = tmp_path_factory.mktemp("sample") / "force"
    r = cli("sample", d, "--quiet")
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture(scope="module")
def run_dir(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One allocate run on the sample with a current posting, shared by the tests."""
    out = tmp_path_factory.mktemp("runs") / "run"
    r = cli("allocate", sample_dir / "force.yaml", sample_dir / "demand.csv",
            "--current", sample_dir / "current.csv", "--max-moves", "30", "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] in ("optimal", "feasible")
    return out


def test_allocate_writes_every_output_and_agrees_with_the_api(run_dir: Path, sample_dir: Path) -> None:
    for name in ("allocation.csv", "allocation.parquet", "allocation.xlsx", "moves.csv", "workload.csv",
                 "workload_by_type.csv", "rejects.csv", "report.md", "report.html", "run.json"):
        assert (run_dir / name).is_file(), name
    force = allocator.load_force(sample_dir / "force.yaml")
    loaded = load_demand(sample_dir / "demand.csv", force)
    workload = compute_workload(loaded.records, force)
    api = allocator.allocate(workload, force, current=sample_dir / "current.csv", max_moves=30)
    saved = pd.read_csv(run_dir / "allocation.csv")
    assert saved["posts"].to_numpy().tolist() == api.table["posts"].to_numpy().tolist()
    assert saved.groupby("role", sort=False)["posts"].sum().to_dict() == {"PC": 400, "PCSO": 120, "LCI": 60}
    parquet = pd.read_parquet(run_dir / "allocation.parquet")
    np.testing.assert_allclose(parquet["coverage"].to_numpy(), saved["coverage"].to_numpy(), rtol=1e-12)
    xlsx = pd.read_excel(run_dir / "allocation.xlsx", sheet_name=None)
    assert list(xlsx) == ["Summary", "PC", "PCSO", "LCI", "Moves"]
    moves = pd.read_csv(run_dir / "moves.csv")
    assert moves["officers"].sum() == api.moves["officers"].sum()
    rejects = pd.read_csv(run_dir / "rejects.csv")
    assert len(rejects) == len(loaded.rejects) > 0
    by_shift = pd.read_csv(run_dir / "workload.csv")
    assert by_shift["hours"].sum() == pytest.approx(workload.array.sum())


def test_run_json_records_inputs_versions_and_output_hashes(run_dir: Path, sample_dir: Path) -> None:
    run = read_run(run_dir)
    m = run.manifest
    assert m["inputs"]["demand"]["rows"] == m["data"]["records_read"]
    assert m["inputs"]["force"]["sha256"] == sha256_file(sample_dir / "force.yaml")
    assert set(m["inputs"]) == {"force", "demand", "judgement", "current"}
    assert m["parameters"]["max_moves"] == 30
    assert m["environment"]["ortools"] and m["environment"]["numpy"]
    assert m["solver"]["status"] in ("optimal", "feasible")
    assert allocator.Force.model_validate(m["force"]) == allocator.load_force(sample_dir / "force.yaml")
    assert run.verify() == []


def test_report_holds_no_record_ids(run_dir: Path, sample_dir: Path) -> None:
    ids = pd.read_csv(sample_dir / "demand.csv", usecols=["id"], dtype=str)["id"].dropna()
    assert len(ids) > 1000
    for name in ("report.md", "report.html"):
        text = (run_dir / name).read_text(encoding="utf-8")
        # strip the base64 images, which could hold any short string by chance
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
        leaked = [i for i in ids if i in text]
        assert leaked == [], leaked[:5]


def test_same_inputs_give_byte_identical_outputs_and_force_keeps_other_files(
    run_dir: Path, sample_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "again"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    args = ["allocate", sample_dir / "force.yaml", sample_dir / "demand.csv",
            "--current", sample_dir / "current.csv", "--max-moves", "30", "--out", out, "--quiet"]
    refused = cli(*args)
    assert refused.returncode == 2 and "--force" in refused.stderr
    r = cli(*args, "--force")
    assert r.returncode == 0, r.stderr
    for name in ("allocation.csv", "allocation.parquet", "allocation.xlsx", "moves.csv", "report.md",
                 "report.html", "workload.csv", "explanations.csv"):
        assert (out / name).read_bytes() == (run_dir / name).read_bytes(), name
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_explain_from_the_run_directory(run_dir: Path) -> None:
    r = cli("explain", run_dir, "--area", "Swindon North", "--shift", "Night", "--role", "PC", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "recomputed from the recorded inputs"
    table = pd.read_csv(run_dir / "allocation.csv")
    cell = table[(table["area"] == "Swindon North") & (table["shift"] == "Night") & (table["role"] == "PC")]
    assert out["cell"]["posts"] == int(cell["posts"].iloc[0])
    assert out["cell"]["binding"]
    hours = sum(d["hours"] for d in out["demand_types"])
    assert hours == pytest.approx(float(cell["workload_hours"].iloc[0]), rel=1e-9)


def test_explain_falls_back_to_saved_tables_when_an_input_changed(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    manifest = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    manifest["inputs"]["demand"]["sha256"] = "0" * 64  # as if the extract had been edited since
    (copy / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    args = ["--area", "Wiltshire West", "--shift", "Day", "--role", "PCSO", "--json"]
    r = cli("explain", copy, *args)
    assert r.returncode == 0, r.stderr
    saved = json.loads(r.stdout)
    assert saved["source"] == "saved tables"
    fresh = json.loads(cli("explain", run_dir, *args).stdout)
    assert fresh["source"] == "recomputed from the recorded inputs"
    assert saved["cell"] == fresh["cell"]
    for a, b in zip(saved["demand_types"], fresh["demand_types"], strict=True):
        assert a["demand_type"] == b["demand_type"] and a["records"] == b["records"]
        assert a["hours"] == pytest.approx(b["hours"], rel=1e-9)


def test_compare_names_the_judgement_change(run_dir: Path, sample_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(sample_dir, changed)
    judgement = changed / "judgement.csv"
    text = judgement.read_text(encoding="utf-8")
    assert "\nDA,PC,0.7,180,1.6\n" in text
    judgement.write_text(text.replace("\nDA,PC,0.7,180,1.6\n", "\nDA,PC,0.7,240,1.6\n"), encoding="utf-8")
    b = tmp_path / "b"
    r = cli("allocate", changed / "force.yaml", changed / "demand.csv", "--current", changed / "current.csv",
            "--max-moves", "30", "--out", b, "-q")
    assert r.returncode == 0, r.stderr
    r = cli("compare", run_dir, b, "-q")
    assert r.returncode == 0, r.stderr
    assert "DA / PC minutes: 180.0 -> 240.0" in r.stdout
    data = json.loads(cli("compare", run_dir, b, "--json", "-q").stdout)
    assert data["judgement"] == [{"what": "DA / PC", "field": "minutes", "before": 180.0, "after": 240.0}]
    assert data["rules"] == []
    assert {r["demand_type"] for r in data["workload"]} == {"DA"}
    assert all(r["records_a"] == r["records_b"] and r["hours_b"] > r["hours_a"] for r in data["workload"])


def test_infeasible_force_exits_1_with_the_reason(sample_dir: Path, tmp_path: Path) -> None:
    data = yaml.safe_load((sample_dir / "force.yaml").read_text(encoding="utf-8"))
    data["roles"][2]["min_on_duty"] = {"Day": 10}  # 6 areas x 19 LCI posts > establishment 60
    data["judgement"] = str(sample_dir / "judgement.csv")
    bad = tmp_path / "force.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    r = cli("allocate", bad, sample_dir / "demand.csv", "--out", tmp_path / "out")
    assert r.returncode == 1, r.stderr
    assert "LCI" in r.stderr and "60" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "run.json").exists()


def test_broken_force_file_exits_2_listing_every_problem(sample_dir: Path, tmp_path: Path) -> None:
    text = (sample_dir / "force.yaml").read_text(encoding="utf-8")
    text = text.replace("abstraction: 0.5 ", "abstraction: 1.5 ").replace("establishment: 120", "establishment: -3")
    (tmp_path / "force.yaml").write_text(text, encoding="utf-8")
    shutil.copy(sample_dir / "judgement.csv", tmp_path / "judgement.csv")
    r = cli("allocate", tmp_path / "force.yaml", sample_dir / "demand.csv", "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "force.yaml" in r.stderr and "abstraction" in r.stderr and "establishment" in r.stderr
    assert "Traceback" not in r.stderr


def test_demand_file_missing_a_column_exits_2(sample_dir: Path, tmp_path: Path) -> None:
    demand = pd.read_csv(sample_dir / "demand.csv", dtype=str).drop(columns="area")
    demand.to_csv(tmp_path / "demand.csv", index=False)
    r = cli("validate", sample_dir / "force.yaml", tmp_path / "demand.csv")
    assert r.returncode == 2
    assert "demand.csv" in r.stderr and "area" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_input_is_never_overwritten(sample_dir: Path, tmp_path: Path) -> None:
    force, demand = sample_dir / "force.yaml", sample_dir / "demand.csv"
    before = demand.read_bytes()
    r = cli("workload", force, demand, "--out", demand)
    assert r.returncode == 2 and "input" in r.stderr
    # an input inside the output directory under an output's name: refused even with --force
    busy = tmp_path / "busy"
    busy.mkdir()
    shutil.copy(sample_dir / "current.csv", busy / "moves.csv")
    current = (busy / "moves.csv").read_bytes()
    r = cli("allocate", force, demand, "--current", busy / "moves.csv", "--out", busy, "--force", "-q")
    assert r.returncode == 2 and "moves.csv" in r.stderr
    assert (busy / "moves.csv").read_bytes() == current
    r = cli("allocate", force, demand, "--out", demand, "-q")
    assert r.returncode == 2 and "input" in r.stderr
    assert demand.read_bytes() == before


def test_sample_refuses_to_overwrite_without_force(sample_dir: Path) -> None:
    r = cli("sample", sample_dir)
    assert r.returncode == 2 and "--force" in r.stderr
    assert cli("sample", sample_dir, "--force", "-q").returncode == 0


def test_validate_writes_rejects_where_asked(sample_dir: Path, tmp_path: Path) -> None:
    r = cli("validate", sample_dir / "force.yaml", sample_dir / "demand.csv", "--out", tmp_path / "v", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rejects = pd.read_csv(tmp_path / "v" / "rejects.csv")
    assert len(rejects) == data["records_rejected"] == sum(data["rejected_by_reason"].values())
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["rejects.csv"]


@pytest.mark.parametrize("command", ["allocate", "validate", "workload", "explain", "compare", "sample"])
def test_help_shows_a_worked_example(command: str) -> None:
    from allocator.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    text = sub.format_help()
    assert "example" in text and f"allocator {command}" in text
