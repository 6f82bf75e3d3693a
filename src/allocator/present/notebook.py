"""Compact HTML summaries of an allocation and a workload, for notebooks (``_repr_html_``).

Aggregates only (no record-level data): the solver's status, posts per area
and role, the smallest and largest coverage per role, officers moved; the
judged hours per area, shift and role.

Examples
--------
>>> import numpy as np, allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> W = np.random.default_rng(1).uniform(500, 3000, (6, 5, 3))
>>> text = allocation_html(allocator.allocate(W, force, time_limit=10))
>>> text.startswith('<div class="allocator-allocation allocator-repr">'), "<table" in text
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allocator.present.report import (
    Block,
    Bullets,
    Para,
    Table,
    coverage_extremes,
    fmt,
    in_order,
    posting_grid,
)
from allocator.present.report import html_fragment as _fragment

if TYPE_CHECKING:
    from allocator.results.allocation import Allocation
    from allocator.results.rota import RotaAllocation
    from allocator.workload.engine import Workload

__all__ = ["allocation_html", "rota_allocation_html", "workload_html"]

_STYLE = ("<style>.allocator-repr table{margin:.3em 0 .8em}.allocator-repr p{margin:.3em 0}"
          ".allocator-repr td,.allocator-repr th{text-align:right;padding:.1em .5em}"
          ".allocator-repr .t{text-align:left}</style>")


def _div(kind: str, blocks: list[Block]) -> str:
    return f'<div class="allocator-{kind} allocator-repr">{_STYLE}\n{_fragment(blocks)}\n</div>'


def allocation_html(allocation: Allocation) -> str:
    """A compact HTML summary of an allocation (what ``Allocation._repr_html_`` shows).

    The solver's status, gap and time; posts per area and role (with the
    current posting and the change when one was given); the smallest and
    largest coverage per role and where; officers moved per role and the
    limit; pre-solve warnings.
    """
    a = allocation
    p = a.problem
    s = a.solver
    areas, shifts, roles = list(p.areas), list(p.shifts), list(p.roles)
    head = (f"Allocation: {len(areas)} areas x {len(shifts)} shifts x {len(roles)} roles; "
            f"{s.backend} {s.status}, gap {s.gap:.3g}, {s.seconds:.2f} s")
    t = in_order(a.table, areas, shifts, roles)
    blocks: list[Block] = [Para(head), Table(posting_grid(t, areas, roles)),
                            Table(coverage_extremes(t, roles))]
    facts = []
    if p.current is not None:
        moved = dict(zip(roles, a.metrics["moves"].loc[roles].astype("int64").tolist(), strict=True))
        limit = f"; limit {p.max_moves} per role" if p.max_moves is not None else ""
        facts.append(f"Officers moved: {sum(moved.values()):,} ("
                     + ", ".join(f"{r} {n:,}" for r, n in moved.items()) + f"){limit}")
    unallocated = dict(zip(roles, a.metrics["unallocated"].loc[roles].astype("int64").tolist(), strict=True))
    if any(unallocated.values()):
        facts.append("Left unallocated: " + ", ".join(f"{r} {n:,}" for r, n in unallocated.items() if n))
    facts += [f"Warning: {w}" for w in a.warnings]
    if facts:
        blocks.append(Bullets(facts))
    return _div("allocation", blocks)


def rota_allocation_html(allocation: RotaAllocation) -> str:
    """A compact HTML summary of an allocation on duty patterns (what ``RotaAllocation._repr_html_`` shows).

    The solver's status, gap and time; posts per area and role with the team
    sizes of each rota (and the current posting and change when one was
    given); per role, the smallest coverage and the utilisation (committed
    time) overall and its range over the buckets; warnings.
    """
    from allocator.present.rota_report import posts_with_teams

    a = allocation
    f = a.formulation
    s = a.solver
    head = (f"Allocation on duty patterns: {len(f.areas)} areas x {len(f.roles)} roles on "
            f"{len(f.patterns)} patterns, {len(f.buckets)} buckets; "
            f"{s.backend} {s.status}, gap {s.gap:.3g}, {s.seconds:.2f} s")
    m = a.metrics
    per_role = pd.DataFrame({
        "role": list(f.roles),
        "posts": m.loc[list(f.roles), "posts"].astype("int64").to_numpy(),
        "smallest coverage": m.loc[list(f.roles), "min_coverage"].astype("float64").round(3).to_numpy(),
        "utilisation %": m.loc[list(f.roles), "utilisation"].astype("float64").round(1).to_numpy(),
        "lowest %": m.loc[list(f.roles), "min_utilisation"].astype("float64").round(1).to_numpy(),
        "busiest %": m.loc[list(f.roles), "max_utilisation"].astype("float64").round(1).to_numpy(),
    })
    blocks: list[Block] = [Para(head), Table(posts_with_teams(a.table, list(f.areas), list(f.roles))),
                            Table(per_role),
                            Para("Utilisation: committed time, recorded demand hours over on-duty officer-hours "
                                 "(CPSM's benchmark: at most 60% on average).")]
    facts = []
    if f.current is not None:
        moved = {r: int(a.moves.loc[a.moves["role"] == r, "officers"].sum()) for r in f.roles}
        facts.append(f"Officers moved: {sum(moved.values()):,} ("
                     + ", ".join(f"{r} {n:,}" for r, n in moved.items()) + ")")
    facts += [f"Warning: {w}" for w in a.warnings]
    if facts:
        blocks.append(Bullets(facts))
    return _div("allocation", blocks)


def _hours_grid(array: np.ndarray, rows: list[str], roles: list[str], name: str) -> pd.DataFrame:
    """Hours (rows x roles), whole hours, with a total column and a total row."""
    grid = pd.DataFrame(array, index=pd.Index(rows, name=name), columns=roles)
    grid["Total"] = grid.sum(axis=1)
    grid.loc["Total"] = grid.sum(axis=0)
    return grid.round(0).reset_index()


def workload_html(workload: Workload) -> str:
    """A compact HTML summary of a workload (what ``Workload._repr_html_`` shows).

    Records, as-of date and overlap rule; judged hours per area and role and
    per shift and role, with totals.
    """
    w = workload
    head = (f"Workload: {w.n_records:,} records as of {w.as_of:%Y-%m-%d %H:%M %Z}; "
            f"{fmt(float(w.array.sum()), 0)} judged hours; overlapping shifts share an hour: {w.overlap_rule}")
    blocks: list[Block] = [
        Para(head),
        Table(_hours_grid(w.array.sum(axis=1), list(w.areas), list(w.roles), "area")),
        Table(_hours_grid(w.array.sum(axis=0), list(w.shifts), list(w.roles), "shift")),
    ]
    return _div("workload", blocks)
