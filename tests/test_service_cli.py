"""``allocator allocate --service-levels/--no-service-levels`` and ``explain`` on the sample force, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import allocator
from tests.test_rota_cli import allocate, run

SAMPLE = allocator.sample_path()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("service") / "run"
    code, stdout, err = run("allocate", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--time-limit", "30",
                            "--out", out)
    assert code == 0, err
    return out, stdout


def test_the_sample_run_keeps_its_floors_and_writes_service_levels_csv(served: tuple[Path, str]) -> None:
    out, stdout = served
    force = allocator.load_force(SAMPLE / "force.yaml")
    frame = pd.read_csv(out / "service_levels.csv")
    assert list(frame.columns[:8]) == ["area", "bucket", "floor", "on_duty", "shortfall", "met", "binding",
                                       "worst_hour"]
    assert {"p_wait", "mean_wait", "within_immediate", "within_priority"} <= set(frame.columns)
    assert set(frame["area"]) <= set(force.area_names) and len(frame) > 0
    # a bucket is met exactly when nobody is short, and the shortfall is officers on duty below the floor
    assert ((frame["shortfall"] > 0) == ~frame["met"]).all()
    short = frame[~frame["met"]]
    assert (short["shortfall"] - (short["floor"] - short["on_duty"]) <= 1e-6 + 1e-9 * short["floor"]).all()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["parameters"]["service_levels"] is None  # the default: on, as the force file has the section
    stages = [s["name"] for s in manifest["solver"]["stages"]]
    assert stages[0] == "service level" and stages.index("service level") < stages.index("maximin")
    summary = manifest["summary"]["service_levels"]
    assert summary["buckets"] == len(frame) and summary["met"] == int(frame["met"].sum())
    assert f"service levels: {summary['met']} of {summary['buckets']} floored buckets met" in stdout
    report = (out / "report.md").read_text()
    assert "## Service levels" in report and "figures/service_levels.png" in report
    assert (out / "figures" / "service_levels.png").is_file()


def test_no_service_levels_leaves_the_floors_out(tmp_path: Path) -> None:
    code, stdout, err = allocate(tmp_path / "off", "--no-service-levels")
    assert code == 0, err
    assert not (tmp_path / "off" / "service_levels.csv").exists()
    manifest = json.loads((tmp_path / "off" / "run.json").read_text())
    assert manifest["parameters"]["service_levels"] is False
    assert "service level" not in [s["name"] for s in manifest["solver"]["stages"]]
    assert "service levels:" not in stdout


def test_compare_says_the_floors_were_turned_off(served: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = served
    code, _, err = run("allocate", SAMPLE / "force.yaml", SAMPLE / "demand.csv", "--time-limit", "30",
                       "--no-service-levels", "--out", tmp_path / "off")
    assert code == 0, err
    code, stdout, err = run("compare", out, tmp_path / "off")
    assert code == 0, err
    assert "response floors (service levels): 'on' -> 'off'" in stdout
    code, stdout, _ = run("compare", out, tmp_path / "off", "--json")
    rules = json.loads(stdout)["rules"]
    assert {"what": "response floors (service levels)", "before": "on", "after": "off"} in rules


def test_the_same_inputs_give_the_same_service_levels_csv(served: tuple[Path, str], tmp_path: Path) -> None:
    code, _, err = allocate(tmp_path / "again", "--service-levels")
    assert code == 0, err
    assert (tmp_path / "again" / "service_levels.csv").read_bytes() == (served[0] / "service_levels.csv").read_bytes()


def test_explain_names_the_service_level_binding(served: tuple[Path, str]) -> None:
    out, _ = served
    frame = pd.read_csv(out / "service_levels.csv")
    row = frame[frame["binding"]].iloc[0]
    code, stdout, err = run("explain", out, "--area", row["area"], "--role", "PC", "--bucket", row["bucket"])
    assert code == 0, err
    assert "service level: " + str(row["area"]) in stdout
    assert "response floor" in stdout and f"{row['floor']:,.1f} on duty" in stdout
    assert "expected service" in stdout and "within target: immediate" in stdout
    code, stdout, _ = run("explain", out, "--area", row["area"], "--role", "PCSO", "--bucket", row["bucket"])
    assert code == 0 and "response floor" not in stdout  # PCSOs do not attend response calls
    code, stdout, _ = run("explain", out, "--area", row["area"], "--role", "PC", "--bucket", row["bucket"],
                          "--json")
    assert code == 0 and json.loads(stdout)["service_level"]["floor"] == pytest.approx(float(row["floor"]))


def test_service_levels_asked_of_a_force_without_the_section_is_refused(tmp_path: Path) -> None:
    data = allocator.load_force(SAMPLE / "force.yaml").to_dict()
    data.pop("service_levels")
    path = tmp_path / "force.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = run("allocate", path, SAMPLE / "demand.csv", "--out", tmp_path / "run", "-q",
                       "--service-levels")
    assert code == 2
    assert "--service-levels takes the response floors from the force file's service_levels section" in err
    assert f"{path} has none" in err
    assert not (tmp_path / "run").exists()
