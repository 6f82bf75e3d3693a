"""Robustness to demand: resample whole weeks of the demand window and measure a posting against each.

The records are split by week of the window, counted back from ``as_of``
(week 0 is the seven days up to ``as_of``), and each week is reduced to its own
summable :class:`~allocator.workload.kernel.Partials` once. Recency weights
factor exactly: a record ``d`` days into week ``k`` has weight
``0.5 ** ((7 k + d) / half_life) = 0.5 ** (7 k / half_life) * 0.5 ** (d / half_life)``,
so a week's partials are kept with the within-week weights and a resample
that puts week ``j`` in slot ``k`` scales them by slot ``k``'s factor. The
resample that draws every week in its own slot gives back the base's partial
sums.

A resample draws as many weeks as the window has, with replacement, from a
seeded generator (:func:`numpy.random.default_rng`): the same seed gives the
same resamples, wherever they are computed. For each resample the workload is
contracted (:func:`allocator.workload_from_partials`), the formulation built
(:func:`allocator.build_formulation`) and the given posting's utilisation and
coverage read off it.

A window whose oldest week is only partly covered by records resamples that
week like any other (it then counts as less demand than a full week).

Demand too large for memory: :func:`allocator.load_partitioned_workload` with
``weeks=True`` reduces every file per week of the window on Dask, with the same
week numbering and within-week weights, into a
:class:`~allocator.workload.partitioned.SparseWeekPartials`; pass the
:class:`~allocator.workload.partitioned.PartitionedWorkload` as the base. The
same seed then draws the same weeks, and the result equals the bootstrap of the
same records in memory to floating-point rounding (the sums are added in
another order).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import ArgumentError
from allocator.model.build import build_formulation
from allocator.model.force import Force
from allocator.results.rota import RotaAllocation
from allocator.solve.planner import allocate
from allocator.whatif.parallel import map_ordered, workers
from allocator.whatif.run import Base, check_patterns, load_base
from allocator.whatif.spec import ScenarioSpec
from allocator.workload.engine import Workload, workload_from_partials
from allocator.workload.kernel import Partials, partial_sums
from allocator.workload.partitioned import PartitionedWorkload, SparseWeekPartials

__all__ = ["BootstrapResult", "Resampled", "WeekPartials", "bootstrap", "resampled", "week_partials"]

log = logging.getLogger(__name__)

_NS_PER_DAY = 86_400_000_000_000
_NS_PER_WEEK = 7 * _NS_PER_DAY


@dataclass(frozen=True, eq=False)
class WeekPartials:
    """Per-week partial sums of a base: arrays stacked on a first axis of weeks (0 = the latest).

    ``factor[k]`` is the recency weight of slot ``k`` (1 without a half-life).
    """

    count: np.ndarray
    weight: np.ndarray
    minutes: np.ndarray
    factor: np.ndarray
    first_ns: int | None

    @property
    def weeks(self) -> int:
        """Weeks in the window."""
        return int(self.count.shape[0])

    def resample(self, draw: np.ndarray) -> Partials:
        """The partials of the weeks ``draw[k]`` put in slots ``k`` (summed in slot order: deterministic)."""
        draw = np.asarray(draw, dtype=np.int64)
        if draw.shape != (self.weeks,):
            raise ValueError(f"a resample draws {self.weeks} weeks, got {draw.shape}")
        count = np.zeros(self.count.shape[1:], dtype=self.count.dtype)
        weight = np.zeros(self.weight.shape[1:])
        minutes = np.zeros(self.minutes.shape[1:])
        for k, j in enumerate(draw.tolist()):
            count += self.count[j]
            weight += self.factor[k] * self.weight[j]
            minutes += self.factor[k] * self.minutes[j]
        return Partials(count, weight, minutes, self.first_ns)


def week_partials(base: Base) -> WeekPartials:
    """Split the base's records by week of the window and reduce each week to its partial sums.

    Raises
    ------
    ArgumentError
        A partitioned base (no records in memory): its week sums, when read
        with ``weeks=True``, are :attr:`Base.weeks <allocator.whatif.run.Base.weeks>`.
    """
    prepared, records = base.prepared, base.records
    if prepared is None or records is None:
        raise ArgumentError("base", "partitioned", "holds no records to split by week: its week sums are "
                            "base.weeks (read the partitioned demand with weeks=True)")
    stamps = records["timestamp"]
    utc = np.asarray(stamps.array, dtype="datetime64[ns]").view(np.int64)
    if utc.size != len(prepared):
        raise ValueError("the base's records and prepared records differ in length")
    week = (base.as_of.value - utc) // _NS_PER_WEEK
    n_weeks = int(week.max()) + 1 if week.size else 1
    half_life = base.force.settings.half_life_days
    factor: np.ndarray = np.ones(n_weeks)
    weight = prepared.weight
    if weight is not None and half_life is not None:
        factor = 0.5 ** (7.0 * np.arange(n_weeks) / half_life)
        weight = weight / factor[week]
    A, T = len(prepared.areas), len(prepared.demand_types)
    shape = (n_weeks, A, 168, T)
    count = np.zeros((*shape, 2), dtype=np.int64)
    w_sum = np.zeros((*shape, 2))
    minutes = np.zeros(shape)
    order = np.argsort(week, kind="stable")
    bounds = np.searchsorted(week[order], np.arange(n_weeks + 1))
    for k in range(n_weeks):
        rows = order[bounds[k]:bounds[k + 1]]
        if not rows.size:
            continue
        p = partial_sums(prepared.area[rows], prepared.demand_type[rows], prepared.hour_of_week[rows],
                         prepared.duration[rows], None if weight is None else weight[rows], A, T, threads=1)
        count[k], w_sum[k], minutes[k] = p.count, p.weight, p.minutes
    return WeekPartials(count, w_sum, minutes, factor, base.partials.first_ns)


@dataclass(frozen=True, eq=False)
class Resampled:
    """What a resampling sweep needs of its base, in memory or partitioned: see :func:`resampled`.

    ``weeks`` is a :class:`WeekPartials` (records in memory) or a
    :class:`~allocator.workload.partitioned.SparseWeekPartials` (a partitioned
    load): both give a resample's partials with ``resample(draw)``.
    """

    force: Force
    workload: Workload
    current: Any
    weeks: WeekPartials | SparseWeekPartials
    overlap_rule: str | None = None

    @property
    def as_of(self) -> pd.Timestamp:
        """The end of the demand window."""
        return self.workload.as_of


def resampled(base: Base | PartitionedWorkload | ScenarioSpec | str | Path, client: Any = None) -> Resampled:
    """The force, workload, current posting and week partials of a base to resample.

    ``base`` is a :class:`~allocator.whatif.run.Base` (its records split by
    week with :func:`week_partials`; a base read partitioned gives its week
    sums as they are), a scenario file (read with
    :func:`~allocator.whatif.run.load_base`, partitioned demand with its week
    sums), or a :class:`~allocator.workload.partitioned.PartitionedWorkload`
    loaded with ``weeks=True`` (its week sums as they are; no current posting).

    Raises
    ------
    ArgumentError
        A partitioned workload or base read without ``weeks=True``.
    allocator.errors.InputError
        A force on shifts rather than duty patterns.
    """
    if isinstance(base, PartitionedWorkload):
        if base.weeks is None or base.force is None:
            raise ArgumentError("base", base, "load the partitioned demand with weeks=True to resample its weeks")
        check_patterns(base.force, "<Force>")
        return Resampled(base.force, base.workload, None, base.weeks, base.workload.overlap_rule)
    if not isinstance(base, Base):
        base = load_base(base, client=client, weeks=True)
    if base.partitioned is not None:
        if base.weeks is None:
            raise ArgumentError("base", "partitioned", "was read without its per-week sums, which resampling "
                                "needs: load the partitioned demand with weeks=True (a scenario file with a "
                                "bootstrap: section does)")
        return Resampled(base.force, base.workload(), base.current, base.weeks)
    return Resampled(base.force, base.workload(), base.current, week_partials(base))


def _measure(shared: tuple[Any, ...], draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Utilisation and coverage (resamples, areas, roles, buckets) of posting ``x`` under each draw."""
    weeks, force, as_of, x, overlap_rule = shared
    util, cov = [], []
    for draw in draws:
        workload = workload_from_partials(weeks.resample(draw), force, as_of, overlap_rule)
        f = build_formulation(workload, force)
        util.append(f.utilisation(x))
        cov.append(f.coverage(x))
    return np.stack(util), np.stack(cov)


