"""Run the scenarios of a scenario file: the base read once, each scenario solved on its own process.

:func:`load_base` reads the force, the demand extract and the current posting
once and reduces the records to their summable partial sums. Each scenario is
then a varied force and (for demand growth) scaled partial sums
(:mod:`allocator.whatif.apply`); its workload is contracted from the partials
with :func:`allocator.workload_from_partials` and allocated with
:func:`allocator.allocate`. No record is read twice.

Demand too large for memory (a folder of Parquet partitions, or a list of
files, as ``base.demand``) is reduced partition by partition on Dask
(:func:`allocator.load_partitioned_workload`); the base then holds only the
partial sums (:meth:`Base.from_partitioned`) and every sweep runs on it as on
one extract.

:func:`run_scenarios` returns :class:`ScenarioResults`: one tidy table
(scenario, area, role, bucket, posts, on duty, coverage, utilisation), a
comparison of headline metrics per scenario, and plots. The unvaried base
always comes first; a scenario that no posting can meet appears with its
status ``infeasible`` and the reasons, while the others still run.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocator.data.demand import DemandLoad, load_demand
from allocator.data.records import PreparedRecords, prepare_records
from allocator.errors import ArgumentError, InputError, Problem
from allocator.model.force import Force
from allocator.model.forcefile import load_force
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError
from allocator.solve.planner import allocate
from allocator.whatif.apply import apply_scenario
from allocator.whatif.parallel import map_ordered
from allocator.whatif.spec import BASE_NAME, Scenario, ScenarioError, ScenarioSpec, load_scenarios
from allocator.workload.engine import Workload, workload_from_partials
from allocator.workload.kernel import Partials
from allocator.workload.partitioned import (
    PartitionedWorkload,
    SparseWeekPartials,
    load_partitioned_workload,
)

__all__ = [
    "Base",
    "ScenarioOutcome",
    "ScenarioResults",
    "load_base",
    "run_scenarios",
    "solve_scenario",
]

log = logging.getLogger(__name__)

#: statuses with a posting
SOLVED = ("optimal", "feasible")
#: the solver stage whose bound is the proven smallest coverage of all roles
MAXIMIN_ALL = "all"


@dataclass(frozen=True, eq=False)
class Base:
    """The base of a sweep, read once: the force, its demand's partial sums, and the records when in memory.

    A base read from one extract (:func:`load_base`, :meth:`from_records`)
    holds its records; a base read from partitioned demand
    (:meth:`from_partitioned`) holds only the summed partials (and, when asked
    for, the per-week sums the bootstrap resamples): the sweeps need nothing
    else.

    Attributes
    ----------
    force
        The base force (a force on duty patterns).
    records
        The accepted demand records (``DemandLoad.records``), in the order of
        ``prepared``; None for a partitioned base.
    prepared
        The records checked against the force (:func:`allocator.prepare_records`);
        None for a partitioned base.
    partials
        Their summable partial sums.
    current
        The current posting (a path or frame :func:`allocator.allocate` reads), or None.
    loaded
        The :class:`~allocator.data.demand.DemandLoad` when read from a file.
    partitioned
        The :class:`~allocator.workload.partitioned.PartitionedWorkload` of a
        partitioned base (its summary, a table per file, every reject), else None.
    """

    force: Force
    records: pd.DataFrame | None
    prepared: PreparedRecords | None
    partials: Partials
    current: Any = None
    loaded: DemandLoad | None = field(default=None, repr=False)
    partitioned: PartitionedWorkload | None = field(default=None, repr=False)

    @property
    def as_of(self) -> pd.Timestamp:
        """The end of the demand window."""
        if self.prepared is not None:
            return self.prepared.as_of
        if self.partitioned is None:
            raise ArgumentError("base", self, "holds neither records nor a partitioned workload")
        return self.partitioned.workload.as_of

    @property
    def weeks(self) -> SparseWeekPartials | None:
        """The per-week partial sums of a partitioned base read with ``weeks=True``, else None."""
        return self.partitioned.weeks if self.partitioned is not None else None

    @property
    def n_records(self) -> int:
        """The accepted demand records."""
        if self.records is not None:
            return len(self.records)
        return self.partitioned.summary.accepted if self.partitioned is not None else self.partials.n_records

    def workload(self, force: Force | None = None, partials: Partials | None = None) -> Workload:
        """The workload of ``force`` (default the base's) on ``partials`` (default the base's)."""
        return workload_from_partials(self.partials if partials is None else partials,
                                      self.force if force is None else force, self.as_of)

    @classmethod
    def from_records(cls, records: pd.DataFrame, force: Force, current: Any = None, as_of: Any = None) -> Base:
        """A base from records in memory (``DemandLoad.records`` or any frame :func:`allocator.prepare_records` reads)."""
        check_patterns(force, "<Force>")
        if current is not None:
            check_current(current, force)
        prepared = prepare_records(records, force, as_of)
        return cls(force, records, prepared, prepared.partials(), current)

    @classmethod
    def from_partitioned(cls, pw: PartitionedWorkload, force: Force | None = None, current: Any = None) -> Base:
        """A base from partitioned demand (:func:`allocator.load_partitioned_workload`), no record in memory.

        ``force`` defaults to the force ``pw`` was loaded for; another force must
        have the same areas and demand types, and the sweeps contract the partials
        with its judgement. Scenarios and sensitivity need only the summed
        partials; the bootstrap and robust posting need ``pw`` loaded with
        ``weeks=True``.

        Raises
        ------
        ArgumentError
            A force whose areas or demand types differ from the partials', or
            a load with an overlap rule other than the force's.
        allocator.errors.InputError
            A force on shifts, or a bad current posting.
        """
        if not isinstance(pw, PartitionedWorkload):
            raise ArgumentError("pw", type(pw).__name__, "expected a PartitionedWorkload "
                                "(allocator.load_partitioned_workload)")
        if force is None:
            if pw.force is None:
                raise ArgumentError("force", None, "the partitioned workload does not name its force: give it")
            force = pw.force
        check_patterns(force, "<Force>")
        p = pw.workload.partials
        shape = (len(force.areas), len(force.demand_types))
        if (p.count.shape[0], p.count.shape[2]) != shape:
            raise ArgumentError("force", f"{shape[0]} areas, {shape[1]} demand types",
                                f"the partitioned workload has {p.count.shape[0]} areas and "
                                f"{p.count.shape[2]} demand types: load it for this force")
        rule = pw.workload.overlap_rule
        if rule is not None and rule != force.settings.overlap_rule:
            raise ArgumentError("pw", rule, f"loaded with overlap_rule {rule!r}; the sweeps use the force's "
                                f"({force.settings.overlap_rule!r}): load it without overlap_rule")
        if current is not None:
            check_current(current, force)
        return cls(force, None, None, p, current, None, pw)


@contextlib.contextmanager
def quiet_solves() -> Iterator[None]:
    """Keep the solver's warnings (one per solve: response floors short, welfare rules) off the
    terminal during a sweep; each solve's shortfalls are in its own row of the results."""
    log = logging.getLogger("allocator.solve")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def check_current(current: Any, force: Force) -> None:
    """Read a current posting of a force on patterns (``area, role, pattern, team, posts``) once, so that
    every bad row is reported (:class:`~allocator.errors.InputError`) before any work."""
    from allocator.model.build import check_current_patterns

    check_current_patterns(current, force)


