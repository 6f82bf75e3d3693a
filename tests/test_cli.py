"""End-to-end runs of the ``allocator`` command line on the sample force.

Most run in-process through :func:`allocator.cli.main` (the same code the
console entry calls); two run ``python -m allocator`` in a subprocess for the
console entry itself, its exit codes, and byte-for-byte identical outputs
across processes.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import allocator
from allocator.cli import build_parser, main
from allocator.data.demand import load_demand
from allocator.io.atomic import sha256_file
from allocator.io.cells import DECIMALS
from allocator.io.rundir import read_run
from allocator.present import report as report_mod
from allocator.workload.engine import compute_workload

SAMPLE = allocator.sample_path()
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
RUN_FILES = ("allocation.csv", "allocation.parquet", "allocation.xlsx", "moves.csv", "workload.csv",
             "workload_by_type.csv", "workload_by_hour.csv", "explanations.csv", "rejects.csv", "report.md",
             "report.html", *report_mod.FIGURE_FILES)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Result:
    """``allocator ARGS`` in this process: exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


def _help(command: str) -> str:
    """``allocator COMMAND --help`` as text."""
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return str(action.choices[command].format_help())


def subprocess_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m allocator ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "allocator", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def allocate_args(sample: Path, out: Path, *more: str) -> list[str | Path]:
    return ["allocate", sample / "force_shifts.yaml", sample / "demand.csv", "--current", sample / "current_shifts.csv",
            "--max-moves", "30", "--out", out, *more]


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample force written by ``allocator sample``."""
    d = tmp_path_factory.mktemp("sample") / "force"
    r = run("sample", d, "--quiet")
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture(scope="module")
def allocated(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """One allocate run on the sample with a current posting, shared by the tests."""
    out = tmp_path_factory.mktemp("runs") / "run"
    r = run(*allocate_args(sample_dir, out, "--json"))
    assert r.returncode == 0, r.stderr
    return out, r


@pytest.fixture(scope="module")
def run_dir(allocated: tuple[Path, Result]) -> Path:
    return allocated[0]


def test_allocate_prints_a_json_summary_and_its_progress(allocated: tuple[Path, Result]) -> None:
    out, r = allocated
    summary = json.loads(r.stdout)
    assert summary["status"] in ("optimal", "feasible")
    assert summary["posts"] == {"PC": 400, "PCSO": 120, "LCI": 60}
    assert summary["out"] == str(out.resolve())
    assert "solving with cpsat (time limit 60 s for the whole solve)" in r.stderr
    assert re.search(r"^\[ *\d+\.\ds\] wrote report$", r.stderr, flags=re.M)


def test_allocate_writes_every_output_and_agrees_with_the_api(run_dir: Path, sample_dir: Path) -> None:
    for name in (*RUN_FILES, "run.json"):
        assert (run_dir / name).is_file(), name
    force = allocator.load_force(sample_dir / "force_shifts.yaml")
    loaded = load_demand(sample_dir / "demand.csv", force)
    workload = compute_workload(loaded.records, force)
    api = allocator.allocate(workload, force, current=sample_dir / "current_shifts.csv", max_moves=30)
    saved = pd.read_csv(run_dir / "allocation.csv")
    assert saved["posts"].to_numpy().tolist() == api.table["posts"].to_numpy().tolist()
    assert saved.groupby("role", sort=False)["posts"].sum().to_dict() == {"PC": 400, "PCSO": 120, "LCI": 60}
    parquet = pd.read_parquet(run_dir / "allocation.parquet")
    # Parquet keeps full precision; the CSV rounds every float column to DECIMALS places
    np.testing.assert_allclose(saved["coverage"].to_numpy(), parquet["coverage"].round(DECIMALS).to_numpy(),
                               rtol=0, atol=1e-12)
    assert (parquet["coverage"] - saved["coverage"]).abs().max() <= 0.5 * 10.0**-DECIMALS
    xlsx = pd.read_excel(run_dir / "allocation.xlsx", sheet_name=None)
    assert list(xlsx) == ["Summary", "PC", "PCSO", "LCI", "Moves"]
    moves = pd.read_csv(run_dir / "moves.csv")
    assert moves["officers"].sum() == api.moves["officers"].sum()
    rejects = pd.read_csv(run_dir / "rejects.csv")
    assert len(rejects) == len(loaded.rejects) > 0
    by_shift = pd.read_csv(run_dir / "workload.csv")
    assert by_shift["hours"].sum() == pytest.approx(workload.array.sum())


def test_run_json_records_inputs_versions_and_output_hashes(run_dir: Path, sample_dir: Path) -> None:
    recorded = read_run(run_dir)
    m = recorded.manifest
    assert m["inputs"]["demand"]["rows"] == m["data"]["records_read"]
    assert m["inputs"]["force"]["sha256"] == sha256_file(sample_dir / "force_shifts.yaml")
    assert set(m["inputs"]) == {"force", "demand", "judgement", "current"}
    assert m["parameters"]["max_moves"] == 30
    assert m["environment"]["ortools"] and m["environment"]["numpy"]
    assert m["solver"]["status"] in ("optimal", "feasible")
    assert allocator.Force.model_validate(m["force"]) == allocator.load_force(sample_dir / "force_shifts.yaml")
    assert recorded.verify() == []
    assert sorted(m["outputs"]) == sorted(RUN_FILES)
    for name in RUN_FILES:
        assert m["outputs"][name]["sha256"] == sha256_file(run_dir / name), name


def test_markdown_report_links_its_figure_files_and_html_inlines_them(run_dir: Path) -> None:
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "base64" not in md and len(md.encode("utf-8")) < 30_000
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == list(report_mod.FIGURE_FILES)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    inline = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', html)
    assert [base64.b64decode(b) for b in inline] == [(run_dir / name).read_bytes() for name in links]
    assert "figures/" not in html and "http" not in html


def test_report_holds_no_record_ids(run_dir: Path, sample_dir: Path) -> None:
    ids = pd.read_csv(sample_dir / "demand.csv", usecols=["id"], dtype=str)["id"].dropna()
    assert len(ids) > 1000
    for name in ("report.md", "report.html"):
        text = (run_dir / name).read_text(encoding="utf-8")
        # strip the base64 images, which could hold any short string by chance
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
        leaked = [i for i in ids if i in text]
        assert leaked == [], leaked[:5]


def test_console_entry_gives_byte_identical_outputs_and_force_keeps_other_files(
    run_dir: Path, sample_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "again"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    args = allocate_args(sample_dir, out, "--quiet")
    refused = run(*args)
    assert refused.returncode == 2 and "--force" in refused.stderr
    # a fresh interpreter (its own hash seed), through the console entry
    r = subprocess_cli(*args, "--force")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # --quiet
    for name in RUN_FILES:
        assert (out / name).read_bytes() == (run_dir / name).read_bytes(), name
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    # only the solver's seconds differ in run.json
    a, b = read_run(run_dir).manifest, read_run(out).manifest
    assert a["outputs"] == b["outputs"] and a["summary"] == b["summary"]


def test_explain_from_the_run_directory(run_dir: Path) -> None:
    r = run("explain", run_dir, "--area", "Swindon North", "--shift", "Night", "--role", "PC", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "recomputed from the recorded inputs"
    table = pd.read_csv(run_dir / "allocation.csv")
    cell = table[(table["area"] == "Swindon North") & (table["shift"] == "Night") & (table["role"] == "PC")]
    assert out["cell"]["posts"] == int(cell["posts"].iloc[0])
    assert out["cell"]["binding"]
    hours = sum(d["hours"] for d in out["demand_types"])
    assert hours == pytest.approx(float(cell["workload_hours"].iloc[0]), abs=10.0**-DECIMALS)


def test_explain_falls_back_to_saved_tables_when_an_input_changed(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    manifest = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    manifest["inputs"]["demand"]["sha256"] = "0" * 64  # as if the extract had been edited since
    (copy / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    args = ["--area", "Wiltshire West", "--shift", "Day", "--role", "PCSO", "--json"]
    r = run("explain", copy, *args)
    assert r.returncode == 0, r.stderr
    saved = json.loads(r.stdout)
    assert saved["source"] == "saved tables"
    fresh = json.loads(run("explain", run_dir, *args).stdout)
    assert fresh["source"] == "recomputed from the recorded inputs"
    assert saved["cell"] == fresh["cell"]
    for a, b in zip(saved["demand_types"], fresh["demand_types"], strict=True):
        assert a["demand_type"] == b["demand_type"] and a["records"] == b["records"]
        assert a["hours"] == pytest.approx(b["hours"], abs=10.0**-DECIMALS)


def test_compare_names_the_judgement_change(run_dir: Path, sample_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(sample_dir, changed)
    judgement = changed / "judgement.csv"
    text = judgement.read_text(encoding="utf-8")
    assert "\nDA,PC,0.7,300,1.6\n" in text
    judgement.write_text(text.replace("\nDA,PC,0.7,300,1.6\n", "\nDA,PC,0.7,360,1.6\n"), encoding="utf-8")
    b = tmp_path / "b"
    with pytest.MonkeyPatch.context() as mp:  # figures play no part in compare: leave them out here
        mp.setattr(report_mod, "_have_matplotlib", lambda: False)
        r = run(*allocate_args(changed, b, "-q"))
    assert r.returncode == 0, r.stderr
    r = run("compare", run_dir, b, "-q")
    assert r.returncode == 0, r.stderr
    assert "DA / PC minutes: 300.0 -> 360.0" in r.stdout
    data = json.loads(run("compare", run_dir, b, "--json", "-q").stdout)
    assert data["judgement"] == [{"what": "DA / PC", "field": "minutes", "before": 300.0, "after": 360.0}]
    assert data["rules"] == []
    assert {r["demand_type"] for r in data["workload"]} == {"DA"}
    assert all(r["records_a"] == r["records_b"] and r["hours_b"] > r["hours_a"] for r in data["workload"])


def test_infeasible_force_exits_1_with_the_reason(sample_dir: Path, tmp_path: Path) -> None:
    data = yaml.safe_load((sample_dir / "force_shifts.yaml").read_text(encoding="utf-8"))
    data["roles"][2]["min_on_duty"] = {"Day": 10}  # 6 areas x 19 LCI posts > establishment 60
    data["judgement"] = str(sample_dir / "judgement.csv")
    bad = tmp_path / "force_shifts.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    r = run("allocate", bad, sample_dir / "demand.csv", "--out", tmp_path / "out")
    assert r.returncode == 1, r.stderr
    assert "LCI" in r.stderr and "60" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "run.json").exists()


def test_broken_force_file_exits_2_listing_every_problem(sample_dir: Path, tmp_path: Path) -> None:
    text = (sample_dir / "force_shifts.yaml").read_text(encoding="utf-8")
    text = text.replace("abstraction: 0.5 ", "abstraction: 1.5 ").replace("establishment: 120", "establishment: -3")
    (tmp_path / "force_shifts.yaml").write_text(text, encoding="utf-8")
    shutil.copy(sample_dir / "judgement.csv", tmp_path / "judgement.csv")
    # through the console entry: the exit code a shell script sees
    r = subprocess_cli("allocate", tmp_path / "force_shifts.yaml", sample_dir / "demand.csv", "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "force_shifts.yaml" in r.stderr and "abstraction" in r.stderr and "establishment" in r.stderr
    assert "Traceback" not in r.stderr


def test_demand_file_missing_a_column_exits_2(sample_dir: Path, tmp_path: Path) -> None:
    demand = pd.read_csv(sample_dir / "demand.csv", dtype=str).drop(columns="area")
    demand.to_csv(tmp_path / "demand.csv", index=False)
    r = run("validate", sample_dir / "force_shifts.yaml", tmp_path / "demand.csv")
    assert r.returncode == 2
    assert "demand.csv" in r.stderr and "area" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_input_is_never_overwritten(sample_dir: Path, tmp_path: Path) -> None:
    force, demand = sample_dir / "force_shifts.yaml", sample_dir / "demand.csv"
    before = demand.read_bytes()
    r = run("workload", force, demand, "--out", demand)
    assert r.returncode == 2 and "input" in r.stderr
    # an input inside the output directory under an output's name: refused even with --force
    busy = tmp_path / "busy"
    busy.mkdir()
    shutil.copy(sample_dir / "current_shifts.csv", busy / "moves.csv")
    current = (busy / "moves.csv").read_bytes()
    r = run("allocate", force, demand, "--current", busy / "moves.csv", "--out", busy, "--force", "-q")
    assert r.returncode == 2 and "moves.csv" in r.stderr
    assert (busy / "moves.csv").read_bytes() == current
    r = run("allocate", force, demand, "--out", demand, "-q")
    assert r.returncode == 2 and "input" in r.stderr
    assert demand.read_bytes() == before


def test_sample_refuses_to_overwrite_without_force(sample_dir: Path) -> None:
    r = run("sample", sample_dir)
    assert r.returncode == 2 and "--force" in r.stderr
    assert run("sample", sample_dir, "--force", "-q").returncode == 0


def test_validate_writes_rejects_where_asked(sample_dir: Path, tmp_path: Path) -> None:
    r = run("validate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--out", tmp_path / "v", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rejects = pd.read_csv(tmp_path / "v" / "rejects.csv")
    assert len(rejects) == data["records_rejected"] == sum(data["rejected_by_reason"].values())
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["rejects.csv"]


@pytest.mark.parametrize("command", ["allocate", "validate", "workload", "explain", "compare", "sample"])
def test_help_shows_a_worked_example(command: str) -> None:
    text = _help(command)
    assert "example" in text and f"allocator {command}" in text


def test_max_moves_needs_a_current_posting(sample_dir: Path, tmp_path: Path) -> None:
    r = run("allocate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--max-moves", "5",
            "--out", tmp_path / "out", "-q")
    assert r.returncode == 2
    assert "--max-moves" in r.stderr and "--current" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf"])
def test_time_limit_must_be_positive_seconds(sample_dir: Path, tmp_path: Path, value: str) -> None:
    r = run("allocate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--time-limit", value,
            "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "--time-limit" in r.stderr and repr(value) in r.stderr


def _normalise(text: str) -> str:
    return " ".join(text.split())


def test_help_and_docs_say_what_the_solver_does_with_the_limits() -> None:
    text = _normalise(_help("allocate"))
    # allocate(time_limit=...) is one wall-clock budget shared by every role and stage
    assert "wall-clock seconds for the whole solve, all roles and solver stages together" in text
    assert "each stage gets the time left" in text
    assert "per role, not in total" in text
    docs = _normalise(DOCS.read_text(encoding="utf-8"))
    assert "wall-clock seconds for the whole solve, all roles and solver stages together" in docs
    assert "per role, not in total" in docs
    assert "seconds per solve" not in docs and "seconds for the solve" not in docs


@pytest.mark.parametrize("backend", ["cpsat", "pulp:highs"])
def test_verify_checks_the_exact_coverage_with_the_backend(sample_dir: Path, tmp_path: Path, backend: str) -> None:
    r = run(*allocate_args(sample_dir, tmp_path / "out", "--verify", "--backend", backend, "-q"))
    assert r.returncode == 0, r.stderr
    run_json = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run_json["parameters"]["verify"] is True
    solver = run_json["solver"]
    assert solver["status"] == "optimal"
    checks = solver["checks"]
    assert sorted(c["role"] for c in checks) == ["LCI", "PC", "PCSO"]
    assert all(c["status"] == "optimal" for c in checks)


# ------------------------------------------------------------------ outputs that cannot hurt their reader
HOSTILE = {"Swindon North": "=1+2", "Swindon South": '=HYPERLINK("http://x.example","click")',
           "Wiltshire North": "<script>alert(1)</script>", "Wiltshire East": "[x](javascript:alert(1))",
           "Wiltshire West": "a|b"}


@pytest.fixture(scope="module")
def hostile_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run on the sample with areas named like formulas, HTML and Markdown links."""
    d = tmp_path_factory.mktemp("hostile")
    for name in ("force_shifts.yaml", "judgement.csv", "demand.csv", "current_shifts.csv"):
        text = (sample_dir / name).read_text(encoding="utf-8")
        for old, new in HOSTILE.items():
            quoted = json.dumps(new) if name == "force_shifts.yaml" else (
                '"' + new.replace('"', '""') + '"' if any(c in new for c in ',"') else new)
            text = text.replace(old, quoted)
        (d / name).write_text(text, encoding="utf-8")
    r = run("allocate", d / "force_shifts.yaml", d / "demand.csv", "--current", d / "current_shifts.csv", "--out", d / "run",
            "-q")
    assert r.returncode == 0, r.stderr
    return d / "run"


