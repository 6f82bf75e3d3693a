"""The report of an allocation on duty patterns: Markdown and one self-contained HTML file.

Built, like :mod:`allocator.present.report`, from aggregates only (the tidy
tables of a :class:`~allocator.results.rota.RotaAllocation`, the solver
report, the demand counts) with the same blocks and escaping, so it can be
drawn again from a run directory and holds no record-level data. The same
data give the same bytes: the solver's seconds are left out (they are in
``run.json``). Without matplotlib the report is written without figures and
says so.

Sections: a summary (status, posts against establishment, moves, smallest
coverage and utilisation per role, the demand window); posts per area and
role with the team sizes of each rota; the rotas; utilisation heatmaps
after and, with a current posting, before; officers on duty against demand
by hour of the week; with response floors, the service levels (floors met
or short, the buckets the floors bind, expected waits and a heat map of
areas x buckets); moves; the rule families that bound the answer; the run
and its solver stages.

Examples
--------
>>> team_sizes([12, 13, 13, 13, 14])
'12-14 per team'
>>> team_sizes([16, 16, 16, 16, 16]), team_sizes([15])
('16 per team', '')
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.model.force import Force
from allocator.present.report import (
    Block,
    Bullets,
    Heading,
    Image,
    Para,
    Report,
    Table,
    fmt,
    render_html,
    render_markdown,
    run_blocks,
)

__all__ = [
    "ROTA_FIGURE_FILES",
    "UTILISATION_NOTE",
    "RotaReportData",
    "binding_by_family",
    "build_rota_report",
    "posts_with_teams",
    "role_summary",
    "service_by_area",
    "service_table",
    "team_sizes",
]

logger = logging.getLogger(__name__)

#: Every figure file a rota report may have, relative to the report.
ROTA_FIGURE_FILES = tuple(f"figures/{n}" for n in ("utilisation.png", "utilisation_before.png", "on_duty.png",
                                                   "service_levels.png"))

#: What utilisation means, in words a resourcing team uses.
UTILISATION_NOTE = (
    "Utilisation is committed time: the hours officers spend on recorded demand (share of the work times "
    "its time, without impact weight; recency weights scaled to average 1) over all their on-duty "
    "officer-hours in the bucket, rest days and abstraction taken out. CPSM's benchmark is at most 60% on "
    "average; the rest of the time is the proactive share and slack for the next call. Coverage is on-duty "
    "reactive capacity over judged (impact-weighted) workload; the allocation raises each role's smallest "
    "coverage first."
)


@dataclass
class RotaReportData:
    """What a rota report is drawn from: aggregates of one run.

    Attributes
    ----------
    force
        The force the run used.
    table
        ``RotaAllocation.table``: ``area, role, pattern, team, posts`` (and
        ``current, change``).
    buckets
        ``RotaAllocation.buckets``: ``area, role, bucket, on_duty,
        workload_hours, committed_hours, coverage, utilisation``.
    rota
        ``RotaAllocation.rota``: ``pattern, kind, cycle_days, teams,
        relief_factor, duty_hours_per_week``.
    metrics
        ``RotaAllocation.metrics`` (indexed by role, with ``all``).
    solver
        The solver report as plain values (``backend, status, gap, stages``).
    by_hour
        ``RotaAllocation.by_hour`` (on duty and demand, in officers).
    current_buckets
        ``RotaAllocation.current_buckets``, with a current posting.
    binding
        ``RotaAllocation.binding``: ``family, rule``.
    moves
        ``RotaAllocation.moves``, with a current posting.
    data
        Demand counts and window (``records_read``, ``window_start``, ...).
    parameters
        Run parameters (``backend``, ``time_limit``, ``max_moves``).
    inputs
        Input name -> SHA-256, listed at the end.
    service_levels
        ``RotaAllocation.service_levels`` (with response floors): per area and
        bucket ``floor, on_duty, shortfall, met, binding`` and the expected
        waits; its level reached is the solver's ``service level[all]``.
    responders
        The responder roles' names (with response floors).
    """

    force: Force
    table: pd.DataFrame
    buckets: pd.DataFrame
    rota: pd.DataFrame
    metrics: pd.DataFrame
    solver: Mapping[str, Any]
    by_hour: pd.DataFrame | None = None
    current_buckets: pd.DataFrame | None = None
    binding: pd.DataFrame | None = None
    moves: pd.DataFrame | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    service_levels: pd.DataFrame | None = None
    responders: tuple[str, ...] = ()

    @classmethod
    def from_allocation(cls, allocation: Any, force: Force, solver: Mapping[str, Any], **more: Any
                        ) -> RotaReportData:
        """The report data of a ``RotaAllocation`` (``more``: ``data``, ``parameters``, ``inputs``)."""
        f = allocation.formulation
        has_current = f.current is not None
        service = f.service
        return cls(force=force, table=allocation.table, buckets=allocation.buckets, rota=allocation.rota,
                   metrics=allocation.metrics, solver=solver, by_hour=allocation.by_hour,
                   current_buckets=allocation.current_buckets, binding=allocation.binding,
                   moves=allocation.moves if has_current else None,
                   service_levels=allocation.service_levels if service is not None else None,
                   responders=tuple(f.roles[r] for r in service.responders) if service is not None else (),
                   **more)


def team_sizes(sizes: Sequence[int]) -> str:
    """The team sizes of one rota as a resourcing team says them (``"12-14 per team"``); '' for one team."""
    values = [int(v) for v in sizes]
    if len(values) <= 1:
        return ""
    lo, hi = min(values), max(values)
    return f"{lo} per team" if lo == hi else f"{lo}-{hi} per team"


def posts_with_teams(table: pd.DataFrame, areas: Sequence[str], roles: Sequence[str],
                     column: str = "posts") -> pd.DataFrame:
    """Posts per area (rows) and role, with each rota's team sizes, and a total row.

    Columns: for each role, ``ROLE`` (its posts in the area) and ``ROLE teams``
    (``"Response: 12-14 per team"``; patterns of one team, such as fixed
    weekday patterns, are named without sizes). With a current posting
    (``current`` in the table): also ``ROLE now`` and ``ROLE change``.
    """
    t = table.assign(area=table["area"].astype(str), role=table["role"].astype(str),
                     pattern=table["pattern"].astype(str))
    out = pd.DataFrame({"area": [*areas, "Total"]})
    for role in roles:
        mine = t[t["role"] == role]
        posts = mine.groupby("area", sort=False)[column].sum().reindex(list(areas)).fillna(0).astype("int64")
        if "current" in t.columns:
            now = mine.groupby("area", sort=False)["current"].sum().reindex(list(areas)).fillna(0).astype("int64")
            out[f"{role} now"] = [*now.tolist(), int(now.sum())]
        out[role] = [*posts.tolist(), int(posts.sum())]
        if "current" in t.columns:
            out[f"{role} change"] = [f"{b - a:+d}" if b != a else "0"
                                     for a, b in zip(out[f"{role} now"], out[role], strict=True)]
        texts = []
        for area in areas:
            parts = []
            here = mine[mine["area"] == area]
            for pattern, rows in here.groupby("pattern", sort=False):
                sizes = team_sizes(rows[column].tolist())
                parts.append(f"{pattern}: {sizes}" if sizes else str(pattern))
            texts.append("; ".join(parts))
        out[f"{role} teams"] = [*texts, ""]
    return out


def role_summary(metrics: pd.DataFrame, buckets: pd.DataFrame, force: Force,
                 moves: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per role: posts against establishment, moves, smallest coverage, utilisation (mean, range, busiest).

    ``utilisation %`` is committed hours over on-duty hours across all the
    role's buckets (``RotaAllocation.metrics["utilisation"]``); ``busiest``
    names the bucket with the highest.
    """
    rows = []
    by_role: dict[Any, dict[Any, Any]] = metrics.to_dict(orient="index")
    for role in force.roles:
        m = by_role[role.name]
        mine = buckets[(buckets["role"].astype(str) == role.name)
                       & np.isfinite(buckets["utilisation"].to_numpy(dtype="float64"))]
        where = ""
        if len(mine):
            top = mine.iloc[int(np.argmax(mine["utilisation"].to_numpy(dtype="float64")))]
            where = f"{top['area']} / {top['bucket']}"
        row: dict[str, Any] = {"role": role.name, "establishment": role.establishment, "posts": int(m["posts"])}
        if moves is not None:
            row["moved"] = int(moves.loc[moves["role"].astype(str) == role.name, "officers"].sum())
        row.update({
            "smallest coverage": round(float(m["min_coverage"]), 3),
            "utilisation %": round(float(m["utilisation"]), 1),
            "lowest %": round(float(m["min_utilisation"]), 1),
            "busiest %": round(float(m["max_utilisation"]), 1),
            "busiest bucket": where,
        })
        rows.append(row)
    return pd.DataFrame(rows)


def binding_by_family(binding: pd.DataFrame | None, examples: int = 3) -> pd.DataFrame:
    """The binding rules grouped by constraint family: how many rows are at their limit, a few examples."""
    cols = ["family", "rules at their limit", "examples"]
    if binding is None or binding.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for family, group in binding.groupby(binding["family"].astype(str), sort=False):
        rules = group["rule"].astype(str).tolist()
        shown = "; ".join(rules[:examples]) + ("; ..." if len(rules) > examples else "")
        rows.append((family, len(rules), shown))
    return pd.DataFrame(rows, columns=cols)


def _date(text: Any) -> str:
    try:
        return pd.Timestamp(str(text)).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(text)


def _summary(d: RotaReportData) -> list[Block]:
    solver, data = d.solver, d.data
    m: dict[Any, dict[Any, Any]] = d.metrics.to_dict(orient="index")
    gap = solver.get("gap")
    facts = [f"Status: {solver.get('status', '?')} (solver {solver.get('backend', '?')}"
             + (f", gap {float(gap):.3g}" if gap is not None else "")
             + "; the solve time is in run.json)"]
    facts.append("Posts allocated: " + ", ".join(
        f"{r.name} {int(m[r.name]['posts']):,} of {r.establishment:,}" for r in d.force.roles))
    if d.moves is not None:
        per = {r: int(d.moves.loc[d.moves["role"].astype(str) == r, "officers"].sum())
               for r in d.force.role_names}
        text = f"Officers moved: {sum(per.values()):,} (" + ", ".join(f"{r} {n:,}" for r, n in per.items()) + ")"
        limit = d.parameters.get("max_moves")
        facts.append(text + (f"; limit {limit} per role" if limit is not None else ""))
    facts.append("Smallest coverage: " + ", ".join(
        f"{r} {fmt(float(m[r]['min_coverage']), 3)}" for r in d.force.role_names))
    facts.append("Utilisation (committed time, all buckets): " + ", ".join(
        f"{r} {_pct(m[r]['utilisation'])} (buckets {_pct(m[r]['min_utilisation'])} to "
        f"{_pct(m[r]['max_utilisation'])})" for r in d.force.role_names))
    demand = []
    if data.get("window_start") or data.get("window_end"):
        demand.append(f"{_date(data.get('window_start', '?'))} to {_date(data.get('window_end', '?'))}")
    if "records_read" in data:
        demand.append(f"{fmt(int(data['records_read']))} records read, "
                      f"{fmt(int(data.get('records_accepted', 0)))} used, "
                      f"{fmt(int(data.get('records_rejected', 0)))} rejected")
    if demand:
        facts.append("Demand window: " + "; ".join(demand))
    return [Heading("Summary"), Bullets(facts),
            Table(role_summary(d.metrics, d.buckets, d.force, d.moves)), Para(UTILISATION_NOTE, note=True)]


