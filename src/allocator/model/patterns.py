"""On-duty profiles of duty patterns, coverage buckets and rostered team sets.

Pure, vectorised and deterministic: everything here is numpy arithmetic on the
force's duty windows and patterns (:mod:`allocator.model.rota`).

Time runs in hours of the week, ``h = 0..167``, ``0`` = Monday 00:00 local
(the workload engine's convention). A window starting on weekday ``d`` at
minute ``m`` covers minutes ``[d*1440 + m, d*1440 + m + 60*hours)`` of the
week, wrapping at the week's end (Sunday night runs into Monday morning).
Days are counted from a reference Monday (2024-01-01), so patterns with
different anchors line up.

Examples
--------
>>> from allocator.model.rota import DutyWindow, Pattern
>>> windows = [DutyWindow(name="Early", start="07:00", hours=8),
...            DutyWindow(name="Late", start="14:00", hours=8),
...            DutyWindow(name="Night", start="22:00", hours=9)]
>>> rota = Pattern(name="Response", rota="E E L L N N R R R R",
...                codes={"E": "Early", "L": "Late", "N": "Night"}, teams=5)
>>> p = pattern_profile(rota, windows)
>>> p.teams, p.period_days, round(p.relief_factor, 4)
(('1', '2', '3', '4', '5'), 70, 1.6667)
>>> p.on_duty.sum(axis=0)[[6, 7, 14, 22]]      # posts on duty, one post per team
array([1., 1., 2., 1.])
>>> b = buckets_for(windows, "windows")
>>> b.names[:3], b.names[-1], len(b.hours(b.names.index("Sun Night")))
(('Mon Early', 'Mon Late', 'Mon Night'), 'Sun Night', 9)
>>> least_team_total(5, 0.5, 0.9)
14
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from allocator.model.rota import (
    WEEKDAYS,
    BucketDayparts,
    BucketSplit,
    DutyWindow,
    Pattern,
    hhmm_minutes,
)
from allocator.model.welfare import check_welfare

if TYPE_CHECKING:
    from allocator.model.force import Force

__all__ = [
    "REFERENCE_MONDAY",
    "WEEKDAYS",
    "Buckets",
    "PatternProfile",
    "anchor_day",
    "buckets_for",
    "check_welfare",
    "duty_intervals",
    "least_team_total",
    "legacy_patterns",
    "make_buckets",
    "pattern_profile",
    "pattern_profiles",
    "rostered_sets",
    "schedule_of",
]

logger = logging.getLogger(__name__)

REFERENCE_MONDAY = dt.date(2024, 1, 1)
"""Day 0 of every schedule: a Monday, so day ``t`` falls on weekday ``t % 7``."""

_DAY = 1440
_WEEK = 7 * _DAY


# ------------------------------------------------------------------ profiles
@dataclass(frozen=True, eq=False)
class PatternProfile:
    """What a pattern puts on duty, per team, hour by hour through the week.

    Attributes
    ----------
    name, kind, teams
        The pattern's name, ``"rota"`` or ``"fixed"``, and its team labels
        (``("1", ..., "5")``; a fixed pattern has one team, ``("all",)``).
    on_duty : float64 (T, 168)
        Average fraction of one post of each team on duty in each hour of the
        week, over ``period_days``.
    relief_factor : float
        Calendar days per duty day (2-2-2: 10/6; Monday to Friday: 7/5).
    duty_hours_per_week : float
        Duty hours of one post in an average week.
    window_share : float64 (T, 7, W)
        Average number of duties of each window (force order) a post works on
        each weekday (the weekday the duty starts).
    period_days : int
        ``lcm(cycle, 7)``: after it every team's week repeats (7 for fixed).
    cycle_days, offsets, anchor_day
        The cycle's length, each team's offset in days and the anchor's day
        from the reference Monday: team ``k`` works cycle day
        ``(t - anchor_day - offsets[k]) % cycle_days`` on day ``t``.
    schedule : int64 (T, period_days)
        Window index (force order) each team works on each day from the
        reference Monday, -1 on rest days.
    rostered : bool (T, 24 * period_days)
        Whether each team is on duty for the whole of each hour of the period.
    on_minutes : bool (T, 1440 * period_days)
        Whether each team is on duty in each minute of the period.
    window_names, window_start, window_minutes
        The force's windows, their start (minutes after midnight) on each
        weekday, shape (W, 7), and their length in minutes, shape (W,).
    """

    name: str
    kind: Literal["rota", "fixed"]
    teams: tuple[str, ...]
    on_duty: np.ndarray
    relief_factor: float
    duty_hours_per_week: float
    window_share: np.ndarray
    period_days: int
    cycle_days: int
    offsets: tuple[int, ...]
    anchor_day: int
    schedule: np.ndarray
    rostered: np.ndarray
    on_minutes: np.ndarray
    window_names: tuple[str, ...]
    window_start: np.ndarray
    window_minutes: np.ndarray

    def roster(self, day: int) -> np.ndarray:
        """Teams on duty for the whole of each hour of ``day`` (days from the reference Monday).

        Returns bool of shape (T, 24).
        """
        d = day % self.period_days
        return self.rostered[:, 24 * d : 24 * (d + 1)]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _window_tables(windows: Sequence[DutyWindow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = np.array([[w.start_on(d) for d in range(7)] for w in windows], dtype=np.int64)
    runs = np.array([[w.runs_on(d) for d in range(7)] for w in windows], dtype=bool)
    minutes = np.array([w.minutes for w in windows], dtype=np.int64)
    return start.reshape(len(windows), 7), runs.reshape(len(windows), 7), minutes


def schedule_of(pattern: Pattern, windows: Sequence[DutyWindow]) -> np.ndarray:
    """Window index (-1: rest) each team works each day of ``lcm(cycle, 7)`` from the reference Monday.

    Raises ``KeyError`` for a window the force does not have (the force's
    cross-checks report that first).
    """
    index = {w.name: i for i, w in enumerate(windows)}
    cycle = np.array([-1 if w is None else index[w] for w in pattern.cycle_windows()], dtype=np.int64)
    n = cycle.size
    period = math.lcm(n, 7)
    days = np.arange(period, dtype=np.int64)
    offsets = np.array(pattern.team_offsets(), dtype=np.int64)
    cycle_day = (days[None, :] - anchor_day(pattern) - offsets[:, None]) % n
    return cycle[cycle_day]


def anchor_day(pattern: Pattern) -> int:
    """The anchor's day from the reference Monday (0 without an anchor, or for a fixed pattern)."""
    if pattern.kind == "fixed" or pattern.anchor is None:
        return 0
    return (pattern.anchor - REFERENCE_MONDAY).days


