"""sample_demand and sample_current: deterministic, realistic, loadable; the committed files regenerate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator import load_demand, sample_demand
from allocator.data.sample import planted_faults, sample_current
from tests.strategies import forces

ROOT = Path(__file__).resolve().parents[1]


def test_same_seed_same_extract_other_seed_other_extract(sample_force) -> None:
    a = sample_demand(sample_force, 2000, seed=11)
    pd.testing.assert_frame_equal(a, sample_demand(sample_force, 2000, seed=11))
    b = sample_demand(sample_force, 2000, seed=12)
    assert not a["timestamp"].equals(b["timestamp"])
    assert not a["area"].equals(b["area"])


def test_extract_shape_and_window(sample_force) -> None:
    df = sample_demand(sample_force, 5000, seed=1)
    assert list(df.columns) == ["id", "timestamp", "area", "demand_type", "duration", "grade"]
    assert str(df["timestamp"].dtype) == "datetime64[ns, Europe/London]"
    assert df["id"].is_unique
    end = pd.Timestamp(allocator.data.sample.DEFAULT_END, tz="Europe/London")
    assert df["timestamp"].max() < end
    assert df["timestamp"].min() >= end - pd.Timedelta(days=sample_force.settings.window_days)
    assert 0.12 < df["duration"].isna().mean() < 0.18
    assert df["duration"].dropna().between(1, sample_force.settings.max_duration_minutes).all()
    start = sample_demand(sample_force, 100, seed=1, start="2025-01-01")["timestamp"]
    assert start.min() >= pd.Timestamp("2025-01-01", tz="Europe/London")


def test_extract_is_realistic(sample_force) -> None:
    df = sample_demand(sample_force, 40_000, seed=3)
    hour = df["timestamp"].dt.hour
    assert (hour == 19).sum() > 2.5 * (hour == 4).sum()  # evening peak, quiet small hours
    dow = df["timestamp"].dt.day_of_week
    night = hour.isin([22, 23, 0, 1, 2])
    sat_night = (night & (dow == 5)).sum()
    tue_night = (night & (dow == 1)).sum()
    assert sat_night > 1.3 * tue_night
    share = df["area"].value_counts(normalize=True)
    assert share["Swindon North"] > share["Swindon South"] > share["Wiltshire South"]
    night_mix = df.loc[night, "demand_type"].value_counts(normalize=True)
    day_mix = df.loc[hour.between(9, 16), "demand_type"].value_counts(normalize=True)
    assert night_mix["DISORD"] > 1.5 * day_mix["DISORD"]
    # durations centre on the type's standard minutes
    med = df.groupby("demand_type", observed=True)["duration"].median()
    assert med["MISPER"] > med["LOSTP"] * 3


def test_clean_extract_loads_whole(sample_force) -> None:
    df = sample_demand(sample_force, 3000, seed=4)
    load = load_demand(df, sample_force)
    assert load.rejects.empty
    assert load.records["timestamp"].tolist() == df["timestamp"].tolist()
    assert load.records["duration"].equals(df["duration"])


@settings(max_examples=15)
@given(force=forces(), n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_any_force_gives_a_loadable_extract_and_messy_rejects_are_the_planted_ones(force, n, seed) -> None:
    clean = load_demand(sample_demand(force, n, seed=seed), force)
    assert clean.rejects.empty and clean.summary.accepted == n
    # a small messy extract is mostly faults: its rejects are accepted explicitly
    messy = load_demand(sample_demand(force, n, seed=seed, messy=True), force, accept_rejects=True)
    copies = 2 if n >= 100 else 1
    want: dict[str, int] = {}
    for p in planted_faults(force):
        want[p.reason] = want.get(p.reason, 0) + copies
    # over-long durations are dropped from their records, which are kept
    assert messy.summary.durations_dropped == want.pop("implausible duration")
    assert messy.summary.rejected == want
    assert messy.summary.accepted == n + copies


def test_messy_requires_a_record(sample_force) -> None:
    with pytest.raises(ValueError, match="at least one"):
        sample_demand(sample_force, 0, messy=True)
    assert sample_demand(sample_force, 0).empty


@settings(max_examples=20)
@given(force=forces())
def test_current_posting_is_plausible(force) -> None:
    cur = sample_current(force)
    posts = cur["posts"].to_numpy().reshape(len(force.areas), len(force.shifts), len(force.roles))
    assert (posts >= force.min_posts_array()).all()
    for k, role in enumerate(force.roles):
        assert posts[:, :, k].sum() == role.establishment


def test_sample_current_posting(sample_force) -> None:
    cur = pd.read_csv(allocator.sample_path("current_shifts.csv"))
    assert list(cur.columns) == ["area", "shift", "role", "posts"]
    pd.testing.assert_frame_equal(cur, sample_current(sample_force), check_dtype=False)
    posts = cur["posts"].to_numpy().reshape(6, 5, 3)
    assert (posts >= sample_force.min_posts_array()).all()
    by_area = cur[cur["role"] == "PC"].groupby("area", sort=False)["posts"].sum()
    assert by_area.max() - by_area.min() <= 1  # equal split: not demand-led
    assert by_area["Swindon North"] <= 95


def test_committed_sample_files_regenerate_byte_for_byte(tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "scripts" / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    for name in ("demand.csv", "current_shifts.csv", "codes.csv", "cad_extract.csv", "cad_mapping.yaml"):
        assert (tmp_path / name).read_bytes() == allocator.sample_path(name).read_bytes(), name
    total = sum(allocator.sample_path(n).stat().st_size for n in ("demand.csv", "cad_extract.csv"))
    assert total < 5_000_000
    assert np.isfinite(total)