def _pct(value: Any) -> str:
    v = float(value)
    return "-" if not math.isfinite(v) else f"{v:.0f}%"


def _rota_table(d: RotaReportData) -> pd.DataFrame:
    worked_by = {p: ", ".join(r.name for r in d.force.roles if p in d.force.role_pattern_names(r.name))
                 for p in d.rota["pattern"].astype(str)}
    out = d.rota.rename(columns={"cycle_days": "cycle (days)", "relief_factor": "relief factor",
                                 "duty_hours_per_week": "duty hours per week"}).copy()
    out["relief factor"] = out["relief factor"].astype("float64").round(3)
    out["duty hours per week"] = out["duty hours per week"].astype("float64").round(1)
    out.insert(1, "worked by", [worked_by.get(str(p), "") for p in out["pattern"]])
    return out


def _busiest(buckets: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    b = buckets[np.isfinite(buckets["utilisation"].to_numpy(dtype="float64"))]
    b = b.sort_values("utilisation", ascending=False, kind="stable").head(n)
    return pd.DataFrame({
        "area": b["area"].astype(str).to_numpy(), "role": b["role"].astype(str).to_numpy(),
        "bucket": b["bucket"].astype(str).to_numpy(),
        "on duty": b["on_duty"].to_numpy(dtype="float64").round(1),
        "utilisation %": b["utilisation"].to_numpy(dtype="float64").round(1),
        "coverage": b["coverage"].to_numpy(dtype="float64").round(3),
    })


def _figure_blocks(d: RotaReportData) -> list[Block]:
    from allocator.present.plots import figure_png
    from allocator.present.rota_plots import plot_on_duty, utilisation_pngs

    tables = [(d.buckets, "after")]
    if d.current_buckets is not None:
        tables.append((d.current_buckets, "before: the current posting"))
    pngs = utilisation_pngs(tables)  # before and after on one figure, redrawn: the same bytes, drawn faster
    blocks: list[Block] = [
        Heading("Utilisation by area, weekday and window"),
        Para("Each cell: utilisation in percent, committed time over on-duty time in the bucket. One colour "
             "scale for every role and for before and after; grey: nobody of the role on duty then."),
        Image(pngs[0], "utilisation per role, after", "utilisation.png"),
    ]
    if d.current_buckets is not None:
        blocks.append(Image(pngs[1], "utilisation per role, before", "utilisation_before.png"))
    if d.by_hour is not None:
        blocks += [
            Heading("Officers on duty against demand by hour of the week"),
            Para("Per area, on one scale in officers: the lines are the officers on duty in each hour "
                 "(rest days and abstraction taken out"
                 + ("; dotted: the current posting" if "current_on_duty" in d.by_hour.columns else "")
                 + "); the shaded areas are the officers the recorded demand keeps busy in that hour "
                   "(its committed hours over the weeks of the window)."),
            Image(figure_png(plot_on_duty(d.by_hour)), "officers on duty against demand by hour, per area",
                  "on_duty.png"),
        ]
    return blocks


def service_table(frame: pd.DataFrame, rows: pd.Series | None = None, n: int = 12,
                  by: Sequence[str] = ("shortfall", "p_wait")) -> pd.DataFrame:
    """The service-level rows to show: ``rows`` (a mask), the largest ``by`` first, at most ``n``."""
    part = frame if rows is None else frame[rows.to_numpy(dtype=bool)]
    keys = [k for k in by if k in part.columns]
    part = part.sort_values(keys, ascending=False, kind="stable").head(n)
    out = pd.DataFrame({
        "area": part["area"].astype(str).to_numpy(), "bucket": part["bucket"].astype(str).to_numpy(),
        "floor": part["floor"].to_numpy(dtype="float64").round(1),
        "on duty": part["on_duty"].to_numpy(dtype="float64").round(1),
        "short": part["shortfall"].to_numpy(dtype="float64").round(1),
    })
    if "p_wait" in part.columns:
        out["P(wait) %"] = (100 * part["p_wait"].to_numpy(dtype="float64")).round(1)
        wait = part["mean_wait"].to_numpy(dtype="float64")
        out["mean wait, min"] = [f"{v:.1f}" if np.isfinite(v) else "never empties" for v in wait]
        for c in [c for c in part.columns if str(c).startswith("within_")]:
            out[f"{str(c).removeprefix('within_')} within target %"] = (
                100 * part[c].to_numpy(dtype="float64")).round(1)
    return out


def service_by_area(frame: pd.DataFrame) -> pd.DataFrame:
    """Per area: floored buckets, how many are met, the largest floor (and its bucket), the most officers short.

    >>> frame = pd.DataFrame({"area": ["N", "N", "S"], "bucket": ["Mon Early", "Sat Night", "Sat Night"],
    ...                       "floor": [3.0, 6.5, 4.0], "shortfall": [0.0, 1.25, 0.0], "met": [True, False, True]})
    >>> service_by_area(frame).to_dict("records")[0]
    {'area': 'N', 'buckets': 2, 'met': 1, 'largest floor': 6.5, 'in': 'Sat Night', 'most short': 1.2}
    """
    rows = []
    for area, part in frame.groupby(frame["area"].astype(str), sort=False):
        top = part.iloc[int(np.argmax(part["floor"].to_numpy(dtype="float64")))]
        rows.append({"area": area, "buckets": len(part), "met": int(part["met"].sum()),
                     "largest floor": round(float(top["floor"]), 1), "in": str(top["bucket"]),
                     "most short": round(float(part["shortfall"].max()), 1)})
    return pd.DataFrame(rows, columns=["area", "buckets", "met", "largest floor", "in", "most short"])


def _service_blocks(d: RotaReportData, with_figures: bool) -> list[Block]:
    frame = d.service_levels
    if frame is None:
        return []
    who = "/".join(d.responders) or "responder"
    objective = d.solver.get("objective") or {}
    level = objective.get("service level[all]")
    blocks: list[Block] = [Heading("Service levels")]
    if frame.empty:
        return [*blocks, Para("The response floors ask for no officers in any hour.")]
    met, total = int(frame["met"].sum()), len(frame)
    facts = [f"Response floors: the least {who}s on duty in each hour for the response target "
             f"(Erlang C on the response load), kept before workload is shared out.",
             f"Floored buckets met: {met} of {total}; bound by the floor (one post fewer on some team would "
             f"break it): {int(frame['binding'].sum())}."]
    if level is not None and level < 1:
        facts.append(f"The establishment cannot meet every floor: at best {_pct(100 * level)} of each floor is "
                     "met (the smallest share, as large as it can be); the later stages share workload with the "
                     "floors held there.")
    blocks += [Bullets(facts), Table(service_by_area(frame))]
    short = ~frame["met"]
    if short.any():
        blocks += [Heading("Buckets short of the floor", 3),
                   Para("Officers on duty at the bucket's worst hour against its floor; 'short' in officers."),
                   Table(service_table(frame, short))]
    binding = frame["binding"] & frame["met"]
    if binding.any():
        blocks += [Heading("Buckets the service level decides", 3),
                   Para("Here the floor, not the workload, sets the posts: one post fewer would break it."),
                   Table(service_table(frame, binding))]
    if "p_wait" in frame.columns:
        blocks += [Heading("Expected waits", 3),
                   Para("The queueing model on the officers this posting puts on duty, at each bucket's worst "
                        "hour: the chance a call waits for a free unit, the mean wait, and the share of each "
                        "grade's calls attended within target; the longest waits first."),
                   Table(service_table(frame, None, 10, by=("p_wait", "mean_wait")))]
    if with_figures:
        from allocator.present.plots import figure_png
        from allocator.present.service_plots import plot_service

        target = getattr(getattr(d.force, "service_levels", None), "service_level", None)
        blocks.append(Image(figure_png(plot_service(frame, target)), "service levels per area and bucket",
                            "service_levels.png"))
    return blocks


def _moves_blocks(d: RotaReportData) -> list[Block]:
    if d.moves is None:
        return []
    blocks: list[Block] = [Heading("Moves")]
    if not len(d.moves):
        return [*blocks, Para("No officer moves: the allocation is the current posting.")]
    blocks.append(Para("Officers to move from the current posting, role by role: first changes of team or "
                       "pattern within an area, then moves between areas. A change of team takes effect at "
                       "a roster boundary."))
    blocks.append(Table(d.moves.rename(columns=lambda c: str(c).replace("_", " "))))
    return blocks


def build_rota_report(data: RotaReportData, figures: bool | None = None) -> Report:
    """Build the report of one run of a force on duty patterns.

    Parameters
    ----------
    data
        The run's aggregates (:class:`RotaReportData`).
    figures
        Draw figures; default: when matplotlib is installed. Without it the
        report says the figures were left out.

    Returns
    -------
    Report
        ``markdown`` (figures linked as ``figures/*.png``), ``html`` (figures
        inline) and the figures' PNG bytes; the same for the same data.
    """
    import importlib.util

    d = data
    with_figures = importlib.util.find_spec("matplotlib") is not None if figures is None else figures
    areas, roles = d.force.area_names, d.force.role_names
    title = f"Allocation report: {d.force.name}"
    blocks: list[Block] = [Heading(title, 1), *_summary(d)]
    blocks += [Heading("Posts per area and role"),
               Para("Posts per area and role, and the team sizes of each rota in the area."
                    + (" 'now': the current posting." if "current" in d.table.columns else "")),
               Table(posts_with_teams(d.table, areas, roles))]
    blocks += [Heading("Rotas"),
               Para("Each pattern: its cycle, its teams, its relief factor (calendar days per duty day) and "
                    "the duty hours a post works in an average week."),
               Table(_rota_table(d))]
    if with_figures:
        blocks += _figure_blocks(d)
    else:
        blocks += [Heading("Figures"), Para("Figures left out: matplotlib is not installed "
                                            "(pip install 'allocator[plot]').", note=True)]
    blocks += [Heading("Busiest buckets", 3), Table(_busiest(d.buckets))]
    blocks += _service_blocks(d, with_figures)
    blocks += _moves_blocks(d)
    blocks.append(Heading("Rules that bound the answer"))
    grouped = binding_by_family(d.binding)
    if grouped.empty:
        blocks.append(Para("No rule was at its limit: the posting follows the fairness objective alone."))
    else:
        blocks += [Para("The constraint families with rows at their limit under this posting, in the force's "
                        "words."), Table(grouped)]
    blocks += run_blocks(d)
    pngs = {b.path: b.png for b in blocks if isinstance(b, Image)}
    return Report(markdown=render_markdown(blocks), html=render_html(blocks, title), figures=pngs)
