"""The result of an allocation on duty patterns: posts per team, and what they give bucket by bucket.

:class:`RotaAllocation` is what :func:`allocator.allocate` returns for a force
with ``windows`` and ``patterns``. Its tables are tidy frames:

* :attr:`RotaAllocation.table`: posts per (area, role, pattern, team);
* :attr:`RotaAllocation.buckets`: per (area, role, bucket) the officers on
  duty (after abstraction, averaged over the bucket's hours), judged workload,
  coverage and utilisation (committed time, in percent);
* :attr:`RotaAllocation.metrics`: per role, the smallest coverage, the spread
  of utilisation, moves and unallocated posts;
* :attr:`RotaAllocation.moves`: officers to move, team changes included;
* :attr:`RotaAllocation.service_levels`: per (area, bucket) with a response
  floor, the floor, responders on duty, shortfall and whether it is met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from allocator.model.formulation import RESPONSE_FLOORS, Formulation
from allocator.results.allocation import explanation_dict, gini, workload_from
from allocator.solve.report import SolverReport

__all__ = ["BucketExplanation", "RotaAllocation"]

#: areas named in the words of a shortfall; beyond them a count
_AREAS_NAMED = 8

_TOL = 1e-9


def _cat(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> Any:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=pd.Index(list(names)),
                                     ordered=True)


@dataclass
class BucketExplanation:
    """Why (area, role) has the officers on duty it has in one bucket."""

    area: str
    role: str
    bucket: str
    posts: int
    by_pattern: dict[str, int]
    on_duty: float
    workload_hours: float
    committed_hours: float
    coverage: float
    utilisation: float
    role_min_coverage: float
    binding: list[str]
    current: int | None = None
    by_type: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the demand-type breakdown as a list of records)."""
        return explanation_dict(self)

    def __str__(self) -> str:
        patterns = ", ".join(f"{n} {k}" for n, k in self.by_pattern.items())
        lines = [
            f"{self.area} / {self.role} / {self.bucket}: {self.on_duty:.1f} on duty on average "
            f"({self.posts} posts: {patterns})",
            f"  workload {self.workload_hours:.1f} judged h, coverage {self.coverage:.3g} "
            f"(role's smallest {self.role_min_coverage:.3g}), utilisation {self.utilisation:.0f}%",
        ]
        if self.current is not None:
            lines.append(f"  currently {self.current} posts")
        lines.append("  bound by: " + ("; ".join(self.binding) if self.binding else "its proportional share"))
        lines += workload_from(self.by_type)
        if self.by_type is not None:
            carried = self.workload_hours - float(self.by_type["hours"].sum())
            if carried > 1e-6 * max(self.workload_hours, 1.0):
                lines.append(f"  plus {carried:.1f} judged h shared in from buckets with no {self.role} on duty")
        return "\n".join(lines)


