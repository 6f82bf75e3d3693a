"""Partitioned demand per week of the window (the bootstrap without the records in memory), and record ids
accepted in two files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator import DemandError, load_partitioned_workload
from allocator.whatif import Base, bootstrap, robust_posting, week_partials
from allocator.workload import partitioned
from tests.whatif_helpers import rota_force

pytest.importorskip("dask")

N, SEED, PARTS = 3000, 1, 3


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return allocator.sample_demand(rota_force(), N, seed=SEED)


@pytest.fixture(scope="module")
def as_of(records) -> pd.Timestamp:
    return records["timestamp"].max()


def split(df: pd.DataFrame, folder: Path, parts: int = PARTS) -> list[Path]:
    """Rows dealt into ``parts`` Parquet files in turn (every file spans the whole window)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(parts):
        path = folder / f"part.{k}.parquet"
        df.iloc[k::parts].to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, records, as_of) -> partitioned.PartitionedWorkload:
    folder = tmp_path_factory.mktemp("weeks")
    split(records, folder)
    return load_partitioned_workload(folder, rota_force(), as_of=as_of, now=as_of, scheduler="sync", weeks=True)


@pytest.fixture(scope="module")
def base(records, as_of) -> Base:
    return Base.from_records(records, rota_force(), as_of=as_of)


