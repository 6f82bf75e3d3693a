"""The workload kernel for large forces: partial sums and the contraction against plain references.

A force of thousands of areas has more (area, hour, type) bins than a chunk
has records; the kernel then takes one bincount per span of records at least
as large as its bins, and ``workload_from_partials`` contracts hours and
types before it expands areas x shifts x roles. Both must give the numbers
of the plain formulas.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator.workload import kernel
from allocator.workload.engine import hour_shift_matrix, workload_from_partials
from allocator.workload.kernel import (
    HOURS_PER_WEEK,
    by_shift,
    contract,
    judged_hours,
    partial_sums,
    sparse_partial_sums,
)

FEW = settings(max_examples=min(settings().max_examples, 40))
#: (CHUNK, BLOCK): the library's, and small ones so that small data crosses chunks and blocks on
#: both paths (up to CHUNK bins, a bincount per chunk; beyond, one per block of at least as many records)
LAYOUTS = [(kernel.CHUNK, kernel.BLOCK), (64, 256), (512, 1024)]


def reference_partials(area, dtype, hour, duration, weight, n_areas, n_types):
    """Record by record with np.add.at on the 4-D arrays: nothing shared with the kernel."""
    shape = (n_areas, HOURS_PER_WEEK, n_types, 2)
    has = (~np.isnan(duration)).astype(np.int64)
    w = np.ones(len(area)) if weight is None else weight
    count, wsum, minutes = np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape[:3])
    idx = (area.astype(np.int64), hour.astype(np.int64), dtype.astype(np.int64))
    np.add.at(count, (*idx, has), 1)
    np.add.at(wsum, (*idx, has), w)
    rec = has == 1
    np.add.at(minutes, tuple(i[rec] for i in idx), (w * duration)[rec])
    return count, wsum, minutes


@st.composite
def records(draw: st.DrawFn, max_areas: int = 400, max_size: int = 2000):
    n_areas = draw(st.integers(1, max_areas))
    n_types = draw(st.integers(1, 6))
    n = draw(st.integers(0, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    area = rng.integers(0, n_areas, n).astype(np.int16)
    dtype = rng.integers(0, n_types, n).astype(np.int16)
    hour = rng.integers(0, HOURS_PER_WEEK, n).astype(np.int16)
    duration = rng.uniform(0, 600, n)
    duration[rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = np.nan
    weight = rng.uniform(0.01, 1, n) if draw(st.booleans()) else None
    return area, dtype, hour, duration, weight, n_areas, n_types


@pytest.mark.parametrize("layout", LAYOUTS, ids=["library", "wide", "chunked"])
@FEW
@given(data=records())
def test_partial_sums_equal_a_plain_reference(layout, data) -> None:
    chunk, block = layout
    with mock.patch.multiple(kernel, CHUNK=chunk, BLOCK=block):
        one = partial_sums(*data, threads=1)
        two = partial_sums(*data, threads=2)
    count, wsum, minutes = reference_partials(*data)
    np.testing.assert_array_equal(one.count, count)
    np.testing.assert_allclose(one.weight, wsum, rtol=1e-9, atol=0)
    np.testing.assert_allclose(one.minutes, minutes, rtol=1e-9, atol=0)
    # the same bits whatever the number of threads
    for a, b in ((one.count, two.count), (one.weight, two.weight), (one.minutes, two.minutes)):
        assert a.tobytes() == b.tobytes()


def test_a_large_force_worked_by_hand() -> None:
    """1,000 areas x 3 types: 1,008,000 bins, more than a chunk's records; three records land where they should."""
    p = partial_sums(
        area=np.array([999, 999, 0], dtype=np.int16),
        demand_type=np.array([2, 2, 0], dtype=np.int16),
        hour_of_week=np.array([167, 167, 0], dtype=np.int16),
        duration=np.array([30.0, np.nan, 10.0]),
        weight=np.array([0.5, 1.0, 2.0]),
        n_areas=1000,
        n_types=3,
    )
    assert p.count.shape == (1000, 168, 3, 2)
    assert p.count.size > kernel.CHUNK
    assert p.n_records == 3
    assert p.count[999, 167, 2].tolist() == [1, 1]
    assert p.weight[999, 167, 2].tolist() == [1.0, 0.5]
    assert p.minutes[999, 167, 2] == 15.0  # 0.5 x 30; the record without a duration adds none
    assert p.count[0, 0, 0].tolist() == [0, 1] and p.minutes[0, 0, 0] == 20.0
    assert p.weight.sum() == 3.5 and p.minutes.sum() == 35.0


@FEW
@given(data=records(max_areas=60, max_size=500), seed=st.integers(0, 2**32 - 1),
       data_weight=st.sampled_from([0.0, 0.5, 1.0]), n_shifts=st.integers(1, 6))
