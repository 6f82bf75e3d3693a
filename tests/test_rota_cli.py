"""``allocator allocate``, ``explain --bucket`` and ``compare`` on the sample force on rotas, end to end."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import allocator
from allocator.cli import main
from allocator.data.sample_rota import sample_current_rota
from allocator.io.rundir import RunWriter, read_run
from allocator.present.rota_report import ROTA_FIGURE_FILES

SAMPLE = allocator.sample_path()
TABLES = ("allocation.csv", "allocation.parquet", "buckets.csv", "rota.csv", "allocation.xlsx", "workload.csv",
          "workload_by_type.csv", "workload_by_hour.csv", "explanations.csv", "rejects.csv", "report.md",
          "report.html")


def run(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def allocate(out: Path, *more: str | Path) -> tuple[int, str, str]:
    return run("allocate", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--time-limit", "30", "--out", out,
               "-q", *more)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rota") / "plain"
    code, _, err = allocate(out)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def monthly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rota") / "monthly"
    code, _, err = allocate(out, "--current", SAMPLE / "current.csv", "--json")
    assert code == 0, err
    return out


def test_a_rota_run_writes_every_output(plain: Path, monthly: Path) -> None:
    for name in (*TABLES, "figures/utilisation.png", "figures/on_duty.png"):
        assert (plain / name).is_file(), name
    assert not (plain / "moves.csv").exists() and not (plain / "figures/utilisation_before.png").exists()
    for name in ("moves.csv", *ROTA_FIGURE_FILES):
        assert (monthly / name).is_file(), name
    table = pd.read_csv(plain / "allocation.csv")
    assert list(table.columns) == ["area", "role", "pattern", "team", "posts"]
    assert table.groupby("role", sort=False)["posts"].sum().to_dict() == {"PC": 400, "PCSO": 120, "LCI": 60}
    assert list(pd.read_csv(monthly / "allocation.csv").columns)[-2:] == ["current", "change"]
    # the workload's "shifts" are the buckets of the week
    buckets = pd.read_csv(plain / "buckets.csv")
    assert set(pd.read_csv(plain / "workload.csv")["shift"]) == set(buckets["bucket"])
    assert len(pd.read_csv(plain / "explanations.csv")) == len(buckets) == 6 * 3 * 21
    assert read_run(plain).verify() == []


def test_run_json_summary_matches_the_tables(monthly: Path) -> None:
    manifest = read_run(monthly).manifest
    s = manifest["summary"]
    assert manifest["kind"] == "patterns"
    assert s["posts"] == {"PC": 400, "PCSO": 120, "LCI": 60}
    moves = pd.read_csv(monthly / "moves.csv")
    assert s["officers_moved"] == int(moves["officers"].sum()) > 0
    assert s["moved_per_role"] == {r: int(moves.loc[moves["role"] == r, "officers"].sum()) for r in s["posts"]}
    buckets = pd.read_csv(monthly / "buckets.csv")
    for role in s["posts"]:
        mine = buckets[buckets["role"] == role]
        assert s["min_coverage"][role] == pytest.approx(mine["coverage"].min(), abs=1e-6)
        top = mine.loc[mine["utilisation"].idxmax()]
        assert s["utilisation"][role]["busiest"] == {"area": top["area"], "bucket": top["bucket"],
                                                      "utilisation": pytest.approx(top["utilisation"], abs=1e-3)}
    table = pd.read_csv(monthly / "allocation.csv", dtype={"team": str})
    sn = table[(table["area"] == "Swindon North") & (table["pattern"] == "Response")]["posts"].tolist()
    assert s["team_sizes"]["Swindon North"]["Response"] == sn and len(sn) == 5


def test_same_inputs_give_the_same_bytes(monthly: Path, tmp_path: Path) -> None:
    # a fresh interpreter (its own hash seed), through the console entry
    again = tmp_path / "again"
    r = subprocess.run([sys.executable, "-m", "allocator", "allocate", str(SAMPLE / "force.yaml"),
                        str(SAMPLE / "demand.csv"), "--time-limit", "30", "--out", str(again), "-q",
                        "--current", str(SAMPLE / "current.csv")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    a, b = read_run(monthly).manifest, read_run(again).manifest
    assert a["outputs"] == b["outputs"] and a["summary"] == b["summary"]
    for name in a["outputs"]:
        assert (again / name).read_bytes() == (monthly / name).read_bytes(), name


def test_a_bad_current_posting_is_refused_before_the_demand_is_read(tmp_path: Path) -> None:
    bad = tmp_path / "current.csv"
    bad.write_text("area,role,pattern,team,posts\nSwindon North,PC,Response,9,3\nNowhere,PC,Response,1,x\n",
                   encoding="utf-8")
    code, _, err = allocate(tmp_path / "out", "--current", bad)
    assert code == 2
    assert "row 1, column team" in err and "'9'" in err
    assert "row 2, column area" in err and "'Nowhere'" in err and "row 2, column posts" in err
    assert not (tmp_path / "out").exists()


def test_explain_a_bucket(monthly: Path) -> None:
    code, out, err = run("explain", monthly, "--area", "Swindon North", "--role", "PC", "--bucket", "Sat Night",
                         "--json", "-q")
    assert code == 0, err
    data = json.loads(out)
    assert data["bucket"] == "Sat Night" and data["source"] == "recomputed from the recorded inputs"
    row = pd.read_csv(monthly / "buckets.csv").query(
        "area == 'Swindon North' and role == 'PC' and bucket == 'Sat Night'").iloc[0]
    assert data["cell"]["on_duty"] == pytest.approx(row["on_duty"], abs=1e-6)
    assert data["cell"]["utilisation"] == pytest.approx(row["utilisation"], abs=1e-6)
    assert data["cell"]["by_pattern"] == f"Response {data['cell']['posts']}"
    hours = sum(d["hours"] for d in data["demand_types"])
    assert hours == pytest.approx(row["workload_hours"], rel=1e-6)  # PCs work every bucket: nothing carried
    assert data["carried_hours"] == pytest.approx(0.0, abs=1e-5)
    code, out, _ = run("explain", monthly, "--area", "Swindon North", "--role", "PC", "--bucket", "Sat Night", "-q")
    assert code == 0 and "Swindon North / Sat Night / PC" in out and "utilisation %" in out


def test_explain_names_the_valid_buckets(plain: Path) -> None:
    code, _, err = run("explain", plain, "--area", "Swindon North", "--role", "PC", "--bucket", "Sat Nite", "-q")
    assert code == 2
    assert "--bucket: unknown bucket; known: Mon Early, Mon Late, Mon Night, Tue Early" in err
    assert "(got 'Sat Nite')" in err
    code, _, err = run("explain", plain, "--area", "Swindon North", "--role", "PC", "--shift", "Night", "-q")
    assert code == 2 and "name a bucket with --bucket" in err


def test_compare_two_rota_runs(plain: Path, monthly: Path) -> None:
    code, out, err = run("compare", plain, monthly, "--json", "-q")
    assert code == 0, err
    data = json.loads(out)
    a = pd.read_csv(plain / "allocation.csv").groupby(["area", "role", "pattern"])["posts"].sum()
    b = pd.read_csv(monthly / "allocation.csv").groupby(["area", "role", "pattern"])["posts"].sum()
    expected = {k: int(b[k] - a[k]) for k in a.index if b[k] != a[k]}
    assert {(p["area"], p["role"], p["pattern"]): p["change"] for p in data["postings"]} == expected
    util = {(u["area"], u["role"]): u for u in data["utilisation"]}
    assert len(util) == 18
    busiest = pd.read_csv(monthly / "buckets.csv").groupby(["area", "role"])["utilisation"].max()
    assert util[("Swindon North", "PC")]["busiest_b"] == pytest.approx(busiest[("Swindon North", "PC")], abs=0.051)
    code, out, _ = run("compare", plain, monthly, "-q")
    assert code == 0 and "(area, role, pattern)s changed" in out and "utilisation per area and role" in out


def test_the_sample_current_posting_is_its_function() -> None:
    force = allocator.load_force(SAMPLE / "force.yaml")
    text = sample_current_rota(force).to_csv(index=False, lineterminator="\n")
    assert (SAMPLE / "current.csv").read_text(encoding="utf-8") == text


def test_explain_from_the_saved_tables_when_an_input_changed(tmp_path: Path) -> None:
    for name in ("force.yaml", "judgement.csv", "demand.csv"):
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    out = tmp_path / "run"
    code, _, err = run("allocate", tmp_path / "force.yaml", tmp_path / "demand.csv", "--time-limit", "30",
                       "--out", out, "-q")
    assert code == 0, err
    args = ("explain", out, "--area", "Wiltshire East", "--role", "LCI", "--bucket", "Mon Early", "--json")
    code, fresh, err = run(*args, "-q")
    assert code == 0, err
    with (tmp_path / "demand.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    code, saved, err = run(*args)
    assert code == 0, err
    assert "demand.csv (demand) changed since the run" in err
    a, b = json.loads(fresh), json.loads(saved)
    # LCIs work weekdays only: Monday's early takes the weekend's work, named apart from the bucket's own
    own = sum(d["hours"] for d in a["demand_types"])
    assert a["carried_hours"] > 0
    assert own + a["carried_hours"] == pytest.approx(a["cell"]["workload_hours"], abs=1e-5)
    assert (a["source"], b["source"]) == ("recomputed from the recorded inputs", "saved tables")
    assert a["cell"] == b["cell"]
    assert [d["demand_type"] for d in a["demand_types"]] == [d["demand_type"] for d in b["demand_types"]]
    for x, y in zip(a["demand_types"], b["demand_types"], strict=True):
        assert x["hours"] == pytest.approx(y["hours"], abs=1e-5)


def test_compare_refuses_runs_of_different_kinds(plain: Path, tmp_path: Path) -> None:
    shifts = tmp_path / "shifts"
    RunWriter(shifts).finish({"command": "allocate",
                              "force": allocator.load_force(SAMPLE / "force_shifts.yaml").to_dict()})
    code, _, err = run("compare", shifts, plain, "-q")
    assert code == 2
    assert (f"cannot compare {shifts} (a run of a force of shifts) with {plain} (a run of a force on duty "
            "patterns); compare runs of the same kind") in err
