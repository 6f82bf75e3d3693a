"""The allocation report: Markdown and one self-contained HTML file, from aggregates only.

The report is built from plain tables (the allocation table, workload by
demand type and by hour of week, the judgement, the solver report, the data
counts) so it can be drawn again from a run directory. It holds no
record-level data: no incident ids, no timestamps of single records.

The Markdown refers to its figures as PNG files in a ``figures/`` folder
beside it (:attr:`Report.figures` holds their bytes), so it stays readable as
text; the HTML is one self-contained file with the same figures inline
(``data:`` URIs) and needs no network (no scripts, fonts or style sheets from
elsewhere). The same inputs give the same bytes. Without matplotlib the
report is written without figures and says so.

Examples
--------
>>> import allocator
>>> import pandas as pd
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> table = pd.DataFrame(
...     [(a, s, r, 1, 0.5, 10.0, 1.0) for a in force.area_names
...      for s in force.shift_names for r in force.role_names],
...     columns=["area", "shift", "role", "posts", "on_duty", "workload_hours", "coverage"])
>>> by_type = pd.DataFrame({"area": ["Swindon North"], "shift": ["Early"],
...     "demand_type": ["THEFT"], "role": ["PC"], "records": [3], "hours": [4.5]})
>>> rep = build_report(ReportData(force=force, table=table, by_type=by_type,
...     solver={"backend": "cpsat", "status": "optimal", "gap": 0.0}), figures=False)
>>> rep.markdown.splitlines()[0]
'# Allocation report: Sample Constabulary'
>>> "<img" in rep.html, "http" in rep.html, rep.figures
(False, False, {})
"""

from __future__ import annotations

import base64
import html
import importlib.util
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.model.force import Force

__all__ = ["FIGURE_DIR", "FIGURE_FILES", "Report", "ReportData", "binding_rules", "build_report", "posting_summary"]

logger = logging.getLogger(__name__)

#: The folder, beside ``report.md``, that holds the report's figures.
FIGURE_DIR = "figures"
#: Every figure file a report may have, relative to the report.
FIGURE_FILES = tuple(f"{FIGURE_DIR}/{n}" for n in ("coverage.png", "workload_by_type.png", "hour_profile.png"))

_CSS = """
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f2f2f2}.t{text-align:left}
img{max-width:100%;height:auto}p.note{color:#555;font-style:italic}
""".strip()


# ------------------------------------------------------------------ blocks
@dataclass(frozen=True)
class _Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    note: bool = False


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class _Image:
    png: bytes
    alt: str
    name: str

    @property
    def path(self) -> str:
        """Where the Markdown finds the figure, relative to the report."""
        return f"{FIGURE_DIR}/{self.name}"


Block = _Heading | Para | Bullets | Table | _Image
#: A heading block (``level`` 1 to 6), for reports built beside this one.
Heading = _Heading
#: A figure block: PNG bytes, alt text and its file name under ``figures/``.
Image = _Image