def test_names_like_formulas_are_text_in_the_workbook_and_quoted_in_csv(hostile_run: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(hostile_run / "allocation.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if c.data_type == "s"}
    assert {"=1+2", HOSTILE["Swindon South"]} <= texts
    assert all(isinstance(c.value, int | float) for c in cells if c.data_type == "n" and c.value is not None)
    table = pd.read_csv(hostile_run / "allocation.csv")
    assert {"'=1+2", "'" + HOSTILE["Swindon South"]} <= set(table["area"])
    assert pd.api.types.is_integer_dtype(table["posts"]) and pd.api.types.is_float_dtype(table["coverage"])
    for name in ("allocation.csv", "moves.csv", "workload.csv", "explanations.csv"):
        text = (hostile_run / name).read_text(encoding="utf-8")
        assert not re.search(r"(^|,)[=@]", text, re.MULTILINE), name
    # explain reads the names back as they were
    r = run("explain", hostile_run, "--area", "=1+2", "--shift", "Night", "--role", "PC", "--json", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cell"]["area"] == "=1+2"


def test_report_md_escapes_html_links_and_pipes_in_names(hostile_run: Path) -> None:
    md = (hostile_run / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert not re.search(r"(?<!\\)\]\(javascript:", md) and "\\[x\\](javascript:alert(1))" in md
    assert "a\\|b" in md
    html_text = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html_text


def test_csv_outputs_show_no_float_noise(run_dir: Path) -> None:
    for name in ("allocation.csv", "moves.csv", "workload.csv", "workload_by_type.csv", "workload_by_hour.csv",
                 "explanations.csv"):
        text = (run_dir / name).read_text(encoding="utf-8")
        long = re.findall(r"\d+\.\d{7,}", text)
        assert long == [], (name, long[:3])


def test_quiet_hides_progress_but_keeps_the_summary_and_the_path(sample_dir: Path, tmp_path: Path) -> None:
    r = run(*allocate_args(sample_dir, tmp_path / "q", "-q"))
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("allocation optimal: PC 400")
    assert f"outputs in {(tmp_path / 'q').resolve()}" in r.stdout


def test_accept_rejects_parses_is_documented_and_reaches_load_demand(sample_dir: Path) -> None:
    from allocator.cli._common import demand_keywords

    for command in ("allocate", "validate"):
        assert "--accept-rejects" in _help(command)
        args = build_parser().parse_args([command, "f.yaml", "d.csv", "--accept-rejects"])
        assert args.accept_rejects is True
        assert demand_keywords(args)["accept_rejects"] is True
        plain = build_parser().parse_args([command, "f.yaml", "d.csv"])
        assert "accept_rejects" not in demand_keywords(plain)
    assert "--accept-rejects" in DOCS.read_text(encoding="utf-8")


def test_run_json_hashes_the_mapping_and_its_code_lookup_and_explain_names_a_change(
    sample_dir: Path, tmp_path: Path
) -> None:
    from allocator.cli._common import input_files

    src = tmp_path / "force"
    shutil.copytree(sample_dir, src)
    expected = ["force_shifts.yaml", "judgement.csv", "cad_extract.csv", "cad_mapping.yaml", "codes.csv"]
    found = input_files(src / "force_shifts.yaml", src / "cad_extract.csv", src / "cad_mapping.yaml")
    assert [p.name for p in found] == expected
    out = tmp_path / "run"
    r = run("allocate", src / "force_shifts.yaml", src / "cad_extract.csv", "--mapping", src / "cad_mapping.yaml",
            "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    inputs = read_run(out).manifest["inputs"]
    assert {k: v["name"] for k, v in inputs.items()} == dict(zip(
        ["force", "judgement", "demand", "mapping", "codes"], expected, strict=True))
    assert inputs["codes"]["sha256"] == sha256_file(src / "codes.csv")
    args = ["explain", out, "--area", "Swindon North", "--shift", "Night", "--role", "PC", "--json"]
    assert json.loads(run(*args).stdout)["source"] == "recomputed from the recorded inputs"
    with (src / "codes.csv").open("a", encoding="utf-8") as fh:
        fh.write("EXTRA-CODE,THEFT\n")
    (src / "cad_mapping.yaml").write_text((src / "cad_mapping.yaml").read_text(encoding="utf-8") + "\n",
                                          encoding="utf-8")
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert "cad_mapping.yaml (mapping) changed since the run" in r.stderr
    assert "codes.csv (codes) changed since the run" in r.stderr
    data = json.loads(r.stdout)
    assert data["source"] == "saved tables" and len(data["inputs_changed"]) == 2
