"""load_partitioned_workload: a partitioned Parquet dataset on Dask equals the in-memory engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator import DemandError, load_demand, load_partitioned_workload
from allocator.workload.partitioned import partition_files
from tests.strategies_demand import AS_OF, NOW

pytest.importorskip("dask")

PARTS = 3


def write_partitions(df: pd.DataFrame, folder: Path, parts: int = PARTS) -> list[Path]:
    """Rows split by their trimmed id (a record's duplicates stay in one file), order kept."""
    folder.mkdir(parents=True, exist_ok=True)
    key = pd.util.hash_pandas_object(df["id"].fillna("").str.strip(), index=False).to_numpy() % parts
    paths = []
    for k in range(parts):
        path = folder / f"year=2026/part.{k}.parquet"
        path.parent.mkdir(exist_ok=True)
        df[key == k].to_parquet(path, index=False)
        paths.append(path)
    return paths


def in_memory(df: pd.DataFrame, force: allocator.Force, tmp_path: Path) -> tuple[allocator.DemandLoad, allocator.Workload]:
    """The whole extract, as one file, loaded and reduced in memory."""
    whole = tmp_path / "whole.parquet"
    df.to_parquet(whole, index=False)
    load = load_demand(whole, force, as_of=AS_OF, now=NOW, accept_rejects=True)
    return load, allocator.compute_workload(load.records, force, as_of=load.window[1])


def assert_close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=0)


@pytest.fixture(scope="module")
def messy(sample_force) -> pd.DataFrame:
    df = allocator.sample_demand(sample_force, 6000, seed=21, messy=True)
    df.loc[5000, "id"] = df.loc[10, "id"]  # a duplicate far from its first row
    df.loc[[7, 4000], "area"] = "Swindon Nrth"
    return df


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as client:
        yield client


def test_dask_on_a_local_cluster_equals_the_in_memory_engine(tmp_path, sample_force, messy, cluster) -> None:
    write_partitions(messy, tmp_path / "ds")
    load, whole = in_memory(messy, sample_force, tmp_path)
    got = load_partitioned_workload(tmp_path / "ds", sample_force, as_of=AS_OF, now=NOW,
                                    accept_rejects=True, client=cluster)
    wl = got.workload
    assert wl.n_records == whole.n_records == load.summary.accepted
    assert_close(wl.array, whole.array)
    assert_close(wl.by_type_array, whole.by_type_array)
    assert_close(wl.hour_array, whole.hour_array)
    np.testing.assert_array_equal(wl.records_by_type, whole.records_by_type)
    assert wl.days == pytest.approx(whole.days, rel=1e-12)
    assert wl.as_of == whole.as_of


def test_rejects_are_counted_per_reason_as_in_memory(tmp_path, sample_force, messy) -> None:
    write_partitions(messy, tmp_path / "ds")
    load, _ = in_memory(messy, sample_force, tmp_path)
    got = load_partitioned_workload(tmp_path / "ds", sample_force, as_of=AS_OF, now=NOW,
                                    accept_rejects=True, scheduler="threads", num_workers=2)
    s, ref = got.summary, load.summary
    assert len(ref.rejected) >= 8  # the messy extract plants most reasons, duplicate ids among them
    assert "duplicate id" in ref.rejected and "unknown area" in ref.rejected
    assert s.rejected == ref.rejected
    assert (s.rows_read, s.accepted) == (ref.rows_read, ref.accepted)
    assert s.unmapped_codes == ref.unmapped_codes
    assert (s.missing_durations, s.durations_dropped, s.names_matched_loosely) == (
        ref.missing_durations, ref.durations_dropped, ref.names_matched_loosely)
    assert (s.first, s.last, s.window_end) == (ref.first, ref.last, ref.window_end)
    # per file: rows read = accepted + rejected, and the files add up to the whole
    p = got.partitions
    assert list(p["file"]) == [f"year=2026/part.{k}.parquet" for k in range(PARTS)]
    assert (p["rows_read"] == p["accepted"] + p["rejected"]).all()
    assert p["rows_read"].sum() == len(messy)
    for reason, n in ref.rejected.items():
        assert p[reason].sum() == n
    # every refused row is listed once, named by its file and its row there
    assert len(got.rejects) == ref.rejected_total
    assert got.rejects.groupby("file")["row"].count().to_dict() == dict(zip(p["file"], p["rejected"], strict=True))
    unknown = got.rejects[got.rejects["reason"] == "unknown area"]
    assert set(unknown["area"]) >= {"Swindon Nrth"}