def duty_intervals(schedule: np.ndarray, start: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every duty of a schedule: (team, day, window, start minute, end minute) from day 0's midnight."""
    team, day = np.nonzero(schedule >= 0)
    window = schedule[team, day]
    begin = day * _DAY + start[window, day % 7]
    return team, day, window, begin, begin + minutes[window]


def _minute_cover(schedule: np.ndarray, start: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Duties on at each minute of the period per team, cyclic, int16 (T, period * 1440)."""
    t_count, period = schedule.shape
    total = period * _DAY
    team, _, _, begin, end = duty_intervals(schedule, start, minutes)
    diff = np.zeros((t_count, total + 1), dtype=np.int16)
    np.add.at(diff, (team, begin), 1)
    np.add.at(diff, (team, np.minimum(end, total)), -1)
    wrap = end > total
    np.add.at(diff, (team[wrap], np.zeros(int(wrap.sum()), dtype=np.int64)), 1)
    np.add.at(diff, (team[wrap], end[wrap] - total), -1)
    return np.cumsum(diff[:, :total], axis=1, dtype=np.int16)


def pattern_profile(pattern: Pattern, windows: Sequence[DutyWindow]) -> PatternProfile:
    """The :class:`PatternProfile` of one pattern over the force's windows (force order)."""
    start, _, minutes = _window_tables(windows)
    schedule = schedule_of(pattern, windows)
    t_count, period = schedule.shape
    weeks = period // 7
    cover = _minute_cover(schedule, start, minutes)
    on_duty = cover.reshape(t_count, weeks, 168, 60).mean(axis=(1, 3), dtype=np.float64)
    rostered = np.asarray((cover.reshape(t_count, period * 24, 60) >= 1).all(axis=2))
    share = np.zeros((t_count, 7, len(windows)))
    team, day = np.nonzero(schedule >= 0)
    np.add.at(share, (team, day % 7, schedule[team, day]), 1.0 / weeks)
    duties = int((schedule >= 0).sum())
    relief = period * t_count / duties if duties else math.inf
    return PatternProfile(
        name=pattern.name,
        kind=pattern.kind,
        teams=pattern.team_labels(),
        on_duty=_readonly(on_duty),
        relief_factor=relief,
        duty_hours_per_week=float(on_duty.sum(axis=1).mean()),
        window_share=_readonly(share),
        period_days=period,
        cycle_days=pattern.cycle_days,
        offsets=tuple(pattern.team_offsets()),
        anchor_day=anchor_day(pattern),
        schedule=_readonly(schedule),
        rostered=_readonly(rostered),
        on_minutes=_readonly(cover > 0),
        window_names=tuple(w.name for w in windows),
        window_start=_readonly(start),
        window_minutes=_readonly(minutes),
    )


def legacy_patterns(force: Force) -> tuple[list[DutyWindow], list[Pattern]]:
    """The windows and patterns equivalent to an old force file's ``shifts``.

    Each shift becomes a window running every day and a fixed pattern of the
    same name worked every day: no rest days.
    """
    windows = [DutyWindow(name=s.name, start=s.start, hours=s.hours) for s in force.shifts]
    patterns = [Pattern(name=s.name, fixed=dict.fromkeys(WEEKDAYS, s.name)) for s in force.shifts]
    return windows, patterns


def pattern_profiles(force: Force) -> list[PatternProfile]:
    """Profiles of the force's patterns, in force order (legacy: one per shift)."""
    if force.patterns:
        windows, patterns = list(force.windows), list(force.patterns)
    else:
        windows, patterns = legacy_patterns(force)
    return [pattern_profile(p, windows) for p in patterns]


# ------------------------------------------------------------------- buckets
@dataclass(frozen=True, eq=False)
class Buckets:
    """A partition of the 168 hours of the week into named buckets.

    ``names`` are ``"<weekday> <label>"`` (``"Sat Night"``, ``"Mon 07:00"``);
    ``of_hour`` (168,) the bucket of each hour; ``weekday``, ``label`` and
    ``start_hour`` describe each bucket, in order of ``start_hour``.
    """

    names: tuple[str, ...]
    of_hour: np.ndarray
    weekday: np.ndarray
    label: tuple[str, ...]
    start_hour: np.ndarray

    def hours(self, b: int) -> np.ndarray:
        """Hours of the week in bucket ``b``, in time order from its start (wrapping past Sunday)."""
        count = int((self.of_hour == b).sum())
        return (self.start_hour[b] + np.arange(count, dtype=np.int64)) % 168

    def matrix(self) -> np.ndarray:
        """0/1 float64 (168, B): ``W_bucket = W_hour @ matrix``."""
        out = np.zeros((168, len(self.names)))
        out[np.arange(168), self.of_hour] = 1.0
        return out

    def index(self, name: str) -> int:
        """The position of the bucket called ``name``."""
        return self.names.index(name)


def _from_splits(splits: dict[int, str]) -> Buckets:
    """Buckets from split hours of the week -> label; each runs to the next split, cyclically."""
    starts = np.array(sorted(splits), dtype=np.int64)
    labels = tuple(splits[int(h)] for h in starts)
    weekday = starts // 24
    names = tuple(f"{WEEKDAYS[int(d)]} {lab}" for d, lab in zip(weekday, labels, strict=True))
    # hour h belongs to the last split at or before it; hours before the first split wrap to the last
    of_hour = (np.searchsorted(starts, np.arange(168), side="right") - 1) % starts.size
    return Buckets(
        names=names,
        of_hour=_readonly(of_hour.astype(np.int64)),
        weekday=_readonly(weekday),
        label=labels,
        start_hour=_readonly(starts),
    )


def _window_splits(windows: Sequence[DutyWindow]) -> dict[int, str]:
    if not windows:
        raise ValueError("buckets by windows need at least one duty window")
    day_start = min(w.start_on(d) for w in windows for d in range(7) if w.runs_on(d)) // 60
    splits: dict[int, list[str]] = {}
    for w in windows:
        for d in range(7):
            if w.runs_on(d):
                splits.setdefault(24 * d + w.start_on(d) // 60, []).append(w.name)
    out = {h: "/".join(names) for h, names in splits.items()}
    for d in range(7):
        # the force day starts at the earliest window start on every weekday
        out.setdefault(24 * d + day_start, f"{day_start:02d}:00")
    return out


def buckets_for(windows: Sequence[DutyWindow], spec: Any = "windows") -> Buckets:
    """Buckets for ``spec``: ``"windows"``, ``"hours"``, a :class:`BucketSplit` or :class:`BucketDayparts`.

    Buckets are whole hours. ``"windows"``: every weekday is split at the hour
    each window running that day starts in (its start that day), and each
    bucket runs to the next split, so a night belongs to the day it starts and
    ``Sun Night`` runs into Monday. Windows starting in the same hour share one
    bucket named after both (``Early/Day``). The force day starts at the
    earliest window start: a weekday on which no window starts then gets a
    bucket there named by the hour (``Sat 07:00``). ``split_at`` does the same
    with the named windows only; ``dayparts`` splits every day at the same
    times; ``"hours"`` gives 168 one-hour buckets (``Mon 07:00``).
    """
    if isinstance(spec, dict):
        spec = BucketSplit(**spec) if "split_at" in spec else BucketDayparts(**spec)
    if spec == "hours":
        return _from_splits({h: f"{h % 24:02d}:00" for h in range(168)})
    if spec == "windows":
        return _from_splits(_window_splits(windows))
    if isinstance(spec, BucketSplit):
        by_name = {w.name: w for w in windows}
        unknown = [n for n in spec.split_at if n not in by_name]
        if unknown:
            raise ValueError(f"split_at names unknown windows {unknown}")
        return _from_splits(_window_splits([by_name[n] for n in spec.split_at]))
    if isinstance(spec, BucketDayparts):
        splits: dict[int, str] = {}
        for part in spec.dayparts:
            hour = hhmm_minutes(part.start) // 60
            if hour in splits:
                raise ValueError(f"day parts {splits[hour]!r} and {part.name!r} start in the same hour")
            for d in range(7):
                splits[24 * d + hour] = part.name
        return _from_splits(splits)
    raise ValueError(f"unknown bucket setting {spec!r}")


def make_buckets(force: Force) -> Buckets:
    """The force's coverage buckets (``settings.buckets`` over its windows; legacy: its shifts)."""
    windows = list(force.windows) if force.patterns else legacy_patterns(force)[0]
    return buckets_for(windows, force.settings.buckets)


# -------------------------------------------------------- minimum on q of dates
def rostered_sets(profiles: list[PatternProfile], hours: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """The distinct sets of (pattern index, team index) on duty together in the given hours.

    Taken minute by minute over the joint period ``lcm(7, periods)`` days, for
    every hour of the week in ``hours``, merged: with windows that start and
    end on the hour these are the teams on duty for the whole of an hour; a
    window starting at 07:30 gives the hour 07:00 two sets, the team going off
    and the team coming on. Sets that contain another set are dropped (a
    minimum that holds for the smaller set holds for the larger). Sorted by
    size, then contents. A moment with nobody on duty gives the empty set.

    The q-of-dates rule for minimum staffing must hold for every set returned.
    """
    if not profiles:
        return [()]
    joint = math.lcm(7, *(p.period_days for p in profiles))
    weeks = np.arange(joint // 7, dtype=np.int64)
    labels = [(i, k) for i, p in enumerate(profiles) for k in range(len(p.teams))]
    hs = np.unique(np.asarray(hours, dtype=np.int64) % 168)
    # every minute of every given hour in every week of the joint period: (hours, weeks, 60)
    day = hs[:, None] // 24 + 7 * weeks[None, :]
    rows = []
    for p in profiles:
        at = ((day % p.period_days) * _DAY + (hs[:, None] % 24) * 60)[:, :, None] + np.arange(60)
        rows.append(p.on_minutes[:, at.ravel()])
    on = np.concatenate(rows, axis=0)  # (teams, moments)
    if len(labels) <= 62:
        keys = np.unique((on.astype(np.int64) << np.arange(len(labels), dtype=np.int64)[:, None]).sum(axis=0))
        columns = {tuple(bool((int(key) >> j) & 1) for j in range(len(labels))) for key in keys}
    else:
        columns = set(map(tuple, np.unique(on.T, axis=0).tolist()))
    sets = {tuple(lab for lab, flag in zip(labels, col, strict=True) if flag) for col in columns}
    ordered = sorted(sets, key=lambda s: (len(s), s))
    minimal: list[tuple[tuple[int, int], ...]] = []
    for s in ordered:
        if not any(set(m) <= set(s) for m in minimal):
            minimal.append(s)
    return minimal


def least_team_total(need: int, available: float, chance: float) -> int:
    """The least ``n`` with ``P(Binomial(n, available) >= need) >= chance``.

    Exact, summed in log space. Raises ``ValueError`` when no ``n`` can reach
    the chance (nobody is ever available, or a chance of 1 with absences).

    >>> least_team_total(5, 0.5, 0.9), least_team_total(5, 0.5, 0.85)
    (14, 13)
    >>> least_team_total(0, 0.5, 0.9), least_team_total(3, 1.0, 0.99)
    (0, 3)
    """
    if need <= 0:
        return 0
    if not 0 < chance <= 1:
        raise ValueError(f"chance must be above 0 and at most 1, got {chance}")
    if available >= 1:
        return need
    if available <= 0 or chance >= 1:
        raise ValueError(f"{need} on duty can never be had with chance {chance} at availability {available}")
    limit = math.log1p(-chance)

    def short(n: int) -> bool:  # P(X < need) > 1 - chance
        k = np.arange(need, dtype=np.float64)
        logs = (
            math.lgamma(n + 1)
            - np.array([math.lgamma(x + 1) + math.lgamma(n - x + 1) for x in k])
            + k * math.log(available)
            + (n - k) * math.log1p(-available)
        )
        top = float(logs.max())
        return top + math.log(float(np.exp(logs - top).sum())) > limit + 1e-12

    lo, hi = need, need
    while short(hi):
        lo, hi = hi + 1, 2 * hi
    while lo < hi:
        mid = (lo + hi) // 2
        if short(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo

