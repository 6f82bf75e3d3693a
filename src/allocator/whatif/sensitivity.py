"""Sensitivity to judgement: how far the posting and the smallest coverage move when one value changes.

For each judgement value chosen (``minutes``, ``impact`` and/or ``share`` of a
(demand type, role) pair) the value is lowered and raised by ``change``
(0.2: -20% and +20%), the workload contracted again from the base's partial
sums (:func:`allocator.workload_from_partials`: no record is re-read) and the
force allocated again. A changed ``share`` takes its difference from (or gives
it to) the type's other roles in proportion to their shares, so the type's
shares still sum to 1.

The posting is the demand-led one (no current posting, no move limit): the
question is how the answer depends on the judgement, not how many officers a
monthly reallocation would move. Movement is counted on (area, role, pattern,
team) posts: ``sum |x - x_base| / 2`` officers.

:class:`SensitivityResult` ranks the values by the change in the role's smallest
coverage (the larger of the two sides, then by the officers that move) and draws a tornado chart.
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
from allocator.model.force import Force
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError
from allocator.solve.planner import allocate
from allocator.whatif.parallel import map_ordered, workers
from allocator.whatif.run import Base, load_base, quiet_solves
from allocator.whatif.spec import JUDGEMENT_FIELDS, ScenarioSpec
from allocator.workload.engine import workload_from_partials

__all__ = ["SensitivityResult", "perturbed_force", "sensitivity"]

log = logging.getLogger(__name__)

_COLUMNS = [
    "rank", "demand_type", "role", "field", "base_value", "low_value", "high_value", "min_coverage_low",
    "min_coverage_high", "coverage_change_low", "coverage_change_high", "moved_low", "moved_high",
    "status_low", "status_high",
]


def perturbed_force(force: Force, demand_type: str, role: str, field: str, factor: float) -> Force | None:
    """The force with one judgement value multiplied by ``factor``; None when it cannot change.

    ``share`` is capped at 1 and the type's other roles share the rest in
    proportion to their shares; a share that is a type's whole work (no other
    role to take from or give to) cannot change and gives None.

    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force.yaml"))
    >>> f = perturbed_force(force, "DA", "PC", "share", 1.2)
    >>> t = f.judgement_table().set_index(["demand_type", "role"])
    >>> round(float(t.loc[("DA", "PC"), "share"]), 6), round(float(t.loc[("DA", "LCI"), "share"]), 6)
    (0.84, 0.16)
    """
    if field not in JUDGEMENT_FIELDS:
        raise ArgumentError("field", field, f"must be one of {', '.join(JUDGEMENT_FIELDS)}")
    rows = list(force.judgement)
    index = next((i for i, j in enumerate(rows) if j.demand_type == demand_type and j.role == role), None)
    if index is None:
        raise KeyError(f"the judgement has no row for ({demand_type}, {role})")
    row = rows[index]
    if field != "share":
        rows[index] = row.model_copy(update={field: float(getattr(row, field)) * factor})
    else:
        old = float(row.share)
        new = min(1.0, old * factor)
        others = [i for i, j in enumerate(rows) if j.demand_type == demand_type and i != index and j.share > 0]
        rest = sum(float(rows[i].share) for i in others)
        if not others or rest <= 0:
            return None
        scale = (1.0 - new) / rest
        rows[index] = row.model_copy(update={"share": new})
        for i in others:
            rows[i] = rows[i].model_copy(update={"share": float(rows[i].share) * scale})
    return force.model_copy(update={"judgement": rows})


def _num(value: Any) -> float:
    return float(value)


def _solve_batch(shared: tuple[Any, ...], forces: list[Force]
                 ) -> list[tuple[str, np.ndarray | None, dict[str, float]]]:
    """Solve a batch of perturbed forces on one set of partial sums: (status, posts per column, ratios)."""
    partials, as_of, backend, time_limit = shared
    out: list[tuple[str, np.ndarray | None, dict[str, float]]] = []
    for force in forces:
        workload = workload_from_partials(partials, force, as_of)
        try:
            with quiet_solves():
                result = allocate(workload, force, backend=backend, time_limit=time_limit)
        except InfeasibleError:
            out.append(("infeasible", None, {}))
            continue
        assert isinstance(result, RotaAllocation)
        if result.solver.status not in ("optimal", "feasible"):
            out.append((result.solver.status, None, {}))
        else:
            out.append((result.solver.status, result.x.copy(), dict(result.ratios)))
    return out


@dataclass
class SensitivityResult:
    """The sensitivity of the posting to judgement values.

    Attributes
    ----------
    table
        One row per (demand type, role, field), ranked: the base value, the low
        and high values, the role's smallest coverage at each, its change in
        percent of the base's, the officers moved against the base posting
        (all roles) and the status of each solve.
    change
        The relative change applied (0.2: -20% and +20%).
    base_coverage
        The base's smallest coverage per role.
    skipped
        Values that cannot change (a share that is its type's whole work).
    """

    table: pd.DataFrame
    change: float
    base_coverage: dict[str, float]
    skipped: list[str]

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` values the posting depends on most."""
        return self.table.head(n)

    def plot(self, n: int = 15) -> Any:
        """A tornado chart of the change in smallest coverage for the ``n`` top-ranked values (a ``Figure``)."""
        from allocator.present.whatif_report import plot_tornado

        return plot_tornado(self.table.head(n), self.change)


def _pairs(force: Force, fields: tuple[str, ...], types: list[str] | None, roles: list[str] | None
           ) -> list[tuple[str, str, str]]:
    for kind, names, valid in (("demand type", types, force.type_codes), ("role", roles, force.role_names)):
        for name in names or []:
            if name not in valid:
                from allocator.errors import did_you_mean

                raise ArgumentError("types" if kind == "demand type" else "roles", name,
                                    did_you_mean(kind, name, valid))
    out = []
    for j in force.judgement:
        if types is not None and j.demand_type not in types:
            continue
        if roles is not None and j.role not in roles:
            continue
        if j.share <= 0:
            continue  # the role does none of the type's work: no value of it moves anything
        for field in fields:
            out.append((j.demand_type, j.role, field))
    return out


def sensitivity(base: Base | ScenarioSpec | str | Path, change: float = 0.2,
                fields: tuple[str, ...] | list[str] = ("minutes", "impact"), types: list[str] | None = None,
                roles: list[str] | None = None, client: Any = None, processes: int | None = None,
                backend: str = "cpsat", time_limit: float = 60.0) -> SensitivityResult:
    """How far the posting and the smallest coverage move when each judgement value changes by ``change``.

    Parameters
    ----------
    base
        The base (:func:`~allocator.whatif.run.load_base`,
        :meth:`~allocator.whatif.run.Base.from_records`,
        :meth:`~allocator.whatif.run.Base.from_partitioned`: only its partial
        sums are used) or a scenario file.
    change
        Relative change, 0 or more and below 1: each value is multiplied by
        ``1 - change`` and by ``1 + change``.
    fields
        Which values of each (demand type, role) pair: ``minutes``, ``impact``, ``share``.
    types, roles
        Only these demand types and roles (default all pairs with a share above 0).
    client
        A ``dask.distributed.Client`` to run the solves on its cluster (and to
        read a scenario file's partitioned demand on).
    processes
        Local worker processes without a client (default the CPU count; 1: here).
    backend, time_limit
        As for :func:`allocator.allocate`.

    Returns
    -------
    SensitivityResult
        The same table in-process, on processes or on a cluster.
    """
    if isinstance(change, bool) or not isinstance(change, int | float) or not 0 <= change < 1:
        raise ArgumentError("change", change, "must be a relative change from 0 to below 1 (0.2 for +-20%)")
    fields = tuple(fields)
    for f in fields:
        if f not in JUDGEMENT_FIELDS:
            raise ArgumentError("fields", f, f"must be among {', '.join(JUDGEMENT_FIELDS)}")
    if not isinstance(base, Base):
        base = load_base(base, client=client)
    force = base.force
    pairs = _pairs(force, fields, types, roles)
    shared = (base.partials, base.as_of, backend, time_limit)
    ((status0, x0, ratios0),) = _solve_batch(shared, [force])  # the base first, here: no sweep without it
    if x0 is None:
        raise InfeasibleError([f"the base itself is {status0}: there is no posting to measure movement from"])
    forces: list[Force] = []
    keys: list[tuple[str, str, str, float]] = []
    skipped: list[str] = []
    for t, r, f in pairs:
        low = perturbed_force(force, t, r, f, 1.0 - change)
        high = perturbed_force(force, t, r, f, 1.0 + change)
        if low is None or high is None:
            skipped.append(f"{t} / {r} / {f}: the role does all of the type's work")
            continue
        forces += [low, high]
        keys.append((t, r, f, 0.0))
    n = workers(processes, max(len(forces), 1)) if client is None else max(1, min(len(forces), 16))
    size = -(-len(forces) // n)
    batches = [forces[i:i + size] for i in range(0, len(forces), size)]
    log.info("sensitivity: %d solves in %d batches", len(forces), len(batches))
    solved = [s for batch in map_ordered(_solve_batch, batches, client=client, processes=n, shared=shared)
              for s in batch] if forces else []
    role_names = force.role_names
    judgement = force.judgement_table().set_index(["demand_type", "role"])
    rows = []
    for k, (t, r, f, _) in enumerate(keys):
        value = _num(judgement.loc[(t, r), f])
        row: dict[str, Any] = {"demand_type": t, "role": r, "field": f, "base_value": value}
        for side, factor, (status, x, ratios) in (("low", 1 - change, solved[2 * k]),
                                                  ("high", 1 + change, solved[2 * k + 1])):
            new = min(1.0, value * factor) if f == "share" else value * factor
            row[f"{side}_value"] = new
            cov = ratios.get(r, math.nan)
            base_cov = ratios0.get(r, math.nan)
            row[f"min_coverage_{side}"] = cov
            row[f"coverage_change_{side}"] = (100.0 * (cov - base_cov) / base_cov
                                              if math.isfinite(cov) and base_cov > 0 else math.nan)
            row[f"moved_{side}"] = (float(np.abs(x - x0).sum()) / 2 if x is not None else math.nan)
            row[f"status_{side}"] = status
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[c for c in _COLUMNS if c != "rank"])
    if len(frame):
        swing = np.fmax(frame["moved_low"].to_numpy(dtype=float), frame["moved_high"].to_numpy(dtype=float))
        cov = np.fmax(np.abs(frame["coverage_change_low"].to_numpy(dtype=float)),
                      np.abs(frame["coverage_change_high"].to_numpy(dtype=float)))
        order = np.lexsort((np.arange(len(frame)), -np.nan_to_num(swing, nan=-1.0), -np.nan_to_num(cov, nan=-1.0)))
        frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1, dtype=np.int64))
    return SensitivityResult(frame, float(change), {r: float(ratios0.get(r, math.nan)) for r in role_names},
                             skipped)