def test_contract_equals_the_old_path(data, seed, data_weight, n_shifts) -> None:
    """By shift, by hour and records: the same as judged_hours then by_shift (the full 4-D array)."""
    p = partial_sums(*data)
    n_areas, n_types = data[5], data[6]
    rng = np.random.default_rng(seed)
    n_roles = int(rng.integers(1, 5))
    share = rng.uniform(0, 1, (n_types, n_roles)) * (rng.random((n_types, n_roles)) < 0.8)
    minutes = rng.uniform(1, 300, (n_types, n_roles))
    impact = rng.uniform(0.5, 3, (n_types, n_roles))
    factor = rng.uniform(0.5, 2, (n_areas, n_roles))
    cover = rng.random((HOURS_PER_WEEK, n_shifts)) * (rng.random((HOURS_PER_WEEK, n_shifts)) < 0.6)
    cover[np.arange(HOURS_PER_WEEK), rng.integers(0, n_shifts, HOURS_PER_WEEK)] += 0.1  # every hour covered
    to_shift = cover / cover.sum(axis=1, keepdims=True)

    by_type, records_by_shift, hour_hours = contract(p, share, minutes, impact, factor, data_weight, to_shift)
    hours = judged_hours(p, share, minutes, impact, factor, data_weight)
    old_by_type, old_records = by_shift(hours, p.count, to_shift)
    np.testing.assert_allclose(by_type, old_by_type, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hour_hours, hours.sum(axis=2), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(records_by_shift, old_records)
    assert by_type.shape == (n_areas, n_shifts, n_types, n_roles)


def many_area_force(areas: int) -> allocator.Force:
    data = allocator.load_force(allocator.sample_path("force_shifts.yaml")).to_dict()
    data["areas"] = [{"name": f"Area {i:04d}"} for i in range(areas)]
    data["area_factors"] = {}
    for role in data["roles"]:
        role["establishment"] = int(round(role["establishment"] * areas / 6))
        role["min_on_duty_by_area"] = {}
    return allocator.load_force(data)


@pytest.mark.parametrize("areas", [6, 300])
def test_workload_of_a_large_force_equals_the_old_path(areas) -> None:
    force = many_area_force(areas) if areas != 6 else allocator.load_force(
        allocator.sample_path("force_shifts.yaml"))
    recs = allocator.sample_demand(force, 20_000, seed=areas)
    as_of = recs["timestamp"].max()
    prepared = allocator.prepare_records(recs, force, as_of=as_of)
    p = prepared.partials()
    wl = workload_from_partials(p, force, as_of)
    share, minutes, impact, _ = force.judgement_arrays()
    hours = judged_hours(p, share, minutes, impact, force.area_factor_array(), force.settings.data_weight)
    old_by_type, old_records = by_shift(hours, p.count, hour_shift_matrix(force))
    np.testing.assert_allclose(wl.by_type_array, old_by_type, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wl.array, old_by_type.sum(axis=2), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wl.hour_array, hours.sum(axis=2), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(wl.records_by_type, old_records)
    # the chunked layout (a bincount per chunk, every bin each time) gives the same partials
    with mock.patch.object(kernel, "_layout", lambda n_bins: (kernel.BLOCK, kernel.CHUNK)):
        chunked = prepared.partials()
    np.testing.assert_array_equal(chunked.count, p.count)
    np.testing.assert_allclose(chunked.weight, p.weight, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.minutes, p.minutes, rtol=1e-12, atol=0)


@FEW
@given(data=records(max_areas=3000, max_size=3000), cut=st.floats(0, 1))
def test_sparse_partials_equal_the_reference_and_add_up(data, cut) -> None:
    """The occupied bins only: dense again they are the plain sums, and two halves add up to the whole."""
    area, dtype, hour, duration, weight, n_areas, n_types = data
    sparse = sparse_partial_sums(*data)
    count, wsum, minutes = reference_partials(*data)
    assert sparse.keys.size == np.count_nonzero(count)  # the occupied bins, no more
    assert np.all(np.diff(sparse.keys) > 0)
    dense = sparse.dense()
    np.testing.assert_array_equal(dense.count, count)
    np.testing.assert_allclose(dense.weight, wsum, rtol=1e-9, atol=0)
    np.testing.assert_allclose(dense.minutes, minutes, rtol=1e-9, atol=0)
    k = int(cut * len(area))
    halves = [
        sparse_partial_sums(area[s], dtype[s], hour[s], duration[s], None if weight is None else weight[s],
                            n_areas, n_types)
        for s in (slice(0, k), slice(k, None))
    ]
    added = (halves[0] + halves[1]).dense()
    np.testing.assert_array_equal(added.count, count)
    np.testing.assert_allclose(added.weight, wsum, rtol=1e-9, atol=0)
    np.testing.assert_allclose(added.minutes, minutes, rtol=1e-9, atol=0)


def test_sparse_partials_of_different_forces_do_not_add() -> None:
    one = np.zeros(1, dtype=np.int16)
    a = sparse_partial_sums(one, one, one, np.ones(1), None, 3, 2)
    b = sparse_partial_sums(one, one, one, np.ones(1), None, 4, 2)
    with pytest.raises(ValueError, match="different forces"):
        a + b
