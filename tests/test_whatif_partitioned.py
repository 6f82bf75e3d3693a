"""What-if sweeps on partitioned demand: a scenario file whose base demand is a folder of Parquet files
(or a list of files) runs as the same file on the one extract does."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.cli import main
from allocator.whatif import (
    Base,
    ScenarioError,
    bootstrap,
    load_base,
    load_scenarios,
    parse_scenarios,
    robust_posting,
    run_scenarios,
    sensitivity,
    week_partials,
)

pytest.importorskip("dask")

#: the end of the demand window, given to both bases (a partitioned base requires it)
AS_OF = "2026-11-01"
PARTS = 3
SCENARIOS = (
    "scenarios:\n"
    "  - name: Domestic abuse +15%\n    demand: [{type: DA, multiplier: 1.15}]\n"
    "  - name: Longer thefts\n    judgement: [{type: THEFT, role: PC, minutes: 150}]\n"
    "  - name: Five PCs on nights, 30 moves\n    roles: {PC: {min_on_duty: {Night: 5}}}\n    max_moves: 30\n"
)
BOOTSTRAP = "bootstrap: {resamples: 4, seed: 7}\n"


def write_spec(path: Path, demand: str, *, as_of: str | None = AS_OF, extra: str = BOOTSTRAP,
               scenarios: str = SCENARIOS) -> Path:
    s = allocator.sample_path
    when = f", as_of: '{as_of}'" if as_of is not None else ""
    path.write_text(
        f"base: {{force: {s('force.yaml')}, demand: {demand}, current: {s('current.csv')}{when}}}\n"
        f"options: {{time_limit: 30, processes: 1}}\n{scenarios}{extra}", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample extract's rows dealt into three Parquet files (a folder) and three CSV files, and a spec on each."""
    tmp = tmp_path_factory.mktemp("whatif-partitioned")
    raw = pd.read_csv(allocator.sample_path("demand.csv"), dtype=str, keep_default_na=False)
    folder = tmp / "demand"
    (folder / "year=2026").mkdir(parents=True)
    csvs = []
    for k in range(PARTS):
        raw.iloc[k::PARTS].to_parquet(folder / "year=2026" / f"part.{k}.parquet", index=False)
        csvs.append(tmp / f"part.{k}.csv")
        raw.iloc[k::PARTS].to_csv(csvs[-1], index=False)
    (folder / "_SUCCESS").write_text("")  # metadata beside the data, as Spark leaves it: not a partition
    return {
        "folder": folder,
        "extract": write_spec(tmp / "extract.yaml", str(allocator.sample_path("demand.csv"))),
        "partitioned": write_spec(tmp / "partitioned.yaml", str(folder)),
        "list": write_spec(tmp / "list.yaml", "[" + ", ".join(str(p) for p in csvs) + "]"),
    }


@pytest.fixture(scope="module")
def bases(files: dict[str, Path]) -> tuple[Base, Base]:
    return load_base(files["extract"]), load_base(files["partitioned"], scheduler="sync")


