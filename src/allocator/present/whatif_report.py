"""The what-if report and its plots: the scenarios compared, the sensitivity tornado, the bootstrap spread.

:func:`build_whatif_report` turns :class:`~allocator.whatif.run.ScenarioResults`
(and, when run, a :class:`~allocator.whatif.sensitivity.SensitivityResult` and a
:class:`~allocator.whatif.bootstrap.BootstrapResult`) into Markdown, one
self-contained HTML page and PNG figures, with the blocks and renderers of
:mod:`allocator.present.report` (same data, same bytes).
"""

from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.present.report import (
    Block,
    Bullets,
    Heading,
    Image,
    Para,
    Report,
    Table,
    render_html,
    render_markdown,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from allocator.whatif.bootstrap import BootstrapResult
    from allocator.whatif.run import ScenarioResults
    from allocator.whatif.sensitivity import SensitivityResult

__all__ = ["WHATIF_FIGURE_FILES", "build_whatif_report", "plot_bootstrap", "plot_comparison", "plot_tornado"]

#: the figures the report may write, relative to the run directory
WHATIF_FIGURE_FILES = tuple(f"figures/{n}" for n in ("scenarios.png", "tornado.png", "bootstrap.png"))


def plot_comparison(comparison: pd.DataFrame) -> Figure:
    """Smallest coverage per role in each scenario: grouped horizontal bars, a line at coverage 1."""
    from allocator.present.plots import new_figure

    roles = [c[len("min_coverage_"):] for c in comparison.columns if c.startswith("min_coverage_")]
    names = [str(n) for n in comparison["scenario"]]
    height = 1.2 + 0.28 * len(names) * max(len(roles), 1) / 2
    fig = new_figure(8.0, height, margins=(2.6, 0.3, 0.5, 0.6))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(roles), 1)
    y = np.arange(len(names))
    for i, role in enumerate(roles):
        values = comparison[f"min_coverage_{role}"].to_numpy(dtype=np.float64)
        ax.barh(y + (i - (len(roles) - 1) / 2) * width, np.nan_to_num(values), height=width, label=role)
    ax.axvline(1.0, color="#444", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("smallest coverage (capacity / judged workload)")
    if roles:
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no scenario has a posting", transform=ax.transAxes, ha="center", va="center")
    ax.set_title("Smallest coverage per role, by scenario", fontsize=10)
    return fig


def plot_tornado(table: pd.DataFrame, change: float) -> Figure:
    """Tornado chart: the change (%) in the role's smallest coverage at -change and +change, per value."""
    from allocator.present.plots import new_figure

    labels = [f"{t} / {r} / {f}" for t, r, f in zip(table["demand_type"], table["role"], table["field"], strict=True)]
    fig = new_figure(8.0, 1.2 + 0.3 * max(len(labels), 1), margins=(2.4, 0.3, 0.5, 0.6))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(labels))
    low = np.nan_to_num(table["coverage_change_low"].to_numpy(dtype=np.float64))
    high = np.nan_to_num(table["coverage_change_high"].to_numpy(dtype=np.float64))
    ax.barh(y, low, color="#4477aa", label=f"value -{change:.0%}")
    ax.barh(y, high, color="#cc6677", label=f"value +{change:.0%}")
    ax.axvline(0.0, color="#444", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("change in the role's smallest coverage (%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Sensitivity to judgement", fontsize=10)
    return fig


def plot_bootstrap(busiest: pd.DataFrame) -> Figure:
    """Median utilisation and its 10-90% range over resampled weeks, for the busiest buckets."""
    from allocator.present.plots import new_figure

    labels = [f"{a} / {r} / {b}" for a, r, b in zip(busiest["area"], busiest["role"], busiest["bucket"], strict=True)]
    fig = new_figure(8.0, 1.2 + 0.3 * max(len(labels), 1), margins=(2.6, 0.3, 0.5, 0.6))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(labels))
    med = busiest["median"].to_numpy(dtype=np.float64)
    lo = busiest["p10"].to_numpy(dtype=np.float64)
    hi = busiest["p90"].to_numpy(dtype=np.float64)
    ax.hlines(y, lo, hi, color="#4477aa", linewidth=3, label="10th to 90th percentile")
    ax.plot(med, y, "o", color="#222", label="median")
    ax.plot(busiest["base"].to_numpy(dtype=np.float64), y, "|", color="#cc6677", markersize=12, label="base")
    ax.axvline(60.0, color="#888", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("utilisation (%), committed time; 60% is CPSM's benchmark")
    ax.legend(loc="best", fontsize=8)
    ax.set_title("Utilisation over resampled weeks of demand", fontsize=10)
    return fig


def _png(fig: Any) -> bytes:
    from allocator.present.plots import figure_png

    return figure_png(fig)


def _rounded(frame: pd.DataFrame, places: int = 3) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(places)
    return out


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison as a reader sees it: coverage to 3 places, the busiest bucket in one column."""
    c = comparison
    busiest = [f"{a} / {r} / {b} ({u:.0f}%)" if isinstance(u, float) and math.isfinite(u) else "-"
               for a, r, b, u in zip(c["busiest_area"], c["busiest_role"], c["busiest_bucket"],
                                     c["busiest_utilisation"], strict=True)]
    cols = ["scenario", "status", "min_coverage", *[k for k in c.columns if k.startswith("min_coverage_")]]
    out = _rounded(c[cols])
    out["busiest bucket"] = busiest
    out["moves"] = c["moves"]
    out["unallocated"] = c["unallocated"]
    out["buckets short"] = c["buckets_short"]
    if "response_floor_share" in c and c["response_floor_share"].notna().any():
        out["response floors met"] = [f"{v:.0%}" if math.isfinite(v) else "-" for v in c["response_floor_share"]]
    return out


def floor_trade_offs(comparison: pd.DataFrame) -> list[str]:
    """Scenarios whose smallest coverage rose against the base because their response floors were met less.

    With service levels the allocation first raises the smallest share of a
    response floor met and holds it, then raises the smallest coverage. A
    scenario that can meet its floors only to a smaller share (more response
    demand, fewer officers) holds fewer officers to them, and the officers so
    freed can raise its smallest coverage above the base's even when its
    workload is larger. The comparison shows both numbers; these lines say
    where the second moved because of the first.

    >>> comp = pd.DataFrame({"scenario": ["base", "More demand", "Fewer PCs"], "status": ["optimal"] * 3,
    ...                      "min_coverage": [1.07, 1.086, 1.02], "response_floor_share": [0.783, 0.746, 0.74]})
    >>> floor_trade_offs(comp)
    ['More demand: response floors met to 75% (base 78%), so fewer officers are held to them; smallest coverage 1.086 (base 1.070)']
    """
    c = comparison
    if "response_floor_share" not in c or len(c) < 2 or not c["response_floor_share"].notna().any():
        return []
    base_share, base_cov = float(c["response_floor_share"].iloc[0]), float(c["min_coverage"].iloc[0])
    if not (math.isfinite(base_share) and math.isfinite(base_cov)):
        return []
    out = []
    for name, status, share, cov in zip(c["scenario"].iloc[1:], c["status"].iloc[1:],
                                        c["response_floor_share"].iloc[1:], c["min_coverage"].iloc[1:], strict=True):
        if status not in ("optimal", "feasible") or not (math.isfinite(share) and math.isfinite(cov)):
            continue
        if share < base_share - 5e-4 and cov > base_cov + 5e-4:
            out.append(f"{name}: response floors met to {share:.0%} (base {base_share:.0%}), so fewer officers "
                       f"are held to them; smallest coverage {cov:.3f} (base {base_cov:.3f})")
    return out


def build_whatif_report(results: ScenarioResults, sensitivity: SensitivityResult | None = None,
                        bootstrap: BootstrapResult | None = None, title: str = "What-if report",
                        inputs: dict[str, str] | None = None, figures: bool | None = None) -> Report:
    """The report of a scenario run: comparison, posting changes, sensitivity, bootstrap, run details."""
    with_figures = importlib.util.find_spec("matplotlib") is not None if figures is None else figures
    comp = results.comparison
    blocks: list[Block] = [Heading(title, 1)]
    solved = comp[comp["status"].isin(["optimal", "feasible"])]
    failed = comp[~comp["status"].isin(["optimal", "feasible"])]
    blocks.append(Para(f"{len(comp)} scenarios (the unvaried base first): {len(solved)} with a posting, "
                       f"{len(failed)} without."))
    blocks += [Heading("Scenarios compared"),
               Para("Smallest coverage (on-duty reactive capacity over judged workload; the allocation raises "
                    "the smallest), per role; the busiest bucket by utilisation (committed time); officers "
                    "moved from the current posting; posts left unallocated; buckets whose coverage is below 1."),
               Table(comparison_table(comp))]
    if with_figures:
        blocks.append(Image(_png(plot_comparison(comp)), "smallest coverage per role by scenario", "scenarios.png"))
    trade_offs = floor_trade_offs(comp)
    if "response_floor_share" in comp and comp["response_floor_share"].notna().any():
        blocks.append(Para("Response floors come first: each posting meets the smallest share of a response floor it "
                           "can ('response floors met'), holds it, and only then raises the smallest coverage. A "
                           "scenario that meets its floors to a smaller share holds fewer officers to them, so its "
                           "smallest coverage can rise even when its workload does."
                           + (" Where that happened here:" if trade_offs else "")))
        if trade_offs:
            blocks.append(Bullets(trade_offs))
    if len(failed):
        blocks += [Heading("Scenarios without a posting", 3),
                   Bullets([f"{n} ({s}): {r or 'no reason given'}"
                            for n, s, r in zip(failed["scenario"], failed["status"], failed["reasons"], strict=True)])]
    notes = [f"{n}: {t}" for n, t in zip(comp["scenario"], comp["note"], strict=True) if t]
    if notes:
        blocks += [Heading("Notes", 3), Bullets(notes)]
    changes = []
    for name in results.names[1:]:
        try:
            pc = results.posting_changes(name)
        except ValueError:
            continue
        row: dict[str, Any] = {"scenario": name}
        for role, part in pc.groupby("role", sort=False)["change"]:
            row[f"{role} added"] = int(part.clip(lower=0).sum())
            row[f"{role} removed"] = int(-part.clip(upper=0).sum())
        changes.append(row)
    if changes:
        blocks += [Heading("Posting against the base"),
                   Para("Posts per (area, role) added and removed against the base's posting, summed over areas "
                        "(an officer moved between areas counts once in each)."),
                   Table(pd.DataFrame(changes).fillna(0))]
    if sensitivity is not None:
        blocks += [Heading("Sensitivity to judgement"),
                   Para(f"Each judgement value lowered and raised by {sensitivity.change:.0%}, everything else "
                        "held; the demand-led posting (no current posting) solved again on the same partial sums. "
                        "Ranked by the change in the role's smallest coverage; 'moved' counts officers whose "
                        "(area, pattern, team) differs from the base's."),
                   Table(_rounded(sensitivity.top(15)))]
        if sensitivity.skipped:
            blocks.append(Bullets(sensitivity.skipped))
        if with_figures and len(sensitivity.table):
            blocks.append(Image(_png(sensitivity.plot()), "tornado chart of sensitivity to judgement",
                                "tornado.png"))
    if bootstrap is not None:
        blocks += [Heading("Robustness to demand"),
                   Para(f"{bootstrap.resamples} resamples of the window's {bootstrap.weeks} weeks (seed "
                        f"{bootstrap.seed}), the base's posting held. Smallest coverage per role:"),
                   Table(_rounded(bootstrap.summary().reset_index())),
                   Para("The busiest buckets by 90th-percentile utilisation (percent):"),
                   Table(_rounded(bootstrap.busiest(10), 1))]
        if with_figures:
            blocks.append(Image(_png(bootstrap.plot()), "utilisation over resampled weeks", "bootstrap.png"))
    blocks += [Heading("Solver"),
               Para("Per scenario and stage: the objective reached and the best proven bound; 'optimal' is proven."),
               Table(_rounded(results.solver.drop(columns=["seconds"]), 6))]
    if inputs:
        blocks += [Heading("Inputs", 3), Table(pd.DataFrame({"file": list(inputs), "sha256": list(inputs.values())}))]
    pngs = {b.path: b.png for b in blocks if isinstance(b, Image)}
    return Report(markdown=render_markdown(blocks), html=render_html(blocks, title), figures=pngs)
