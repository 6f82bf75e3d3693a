"""Sensitivity to judgement: a change of nothing moves nothing; each row is a real re-solve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.whatif import sensitivity
from allocator.whatif.sensitivity import perturbed_force
from tests.whatif_helpers import rota_force, small_base


def test_a_change_of_zero_moves_nothing() -> None:
    result = sensitivity(small_base(), change=0.0, fields=("minutes", "impact", "share"), types=["DA", "ASB"],
                         processes=1)
    t = result.table
    assert len(t) == 3 * sum(1 for j in rota_force().judgement if j.demand_type in ("DA", "ASB") and j.share > 0)
    assert (t[["moved_low", "moved_high"]].to_numpy() == 0).all()
    assert (t[["coverage_change_low", "coverage_change_high"]].to_numpy() == 0).all()
    assert (t["low_value"] == t["base_value"]).all() and (t["high_value"] == t["base_value"]).all()


def test_each_row_is_the_allocation_of_the_perturbed_force() -> None:
    base = small_base()
    result = sensitivity(base, change=0.25, fields=("impact",), types=["DA"], roles=["PC"], processes=1)
    (row,) = result.table.to_dict(orient="records")
    assert (row["demand_type"], row["role"], row["field"], row["rank"]) == ("DA", "PC", "impact", 1)
    assert row["low_value"] == pytest.approx(1.6 * 0.75) and row["high_value"] == pytest.approx(1.6 * 1.25)
    plain = allocator.allocate(base.workload(), base.force)
    for side, factor in (("low", 0.75), ("high", 1.25)):
        force = perturbed_force(base.force, "DA", "PC", "impact", factor)
        assert force is not None
        again = allocator.allocate(base.workload(force), force)
        assert row[f"min_coverage_{side}"] == again.ratios["PC"]
        assert row[f"moved_{side}"] == np.abs(again.x - plain.x).sum() / 2
        expected = 100 * (again.ratios["PC"] - plain.ratios["PC"]) / plain.ratios["PC"]
        assert row[f"coverage_change_{side}"] == pytest.approx(expected, rel=1e-12)
    # more weight on domestic abuse: more judged PC work, so the PCs' smallest coverage falls
    assert row["coverage_change_high"] < 0 < row["coverage_change_low"]
    assert result.base_coverage["PC"] == plain.ratios["PC"]


def test_the_table_is_ranked_by_the_change_in_smallest_coverage() -> None:
    result = sensitivity(small_base(), change=0.2, fields=("minutes",), types=["DA", "THEFT", "ASB"], processes=1)
    t = result.table
    swing = np.fmax(t["coverage_change_low"].abs(), t["coverage_change_high"].abs()).to_numpy()
    assert (np.diff(swing) <= 1e-12).all()
    assert t["rank"].tolist() == list(range(1, len(t) + 1))


@given(st.sampled_from([(j.demand_type, j.role) for j in rota_force().judgement if j.share > 0]),
       st.floats(0.0, 3.0, allow_nan=False))
def test_a_changed_share_keeps_the_type_shares_summing_to_one(pair: tuple[str, str], factor: float) -> None:
    force = rota_force()
    t, r = pair
    new = perturbed_force(force, t, r, "share", factor)
    table = force.judgement_table()
    others = table[(table["demand_type"] == t) & (table["role"] != r) & (table["share"] > 0)]
    if others.empty:
        assert new is None
        return
    assert new is not None
    after = new.judgement_table()
    mine = after[after["demand_type"] == t]
    assert mine["share"].sum() == pytest.approx(1.0, abs=1e-12)
    old = float(table[(table["demand_type"] == t) & (table["role"] == r)]["share"].iloc[0])
    assert float(mine[mine["role"] == r]["share"].iloc[0]) == pytest.approx(min(1.0, old * factor))
    # the other roles keep their proportions
    before = others.set_index("role")["share"]
    now = mine.set_index("role")["share"].reindex(before.index)
    if now.sum() > 0:
        np.testing.assert_allclose(now / now.sum(), before / before.sum(), rtol=1e-9)
    # other demand types untouched
    rest = after[after["demand_type"] != t].reset_index(drop=True)
    np.testing.assert_array_equal(rest.to_numpy(), table[table["demand_type"] != t].reset_index(drop=True).to_numpy())


def test_bad_arguments_are_refused_by_name() -> None:
    base = small_base()
    with pytest.raises(allocator.ArgumentError, match="change"):
        sensitivity(base, change=1.5)
    with pytest.raises(allocator.ArgumentError, match="fields"):
        sensitivity(base, fields=("speed",))
    with pytest.raises(allocator.ArgumentError, match="did you mean 'DA'"):
        sensitivity(base, types=["DAA"])