def assert_frames_close(a: pd.DataFrame, b: pd.DataFrame, skip: tuple[str, ...] = ()) -> None:
    """Equal frames: the same columns and text, numbers equal to 1e-9 relative (sums added in another order)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if c in skip:
            continue
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(x.to_numpy(dtype=float), y.to_numpy(dtype=float), rtol=1e-9, atol=0,
                                       equal_nan=True, err_msg=c)
        else:
            pd.testing.assert_series_equal(x, y, check_names=True)


def test_the_partitioned_base_holds_the_extracts_sums_without_its_records(bases: tuple[Base, Base]) -> None:
    extract, folder = bases
    assert folder.records is None and folder.prepared is None and folder.partitioned is not None
    assert folder.as_of == extract.as_of
    assert folder.n_records == extract.n_records == len(extract.records)
    assert list(folder.partitioned.partitions["file"]) == [f"year=2026/part.{k}.parquet" for k in range(PARTS)]
    np.testing.assert_array_equal(folder.partials.count, extract.partials.count)
    np.testing.assert_allclose(folder.partials.weight, extract.partials.weight, rtol=1e-9, atol=0)
    np.testing.assert_allclose(folder.partials.minutes, extract.partials.minutes, rtol=1e-9, atol=0)
    # the spec has a bootstrap section: the week sums were kept, and they add up to the base's
    assert folder.weeks is not None and folder.weeks.weeks == week_partials(extract).weeks
    same = folder.weeks.resample(np.arange(folder.weeks.weeks))
    np.testing.assert_allclose(same.weight, extract.partials.weight, rtol=1e-9, atol=1e-15)


def test_a_list_of_files_reads_as_the_folder(files: dict[str, Path], bases: tuple[Base, Base]) -> None:
    listed = load_base(files["list"], scheduler="sync", weeks=False)
    assert listed.weeks is None and len(listed.partitioned.files) == PARTS
    np.testing.assert_array_equal(listed.partials.count, bases[0].partials.count)
    np.testing.assert_allclose(listed.partials.weight, bases[0].partials.weight, rtol=1e-9, atol=0)


def test_scenarios_on_partitions_equal_scenarios_on_the_extract(files: dict[str, Path], bases: tuple[Base, Base]
                                                                ) -> None:
    here = run_scenarios(files["extract"], base=bases[0])
    there = run_scenarios(files["partitioned"])  # reads the folder itself (local threads)
    assert there.names == here.names == ["base", "Domestic abuse +15%", "Longer thefts",
                                         "Five PCs on nights, 30 moves"]
    assert all(o.status in ("optimal", "feasible") for o in there.outcomes)
    assert_frames_close(here.comparison, there.comparison)
    assert_frames_close(here.table, there.table)
    for a, b in zip(here.outcomes, there.outcomes, strict=True):
        pd.testing.assert_frame_equal(a.posts, b.posts)
        np.testing.assert_array_equal(a.x, b.x)
    # moves are counted against the current posting in both
    assert there.comparison["moves"].notna().all()


def test_sensitivity_on_partitions_equals_sensitivity_on_the_extract(bases: tuple[Base, Base]) -> None:
    here = sensitivity(bases[0], change=0.2, fields=("impact", "minutes"), types=["DA", "THEFT"], roles=["PC"],
                       processes=1, time_limit=30)
    there = sensitivity(bases[1], change=0.2, fields=("impact", "minutes"), types=["DA", "THEFT"], roles=["PC"],
                        processes=1, time_limit=30)
    assert len(there.table) == 4
    assert_frames_close(here.table, there.table)
    assert here.base_coverage == pytest.approx(there.base_coverage, rel=1e-9)


def test_bootstrap_on_partitions_equals_bootstrap_on_the_extract(bases: tuple[Base, Base]) -> None:
    posting = allocator.allocate(bases[0].workload(), bases[0].force, current=bases[0].current, time_limit=30)
    here = bootstrap(bases[0], posting, resamples=6, seed=7, processes=1)
    there = bootstrap(bases[1], posting, resamples=6, seed=7, processes=1)
    assert there.weeks == here.weeks == 26
    np.testing.assert_array_equal(here.draws, there.draws)
    np.testing.assert_allclose(there.samples, here.samples, rtol=1e-9, atol=0, equal_nan=True)
    assert_frames_close(here.utilisation, there.utilisation)
    assert_frames_close(here.min_coverage, there.min_coverage)


def test_robust_posting_of_a_partitioned_scenario_file_reads_its_week_sums(files: dict[str, Path]) -> None:
    here = robust_posting(files["extract"], candidates=0, resamples=5, seed=3, processes=1, time_limit=30)
    there = robust_posting(files["partitioned"], candidates=0, resamples=5, seed=3, processes=1, time_limit=30)
    assert_frames_close(here.candidates, there.candidates)
    np.testing.assert_array_equal(here.x, there.x)


def test_a_partitioned_base_without_week_sums_is_refused_by_the_bootstrap_by_name(files: dict[str, Path]) -> None:
    base = load_base(files["partitioned"], scheduler="sync", weeks=False)
    assert base.weeks is None
    with pytest.raises(allocator.ArgumentError, match="without its per-week sums.*weeks=True"):
        bootstrap(base, resamples=2)
    with pytest.raises(allocator.ArgumentError, match="no records to split by week"):
        week_partials(base)
    # scenarios and sensitivity need only the summed partials
    assert base.workload().array.sum() > 0


def test_a_spec_without_a_bootstrap_section_keeps_no_week_sums(files: dict[str, Path], tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", str(files["folder"]), extra="", scenarios="scenarios: []\n")
    assert load_base(spec, scheduler="sync").weeks is None


@pytest.mark.parametrize("demand", ["FOLDER", "[a.parquet, b.csv]"])
def test_a_partitioned_demand_without_as_of_is_named_with_its_line_before_any_file_is_read(
        files: dict[str, Path], tmp_path: Path, demand: str) -> None:
    demand = str(files["folder"]) if demand == "FOLDER" else demand  # the list names files that do not exist
    text = (f"# what if\nbase:\n  force: {allocator.sample_path('force.yaml')}\n  demand: {demand}\n"
            "scenarios: []\n")
    with pytest.raises(ScenarioError) as info:
        parse_scenarios(text, "what-if.yaml", tmp_path)
    (problem,) = info.value.problems
    assert problem.line == 2 and problem.where == "base.as_of"
    assert "line 2, base.as_of: missing; required when base.demand is" in str(info.value)
    path = tmp_path / "what-if.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli("scenarios", str(path), "--out", str(tmp_path / "run"))
    assert code == 2 and "base.as_of" in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_bad_as_of_and_an_empty_list_are_named(tmp_path: Path) -> None:
    text = (f"base: {{force: {allocator.sample_path('force.yaml')}, demand: [], as_of: 'last tuesday'}}\n"
            "scenarios: []\n")
    with pytest.raises(ScenarioError) as info:
        parse_scenarios(text, "what-if.yaml", tmp_path)
    msg = str(info.value)
    assert "2 problems" in msg and "base.demand: expected a file name, a folder or a list of files" in msg
    assert "base.as_of: expected a date or time" in msg and "'last tuesday'" in msg


def test_from_partitioned_refuses_a_force_of_other_areas(bases: tuple[Base, Base]) -> None:
    pw = bases[1].partitioned
    assert pw is not None
    again = Base.from_partitioned(pw)
    assert again.force is pw.force and again.weeks is pw.weeks
    fewer = pw.force.model_copy(update={"areas": pw.force.areas[:-1]})
    with pytest.raises(allocator.ArgumentError, match="6 areas"):
        Base.from_partitioned(pw, fewer)


# ------------------------------------------------------------------ the command line
def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _one_scenario(path: Path, demand: str) -> Path:
    return write_spec(path, demand, scenarios="scenarios:\n  - name: DA up\n    demand: [{type: DA, multiplier: 1.2}]\n",
                      extra="bootstrap: {resamples: 3, seed: 1}\n")


def test_the_command_line_on_a_folder_writes_the_comparison_of_the_extract(files: dict[str, Path], tmp_path: Path
                                                                           ) -> None:
    extract = _one_scenario(tmp_path / "extract.yaml", str(allocator.sample_path("demand.csv")))
    folder = _one_scenario(tmp_path / "folder.yaml", str(files["folder"]))
    runs = {}
    for name, spec in (("extract", extract), ("folder", folder)):
        code, stdout, err = run_cli("scenarios", str(spec), "--out", str(tmp_path / name))
        assert code == 0, err
        runs[name] = tmp_path / name
    assert "reading 3 demand files on local threads" in err and "47,022 records in 3 files" in err
    assert (runs["extract"] / "comparison.csv").read_bytes() == (runs["folder"] / "comparison.csv").read_bytes()
    for table in ("scenarios.csv", "bootstrap.csv"):
        assert_frames_close(pd.read_csv(runs["extract"] / table), pd.read_csv(runs["folder"] / table))
    per_file = pd.read_csv(runs["folder"] / "partitions.csv")
    assert list(per_file["file"]) == [f"year=2026/part.{k}.parquet" for k in range(PARTS)]
    assert per_file["rows_read"].sum() == 47022 and not (runs["extract"] / "partitions.csv").exists()
    import json

    manifest = json.loads((runs["folder"] / "run.json").read_text(encoding="utf-8"))
    assert sorted(k for k in manifest["inputs"] if k.startswith("demand")) == [
        f"demand[year=2026/part.{k}.parquet]" for k in range(PARTS)]


def test_a_bad_partition_is_named_by_file_with_exit_code_2(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for k in range(PARTS):
        (bad / f"part.{k}.parquet").write_bytes((files["folder"] / "year=2026" / f"part.{k}.parquet").read_bytes())
    pd.read_parquet(bad / "part.1.parquet").drop(columns=["area"]).to_parquet(bad / "part.1.parquet")
    (bad / "part.2.parquet").write_bytes(b"not parquet at all")
    before = {p.name: p.read_bytes() for p in bad.iterdir()}
    spec = _one_scenario(tmp_path / "bad.yaml", str(bad))
    out = tmp_path / "run"
    code, stdout, err = run_cli("scenarios", str(spec), "--out", str(out), "--quiet")
    assert code == 2 and "Traceback" not in err and stdout == ""
    assert "allocator: error: " in err and "2 problems" in err
    assert "part.1.parquet" in err and "missing required column(s) 'area'" in err
    assert "part.2.parquet" in err and "not a readable Parquet file" in err
    assert "part.0.parquet:" not in err
    assert not out.exists()
    assert {p.name: p.read_bytes() for p in bad.iterdir()} == before  # inputs left alone


def test_the_run_is_not_written_inside_the_demand_folder(files: dict[str, Path], tmp_path: Path) -> None:
    spec = _one_scenario(tmp_path / "s.yaml", str(files["folder"]))
    code, _, err = run_cli("scenarios", str(spec), "--out", str(files["folder"] / "run"))
    assert code == 2 and "inside the demand dataset" in err and not (files["folder"] / "run").exists()


def test_the_spec_lists_every_partition_as_an_input(files: dict[str, Path]) -> None:
    spec = load_scenarios(files["partitioned"])
    assert spec.partitioned and spec.as_of == AS_OF
    keys = [k for k in spec.inputs() if k.startswith("demand")]
    assert keys == [f"demand[year=2026/part.{k}.parquet]" for k in range(PARTS)]


def test_on_a_cluster_one_client_reads_the_partitions_and_runs_the_sweeps(files: dict[str, Path], tmp_path: Path
                                                                          ) -> None:
    distributed = pytest.importorskip("distributed")
    spec = _one_scenario(tmp_path / "folder.yaml", str(files["folder"]))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        code, _, err = run_cli("scenarios", str(spec), "--out", str(tmp_path / "there"), "--dask",
                               cluster.scheduler_address)
        assert code == 0, err
        assert f"reading 3 demand files on the Dask scheduler {cluster.scheduler_address}" in err
        base = load_base(spec, client=client)
        assert base.partitioned is not None and base.weeks is not None
    code, _, err = run_cli("scenarios", str(spec), "--out", str(tmp_path / "here"))
    assert code == 0, err
    for table in ("comparison.csv", "scenarios.csv", "bootstrap.csv", "partitions.csv"):
        assert (tmp_path / "here" / table).read_bytes() == (tmp_path / "there" / table).read_bytes(), table