def fmt(value: Any, decimals: int | None = None) -> str:
    """A value for a reader: thousands separators, ``decimals`` places (default: 0 if whole, else 2)."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "no workload" if v > 0 else "-inf"
        if decimals is None:
            decimals = 0 if v == round(v) and abs(v) < 1e15 else 2
        return f"{v:,.{decimals}f}"
    return str(value)


#: text that reads as a number (``+3``, ``-1``, ``0``): aligned right like numbers
_SIGNED = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?")


def _decimals(column: pd.Series) -> int | None:
    """One number of decimals for a whole float column, so its figures line up."""
    if not pd.api.types.is_float_dtype(column):
        return None
    v = column.to_numpy(dtype="float64")
    v = v[np.isfinite(v)]
    return 0 if (v == np.round(v)).all() else 2


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    header = [str(c) for c in frame.columns]
    places = [_decimals(frame[c]) for c in frame.columns]
    rows = [[fmt(v, d) for v, d in zip(row, places, strict=True)]
            for row in frame.itertuples(index=False, name=None)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c])
               or all(_SIGNED.fullmatch(row[i]) for row in rows) and len(rows) > 0
               for i, c in enumerate(frame.columns)]
    return header, rows, numeric


_MD_SPECIAL = re.compile(
    r"[\\`*|~<>]|&(?=#?\w+;)|(?<![0-9A-Za-z])[_\[]|_(?![0-9A-Za-z])|\](?=[(\[:])"
)
_MD_ENTITY = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def _md_escape(text: str) -> str:
    """Text shown as itself in Markdown: no HTML (``<script>``), links, emphasis or table breaks.

    Markdown's characters are backslash-escaped (``[x](javascript:...)`` stays
    text), ``<``, ``>`` and entity-like ``&`` become entities, line breaks become
    spaces. What cannot start markup is left alone so the text reads as it is:
    underscores inside words (``min_on_duty``), a ``[`` after a letter and a
    ``]`` not followed by ``(``, ``[`` or ``:`` (``allocator[plot]``).

    >>> _md_escape("<script>|[x](javascript:alert(1))")
    '&lt;script&gt;\\\\|\\\\[x\\\\](javascript:alert(1))'
    """
    text = text.replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITY.get(m.group(0), "\\" + m.group(0)), text)


def render_markdown(blocks: list[Block]) -> str:
    """Markdown text of the blocks (GitHub-flavoured tables, images as relative links to PNG files)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append("#" * b.level + " " + _md_escape(b.text))
        elif isinstance(b, Para):
            out.append(f"*{_md_escape(b.text)}*" if b.note else _md_escape(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_escape(item)}" for item in b.items))
        elif isinstance(b, Table):
            header, rows, numeric = _cells(b.frame)
            lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
                     "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
            lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        else:
            out.append(f"![{_md_escape(b.alt)}]({b.path})")
    return "\n\n".join(out) + "\n"


def render_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page of the blocks: inline CSS, inline images, no links out."""
    esc = html.escape
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + html_fragment(blocks)
        + "\n</body>\n</html>\n"
    )


def html_fragment(blocks: list[Block]) -> str:
    """The blocks as HTML elements (no page around them)."""
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = ' class="note"' if b.note else ""
            body.append(f"<p{cls}>{esc(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            header, rows, numeric = _cells(b.frame)
            align = ['' if n else ' class="t"' for n in numeric]
            head = "".join(f"<th{a}>{esc(h)}</th>" for h, a in zip(header, align, strict=True))
            trs = "".join(
                "<tr>" + "".join(f"<td{a}>{esc(c)}</td>" for c, a in zip(row, align, strict=True)) + "</tr>"
                for row in rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
        else:
            data = base64.b64encode(b.png).decode("ascii")
            body.append(f'<p><img alt="{esc(b.alt)}" src="data:image/png;base64,{data}"></p>')
    return "\n".join(body)


# -------------------------------------------------------------------- data
@dataclass
class ReportData:
    """What a report is drawn from: aggregates of one run.

    Attributes
    ----------
    force
        The force the run used (judgement, minimums, pins, shifts).
    table
        The allocation table: ``area, shift, role, posts, on_duty,
        workload_hours, coverage`` and, with a current posting, ``current,
        change``.
    by_type
        Workload by type: ``area, shift, demand_type, role, records, hours``.
    solver
        The solver report: ``backend, status, objective, bound, gap`` (seconds
        are left out of the report so it is the same on every run).
    by_hour
        Workload by hour of week: ``area, hour_of_week, role, hours``.
    moves
        ``role, from_area, from_shift, to_area, to_shift, officers``.
    data
        Demand counts and window: ``records_read``, ``records_accepted``,
        ``records_rejected``, ``window_start``, ``window_end``, ``as_of``.
    parameters
        Run parameters: ``backend``, ``max_moves``, ``time_limit``.
    inputs
        Input name -> SHA-256, listed at the end.
    """

    force: Force
    table: pd.DataFrame
    by_type: pd.DataFrame
    solver: Mapping[str, Any]
    by_hour: pd.DataFrame | None = None
    moves: pd.DataFrame | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """A rendered report.

    Attributes
    ----------
    markdown
        The Markdown text; figures are links to ``figures/NAME.png``.
    html
        One self-contained HTML page, figures inline.
    figures
        The PNG bytes of each figure by its path relative to the report
        (``"figures/coverage.png"``), in report order; empty without figures.
    """

    markdown: str
    html: str
    figures: dict[str, bytes] = field(default_factory=dict)


def _ordered(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return [str(v) for v in dict.fromkeys(values.tolist())]


def in_order(table: pd.DataFrame, areas: list[str], shifts: list[str], roles: list[str]) -> pd.DataFrame:
    """The table with area/shift/role as ordered categoricals in the given order, sorted by them."""
    out = table.copy()
    for col, names in (("area", areas), ("shift", shifts), ("role", roles)):
        out[col] = pd.Categorical(out[col].astype(str), categories=names, ordered=True)
    return out.sort_values(["area", "shift", "role"]).reset_index(drop=True)


def _plain(table: pd.DataFrame, force: Force) -> pd.DataFrame:
    """The table with area/shift/role as ordered categoricals in force order."""
    return in_order(table, force.area_names, force.shift_names, force.role_names)


def posting_summary(table: pd.DataFrame, force: Force) -> pd.DataFrame:
    """Posts per area (rows) and role (columns), with current and change when known, and a total row.

    Columns are the role names (the allocation's posts) or, with a current
    posting, ``ROLE current``, ``ROLE new`` and ``ROLE change`` (``+3``) for each.
    """
    return posting_grid(_plain(table, force), force.area_names, force.role_names)


def posting_grid(t: pd.DataFrame, areas: list[str], roles: list[str]) -> pd.DataFrame:
    cols = ["posts"] + [c for c in ("current",) if c in t.columns]
    agg = t.groupby(["area", "role"], observed=False)[cols].sum()
    out = pd.DataFrame({"area": areas + ["Total"]})
    for role in roles:
        posts = agg.xs(role, level="role")["posts"].reindex(areas).fillna(0).astype("int64")
        values = [*posts.tolist(), int(posts.sum())]
        if "current" in cols:
            cur = agg.xs(role, level="role")["current"].reindex(areas).fillna(0).astype("int64")
            cvals = [*cur.tolist(), int(cur.sum())]
            out[f"{role} current"] = cvals
            out[f"{role} new"] = values
            out[f"{role} change"] = [f"{v - c:+d}" if v != c else "0" for v, c in zip(values, cvals, strict=True)]
        else:
            out[role] = values
    return out


def coverage_extremes(t: pd.DataFrame, roles: list[str]) -> pd.DataFrame:
    """Per role: the smallest and the largest coverage and the (area / shift) where each is."""
    rows = []
    for role in roles:
        r = t[(t["role"] == role) & np.isfinite(t["coverage"].astype("float64"))]
        if r.empty:
            continue
        cov = r["coverage"].to_numpy(dtype="float64")
        lo = r.iloc[int(np.argmin(cov))]
        hi = r.iloc[int(np.argmax(cov))]
        rows.append((role, float(lo["coverage"]), f"{lo['area']} / {lo['shift']}",
                     float(hi["coverage"]), f"{hi['area']} / {hi['shift']}"))
    return pd.DataFrame(rows, columns=["role", "smallest", "where", "largest", "where "])


def _date(text: Any) -> str:
    """The calendar date of a timestamp text (``2026-05-03 00:54:13+01:00`` -> ``2026-05-03``)."""
    try:
        return pd.Timestamp(str(text)).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return str(text)


def _moved_per_role(moves: pd.DataFrame, roles: list[str]) -> dict[str, int]:
    by_role = moves.groupby(moves["role"].astype(str), sort=False)["officers"].sum()
    return {r: int(by_role.get(r, 0)) for r in roles}


def binding_rules(
    table: pd.DataFrame, force: Force, max_moves: int | None = None, moves: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rules the allocation sits on: minimums met exactly, pins, area limits, the move limit.

    Returns a frame ``rule, area, shift, role, limit, posts``: one row per
    binding rule (a minimum posting equal to the posts, a pin, an area
    maximum or minimum reached, the establishment shared in full, the move
    limit of a role used in full).
    """
    t = _plain(table, force)
    posts = np.zeros((len(force.areas), len(force.shifts), len(force.roles)), dtype=np.int64)
    posts[t["area"].cat.codes.to_numpy(), t["shift"].cat.codes.to_numpy(), t["role"].cat.codes.to_numpy()] = (
        t["posts"].to_numpy(dtype="int64")
    )
    mins = force.min_posts_array()
    rows: list[tuple[str, str, str, str, int, int]] = []
    for k, role in enumerate(force.roles):
        total = int(posts[:, :, k].sum())
        if total == role.establishment:
            rows.append(("establishment shared in full", "all", "all", role.name, role.establishment, total))
        for i, area in enumerate(force.areas):
            for j, shift in enumerate(force.shifts):
                if mins[i, j, k] > 0 and posts[i, j, k] == mins[i, j, k]:
                    rows.append(("minimum staffing", area.name, shift.name, role.name,
                                 int(mins[i, j, k]), int(posts[i, j, k])))
            in_area = int(posts[i, :, k].sum())
            if role.name in area.max_posts and in_area >= area.max_posts[role.name]:
                rows.append(("area maximum", area.name, "all", role.name, area.max_posts[role.name], in_area))
            if role.name in area.min_posts and in_area <= area.min_posts[role.name]:
                rows.append(("area minimum", area.name, "all", role.name, area.min_posts[role.name], in_area))
    index = {(a, s, r): (i, j, k) for i, a in enumerate(force.area_names)
             for j, s in enumerate(force.shift_names) for k, r in enumerate(force.role_names)}
    for pin in force.pins:
        i, j, k = index[(pin.area, pin.shift, pin.role)]
        rows.append(("pin", pin.area, pin.shift, pin.role, pin.posts, int(posts[i, j, k])))
    if max_moves is not None and moves is not None:
        for role_name in force.role_names:
            moved = int(moves.loc[moves["role"].astype(str) == role_name, "officers"].sum())
            if moved >= max_moves:
                rows.append(("move limit", "all", "all", role_name, int(max_moves), moved))
    return pd.DataFrame(rows, columns=["rule", "area", "shift", "role", "limit", "posts"])


def _have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


# ------------------------------------------------------------------ build
def _summary_facts(d: ReportData, t: pd.DataFrame) -> list[str]:
    """The first lines a command team reads: status, posts, moves, the demand behind them."""
    solver, data, roles = d.solver, d.data, d.force.role_names
    gap = solver.get("gap")
    facts = [f"Status: {solver.get('status', '?')} (solver {solver.get('backend', '?')}"
             + (f", gap {float(gap):.3g}" if gap is not None else "") + ")"]
    posts = t.groupby("role", observed=False)["posts"].sum()
    facts.append("Posts allocated: " + ", ".join(
        f"{r.name} {int(posts.get(r.name, 0)):,} of {r.establishment:,}" for r in d.force.roles))
    if d.moves is not None:
        per = _moved_per_role(d.moves, roles)
        text = f"Officers moved: {sum(per.values()):,}"
        if any(per.values()):
            text += " (" + ", ".join(f"{r} {n:,}" for r, n in per.items()) + ")"
        limit = d.parameters.get("max_moves")
        facts.append(text + (f"; limit {limit} per role" if limit is not None else ""))
    demand = []
    if data.get("window_start") or data.get("window_end"):
        demand.append(f"{_date(data.get('window_start', '?'))} to {_date(data.get('window_end', '?'))}")
    if "records_read" in data:
        demand.append(f"{fmt(int(data['records_read']))} records read, "
                      f"{fmt(int(data.get('records_accepted', 0)))} used, "
                      f"{fmt(int(data.get('records_rejected', 0)))} rejected")
    if demand:
        facts.append("Demand: " + "; ".join(demand))
    return facts


def _summary_blocks(d: ReportData, t: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [_Heading("Summary"), Bullets(_summary_facts(d, t))]
    blocks.append(_Heading("Posts per area and role", 3))
    blocks.append(Table(posting_summary(t, d.force)))
    blocks.append(_Heading("Smallest and largest coverage", 3))
    blocks.append(Table(coverage_extremes(t, d.force.role_names)))
    blocks.append(Para("Coverage is on-duty capacity over judged workload in the cell; "
                        "the allocation raises each role's smallest first.", note=True))
    return blocks


def _coverage_blocks(d: ReportData, t: pd.DataFrame) -> list[Block]:
    from allocator.present import plots

    blocks: list[Block] = [_Heading("Coverage by area and shift")]
    blocks.append(Para("Each cell: posts, and the coverage ratio they give. The colour scale runs from "
                        "the role's smallest coverage (dark red) to its largest (dark blue); grey: no workload."
                        + (" Left: the current posting; right: the allocation." if "current" in t.columns else "")))
    fig = plots.plot_allocation(t)
    blocks.append(_Image(plots.figure_png(fig), "coverage by area and shift, per role", "coverage.png"))
    return blocks


def _workload_figure_blocks(d: ReportData, t: pd.DataFrame) -> list[Block]:
    from allocator.present import plots

    labels = {dt.code: dt.label for dt in d.force.demand_types}
    blocks: list[Block] = [_Image(plots.figure_png(plots.plot_workload(d.by_type, labels)),
                                   "workload by demand type per area", "workload_by_type.png")]
    if d.by_hour is not None:
        weeks = d.force.settings.window_days / 7.0
        on_duty = plots.on_duty_by_hour(t, d.force)
        current = plots.on_duty_by_hour(t, d.force, "current") if "current" in t.columns else None
        fig = plots.plot_hour_profile(d.by_hour, on_duty, weeks, current)
        blocks.append(_Image(plots.figure_png(fig), "demand by hour of week against officers on duty",
                             "hour_profile.png"))
    return blocks


def _moves_blocks(d: ReportData) -> list[Block]:
    if d.moves is None:
        return []
    blocks: list[Block] = [_Heading("Moves")]
    if not len(d.moves):
        blocks.append(Para("No officer moves: the allocation is the current posting."))
        return blocks
    blocks.append(Para("Officers to move from the current posting, role by role: first changes of shift "
                        "within an area, then moves between areas."))
    moves = d.moves.rename(columns={"from_area": "from area", "from_shift": "from shift",
                                    "to_area": "to area", "to_shift": "to shift"})
    blocks.append(Table(moves))
    return blocks


def _workload_table(d: ReportData) -> pd.DataFrame:
    bt = d.by_type.copy()
    bt["area"] = pd.Categorical(bt["area"].astype(str), categories=d.force.area_names, ordered=True)
    bt["demand_type"] = pd.Categorical(bt["demand_type"].astype(str), categories=d.force.type_codes, ordered=True)
    grid = bt.pivot_table(index="demand_type", columns="area", values="hours", aggfunc="sum", observed=False)
    grid = grid.reindex(index=d.force.type_codes, columns=d.force.area_names).fillna(0.0)
    grid["Total"] = grid.sum(axis=1)
    grid.loc["Total"] = grid.sum(axis=0)
    grid.columns.name = None
    grid.index = [dt.label for dt in d.force.demand_types] + ["Total"]
    return grid.round(0).rename_axis("demand type").reset_index()


def _judgement_blocks(force: Force) -> list[Block]:
    s = force.settings
    blocks: list[Block] = [_Heading("Judgement used"), Bullets([
        f"Recorded durations weigh {fmt(s.data_weight)} against standard minutes",
        "Recent demand weighting: " + (f"half-life {fmt(s.half_life_days)} days"
                                       if s.half_life_days else "none"),
        f"Window: {s.window_days} days; overlapping shifts share an hour's demand: {s.overlap_rule}",
        *[f"{r.name}: establishment {r.establishment}, abstraction {fmt(r.abstraction)}, "
          f"proactive share {fmt(r.proactive_share)}" for r in force.roles],
        *[f"Area factor {area} / {role}: {fmt(f)}"
          for area, fs in force.area_factors.items() for role, f in fs.items()],
    ])]
    labels = {dt.code: dt.label for dt in force.demand_types}
    judgement = force.judgement_table()
    judgement.insert(1, "name", [labels.get(c, c) for c in judgement["demand_type"]])
    blocks.append(Table(judgement.rename(columns={"demand_type": "code", "name": "demand type"})))
    return blocks


def _solver_table(solver: Mapping[str, Any]) -> pd.DataFrame:
    """Each solver stage per role: what solved it, status, objective reached, best bound (no seconds)."""
    stages = solver.get("stages") or []
    rows = [(str(st.get("name")), str(st.get("role")), str(st.get("method") or ""), str(st.get("status")),
             st.get("objective"), st.get("bound")) for st in stages if isinstance(st, Mapping)]
    if not rows:
        objective, bound = solver.get("objective") or {}, solver.get("bound") or {}
        rows = [(key.split("[")[0], key.partition("[")[2].rstrip("]"), "", "", v, bound.get(key))
                for key, v in objective.items()]
    frame = pd.DataFrame(rows, columns=["stage", "role", "solved by", "status", "objective", "bound"])
    if not frame["solved by"].astype(bool).any():
        frame = frame.drop(columns="solved by")
    for col in ("objective", "bound"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64").round(4)
    return frame


def run_blocks(d: Any) -> list[Block]:
    """The run section: solver, time limit, move limit, other parameters, input hashes, solver stages.

    ``d`` has ``parameters``, ``inputs`` and ``solver`` (a report's data of either kind).
    """
    params = dict(d.parameters)
    items = []
    if params.get("backend") is not None:
        items.append(f"Solver: {params.pop('backend')}")
    if params.get("time_limit") is not None:
        items.append(f"Time limit: {fmt(params.pop('time_limit'))} s for the whole solve")
    if "max_moves" in params:
        limit = params.pop("max_moves")
        items.append("Move limit: " + (f"{limit} officers per role" if limit is not None else "none"))
    items += [f"{k.replace('_', ' ')}: {fmt(v)}" for k, v in params.items() if v is not None]
    items += [f"Input {name}: SHA-256 {sha}" for name, sha in d.inputs.items()]
    blocks: list[Block] = [_Heading("Run"), Bullets(items)]
    stages = _solver_table(d.solver)
    if len(stages):
        blocks.append(_Heading("Solver stages", 3))
        blocks.append(Table(stages))
    return blocks


def build_report(data: ReportData, figures: bool | None = None) -> Report:
    """Build the report of one run.

    Parameters
    ----------
    data
        The run's aggregates (:class:`ReportData`).
    figures
        Draw figures; default: when matplotlib is installed. Without it the
        report says the figures were left out.

    Returns
    -------
    Report
        ``markdown`` (figures linked as ``figures/*.png``), ``html`` (figures
        inline) and the figures' PNG bytes; the same for the same data.
    """
    d = data
    t = _plain(d.table, d.force)
    with_figures = _have_matplotlib() if figures is None else figures
    title = f"Allocation report: {d.force.name}"
    blocks: list[Block] = [_Heading(title, 1)]
    blocks += _summary_blocks(d, t)
    if with_figures:
        blocks += _coverage_blocks(d, t)
    else:
        blocks.append(_Heading("Figures"))
        blocks.append(Para("Figures left out: matplotlib is not installed "
                            "(pip install 'allocator[plot]').", note=True))
    blocks += _moves_blocks(d)
    blocks.append(_Heading("Workload"))
    if with_figures:
        blocks += _workload_figure_blocks(d, t)
    blocks.append(_Heading("Workload by demand type and area (judged hours)", 3))
    blocks.append(Table(_workload_table(d)))
    blocks += _judgement_blocks(d.force)
    blocks.append(_Heading("Rules that bound the answer"))
    rules = binding_rules(d.table, d.force, d.parameters.get("max_moves"), d.moves)
    if rules.empty:
        blocks.append(Para("No minimum, pin, area limit or move limit was binding."))
    else:
        blocks.append(Table(rules))
    blocks += run_blocks(d)
    pngs = {b.path: b.png for b in blocks if isinstance(b, _Image)}
    return Report(markdown=render_markdown(blocks), html=render_html(blocks, title), figures=pngs)