class RotaAllocation:
    """Whole-number posts per (area, role, pattern, team), with how they were found.

    Attributes
    ----------
    formulation
        The :class:`~allocator.model.formulation.Formulation` solved.
    x
        int64 (columns,): posts per column (see ``formulation.columns()``).
    solver
        The :class:`~allocator.solve.report.SolverReport`.
    ratios
        Each role's smallest coverage reached (exact when the report says optimal).
    warnings
        Plain-English warnings (rota welfare checks, ...).
    profiles
        The patterns' profiles (on duty per team and hour, relief factor).
    force
        The force allocated (for explanations by demand type).
    """

    kind = "patterns"

    def __init__(self, formulation: Formulation, x: np.ndarray, solver: SolverReport,
                 ratios: dict[str, float] | None = None, warnings: list[str] | None = None,
                 profiles: list[Any] | None = None, force: Any = None):
        self.formulation = formulation
        self.force = force
        self.x = np.asarray(x, dtype=np.int64)
        self.solver = solver
        self.ratios = dict(ratios or {})
        self.warnings = list(warnings or [])
        self.profiles = list(profiles or [])

    def __repr__(self) -> str:
        f = self.formulation
        return (f"<RotaAllocation {len(f.areas)} areas x {len(f.roles)} roles on {len(f.patterns)} patterns, "
                f"{self.solver.backend} {self.solver.status}>")

    # ------------------------------------------------------------ arrays
    @property
    def posts(self) -> np.ndarray:
        """Posts per (area, role), int64 (A, R)."""
        return self.formulation.posts(self.x)

    @cached_property
    def coverage(self) -> np.ndarray:
        """Judged coverage per (area, role, bucket), NaN where no workload."""
        return self.formulation.coverage(self.x)

    @cached_property
    def utilisation(self) -> np.ndarray:
        """Committed time per (area, role, bucket), percent."""
        return self.formulation.utilisation(self.x)

    @cached_property
    def on_duty(self) -> np.ndarray:
        """Expected officers on duty per (area, role, hour of the week)."""
        return self.formulation.on_duty(self.x)

    # ------------------------------------------------------------ tables
    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per (area, role, pattern, team): ``posts`` (and ``current``, ``change``)."""
        f = self.formulation
        frame = pd.DataFrame({
            "area": _cat(f.col_area, f.areas),
            "role": _cat(f.col_role, f.roles),
            "pattern": _cat(f.col_pattern, f.patterns),
            "team": pd.array([f.teams[p][t] for p, t in zip(f.col_pattern, f.col_team, strict=True)],
                             dtype="string"),
            "posts": self.x,
        })
        if f.current is not None:
            frame["current"] = f.current.astype(np.int64)
            frame["change"] = frame["posts"] - frame["current"]
        return frame

    @cached_property
    def buckets(self) -> pd.DataFrame:
        """One row per (area, role, bucket): on duty, workload, coverage, utilisation.

        ``on_duty`` is the expected officers at work averaged over the bucket's
        hours (rest days from the pattern, then abstraction); ``workload_hours``
        the judged hours over the window; ``committed_hours`` the recorded
        demand's hours (no impact weight); ``utilisation`` committed hours over
        on-duty officer-hours, in percent.
        """
        return self._bucket_frame(self.x)

    @cached_property
    def current_buckets(self) -> pd.DataFrame | None:
        """:attr:`buckets` under the current posting (None without one): the picture before."""
        f = self.formulation
        return None if f.current is None else self._bucket_frame(f.current)

    def _bucket_frame(self, x: np.ndarray) -> pd.DataFrame:
        f = self.formulation
        A, R, B = f.shape
        on_duty = f.on_duty(x)
        duty = np.zeros((A, R, B))
        for b in range(B):
            duty[:, :, b] = on_duty[:, :, f.bucket_of_hour == b].mean(axis=2)
        ai, ri, bi = np.indices((A, R, B)).reshape(3, -1)
        committed = f.committed if f.committed is not None else np.full((A, R, B), np.nan)
        return pd.DataFrame({
            "area": _cat(ai, f.areas),
            "role": _cat(ri, f.roles),
            "bucket": _cat(bi, f.buckets),
            "on_duty": duty.ravel(),
            "workload_hours": f.workload.ravel(),
            "committed_hours": committed.ravel(),
            "coverage": f.coverage(x).ravel(),
            "utilisation": f.utilisation(x).ravel(),
        })

    @cached_property
    def by_hour(self) -> pd.DataFrame:
        """One row per (area, role, hour of the week): officers on duty against demand, in officers.

        ``on_duty`` is the expected officers at work in the hour (rest days from
        the patterns, then abstraction), ``current_on_duty`` the same under the
        current posting (with one). ``demand`` is the officers the recorded
        demand keeps busy in the hour on average: its committed hours (no
        impact weight, recency weights scaled to average 1) over the weeks of
        the window (NaN when the allocation carries no demand records). Hour 0
        is Monday 00:00.
        """
        f = self.formulation
        A, R, _ = f.shape
        ai, ri, hi = np.indices((A, R, 168)).reshape(3, -1)
        frame = pd.DataFrame({
            "area": _cat(ai, f.areas),
            "role": _cat(ri, f.roles),
            "hour_of_week": hi.astype(np.int64),
            "on_duty": self.on_duty.ravel(),
        })
        if f.current is not None:
            frame["current_on_duty"] = f.on_duty(f.current).ravel()
        committed = self._committed_by_hour()
        frame["demand"] = (committed / f.weeks).ravel() if committed is not None else np.nan
        return frame

    def _committed_by_hour(self) -> np.ndarray | None:
        """Committed hours per (area, role, hour of the week) over the window, or None."""
        partials = getattr(self.formulation.source, "partials", None)
        force = self.force
        if partials is None or force is None or partials.n_records == 0:
            return None
        from allocator.workload.kernel import judged_hours

        share, minutes, _, _ = force.judgement_arrays()
        hours = judged_hours(partials, share, minutes, np.ones_like(share), force.area_factor_array(),
                             force.settings.data_weight).sum(axis=2)  # (A, 168, R)
        mean_weight = float(partials.weight.sum()) / partials.n_records
        if mean_weight > 0:
            hours = hours / mean_weight
        return np.transpose(hours, (0, 2, 1))

    @cached_property
    def by_area(self) -> pd.DataFrame:
        """Posts per (area, role) with the per-team size range of each rota."""
        return self.table.groupby(["area", "role", "pattern"], observed=True)["posts"].agg(
            posts="sum", teams="count", smallest_team="min", largest_team="max").reset_index()

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Per role and overall (``all``): coverage and utilisation spread, moves, unallocated."""
        f = self.formulation
        rows = {}
        for r, role in enumerate(f.roles):
            rows[role] = self._metrics([r])
        rows["all"] = self._metrics(list(range(len(f.roles))))
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "role"
        return out

    def _metrics(self, roles: list[int]) -> dict[str, Any]:
        f = self.formulation
        cov = self.coverage[:, roles, :]
        vals = cov[np.isfinite(cov)]
        util = self.utilisation[:, roles, :]
        uvals = util[np.isfinite(util)]
        mine = np.isin(f.col_role, roles)
        posts = int(self.x[mine].sum())
        moves = math.nan
        if f.current is not None:
            moves = float(np.abs(self.x[mine] - f.current[mine]).sum()) / 2
        # utilisation weighted by on-duty hours: committed / on-duty hours over all buckets
        committed = f.committed[:, roles, :].sum() if f.committed is not None else math.nan
        duty_hours = self.on_duty[:, roles, :].sum() * f.weeks
        return {
            "posts": posts,
            "min_coverage": float(vals.min()) if vals.size else math.nan,
            "max_coverage": float(vals.max()) if vals.size else math.nan,
            "gini": gini(vals),
            "utilisation": float(100 * committed / duty_hours) if duty_hours > 0 else math.nan,
            "min_utilisation": float(uvals.min()) if uvals.size else math.nan,
            "max_utilisation": float(uvals.max()) if uvals.size else math.nan,
            "moves": moves,
            "unallocated": int(f.establishment[roles].sum() - posts),
        }

    @cached_property
    def rota(self) -> pd.DataFrame:
        """The patterns: kind, cycle length, teams, relief factor, duty hours per week per post."""
        rows = []
        for p in self.profiles:
            rows.append({
                "pattern": p.name,
                "kind": p.kind,
                "cycle_days": int(getattr(p, "cycle_days", 7)),
                "teams": len(p.teams),
                "relief_factor": float(p.relief_factor),
                "duty_hours_per_week": float(p.duty_hours_per_week),
            })
        return pd.DataFrame(rows, columns=["pattern", "kind", "cycle_days", "teams", "relief_factor",
                                           "duty_hours_per_week"])

    @cached_property
    def moves(self) -> pd.DataFrame:
        """Officers to move from the current posting, team changes included, paired deterministically.

        Within a role, decreases and increases are paired in column order, first
        inside the same area (a change of team or pattern), then across areas.
        """
        cols = ["role", "from_area", "from_pattern", "from_team", "to_area", "to_pattern", "to_team",
                "officers"]
        f = self.formulation
        if f.current is None:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "officers" else "string") for c in cols})
        un = "(unallocated)"
        rows: list[tuple[Any, ...]] = []

        def place(j: int) -> tuple[str, str, str]:
            p = int(f.col_pattern[j])
            return f.areas[f.col_area[j]], f.patterns[p], f.teams[p][f.col_team[j]]

        for r, role in enumerate(f.roles):
            mine = np.flatnonzero(f.col_role == r)
            diff = self.x[mine] - f.current[mine]
            give = np.maximum(-diff, 0)
            take = np.maximum(diff, 0)
            for same_area in (True, False):
                for i in np.flatnonzero(give):
                    for k in np.flatnonzero(take):
                        if give[i] == 0:
                            break
                        if same_area and f.col_area[mine[i]] != f.col_area[mine[k]]:
                            continue
                        n = int(min(give[i], take[k]))
                        if n:
                            rows.append((role, *place(mine[i]), *place(mine[k]), n))
                            give[i] -= n
                            take[k] -= n
            for i in np.flatnonzero(give):
                rows.append((role, *place(mine[i]), un, un, un, int(give[i])))
            for k in np.flatnonzero(take):
                rows.append((role, un, un, un, *place(mine[k]), int(take[k])))
        frame = pd.DataFrame(rows, columns=cols)
        for c in cols[:-1]:
            frame[c] = frame[c].astype("string")
        frame["officers"] = frame["officers"].astype("int64")
        return frame

    # ------------------------------------------------------ service levels
    @cached_property
    def service_levels(self) -> pd.DataFrame:
        """One row per (area, bucket) with a response floor (empty without service levels).

        Columns: ``floor`` (the largest floor of the bucket's hours, responder
        officers on duty), ``on_duty`` (responders on duty in the bucket's
        worst hour, ``worst_hour``: the hour with the least on duty for its
        floor), ``shortfall`` (officers short in that hour, 0 when met),
        ``met`` (every hour's floor row holds: on average, or on the chance of
        dates with the binomial rule; then also ``posts_short``, the most
        posts a rostered set of teams lacks, as ``shortfall`` is on average),
        ``binding`` (one post fewer on some
        team would break a floor row of the bucket: the service level, not
        workload, holds the posts there). After the queueing model
        (:func:`allocator.queueing.response.measure`) also the expected chance
        of waiting, mean wait and shares attended within target, at the worst hour.
        """
        return self._with_waits(self._service_rows.copy())

    @cached_property
    def _service_rows(self) -> pd.DataFrame:
        """:attr:`service_levels` without the queueing model's waits: what the shortfall in words needs."""
        cols = ["area", "bucket", "floor", "on_duty", "shortfall", "met", "binding", "worst_hour"]
        f = self.formulation
        sv = f.service
        fam = f.family(RESPONSE_FLOORS)
        if sv is None:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        duty = self.responders_on_duty
        values = fam.values(self.x) if fam is not None else np.zeros(0)
        met_h = sv.hours_met(values)
        tight_h = np.zeros(met_h.shape, dtype=bool)
        row, area, hour, tight = self._floor_cover_tight()
        np.logical_or.at(tight_h, (area, hour), tight)
        applied = sv.applied
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(applied > 0, duty / np.where(applied > 0, applied, 1.0), np.inf)
        short_h = np.where(met_h, 0.0, np.maximum(applied - duty, 0.0))
        floored = applied > 0
        # per bucket, for every area at once: the bucket's floored hours (ascending), the worst of them
        # (first least ratio of on duty to floor; an hour without a floor never wins)
        rank = np.where(floored, np.minimum(ratio, np.finfo(np.float64).max), np.inf)
        A, B = len(f.areas), len(f.buckets)
        present = np.zeros((A, B), dtype=bool)
        worst = np.zeros((A, B), dtype=np.int64)
        floor, shortfall = np.zeros((A, B)), np.zeros((A, B))
        met, binding = np.ones((A, B), dtype=bool), np.zeros((A, B), dtype=bool)
        for b in range(B):
            hours = np.flatnonzero(np.asarray(f.bucket_of_hour) == b)
            if not hours.size:
                continue
            on = floored[:, hours]
            present[:, b] = on.any(axis=1)
            worst[:, b] = hours[np.argmin(rank[:, hours], axis=1)]
            floor[:, b] = np.where(on, applied[:, hours], -np.inf).max(axis=1)
            shortfall[:, b] = np.where(on, short_h[:, hours], -np.inf).max(axis=1)
            met[:, b] = np.where(on, met_h[:, hours], True).all(axis=1)
            binding[:, b] = np.where(on, tight_h[:, hours], False).any(axis=1)
        a_idx, b_idx = np.nonzero(present)  # area by area, buckets in order
        at = worst[a_idx, b_idx]
        rows = {
            "area": [f.areas[a] for a in a_idx.tolist()], "bucket": [f.buckets[b] for b in b_idx.tolist()],
            "floor": floor[a_idx, b_idx], "on_duty": duty[a_idx, at].astype(np.float64),
            "shortfall": shortfall[a_idx, b_idx], "met": met[a_idx, b_idx], "binding": binding[a_idx, b_idx],
            "worst_hour": at,
        }
        frame = pd.DataFrame(rows, columns=cols)
        if sv.unit is None:  # on a chance of dates the rows count posts: the posts short of the binomial totals
            frame["posts_short"] = self._posts_short(values, frame)
        frame["area"] = pd.Categorical(frame["area"], categories=list(f.areas), ordered=True)
        frame["bucket"] = pd.Categorical(frame["bucket"], categories=list(f.buckets), ordered=True)
        return frame

    def _posts_short(self, values: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """Per row of ``frame``: the most posts any rostered team set of the bucket lacks (chance of dates)."""
        f = self.formulation
        sv = f.service
        assert sv is not None
        short = np.zeros((len(f.areas), 168))
        if sv.cover.size:
            row, area, hour = (sv.cover[:, k].astype(np.int64) for k in range(3))
            np.maximum.at(short, (area, hour), np.maximum(sv.cover[:, 3] - values[row], 0.0))
        out = np.zeros(len(frame))
        for i, (a, b) in enumerate(zip(frame["area"], frame["bucket"], strict=True)):
            hours = f.bucket_of_hour == f.buckets.index(str(b))
            out[i] = short[f.areas.index(str(a)), hours].max()
        return out

    def _with_waits(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the queueing model's expected service at each row's worst hour (when it is known).

        Adds ``p_wait`` (chance a call waits for a free unit), ``mean_wait``
        (minutes; infinite where the queue never empties) and
        ``within_<grade>`` (share of each grade's calls attended within its
        target) from :func:`allocator.queueing.response.measure` on the
        responders this posting puts on duty.
        """
        service = self.service_measure
        if service is None or frame.empty:
            return frame
        f = self.formulation
        at = np.array([f.areas.index(str(a)) for a in frame["area"]], dtype=np.int64) * 168 \
            + frame["worst_hour"].to_numpy(dtype=np.int64)
        picked = service.iloc[at].reset_index(drop=True)
        out = frame.copy()
        for c in ["p_wait", "mean_wait", *[c for c in service.columns if c.startswith("within_")]]:
            out[c] = picked[c].to_numpy()
        return out

    @cached_property
    def service_measure(self) -> pd.DataFrame | None:
        """The queueing model's service per (area, hour of the week) under this posting (None without it).

        :func:`allocator.queueing.response.measure` on :attr:`responders_on_duty`:
        servers, chance of waiting, mean wait, shares within target, met.
        """
        sv = self.formulation.service
        if sv is None or sv.source is None or not hasattr(sv.source, "load"):
            return None
        from allocator.queueing.response import measure

        return measure(sv.source, self.responders_on_duty)

    @cached_property
    def responders_on_duty(self) -> np.ndarray:
        """Expected responder officers on duty per (area, hour of the week), float64 (A, 168).

        The responders are the roles the force's ``service_levels`` names (PCs
        by default), whether or not this allocation was made with its floors,
        so a posting made without them can be measured against them.
        """
        f = self.formulation
        if f.service is not None:
            roles = list(f.service.responders)
        else:
            section = getattr(self.force, "service_levels", None)
            names = list(section.responders) if section is not None else ["PC"]
            roles = [f.roles.index(n) for n in names if n in f.roles]
        return self.on_duty[:, roles, :].sum(axis=1)

    def _floor_cover_tight(self) -> tuple[np.ndarray, ...]:
        """Per floored (area, hour) and row: ``(row, area, hour, tight)``, tight when met within one post.

        A row merged over several hours is tight only for the hours whose own
        floor it meets within one post.
        """
        f = self.formulation
        fam = f.family(RESPONSE_FLOORS)
        if fam is None or f.service is None or not f.service.cover.size:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, np.zeros(0, dtype=bool)
        cover = f.service.cover
        row, area, hour = (cover[:, k].astype(np.int64) for k in range(3))
        values = fam.values(self.x)
        top = np.zeros(fam.n_rows)
        np.maximum.at(top, fam.rows, fam.vals.astype(float))
        need = np.minimum(cover[:, 3], fam.lo[row])  # below the floor when the floors are held at a level
        v = values[row]
        return row, area, hour, (v >= need - 1e-9) & (v - need < top[row])

    def _floor_tight(self, values: np.ndarray) -> np.ndarray:
        """bool per floor row: within one post of its limit (a team one post smaller would break it)."""
        fam = self.formulation.family(RESPONSE_FLOORS)
        assert fam is not None
        top = np.zeros(fam.n_rows)
        np.maximum.at(top, fam.rows, fam.vals.astype(float))
        return np.asarray((values >= fam.lo - 1e-9) & (values - fam.lo < top))

    def shortfall_words(self) -> str:
        """The service levels the posting cannot meet, in plain words (empty when all are met).

        Names the smallest fraction of a floor met (the service-level stage's
        level) and each area's buckets short, with how many officers.
        """
        frame = self._service_rows  # the waits are not needed for the words
        short = frame[~frame["met"]]
        if short.empty:
            return ""
        f = self.formulation
        assert f.service is not None
        who = "/".join(f.roles[r] for r in f.service.responders)
        level = self.solver.objective.get("service level[all]", math.nan)
        if math.isfinite(level) and level < 1:
            head = f"the establishment cannot meet every response floor: at best {level:.0%} of each floor is met"
        else:
            head = "some response floors fall in hours when no responder pattern is on duty; no posting meets them"
        chance = "posts_short" in frame.columns  # rows count posts on rostered teams
        key, unit = ("posts_short", f"{who} posts on a rostered team") if chance else ("shortfall", f"{who}s")
        # area by area (the force's order), each area's buckets by most short, then in bucket order
        area_code = short["area"].cat.codes.to_numpy()
        bucket_code = short["bucket"].cat.codes.to_numpy()
        amount = short[key].to_numpy(dtype=np.float64)
        order = np.lexsort((bucket_code, -amount, area_code))
        area_code, bucket_code, amount = area_code[order], bucket_code[order], amount[order]
        starts = np.flatnonzero(np.r_[True, area_code[1:] != area_code[:-1]])
        places = 0 if chance else 1
        parts: list[tuple[float, str]] = []
        for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True):
            named = [f"{f.buckets[b]} {v:.{places}f}" for b, v in zip(bucket_code[lo:lo + 3].tolist(),
                                                                       amount[lo:lo + 3].tolist(), strict=True)]
            n = hi - lo
            if n > 3:
                named.append(f"{n - 3} more")
            plural = "bucket" if n == 1 else "buckets"
            most = float(amount[lo:hi].max())
            parts.append((most, f"{f.areas[area_code[lo]]}: {n} {plural} short, up to {most:.{places}f} {unit} "
                                f"({', '.join(named)})"))
        shown = [text for _, text in parts]
        if len(parts) > _AREAS_NAMED:  # a large force: the areas most short, in the force's order
            keep = sorted(sorted(range(len(parts)), key=lambda i: -parts[i][0])[:_AREAS_NAMED])
            shown = [parts[i][1] for i in keep]
            shown.append(f"{len(parts) - _AREAS_NAMED} more areas short (service_levels lists every bucket)")
        return head + ". Short: " + "; ".join(shown)

    # ------------------------------------------------------------ binding
    @cached_property
    def binding(self) -> pd.DataFrame:
        """The rules at their limit under this posting: family and the row in the force's words.

        Teams one post apart are left out (that is the within-one-post rule
        working); exactly equal teams are listed.
        """
        rows = [{"family": name.split(": ", 1)[0], "rule": name.split(": ", 1)[1]}
                for name, _ in self._tight_rows]
        return pd.DataFrame(rows, columns=["family", "rule"])

    @cached_property
    def _tight_rows(self) -> list[tuple[str, np.ndarray]]:
        """Each rule at its limit, in the force's words, with the columns it touches."""
        f = self.formulation
        out = []
        for fam in f.families:
            if fam.name == "team equality" and not np.isfinite(fam.lo).any():
                continue  # teams one post apart are the rule working, not a rule holding the answer back
            v = fam.values(self.x, f.current)
            if fam.name == RESPONSE_FLOORS:  # in whole posts: a floor one post from breaking holds the posting
                for i in np.flatnonzero(self._floor_tight(v)):
                    out.append((f"{fam.name}: {fam.labels[i]}", fam.row_columns(int(i))))
                continue
            tight = (np.abs(v - fam.lo) <= 1e-9) | (np.abs(v - fam.hi) <= 1e-9)
            for i in np.flatnonzero(tight):
                cols = fam.row_columns(int(i))
                if not cols.size and fam.l1:
                    cols = np.flatnonzero(fam.l1[i])
                out.append((f"{fam.name}: {fam.labels[i]}", cols))
        return out

    def explain(self, area: str, role: str, bucket: str, by_type: bool = True) -> BucketExplanation:
        """Why ``area``'s ``role`` has the officers on duty it has in ``bucket``.

        ``by_type=False`` leaves out the breakdown by demand type (faster, for
        every bucket at once). Raises ``KeyError`` naming the valid choices
        when a name is unknown.
        """
        f = self.formulation
        for name, valid in ((area, f.areas), (role, f.roles), (bucket, f.buckets)):
            if name not in valid:
                raise KeyError(f"unknown {name!r}; one of {', '.join(valid)}")
        a, r, b = f.areas.index(area), f.roles.index(role), f.buckets.index(bucket)
        mine = np.flatnonzero((f.col_area == a) & (f.col_role == r))
        by_pattern: dict[str, int] = {}
        for j in mine:
            name = f.patterns[f.col_pattern[j]]
            by_pattern[name] = by_pattern.get(name, 0) + int(self.x[j])
        row = self.buckets.iloc[(a * len(f.roles) + r) * len(f.buckets) + b]
        u = self.ratios.get(role, math.nan)
        cov = float(row["coverage"])
        binding = []
        if math.isfinite(cov) and math.isfinite(u) and abs(cov - u) <= 1e-6 * max(u, 1e-12):
            binding.append(f"fairness bottleneck: at {role}'s smallest coverage {u:.4g}")
        floor_rows = self._floor_rows_of(a, b)
        for text, cols in self._tight_rows:
            if text.startswith(RESPONSE_FLOORS + ": "):
                if text in floor_rows and np.isin(cols, mine).any():
                    binding.append("service level: " + text.split(": ", 1)[1])
                continue
            if np.isin(cols, mine).any():
                binding.append(text)
        current = None if f.current is None else int(f.current[mine].sum())
        return BucketExplanation(
            area=area, role=role, bucket=bucket, posts=int(self.x[mine].sum()), by_pattern=by_pattern,
            on_duty=float(row["on_duty"]), workload_hours=float(row["workload_hours"]),
            committed_hours=float(row["committed_hours"]), coverage=cov,
            utilisation=float(row["utilisation"]), role_min_coverage=u, binding=binding, current=current,
            by_type=self._by_type(a, r, b) if by_type else None,
        )

    def _floor_rows_of(self, a: int, b: int) -> set[str]:
        """The floor rows (family and words) that an hour of bucket ``b`` in area ``a`` asks of."""
        f = self.formulation
        fam = f.family(RESPONSE_FLOORS)
        if fam is None or f.service is None or not f.service.cover.size:
            return set()
        row, area, hour, tight = self._floor_cover_tight()
        pick = (area == a) & (f.bucket_of_hour[hour] == b) & tight
        return {f"{fam.name}: {fam.labels[i]}" for i in np.unique(row[pick]).tolist()}

    def _by_type(self, a: int, r: int, b: int) -> pd.DataFrame | None:
        f = self.formulation
        partials = getattr(f.source, "partials", None)
        force = self.force
        if partials is None or force is None:
            return None
        from allocator.workload.kernel import judged_hours

        share, minutes, impact, _ = force.judgement_arrays()
        hours = judged_hours(partials, share, minutes, impact, force.area_factor_array(),
                             force.settings.data_weight)[a, f.bucket_of_hour == b, :, r].sum(axis=0)
        total = hours.sum()
        frame = pd.DataFrame({"demand_type": list(force.type_codes), "hours": hours,
                              "share": hours / total if total > 0 else 0.0})
        return frame[frame["hours"] > 0].sort_values("hours", ascending=False, kind="stable").reset_index(drop=True)

    # ---------------------------------------------------------- notebook
    def _repr_html_(self) -> str:
        """A compact HTML summary: status, posts per area and role with team sizes, utilisation per role."""
        from allocator.present.notebook import rota_allocation_html

        return rota_allocation_html(self)

    def plot(self, role: str | None = None) -> Any:
        """Utilisation heatmaps, area x (weekday, window), one panel per role (or ``role`` only).

        Returns a matplotlib ``Figure`` (needs the ``plot`` extra); see
        :func:`allocator.present.rota_plots.plot_utilisation`.
        """
        from allocator.present.rota_plots import plot_utilisation

        if role is not None and role not in self.formulation.roles:
            raise KeyError(f"unknown role {role!r}; one of {', '.join(self.formulation.roles)}")
        return plot_utilisation(self.buckets, role)

    def to_excel(self, path: Any) -> None:
        """Write the tables to an ``.xlsx`` workbook, atomically (same allocation, same bytes)."""
        from allocator.io.excel import frames_to_excel

        sheets = {"Posts": self.table, "Buckets": self.buckets, "Metrics": self.metrics.reset_index(),
                  "Rota": self.rota}
        if self.formulation.current is not None:
            sheets["Moves"] = self.moves
        if self.formulation.service is not None:
            sheets["Service levels"] = self.service_levels
        frames_to_excel(sheets, path)