def check_patterns(force: Force, source: str) -> None:
    """Refuse a force on shifts (legacy): what-if sweeps need one on duty patterns."""
    if force.is_legacy:
        raise InputError(source, [Problem(source, "patterns", "what-if sweeps need a force on duty patterns "
                                          "(windows and patterns); this force gives shifts")])


def load_base(spec: ScenarioSpec | str | Path, client: Any = None, *, weeks: bool | None = None,
              scheduler: Literal["threads", "processes", "sync"] = "threads", num_workers: int | None = None
              ) -> Base:
    """Read the base of a scenario file once; every scenario is checked against its force first.

    A ``base.demand`` that is a folder of Parquet partitions or a list of files
    is read partition by partition on Dask
    (:func:`allocator.load_partitioned_workload`, with the spec's ``as_of``)
    and gives a base without records in memory (:meth:`Base.from_partitioned`).

    Parameters
    ----------
    spec
        A scenario file's path, or a parsed :class:`~allocator.whatif.spec.ScenarioSpec`.
    client
        A ``dask.distributed.Client``: partitioned demand is read on its cluster
        (the one the sweeps then run on). One extract is read here regardless.
    weeks
        Partitioned demand only: also keep its per-week sums, which the
        bootstrap and robust posting resample (they cost memory). Default:
        when the spec has a ``bootstrap:`` section.
    scheduler, num_workers
        Partitioned demand without a client: Dask's local scheduler
        (``"threads"``, ``"processes"`` or ``"sync"``) and its workers.

    Raises
    ------
    ScenarioError
        Every scenario fault at once (unknown names, a varied force that is
        not valid), each naming the scenario and its line, before the demand is read.
    allocator.errors.InputError
        A fault in the force, the current posting or the demand (for
        partitioned demand, a :class:`~allocator.errors.DemandError` naming every bad file).
    """
    spec = spec if isinstance(spec, ScenarioSpec) else load_scenarios(spec)
    force = load_force(spec.force)
    check_patterns(force, str(spec.force))
    check_scenarios(spec, force)
    current: Any = None
    if spec.current is not None:
        check_current(spec.current, force)
        current = spec.current
    if spec.partitioned:
        if spec.as_of is None:  # a spec built by hand: parse_scenarios asks for it with its line
            raise ScenarioError(spec.source, [Problem(spec.source, "base.as_of", "missing; required when "
                                                      "base.demand is a folder or a list of files")])
        pw = load_partitioned_workload(spec.demand_source, force, spec.mapping, as_of=spec.as_of, client=client,
                                       scheduler=scheduler, num_workers=num_workers,
                                       weeks=spec.bootstrap is not None if weeks is None else weeks)
        return Base.from_partitioned(pw, force, current)
    assert isinstance(spec.demand, Path)
    loaded = load_demand(spec.demand, force, spec.mapping, as_of=spec.as_of)
    prepared = prepare_records(loaded.records, force, spec.as_of)
    return Base(force, loaded.records, prepared, prepared.partials(), current, loaded)


