"""The robust posting: the best candidate by the 10th percentile, never worse than the base."""

from __future__ import annotations

import numpy as np
import pytest

import allocator
from allocator.whatif import bootstrap
from allocator.whatif.robust import robust_posting
from tests.whatif_helpers import small_base


def test_the_chosen_candidate_has_the_highest_10th_percentile_and_the_numbers_check_out() -> None:
    base = small_base()
    result = robust_posting(base, candidates=3, resamples=8, seed=5, processes=1)
    c = result.candidates
    assert c["candidate"].iloc[0] == "base" and len(c) == 4
    assert c["chosen"].sum() == 1
    chosen = c[c["chosen"]].iloc[0]
    assert chosen["p10"] == c["p10"].max() and result.gain >= 1.0
    # every role's establishment is posted
    posts = result.table.groupby("role", observed=True)["posts"].sum()
    for role in base.force.roles:
        assert posts[role.name] == role.establishment
    # the base's figures, recomputed through the bootstrap on the same draws
    own = allocator.allocate(base.workload(), base.force)
    seq = np.random.SeedSequence(5).spawn(2)[1]
    draws = np.random.default_rng(seq).integers(0, 26, size=(8, 26))
    again = bootstrap(base, own, resamples=8, seed=0, processes=1)
    assert again.weeks == 26
    from allocator.whatif.bootstrap import week_partials
    from allocator.workload.engine import workload_from_partials

    weeks = week_partials(base)
    mins = []
    for d in draws:
        f = allocator.build_formulation(workload_from_partials(weeks.resample(d), base.force, base.as_of), base.force)
        cov = f.coverage(own.x)
        mins.append(np.nanmin(np.where(np.isfinite(cov), cov, np.nan)))
    assert c["p10"].iloc[0] == pytest.approx(np.percentile(mins, 10), rel=1e-12)


def test_the_same_seed_gives_the_same_choice() -> None:
    base = small_base()
    a = robust_posting(base, candidates=2, resamples=5, seed=9, processes=1)
    b = robust_posting(base, candidates=2, resamples=5, seed=9, processes=1)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.candidates.equals(b.candidates)
    with pytest.raises(allocator.ArgumentError, match="candidates"):
        robust_posting(base, candidates=-1)
