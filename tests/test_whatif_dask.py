"""Sweeps on a dask.distributed cluster equal the same sweeps in-process, number for number."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.whatif import bootstrap, run_scenarios, sensitivity
from tests.whatif_helpers import small_base, spec

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """An in-process cluster (threads): quick to start, and the tasks still go through Dask."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


def test_scenarios_on_a_cluster_equal_scenarios_in_process(client: object) -> None:
    base = small_base()
    s = spec("  - name: DA up\n    demand: [{type: DA, multiplier: 1.2}]\n"
             "  - name: Longer thefts\n    judgement: [{type: THEFT, role: PC, minutes: 150}]\n")
    here = run_scenarios(s, processes=1, base=base)
    there = run_scenarios(s, client=client, base=base)
    assert there.names == here.names == ["base", "DA up", "Longer thefts"]
    pd.testing.assert_frame_equal(here.table, there.table)
    pd.testing.assert_frame_equal(here.comparison, there.comparison)


def test_sensitivity_on_a_cluster_equals_sensitivity_in_process(client: object) -> None:
    base = small_base()
    here = sensitivity(base, change=0.2, fields=("impact",), types=["DA", "THEFT"], processes=1)
    there = sensitivity(base, change=0.2, fields=("impact",), types=["DA", "THEFT"], client=client)
    pd.testing.assert_frame_equal(here.table, there.table)


def test_bootstrap_on_a_cluster_equals_bootstrap_in_process(client: object) -> None:
    base = small_base()
    posting = allocator.allocate(base.workload(), base.force)
    here = bootstrap(base, posting, resamples=5, seed=11, processes=1)
    there = bootstrap(base, posting, resamples=5, seed=11, client=client)
    np.testing.assert_array_equal(here.samples, there.samples)
    pd.testing.assert_frame_equal(here.utilisation, there.utilisation)


def test_the_command_line_on_a_scheduler_writes_the_same_tables(client: object, tmp_path) -> None:
    import contextlib
    import io

    from allocator.cli import main

    s = allocator.sample_path
    spec_file = tmp_path / "what-if.yaml"
    spec_file.write_text(
        f"base: {{force: {s('force.yaml')}, demand: {s('demand.csv')}}}\n"
        "scenarios:\n  - name: DA up\n    demand: [{type: DA, multiplier: 1.2}]\n"
        "bootstrap: {resamples: 3, seed: 1}\n", encoding="utf-8")
    address = client.scheduler.address  # type: ignore[attr-defined]
    outputs = {}
    for name, extra in (("here", ["--processes", "1"]), ("there", ["--dask", address])):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(["scenarios", str(spec_file), "--out", str(tmp_path / name), "--quiet", *extra])
        assert code == 0
        outputs[name] = tmp_path / name
    for table in ("comparison.csv", "scenarios.csv", "bootstrap.csv", "report.md"):
        assert (outputs["here"] / table).read_bytes() == (outputs["there"] / table).read_bytes(), table


def test_an_unusable_scheduler_address_is_an_input_error(tmp_path) -> None:
    import contextlib
    import io

    from allocator.cli import main

    spec_file = tmp_path / "what-if.yaml"
    s = allocator.sample_path
    spec_file.write_text(f"base: {{force: {s('force.yaml')}, demand: {s('demand.csv')}}}\nscenarios: []\n",
                         encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["scenarios", str(spec_file), "--out", str(tmp_path / "run"), "--dask", "bogus://nowhere"])
    assert code == 2 and "cannot connect to the scheduler" in err.getvalue()