def check_scenarios(spec: ScenarioSpec, force: Force) -> list[Force]:
    """Every scenario's varied force; raises one :class:`ScenarioError` listing every scenario's faults."""
    problems: list[Problem] = []
    forces = []
    for s in spec.scenarios:
        try:
            forces.append(apply_scenario(force, Partials.zeros(len(force.areas), len(force.demand_types)), s,
                                         spec.source)[0])
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(spec.source, problems)
    return forces


# ------------------------------------------------------------------ one scenario
@dataclass
class ScenarioOutcome:
    """What one scenario gave: status, posting and its buckets, or the reasons there is none.

    ``posts`` is per (area, role, pattern, team) (:attr:`RotaAllocation.table`),
    ``buckets`` per (area, role, bucket), ``metrics`` per role
    (:attr:`RotaAllocation.metrics`), ``x`` the posts per formulation column.
    """

    name: str
    status: str
    reasons: list[str] = field(default_factory=list)
    note: str = ""
    posts: pd.DataFrame | None = None
    buckets: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None
    solver: dict[str, Any] = field(default_factory=dict)
    x: np.ndarray | None = None
    ratios: dict[str, float] = field(default_factory=dict)


def _num(value: Any) -> float:
    """A table cell as a float."""
    return float(value)


def _solver_dict(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    out: dict[str, Any] = {}
    for key in ("backend", "status", "gap", "seconds"):
        v = getattr(report, key, None)
        out[key] = v.item() if isinstance(v, np.generic) else v
    for key in ("objective", "bound"):
        stages = getattr(report, key, None) or {}
        out[key] = {str(k): float(v) for k, v in stages.items()}
    return out


def solve_scenario(task: tuple[Any, ...]) -> ScenarioOutcome:
    """Solve one scenario: ``(name, note, force, partials, as_of, current, max_moves, backend, time_limit)``.

    Runs in a worker process (or on a Dask worker); an infeasible scenario
    returns its reasons instead of raising.
    """
    name, note, force, partials, as_of, current, max_moves, backend, time_limit = task
    workload = workload_from_partials(partials, force, as_of)
    try:
        with quiet_solves():
            result = allocate(workload, force, current=current, max_moves=max_moves, backend=backend,
                              time_limit=time_limit)
    except InfeasibleError as exc:
        return ScenarioOutcome(name, "infeasible", [str(r) for r in exc.reasons] or [str(exc)], note,
                               solver=_solver_dict(exc.report))
    assert isinstance(result, RotaAllocation)
    status = result.solver.status
    if status not in SOLVED:
        return ScenarioOutcome(name, status, [f"the solver ended {status} within {time_limit:g} s"], note,
                               solver=_solver_dict(result.solver))
    return ScenarioOutcome(name, status, [], note, posts=result.table, buckets=result.buckets,
                           metrics=result.metrics, solver=_solver_dict(result.solver), x=result.x.copy(),
                           ratios=dict(result.ratios))


def _tasks(spec: ScenarioSpec, base: Base, forces: list[Force]) -> list[tuple[Any, ...]]:
    tasks: list[tuple[Any, ...]] = [(BASE_NAME, "", base.force, base.partials, base.as_of, base.current, None, spec.backend,
              spec.time_limit)]
    before = {r.name: (r.establishment, tuple(r.patterns)) for r in base.force.roles}
    for s, f in zip(spec.scenarios, forces, strict=True):
        _, partials = apply_scenario(base.force, base.partials, s, spec.source)
        current, note = base.current, s.note
        changed = [r.name for r in f.roles if (r.establishment, tuple(r.patterns)) != before[r.name]]
        if changed and current is not None:
            current = None
            note = "; ".join(x for x in (note, f"establishment or patterns of {', '.join(changed)} changed: solved "
                                         "without the current posting, moves not counted") if x)
        tasks.append((s.name, note, f, partials, base.as_of, current, s.max_moves if current is not None else None,
                      spec.backend, spec.time_limit))
    return tasks


# ------------------------------------------------------------------ results
class ScenarioResults:
    """The outcome of every scenario, the unvaried base first.

    Attributes
    ----------
    outcomes
        :class:`ScenarioOutcome` per scenario, in the spec's order (base first).
    spec
        The :class:`~allocator.whatif.spec.ScenarioSpec` run.
    """

    def __init__(self, outcomes: list[ScenarioOutcome], spec: ScenarioSpec | None = None,
                 scenarios: list[Scenario] | None = None):
        self.outcomes = list(outcomes)
        self.spec = spec
        self.scenarios = list(scenarios or [])

    def __repr__(self) -> str:
        statuses = ", ".join(f"{o.name}: {o.status}" for o in self.outcomes)
        return f"<ScenarioResults {len(self.outcomes)} scenarios ({statuses})>"

    def __getitem__(self, name: str) -> ScenarioOutcome:
        for o in self.outcomes:
            if o.name == name:
                return o
        raise KeyError(f"unknown scenario {name!r}; one of {', '.join(o.name for o in self.outcomes)}")

    @property
    def names(self) -> list[str]:
        """The scenarios' names, base first."""
        return [o.name for o in self.outcomes]

    @property
    def table(self) -> pd.DataFrame:
        """Tidy: ``scenario, area, role, bucket, posts, on_duty, coverage, utilisation`` of every solved scenario.

        ``posts`` are the (area, role)'s posts over its patterns and teams;
        ``on_duty`` the officers at work on average in the bucket; utilisation in percent.
        """
        frames = []
        for o in self.outcomes:
            if o.buckets is None or o.posts is None:
                continue
            posts = o.posts.groupby(["area", "role"], observed=True, sort=True)["posts"].sum()
            b = o.buckets
            keys = pd.MultiIndex.from_arrays([b["area"], b["role"]])
            frames.append(pd.DataFrame({
                "scenario": o.name,
                "area": b["area"].astype(str).to_numpy(),
                "role": b["role"].astype(str).to_numpy(),
                "bucket": b["bucket"].astype(str).to_numpy(),
                "posts": posts.reindex(keys).fillna(0).to_numpy(dtype=np.int64),
                "on_duty": b["on_duty"].to_numpy(dtype=np.float64),
                "coverage": b["coverage"].to_numpy(dtype=np.float64),
                "utilisation": b["utilisation"].to_numpy(dtype=np.float64),
            }))
        cols = ["scenario", "area", "role", "bucket", "posts", "on_duty", "coverage", "utilisation"]
        if not frames:
            return pd.DataFrame(columns=cols)
        out = pd.concat(frames, ignore_index=True)
        out["scenario"] = pd.Categorical(out["scenario"], categories=self.names, ordered=True)
        return out[cols]

    @property
    def comparison(self) -> pd.DataFrame:
        """One row per scenario: status, smallest coverage (all roles and per role), busiest bucket,
        officers moved, posts unallocated, buckets short of cover (coverage below 1), the smallest
        share of a response floor met (``response_floor_share``: 1 when every floor is met, NaN
        without service levels), the solver's objective, bound, gap and seconds, and the reasons of
        an infeasible scenario."""
        roles = self._roles()
        rows = []
        for o in self.outcomes:
            row: dict[str, Any] = {"scenario": o.name, "status": o.status}
            m = o.metrics
            row["min_coverage"] = _num(m.loc["all", "min_coverage"]) if m is not None else math.nan
            for role in roles:
                row[f"min_coverage_{role}"] = (_num(m.loc[role, "min_coverage"])
                                               if m is not None and role in m.index else math.nan)
            busiest = {"busiest_area": "", "busiest_role": "", "busiest_bucket": "", "busiest_utilisation": math.nan}
            if o.buckets is not None:
                u = o.buckets["utilisation"].to_numpy(dtype=np.float64)
                if np.isfinite(u).any():
                    i = int(np.nanargmax(u))
                    top = o.buckets.iloc[i]
                    busiest = {"busiest_area": str(top["area"]), "busiest_role": str(top["role"]),
                               "busiest_bucket": str(top["bucket"]), "busiest_utilisation": float(u[i])}
            row.update(busiest)
            row["moves"] = _num(m.loc["all", "moves"]) if m is not None else math.nan
            row["unallocated"] = int(_num(m.loc["all", "unallocated"])) if m is not None else -1
            if o.buckets is not None:
                cov = o.buckets["coverage"].to_numpy(dtype=np.float64)
                row["buckets_short"] = int(np.sum(np.isfinite(cov) & (cov < 1.0)))
            else:
                row["buckets_short"] = -1
            floors = o.solver.get("objective", {}).get("service level[all]", math.nan)
            row["response_floor_share"] = float(floors) if isinstance(floors, int | float) else math.nan
            bound = o.solver.get("bound", {}).get(f"maximin[{MAXIMIN_ALL}]", math.nan)
            row["proven_bound"] = float(bound)
            gap = o.solver.get("gap")
            row["gap"] = float(gap) if isinstance(gap, int | float) else math.nan
            row["reasons"] = "; ".join(o.reasons)
            row["note"] = o.note
            rows.append(row)
        frame = pd.DataFrame(rows)
        for c in ("unallocated", "buckets_short"):
            frame[c] = frame[c].astype("Int64").where(frame[c] >= 0)
        return frame

    @property
    def solver(self) -> pd.DataFrame:
        """Per scenario and solver stage: ``scenario, stage, objective, bound`` and the run's
        ``backend, status, gap, seconds`` (seconds vary from run to run; every other table does not)."""
        rows = []
        for o in self.outcomes:
            s = o.solver
            stages = list(s.get("objective", {})) or [""]
            for stage in stages:
                rows.append({"scenario": o.name, "stage": stage,
                             "objective": s.get("objective", {}).get(stage, math.nan),
                             "bound": s.get("bound", {}).get(stage, math.nan),
                             "backend": s.get("backend", ""), "status": o.status,
                             "gap": s.get("gap", math.nan), "seconds": s.get("seconds", math.nan)})
        return pd.DataFrame(rows, columns=["scenario", "stage", "objective", "bound", "backend", "status", "gap",
                                           "seconds"])

    def _roles(self) -> list[str]:
        for o in self.outcomes:
            if o.metrics is not None:
                return [str(r) for r in o.metrics.index if r != "all"]
        return []

    def posting_changes(self, scenario: str) -> pd.DataFrame:
        """Posts per (area, role) in ``scenario`` against the base: ``area, role, base, posts, change``."""
        base, other = self[BASE_NAME], self[scenario]
        if base.posts is None or other.posts is None:
            raise ValueError(f"no posting to compare: base {base.status}, {scenario} {other.status}")
        a = base.posts.groupby(["area", "role"], observed=True)["posts"].sum().rename("base")
        b = other.posts.groupby(["area", "role"], observed=True)["posts"].sum().rename("posts")
        frame = pd.concat([a, b], axis=1).fillna(0).astype(np.int64).reset_index()
        frame["change"] = frame["posts"] - frame["base"]
        frame["area"] = frame["area"].astype(str)
        frame["role"] = frame["role"].astype(str)
        return frame

    def plot(self) -> Any:
        """The smallest coverage per role in each scenario, grouped bars (a matplotlib ``Figure``)."""
        from allocator.present.whatif_report import plot_comparison

        return plot_comparison(self.comparison)


def run_scenarios(spec: ScenarioSpec | str | Path, client: Any = None, processes: int | None = None,
                  base: Base | None = None) -> ScenarioResults:
    """Run every scenario of a scenario file, in parallel; the unvaried base first.

    Parameters
    ----------
    spec
        A scenario file's path, or a parsed :class:`~allocator.whatif.spec.ScenarioSpec`.
    client
        A ``dask.distributed.Client``: the scenarios are solved on its cluster
        (and a partitioned base demand is read on it, see :func:`load_base`).
    processes
        Without a client: local worker processes (default the spec's
        ``options.processes``, else the CPU count; 1 solves them here in turn).
    base
        The base already read (:func:`load_base`, :meth:`Base.from_partitioned`), to run several
        sweeps on one reading.

    Returns
    -------
    ScenarioResults
        In the spec's order, whatever ran them: the same numbers in-process,
        on local processes or on a cluster.

    Raises
    ------
    ScenarioError
        Every fault of the scenario file at once (names the scenario and its line).
    """
    spec = spec if isinstance(spec, ScenarioSpec) else load_scenarios(spec)
    if processes is not None and processes < 1:
        raise ArgumentError("processes", processes, "must be 1 or more")
    if base is None:
        base = load_base(spec, client=client)
    forces = check_scenarios(spec, base.force)
    tasks = _tasks(spec, base, forces)
    log.info("running %d scenarios", len(tasks))
    outcomes = map_ordered(solve_scenario, tasks, client=client,
                           processes=processes if processes is not None else spec.processes)
    return ScenarioResults(outcomes, spec, list(spec.scenarios))
