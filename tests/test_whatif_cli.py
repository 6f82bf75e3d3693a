"""``allocator scenarios``: the run directory, its report, exit codes and bad input."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

import allocator
from allocator.cli import main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _spec(tmp_path: Path, scenarios: str, extra: str = "") -> Path:
    s = allocator.sample_path
    path = tmp_path / "what-if.yaml"
    path.write_text(
        f"base: {{force: {s('force.yaml')}, demand: {s('demand.csv')}, current: {s('current.csv')}}}\n"
        f"options: {{time_limit: 30, processes: 1}}\nscenarios:\n{scenarios}{extra}", encoding="utf-8")
    return path


SWEEPS = "sensitivity: {change: 0.2, fields: [impact], types: [DA]}\nbootstrap: {resamples: 4, seed: 2}\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    tmp = tmp_path_factory.mktemp("scenarios")
    spec = _spec(tmp, "  - name: =SUM(A1)\n    demand: [{type: DA, multiplier: 1.15}]\n"
                      "  - name: Abstraction 60%\n    roles: {PC: {abstraction: 0.6}}\n", SWEEPS)
    code, out, err = _run("scenarios", str(spec), "--out", str(tmp / "run"), "--quiet")
    return spec, tmp / "run", code, out


def test_the_run_directory_holds_the_comparison_tables_and_report(run_dir) -> None:
    spec, out, code, stdout = run_dir
    assert code == 0
    for name in ("comparison.csv", "scenarios.csv", "posts.csv", "solver.csv", "sensitivity.csv", "bootstrap.csv",
                 "bootstrap_coverage.csv", "report.md", "report.html", "run.json", "figures/scenarios.png",
                 "figures/tornado.png", "figures/bootstrap.png"):
        assert (out / name).is_file(), name
    comparison = pd.read_csv(out / "comparison.csv")
    assert comparison["scenario"].tolist() == ["base", "'=SUM(A1)", "Abstraction 60%"]  # formula-safe
    assert (comparison["status"] == "optimal").all()
    table = pd.read_csv(out / "scenarios.csv")
    assert list(table.columns)[:6] == ["scenario", "area", "role", "bucket", "posts", "on_duty"]
    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Scenarios compared", "## Sensitivity to judgement", "## Robustness to demand", "## Solver"):
        assert heading in report
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "scenarios"
    assert set(manifest["inputs"]) == {"scenarios", "force", "judgement", "demand", "current"}
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    base = comparison.iloc[0]
    assert f"base: optimal, smallest coverage {base['min_coverage']:.3f}" in stdout
    # the sample force has service levels: the comparison says how much of every floor is met
    assert 0 < base["response_floor_share"] <= 1


def test_the_same_file_gives_the_same_tables_and_report_byte_for_byte(run_dir, tmp_path: Path) -> None:
    spec, out, _, _ = run_dir
    code, _, _ = _run("scenarios", str(spec), "--out", str(tmp_path / "again"), "--quiet", "--processes", "2")
    assert code == 0
    for name in ("comparison.csv", "scenarios.csv", "posts.csv", "sensitivity.csv", "bootstrap.csv", "report.md",
                 "figures/tornado.png"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_bad_scenarios_exit_2_listing_every_problem_with_lines(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "  - name: Typo\n    roles: {PCC: {abstraction: 0.6}}\n"
                           "  - name: Shrink\n    demand: [{type: DA, multiplier: -1}]\n")
    code, _, err = _run("scenarios", str(spec), "--out", str(tmp_path / "run"))
    assert code == 2
    assert "2 problems" in err
    assert "line 5, scenario 'Typo', roles.PCC: unknown role 'PCC'" in err
    assert "line 7, scenario 'Shrink'" in err and "multiplier" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_an_existing_directory_is_not_overwritten_without_force(run_dir, tmp_path: Path) -> None:
    spec, _, _, _ = run_dir
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep", encoding="utf-8")
    code, _, err = _run("scenarios", str(spec), "--out", str(tmp_path / "busy"))
    assert code == 2 and "--force" in err
    assert (tmp_path / "busy" / "notes.txt").read_text(encoding="utf-8") == "keep"
    code, _, err = _run("scenarios", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err


def test_an_infeasible_base_is_written_with_its_reasons_the_others_beside_it_and_exits_1(tmp_path: Path) -> None:
    """A base no posting can meet: its reasons in the comparison, a feasible scenario still solved, the sweeps
    (which measure against the base's posting) skipped, exit code 1."""
    s = allocator.sample_path
    force = (tmp_path / "force.yaml")
    force.write_text(s("force.yaml").read_text(encoding="utf-8").replace("establishment: 400", "establishment: 100")
                     .replace("judgement: judgement.csv", f"judgement: {s('judgement.csv')}"), encoding="utf-8")
    spec = tmp_path / "what-if.yaml"
    spec.write_text(f"base: {{force: {force}, demand: {s('demand.csv')}}}\noptions: {{processes: 1}}\n"
                    "scenarios:\n  - name: Back to 400\n    roles: {PC: {establishment_change: 300}}\n"
                    f"{SWEEPS}", encoding="utf-8")
    code, out, err = _run("scenarios", str(spec), "--out", str(tmp_path / "run"), "--json")
    assert code == 1, err
    rows = {r["scenario"]: r for r in json.loads(out)["scenarios"]}
    assert rows["base"]["status"] == "infeasible" and rows["Back to 400"]["status"] == "optimal"
    assert "minimum staffing needs 260 PCs; the establishment is 100" in rows["base"]["reasons"]
    assert "sensitivity skipped: the base has no posting" in err and "bootstrap skipped" in err
    comparison = pd.read_csv(tmp_path / "run" / "comparison.csv").set_index("scenario")
    assert comparison.loc["base", "reasons"].startswith("minimum staffing needs")
    assert pd.isna(comparison.loc["base", "min_coverage"]) and pd.isna(comparison.loc["base", "unallocated"])
    assert comparison.loc["Back to 400", "min_coverage"] > 0
    assert "Scenarios without a posting" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert not (tmp_path / "run" / "sensitivity.csv").exists()