def test_bad_partitions_are_named_by_file_with_every_problem(tmp_path, sample_force) -> None:
    df = allocator.sample_demand(sample_force, 600, seed=3, messy=True)
    folder = tmp_path / "ds"
    write_partitions(df, folder)
    bad_schema = folder / "year=2026" / "part.1.parquet"
    pd.read_parquet(bad_schema).rename(columns={"area": "cpt", "demand_type": "code"}).to_parquet(bad_schema)
    (folder / "year=2026" / "part.2.parquet").write_bytes(b"PAR1 not really parquet")
    (folder / "_metadata").write_bytes(b"ignored")  # metadata beside the data is not a partition
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(folder, sample_force, as_of=AS_OF, now=NOW, scheduler="sync")
    problems = info.value.problems
    sources = {p.source for p in problems}
    assert sources == {"year=2026/part.1.parquet", "year=2026/part.2.parquet"}
    text = str(info.value)
    assert "year=2026/part.1.parquet" in text and "'area'" in text and "'demand_type'" in text
    assert "year=2026/part.2.parquet" in text
    assert "part.0" not in text


def test_missing_files_and_empty_folders_are_named(tmp_path, sample_force) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DemandError, match="holds no Parquet or CSV file"):
        load_partitioned_workload(tmp_path / "empty", sample_force, as_of=AS_OF)
    (tmp_path / "empty" / "demand.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DemandError, match=r"holds no Parquet or CSV file .*it holds 1 other file: demand\.xlsx"):
        load_partitioned_workload(tmp_path / "empty", sample_force, as_of=AS_OF)
    with pytest.raises(DemandError) as info:
        partition_files([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert {p.source for p in info.value.problems} == {str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")}
    with pytest.raises(allocator.ArgumentError, match="as_of"):
        load_partitioned_workload(tmp_path / "empty", sample_force, as_of="not a date")


def test_empty_and_out_of_window_partitions_count_and_the_sum_is_deterministic(tmp_path, sample_force) -> None:
    """Years of records, most of them before the window: every row counted, nothing dropped."""
    recent = allocator.sample_demand(sample_force, 1500, seed=8)
    old = allocator.sample_demand(sample_force, 700, seed=9, start="2024-01-01")
    folder = tmp_path / "ds"
    folder.mkdir()
    old.to_parquet(folder / "2024.parquet", index=False)
    recent.iloc[:0].to_parquet(folder / "2025.parquet", index=False)
    recent.to_parquet(folder / "2026.parquet", index=False)
    as_of = recent["timestamp"].max()
    runs = [
        load_partitioned_workload(folder, sample_force, as_of=as_of, now=as_of, accept_rejects=True,
                                  scheduler=scheduler)
        for scheduler in ("sync", "threads")
    ]
    got = runs[0]
    assert got.summary.rows_read == 2200 and got.summary.accepted == 1500
    assert got.summary.rejected == {"outside window": 700}
    assert got.partitions.set_index("file")["accepted"].to_dict() == {"2024.parquet": 0, "2025.parquet": 0,
                                                                     "2026.parquet": 1500}
    assert_close(got.workload.array, allocator.compute_workload(recent, sample_force, as_of=as_of).array)
    assert runs[0].workload.array.tobytes() == runs[1].workload.array.tobytes()
    # without accept_rejects the share over the whole dataset is checked, as load_demand checks it
    # the example reject names its file as well as its row there
    with pytest.raises(DemandError, match=r"were rejected .*outside window: 700 \(e\.g\. 2024\.parquet row 1:"):
        load_partitioned_workload(folder, sample_force, as_of=as_of, now=as_of, scheduler="sync")


def test_importing_allocator_does_not_import_dask() -> None:
    code = "import sys, allocator; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_without_dask_the_error_names_the_extra(monkeypatch, sample_force, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask -> ImportError
    with pytest.raises(ImportError, match=r"allocator\[distributed\]"):
        load_partitioned_workload(tmp_path, sample_force, as_of=AS_OF)


@pytest.fixture(scope="module")
def clean(sample_force) -> pd.DataFrame:
    return allocator.sample_demand(sample_force, 1200, seed=31)


@settings(max_examples=min(settings().max_examples, 8))
@given(cuts=st.lists(st.integers(0, 1200), max_size=5), scheduler=st.sampled_from(["sync", "threads"]))
def test_any_split_into_files_gives_the_workload_of_the_whole(tmp_path_factory, sample_force, clean, cuts,
                                                              scheduler) -> None:
    """However the rows are cut into files (empty ones included), the workload is the whole's."""
    folder = tmp_path_factory.mktemp("split")
    bounds = [0, *sorted(cuts), len(clean)]
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        clean.iloc[lo:hi].to_parquet(folder / f"part.{k:02d}.parquet", index=False)
    as_of = clean["timestamp"].max()
    got = load_partitioned_workload(folder, sample_force, as_of=as_of, now=as_of, scheduler=scheduler)
    whole = allocator.compute_workload(clean, sample_force, as_of=as_of)
    assert got.summary.accepted == len(clean) and got.summary.rejected == {}
    assert list(got.partitions["rows_read"]) == list(np.diff(bounds))
    assert_close(got.workload.array, whole.array)
    assert_close(got.workload.hour_array, whole.hour_array)


def test_a_demand_type_without_judgement_is_reported_not_raised_from_a_worker(tmp_path, sample_force) -> None:
    theft = [r for r in sample_force.judgement if r.demand_type != "THEFT"]
    force = sample_force.model_copy(update={"judgement": theft})
    df = allocator.sample_demand(sample_force, 900, seed=12)
    for k in range(2):
        df.iloc[k::2].to_parquet(tmp_path / f"part.{k}.parquet", index=False)
    as_of = df["timestamp"].max()
    with pytest.raises(allocator.WorkloadError) as memory:
        allocator.compute_workload(df, force, as_of=as_of)
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(tmp_path, force, as_of=as_of, now=as_of, scheduler="sync")
    assert {p.source for p in info.value.problems} == {"part.0.parquet", "part.1.parquet"}
    assert all("'THEFT' has no judgement rows" in str(p) for p in info.value.problems)
    assert "'THEFT' has no judgement rows" in str(memory.value)


def test_a_list_of_csv_and_parquet_files(tmp_path, sample_force, monkeypatch) -> None:
    """Files named one by one, in any format load_demand reads, relative paths too."""
    df = allocator.sample_demand(sample_force, 800, seed=14, messy=True)
    df.iloc[:300].to_csv(tmp_path / "a.csv", index=False)
    df.iloc[300:].to_parquet(tmp_path / "b.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    got = load_partitioned_workload(["a.csv", "b.parquet"], sample_force, as_of=AS_OF, now=NOW,
                                    accept_rejects=True, scheduler="threads")
    load, whole = in_memory(df, sample_force, tmp_path)
    assert list(got.partitions["file"]) == ["a.csv", "b.parquet"]
    assert got.summary.rejected == load.summary.rejected
    assert_close(got.workload.array, whole.array)


def test_a_folder_of_monthly_csv_extracts_is_read_and_other_files_are_named(tmp_path, sample_force, caplog) -> None:
    """Extracts as a force exports them: a CSV a month (one compressed), beside a workbook and a note."""
    df = allocator.sample_demand(sample_force, 3000, seed=5)
    folder = tmp_path / "extracts"
    folder.mkdir()
    month = pd.to_datetime(df["timestamp"], utc=True).dt.strftime("%Y-%m")
    for k, (m, part) in enumerate(df.groupby(month, sort=True)):
        name = f"demand-{m}.csv.gz" if k == 0 else f"demand-{m}.csv"
        part.to_csv(folder / name, index=False)
    (folder / "notes.md").write_text("exported by the analyst", encoding="utf-8")
    (folder / "summary.xlsx").write_bytes(b"PK\x03\x04")
    with caplog.at_level("WARNING", logger="allocator"):
        got = load_partitioned_workload(folder, sample_force, as_of=AS_OF, now=NOW, scheduler="sync")
    assert "2 files neither Parquet nor CSV left out: notes.md, summary.xlsx" in caplog.text
    files = list(got.partitions["file"])
    assert files == sorted(files) and files[0].endswith(".csv.gz") and len(files) == month.nunique()
    _, whole = in_memory(df, sample_force, tmp_path)
    assert got.summary.accepted == whole.n_records
    assert_close(got.workload.array, whole.array)