@dataclass
class BootstrapResult:
    """How a posting's utilisation and coverage spread over resampled weeks of demand.

    Attributes
    ----------
    utilisation
        One row per (area, role, bucket): the base's utilisation, and over the
        resamples the mean, median, 10th and 90th percentiles (percent).
    min_coverage
        One row per resample: the smallest coverage per role and over all.
    samples
        Utilisation per (resample, area, role, bucket), float64.
    seed, resamples, weeks
        The generator's seed, the number of resamples, the weeks in the window.
    draws
        The weeks each resample drew, int64 (resamples, weeks).
    """

    utilisation: pd.DataFrame
    min_coverage: pd.DataFrame
    samples: np.ndarray
    seed: int
    resamples: int
    weeks: int
    draws: np.ndarray

    def summary(self) -> pd.DataFrame:
        """Per role (and ``all``): the base's smallest coverage and its 10th, 50th and 90th percentiles."""
        cols = [c for c in self.min_coverage.columns if c != "resample"]
        rows = {c: {"p10": float(np.percentile(self.min_coverage[c], 10)),
                    "median": float(np.percentile(self.min_coverage[c], 50)),
                    "p90": float(np.percentile(self.min_coverage[c], 90))} for c in cols}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "role"
        return out

    def busiest(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` buckets with the highest 90th-percentile utilisation."""
        u = self.utilisation
        return u.sort_values(["p90", "area", "role", "bucket"], ascending=[False, True, True, True],
                             kind="stable").head(n).reset_index(drop=True)

    def plot(self, n: int = 15) -> Any:
        """Median utilisation with its 10-90% range for the ``n`` busiest buckets (a ``Figure``)."""
        from allocator.present.whatif_report import plot_bootstrap

        return plot_bootstrap(self.busiest(n))


def bootstrap(base: Base | PartitionedWorkload | ScenarioSpec | str | Path, posting: RotaAllocation | np.ndarray | None = None,
              resamples: int = 200, seed: int = 0, client: Any = None, processes: int | None = None,
              backend: str = "cpsat", time_limit: float = 60.0) -> BootstrapResult:
    """The distribution of a posting's utilisation over seeded resamples of whole weeks of demand.

    Parameters
    ----------
    base
        The base (:func:`~allocator.whatif.run.load_base`,
        :meth:`~allocator.whatif.run.Base.from_records`), a scenario file, or
        partitioned demand too large for memory
        (:func:`allocator.load_partitioned_workload` with ``weeks=True``).
    posting
        A :class:`~allocator.results.rota.RotaAllocation` of the base's force
        (or its posts per column, ``allocation.x``); default the base's own
        allocation (with its current posting, if any).
    resamples
        Number of resamples (1 or more).
    seed
        Seed of the generator: the same seed gives the same result.
    client, processes
        A ``dask.distributed.Client``, or local worker processes (default the
        CPU count; 1: here). The result does not depend on where it ran.
    backend, time_limit
        For the base's own allocation when ``posting`` is not given.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ArgumentError("resamples", resamples, "must be a whole number, 1 or more")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ArgumentError("seed", seed, "must be a whole number, 0 or more")
    sweep = resampled(base, client)
    force: Force = sweep.force
    chosen: Any = posting
    if chosen is None:
        chosen = allocate(sweep.workload, force, current=sweep.current, backend=backend, time_limit=time_limit)
    x = np.asarray(chosen.x if isinstance(chosen, RotaAllocation) else chosen, dtype=np.int64)
    base_f = build_formulation(sweep.workload, force)
    if x.shape != (base_f.col_area.size,):
        raise ArgumentError("posting", x.shape, f"expected posts for the force's {base_f.col_area.size} columns")
    weeks = sweep.weeks
    draws = np.random.default_rng(seed).integers(0, weeks.weeks, size=(resamples, weeks.weeks))
    n = workers(processes, resamples) if client is None else max(1, min(resamples, 16))
    size = -(-resamples // n)
    tasks = [draws[i:i + size] for i in range(0, resamples, size)]
    log.info("bootstrap: %d resamples of %d weeks in %d tasks", resamples, weeks.weeks, len(tasks))
    shared = (weeks, force, sweep.as_of, x, sweep.overlap_rule)
    parts = map_ordered(_measure, tasks, client=client, processes=n, shared=shared)
    util = np.concatenate([p[0] for p in parts])
    cov = np.concatenate([p[1] for p in parts])

    A, R, B = base_f.shape
    ai, ri, bi = np.indices((A, R, B)).reshape(3, -1)
    flat = util.reshape(resamples, -1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            table = pd.DataFrame({
                "area": [base_f.areas[i] for i in ai],
                "role": [base_f.roles[i] for i in ri],
                "bucket": [base_f.buckets[i] for i in bi],
                "base": base_f.utilisation(x).ravel(),
                "mean": np.nanmean(flat, axis=0),
                "median": np.nanpercentile(flat, 50, axis=0),
                "p10": np.nanpercentile(flat, 10, axis=0),
                "p90": np.nanpercentile(flat, 90, axis=0),
            })
            mins: dict[str, Any] = {"resample": np.arange(resamples, dtype=np.int64)}
            for r, role in enumerate(base_f.roles):
                c = cov[:, :, r, :].reshape(resamples, -1)
                mins[role] = np.where(np.isfinite(c), c, np.inf).min(axis=1)
            all_c = cov.reshape(resamples, -1)
            mins["all"] = np.where(np.isfinite(all_c), all_c, np.inf).min(axis=1)
    frame = pd.DataFrame(mins)
    for col in frame.columns[1:]:
        frame[col] = frame[col].where(np.isfinite(frame[col]), math.nan)
    return BootstrapResult(table, frame, util, seed, resamples, weeks.weeks, draws)
