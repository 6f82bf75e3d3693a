"""The week bootstrap: whole weeks resampled, seeded, and the identity resample is the base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.whatif import Base, bootstrap, week_partials
from tests.whatif_helpers import rota_force, small_base


def test_the_weeks_drawn_in_their_own_slots_give_back_the_base_partials() -> None:
    base = small_base()
    weeks = week_partials(base)
    same = weeks.resample(np.arange(weeks.weeks))
    np.testing.assert_array_equal(same.count, base.partials.count)
    np.testing.assert_allclose(same.weight, base.partials.weight, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(same.minutes, base.partials.minutes, rtol=1e-12, atol=1e-12)
    assert weeks.count.sum() == len(base.records)


def test_a_week_moved_to_another_slot_takes_that_slots_recency_weight() -> None:
    """Worked by hand: two records, one a week older than the other, half-life 7 days."""
    force = rota_force().model_copy(update={"settings": rota_force().settings.model_copy(
        update={"half_life_days": 7.0})})
    as_of = pd.Timestamp("2026-10-31 12:00", tz="Europe/London")
    records = pd.DataFrame({
        "timestamp": [as_of - pd.Timedelta(days=1), as_of - pd.Timedelta(days=8)],
        "area": ["Swindon North", "Swindon North"], "demand_type": ["DA", "DA"], "duration": [60.0, np.nan],
    })
    base = Base.from_records(records, force, as_of=as_of)
    weeks = week_partials(base)
    assert weeks.weeks == 2
    np.testing.assert_allclose(weeks.factor, [1.0, 0.5])
    # week 1 (the older record, age 8 days: weight 0.5 ** (8 / 7)) drawn into both slots
    p = weeks.resample(np.array([1, 1]))
    w_in_week = 0.5 ** (1 / 7)  # its age within its week
    assert p.weight.sum() == pytest.approx(w_in_week * (1.0 + 0.5))
    assert p.n_records == 2 and p.minutes.sum() == 0.0
    # week 0 (recorded 60 minutes, age 1 day) drawn into both slots
    q = weeks.resample(np.array([0, 0]))
    assert q.minutes.sum() == pytest.approx(60.0 * w_in_week * 1.5)


def test_the_bootstrap_is_reproducible_for_a_seed_and_differs_between_seeds() -> None:
    base = small_base()
    posting = allocator.allocate(base.workload(), base.force)
    a = bootstrap(base, posting, resamples=12, seed=3, processes=1)
    b = bootstrap(base, posting.x, resamples=12, seed=3, processes=1)
    c = bootstrap(base, posting, resamples=12, seed=4, processes=1)
    np.testing.assert_array_equal(a.draws, b.draws)
    np.testing.assert_array_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.utilisation, b.utilisation)
    assert not np.array_equal(a.draws, c.draws)
    assert a.draws.shape == (12, a.weeks) and a.draws.min() >= 0 and a.draws.max() < a.weeks
    u = a.utilisation
    assert list(u.columns) == ["area", "role", "bucket", "base", "mean", "median", "p10", "p90"]
    ok = u["p10"].notna()
    assert (u.loc[ok, "p10"] <= u.loc[ok, "median"] + 1e-9).all() and (u.loc[ok, "median"] <= u.loc[ok, "p90"] + 1e-9).all()
    np.testing.assert_allclose(u["base"], posting.buckets["utilisation"], rtol=1e-12)
    s = a.summary()
    assert list(s.index) == ["PC", "PCSO", "LCI", "all"]
    assert (a.min_coverage["all"] <= a.min_coverage[["PC", "PCSO", "LCI"]].min(axis=1) + 1e-12).all()


def test_local_processes_give_the_same_bootstrap() -> None:
    base = small_base()
    posting = allocator.allocate(base.workload(), base.force)
    here = bootstrap(base, posting, resamples=6, seed=1, processes=1)
    there = bootstrap(base, posting, resamples=6, seed=1, processes=2)
    np.testing.assert_array_equal(here.samples, there.samples)
    pd.testing.assert_frame_equal(here.min_coverage, there.min_coverage)


def test_bad_arguments_are_refused_by_name() -> None:
    base = small_base()
    with pytest.raises(allocator.ArgumentError, match="resamples"):
        bootstrap(base, resamples=0)
    with pytest.raises(allocator.ArgumentError, match="seed"):
        bootstrap(base, seed=-1)
    with pytest.raises(allocator.ArgumentError, match="posting"):
        bootstrap(base, np.zeros(3, dtype=np.int64), resamples=2)
