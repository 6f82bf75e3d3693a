"""A posting robust to demand: the candidate whose smallest coverage holds best over resampled weeks.

The exact problem (the posting that maximises the 10th percentile of the
smallest coverage over resamples) is a chance-constrained integer programme;
this module does not claim to solve it. It chooses, **among candidates**, the
one with the highest 10th percentile:

* the base's own allocation (demand-led, no current posting), and
* the allocation on each of ``candidates`` resamples of the window's weeks
  (what the posting would be had the window looked like that resample).

Candidates are drawn and judged on independent resamples (two streams of one
seeded generator), so a candidate is not judged on the demand it was fitted
to. Ties go to the earlier candidate, the base first. The result names the
base's 10th percentile beside the chosen one's, so the gain is plain, and it
is never below the base's (the base is a candidate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import ArgumentError
from allocator.model.build import build_formulation
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError
from allocator.solve.planner import allocate
from allocator.whatif.bootstrap import resampled
from allocator.whatif.parallel import map_ordered, workers
from allocator.whatif.run import Base
from allocator.whatif.spec import ScenarioSpec
from allocator.workload.engine import workload_from_partials
from allocator.workload.partitioned import PartitionedWorkload

__all__ = ["RobustResult", "robust_posting"]

log = logging.getLogger(__name__)


def _fit(shared: tuple[Any, ...], draws: np.ndarray) -> list[np.ndarray | None]:
    """The allocation (posts per column) on each resample, None where none exists."""
    weeks, force, as_of, overlap_rule, backend, time_limit = shared
    out: list[np.ndarray | None] = []
    for draw in draws:
        workload = workload_from_partials(weeks.resample(draw), force, as_of, overlap_rule)
        try:
            result = allocate(workload, force, backend=backend, time_limit=time_limit)
        except InfeasibleError:
            out.append(None)
            continue
        assert isinstance(result, RotaAllocation)
        out.append(result.x.copy() if result.solver.status in ("optimal", "feasible") else None)
    return out


def _judge(shared: tuple[Any, ...], draws: np.ndarray) -> np.ndarray:
    """Smallest coverage (draws, candidates, roles + 1) of every candidate on each resample (last: all roles)."""
    weeks, force, as_of, overlap_rule, xs = shared
    out = []
    for draw in draws:
        f = build_formulation(workload_from_partials(weeks.resample(draw), force, as_of, overlap_rule), force)
        per = []
        for x in xs:
            cov = f.coverage(x)  # (areas, roles, buckets)
            finite = np.where(np.isfinite(cov), cov, np.inf)
            roles = finite.min(axis=(0, 2))
            per.append(np.append(roles, roles.min()))
        out.append(np.stack(per))
    return np.stack(out)


@dataclass
class RobustResult:
    """The chosen posting and how every candidate fared.

    Attributes
    ----------
    candidates
        One row per candidate: ``candidate`` (``base`` or ``resample k``),
        ``p10`` (10th percentile of the smallest coverage over all roles),
        ``median``, and ``p10_<role>`` per role; ``chosen`` marks the one kept.
    x
        The chosen posting's posts per formulation column.
    table
        The chosen posting per (area, role, pattern, team).
    """

    candidates: pd.DataFrame
    x: np.ndarray
    table: pd.DataFrame

    @property
    def gain(self) -> float:
        """The chosen candidate's 10th percentile over the base's (1.0: the base was kept)."""
        c = self.candidates.set_index("candidate")["p10"]
        return float(c[self.candidates.loc[self.candidates["chosen"], "candidate"].iloc[0]] / c["base"])


def robust_posting(base: Base | PartitionedWorkload | ScenarioSpec | str | Path, candidates: int = 20, resamples: int = 100,
                   seed: int = 0, client: Any = None, processes: int | None = None, backend: str = "cpsat",
                   time_limit: float = 60.0) -> RobustResult:
    """Among candidate postings, the one whose 10th-percentile smallest coverage over resamples is highest.

    Parameters
    ----------
    base
        The base (see :func:`~allocator.whatif.run.load_base`), a scenario file, or
        partitioned demand loaded with ``weeks=True`` (as for :func:`~allocator.whatif.bootstrap.bootstrap`).
    candidates
        Resamples to fit a candidate posting to (besides the base's own).
    resamples
        Resamples to judge every candidate on (the same for all of them).
    seed
        Seed of the generator; the same seed gives the same choice.
    client, processes, backend, time_limit
        As for :func:`~allocator.whatif.sensitivity.sensitivity`.
    """
    for name, value, lo in (("candidates", candidates, 0), ("resamples", resamples, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ArgumentError(name, value, f"must be a whole number, {lo} or more")
    sweep = resampled(base, client)
    force = sweep.force
    weeks = sweep.weeks
    fit_rng, judge_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    fit_draws = fit_rng.integers(0, weeks.weeks, size=(candidates, weeks.weeks))
    judge_draws = judge_rng.integers(0, weeks.weeks, size=(resamples, weeks.weeks))

    own = allocate(sweep.workload, force, backend=backend, time_limit=time_limit)
    assert isinstance(own, RotaAllocation)
    xs: list[np.ndarray] = [own.x.copy()]
    names = ["base"]
    if candidates:
        n = workers(processes, candidates) if client is None else max(1, min(candidates, 16))
        size = -(-candidates // n)
        fitted = [x for part in map_ordered(_fit, [fit_draws[i:i + size] for i in range(0, candidates, size)],
                                            client=client, processes=n,
                                            shared=(weeks, force, sweep.as_of, sweep.overlap_rule, backend, time_limit)) for x in part]
        for k, x in enumerate(fitted):
            if x is not None:
                xs.append(x)
                names.append(f"resample {k + 1}")
    n = workers(processes, resamples) if client is None else max(1, min(resamples, 16))
    size = -(-resamples // n)
    judged = np.concatenate(map_ordered(_judge, [judge_draws[i:i + size] for i in range(0, resamples, size)],
                                        client=client, processes=n, shared=(weeks, force, sweep.as_of, sweep.overlap_rule, xs)))
    judged = np.where(np.isfinite(judged), judged, np.nan)  # (resamples, candidates, roles + 1)
    p10 = np.nanpercentile(judged, 10, axis=0)
    median = np.nanpercentile(judged, 50, axis=0)
    frame = pd.DataFrame({"candidate": names, "p10": p10[:, -1], "median": median[:, -1]})
    for r, role in enumerate(force.role_names):
        frame[f"p10_{role}"] = p10[:, r]
    best = int(np.argmax(np.nan_to_num(p10[:, -1], nan=-np.inf)))  # first of the best: the base wins ties
    frame["chosen"] = np.arange(len(frame)) == best
    table = own.table.copy()
    table["posts"] = xs[best]
    log.info("robust posting: %s of %d candidates, 10th percentile %.4g (base %.4g)", names[best], len(xs),
             p10[best, -1], p10[0, -1])
    return RobustResult(frame, xs[best], table)