def test_the_files_week_sums_are_the_in_memory_weeks(loaded, base) -> None:
    assert loaded.summary.accepted == N and loaded.summary.rejected == {}
    weeks, memory = loaded.weeks, week_partials(base)
    assert weeks is not None
    assert weeks.weeks == memory.weeks == 26
    np.testing.assert_array_equal(weeks.factor, memory.factor)  # the sample force halves weight in 120 days
    assert memory.factor[-1] < 0.6
    for j in range(weeks.weeks):
        week = weeks.week(j)
        np.testing.assert_array_equal(week.count, memory.count[j])
        np.testing.assert_allclose(week.weight, memory.weight[j], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(week.minutes, memory.minutes[j], rtol=1e-9, atol=1e-9)
    assert sum(weeks.week(j).n_records for j in range(weeks.weeks)) == N
    # sparse: one entry per occupied bin, far below the dense (weeks, areas, 168, types, 2) arrays
    dense = memory.count.nbytes + memory.weight.nbytes + memory.minutes.nbytes
    assert weeks.sums.keys.size <= N and weeks.nbytes < dense / 10


def test_the_identity_draw_gives_back_the_base_partials(loaded, base) -> None:
    weeks = loaded.weeks
    assert weeks is not None
    same = weeks.resample(np.arange(weeks.weeks))
    total = loaded.workload.partials
    np.testing.assert_array_equal(same.count, total.count)
    np.testing.assert_allclose(same.weight, total.weight, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(same.minutes, total.minutes, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(same.weight, base.partials.weight, rtol=1e-9, atol=1e-12)
    assert same.first_ns == total.first_ns == base.partials.first_ns
    # a draw is checked as the in-memory one is
    with pytest.raises(ValueError, match="draws 26 weeks"):
        weeks.resample(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="weeks 0 to 25"):
        weeks.resample(np.full(26, 26))


def test_the_bootstrap_of_partitioned_demand_is_the_in_memory_bootstrap(loaded, base) -> None:
    posting = allocator.allocate(base.workload(), base.force)
    here = bootstrap(base, posting, resamples=8, seed=3, processes=1)
    files = bootstrap(loaded, posting.x, resamples=8, seed=3, processes=1)
    np.testing.assert_array_equal(files.draws, here.draws)
    assert files.weeks == here.weeks
    np.testing.assert_allclose(files.samples, here.samples, rtol=1e-9, atol=1e-12, equal_nan=True)
    pd.testing.assert_frame_equal(files.utilisation, here.utilisation, rtol=1e-9)
    pd.testing.assert_frame_equal(files.min_coverage, here.min_coverage, rtol=1e-9)
    assert not np.allclose(files.samples[0], files.samples[1], equal_nan=True)  # the resamples differ


def test_the_robust_posting_of_partitioned_demand_is_the_in_memory_one(loaded, base) -> None:
    here = robust_posting(base, candidates=0, resamples=5, seed=2, processes=1)
    files = robust_posting(loaded, candidates=0, resamples=5, seed=2, processes=1)
    pd.testing.assert_frame_equal(files.candidates, here.candidates, rtol=1e-9)
    np.testing.assert_array_equal(files.x, here.x)


def test_a_load_without_weeks_is_refused_by_the_bootstrap(tmp_path, records, as_of) -> None:
    split(records.iloc[:600], tmp_path)
    got = load_partitioned_workload(tmp_path, rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    assert got.weeks is None
    with pytest.raises(allocator.ArgumentError, match="weeks=True"):
        bootstrap(got, resamples=2)


def test_the_week_sums_do_not_depend_on_the_scheduler(tmp_path, records, as_of, loaded) -> None:
    split(records, tmp_path)
    threads = load_partitioned_workload(tmp_path, rota_force(), as_of=as_of, now=as_of, scheduler="threads",
                                        num_workers=2, weeks=True)
    assert threads.weeks is not None and loaded.weeks is not None
    a, b = threads.weeks.sums, loaded.weeks.sums
    assert a.keys.tobytes() == b.keys.tobytes() and a.weight.tobytes() == b.weight.tobytes()
    assert a.minutes.tobytes() == b.minutes.tobytes()


# ------------------------------------------------------------------ ids in two files
def shared_ids(records: pd.DataFrame, folder: Path) -> list[str]:
    """Three files; three records of part.0 copied into part.2 as well. Returns the shared ids."""
    split(records.iloc[:900], folder)
    first = pd.read_parquet(folder / "part.0.parquet")
    last = folder / "part.2.parquet"
    copies = first.iloc[[5, 40, 100]]
    pd.concat([pd.read_parquet(last), copies], ignore_index=True).to_parquet(last, index=False)
    return sorted(copies["id"])


def test_ids_accepted_in_two_files_refuse_the_load_naming_files_and_ids(tmp_path, records, as_of) -> None:
    ids = shared_ids(records, tmp_path / "ds")
    bad = tmp_path / "ds" / "part.1.parquet"  # another problem, reported in the same error
    pd.read_parquet(bad).rename(columns={"area": "cpt"}).to_parquet(bad, index=False)
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(tmp_path / "ds", rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    problems = info.value.problems
    assert {p.source for p in problems} == {"part.1.parquet", "part.2.parquet"}
    [dup] = [p for p in problems if p.source == "part.2.parquet"]
    text = str(dup)
    assert "3 record ids also accepted in part.0.parquet" in text
    assert all(repr(i) in text for i in ids)
    assert "counted twice" in text and "(row 301)" in text  # the copies follow part.2's 300 rows
    assert "'area'" in str(info.value)


def test_many_shared_ids_are_counted_and_a_few_quoted(tmp_path, records, as_of) -> None:
    split(records.iloc[:600], tmp_path)
    pd.read_parquet(tmp_path / "part.0.parquet").iloc[:12].to_parquet(tmp_path / "part.3.parquet", index=False)
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(tmp_path, rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    [dup] = info.value.problems
    assert dup.source == "part.3.parquet"
    assert "12 record ids also accepted in part.0.parquet" in str(dup) and "and 7 more" in str(dup)


def test_equal_hashes_of_different_ids_do_not_refuse_a_load(tmp_path, records, as_of, monkeypatch) -> None:
    """A hash that collides for most ids: matches are confirmed on the ids, so only true repeats are refused."""
    real = partitioned.hash_strings
    monkeypatch.setattr(partitioned, "hash_strings", lambda arr: real(arr) % np.uint64(7))
    split(records.iloc[:900], tmp_path / "clean")
    got = load_partitioned_workload(tmp_path / "clean", rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    assert got.summary.accepted == 900
    ids = shared_ids(records, tmp_path / "dup")
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(tmp_path / "dup", rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    [dup] = info.value.problems
    assert "3 record ids also accepted in part.0.parquet" in str(dup)
    assert all(repr(i) in str(dup) for i in ids)


def test_blank_ids_in_several_files_are_not_repeats(tmp_path, records, as_of) -> None:
    df = records.iloc[:600].copy()
    df["id"] = df["id"].astype(object)
    df.loc[df.index[:30], "id"] = ""
    df.loc[df.index[30:60], "id"] = None
    for k, token in enumerate((" N/A ", "null", "NONE", "nan", "na", "  ")):  # every blank spelling, in every file
        df.loc[df.index[60 + 6 * k : 66 + 6 * k], "id"] = token
    split(df, tmp_path)
    got = load_partitioned_workload(tmp_path, rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    assert got.summary.accepted == 600


def test_short_ids_that_are_not_blank_are_still_repeats(tmp_path, records, as_of) -> None:
    """Only ids of up to four bytes are tested for blankness; a short real id in two files is a repeat."""
    df = records.iloc[:600].copy()
    df["id"] = df["id"].astype(object)
    df.loc[df.index[0], "id"], df.loc[df.index[1], "id"] = "X1", " X1"  # rows 0 and 1 go to different files
    df.loc[df.index[2], "id"] = "nulls"  # not a blank spelling: an id like any other, here once
    split(df, tmp_path)
    with pytest.raises(DemandError) as info:
        load_partitioned_workload(tmp_path, rota_force(), as_of=as_of, now=as_of, scheduler="sync")
    [dup] = info.value.problems
    assert "1 record id also accepted in part.0.parquet" in str(dup) and "'X1'" in str(dup)
