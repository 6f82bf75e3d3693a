"""The allocation on duty patterns as one solver-neutral formulation of all roles.

Decision: whole posts per **column** ``(area, role, pattern, team)`` (a fixed
pattern has one team). Everything else is data:

* **coverage rows**, one per (area, role, bucket) with workload: the judged
  (impact-weighted) coverage of the bucket is
  ``kappa_r * sum_j I[j, b] x_j / W[a, r, b]``, where ``I[j, b]`` is the whole
  number of minutes a post of column ``j`` is on duty in bucket ``b`` over the
  common period of ``period_weeks`` weeks (whole numbers, so every row the
  solvers see has integer coefficients), ``W`` the judged hours of the bucket
  over the demand window, and ``kappa_r`` the reactive hours one post-minute
  of the period is worth over the window,
  ``(1 - abstraction) (1 - proactive share) weeks / (60 period_weeks)``;
* **constraint families** (:class:`Family`), each a block of integer rows
  ``lo <= sum_j a_ij x_j <= hi`` with the force's words for every row, and
  whether the block links areas or roles. The planner reads the links to pick
  an exact route; the backends translate the rows without knowing what they
  mean, so a new rule is one new family here and nothing else.

The families built from a force: ``establishment`` (each role's posts sum to
its establishment), ``area bounds``, ``pins``, ``minimum staffing`` (on
average, or on a chance of dates with the binomial rule), ``team equality``
(a rota's teams within one post, or equal), ``ratio`` and ``headcount cap``
(rules across roles), ``move limit`` / ``move budget`` (with a current
posting), and ``response floors`` (responders on duty for the service levels,
see :class:`ServiceFloors`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ESTABLISHMENT",
    "RESPONSE_FLOORS",
    "Family",
    "Formulation",
    "ServiceFloors",
    "integer_row",
]

ESTABLISHMENT = "establishment"
AREA_BOUNDS = "area bounds"
PINS = "pins"
MIN_STAFFING = "minimum staffing"
TEAM_EQUALITY = "team equality"
RATIO = "ratio"
HEADCOUNT = "headcount cap"
MOVE_LIMIT = "move limit"
MOVE_BUDGET = "move budget"
RESPONSE_FLOORS = "response floors"


@dataclass(frozen=True, eq=False)
class Family:
    """One named block of integer linear rows over the columns.

    Parameters
    ----------
    name
        The family (``"minimum staffing"``, ``"ratio"``, ...).
    rows, cols, vals
        The rows' coefficients in coordinate form; ``vals`` are whole numbers.
    lo, hi
        Bounds of each row (``-inf``/``inf`` where open); whole numbers otherwise.
    labels
        Each row in the force's words, for explanations and diagnosis.
    roles
        The roles (indices) the family touches.
    links_areas, links_roles
        Whether some row spans columns of several areas / several roles.
    l1
        Rows whose value is a sum of absolute changes from ``current`` (the
        move limit and budget): ``(weights per column, row)``; the backends
        model ``|x_j - current_j|`` for them with auxiliary variables.
    """

    name: str
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    labels: tuple[str, ...]
    roles: frozenset[int]
    links_areas: bool = False
    links_roles: bool = False
    l1: tuple[np.ndarray, ...] = ()

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.lo.size)

    def row_columns(self, i: int) -> np.ndarray:
        """The columns of row ``i`` (empty for a row on absolute changes)."""
        order, starts = self._row_index
        return self.cols[order[starts[i]:starts[i + 1]]]

    @cached_property
    def _row_index(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.rows, kind="stable")
        starts = np.searchsorted(self.rows[order], np.arange(self.n_rows + 1))
        return order, starts

    def values(self, x: np.ndarray, current: np.ndarray | None = None) -> np.ndarray:
        """Each row's value for posting ``x``."""
        out = np.zeros(self.n_rows)
        np.add.at(out, self.rows, self.vals * np.asarray(x, dtype=float)[self.cols])
        if self.l1:
            assert current is not None
            for k, weights in enumerate(self.l1):
                out[k] += float((weights * np.abs(np.asarray(x) - current)).sum())
        return out

    def violated(self, x: np.ndarray, current: np.ndarray | None = None) -> np.ndarray:
        """Indices of the rows ``x`` breaks."""
        v = self.values(x, current)
        return np.flatnonzero((v < self.lo - 1e-9) | (v > self.hi + 1e-9))


@dataclass(frozen=True, eq=False)
class ServiceFloors:
    """The response floors a formulation carries, as the allocation applies them.

    Attributes
    ----------
    hourly
        float64 (A, 168): least responder officers on duty in each hour of the
        week to meet the service level (as given, e.g. by
        :func:`allocator.queueing.response.response_floors`).
    applied
        float64 (A, 168): the floor each hour's row asks for: ``hourly`` at
        the hour level; at the bucket level every hour of a bucket asks for the
        bucket's busiest hour (or the configured percentile of its hours).
    responders
        The roles (indices) whose officers count towards the floors.
    level
        ``"hour"`` or ``"bucket"``.
    percentile
        At the bucket level, the percentile of the bucket's hourly floors (None: the busiest hour).
    chance
        None (floors on average), or the share of dates on which the floor must
        hold (the binomial rule of minimum staffing).
    purpose
        Per area, what the floor is for in the force's words
        (``"Immediate calls within 20 min"``).
    cover
        float64 (K, 4): what each floored hour asks of the family's rows,
        ``(row, area, hour, right-hand side)``; the row's value must reach the
        right-hand side for the hour's floor to be met (rows of one area with
        the same columns and coefficients are merged, the largest kept).
    unit
        On average: the rows' units per officer on duty
        (``60 * period_weeks * scale``); None on a chance of dates (rows count posts).
    source
        The floors as given (a ``ResponseFloors`` carries the queueing model
        that measures a posting's expected waits).
    """

    hourly: np.ndarray
    applied: np.ndarray
    responders: tuple[int, ...]
    level: str = "hour"
    percentile: float | None = None
    chance: float | None = None
    purpose: tuple[str, ...] = ()
    cover: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    unit: float | None = None
    source: Any = field(default=None, repr=False)

    def hours_met(self, values: np.ndarray) -> np.ndarray:
        """bool (A, 168): whether each hour's floor is met, given the family rows' ``values``.

        An hour with a floor but no row (no responder pattern on duty then) is not met.
        """
        met = np.ones(self.applied.shape, dtype=bool)
        met[self.applied > 0] = False
        if self.cover.size:
            row, area, hour = (self.cover[:, k].astype(np.int64) for k in range(3))
            ok = values[row] >= self.cover[:, 3] - 1e-9
            met[area, hour] = True
            np.logical_and.at(met, (area, hour), ok)
        return met


def integer_row(coefs: Sequence[float], max_denominator: int = 100_000) -> tuple[np.ndarray, int]:
    """Scale rational coefficients to whole numbers: ``(ints, scale)`` with ``ints = coefs * scale``.

    Abstraction rates, ratios and on-duty fractions are short decimals or
    fractions of the roster period; their common denominator makes every row
    exact in whole numbers.

    >>> integer_row([0.5, 0.45])
    (array([10,  9]), 20)
    """
    fr = [Fraction(float(c)).limit_denominator(max_denominator) for c in coefs]
    scale = math.lcm(*(f.denominator for f in fr)) if fr else 1
    return np.array([int(f * scale) for f in fr], dtype=np.int64), scale


@dataclass(frozen=True, eq=False)
class Formulation:
    """All roles' allocation on duty patterns, solver-neutral (see the module).

    Attributes
    ----------
    areas, roles, patterns, buckets
        Names, in force order; ``teams[p]`` the team labels of pattern ``p``.
    col_area, col_role, col_pattern, col_team
        int64 (J,): what each column is.
    col_lo, col_hi
        int64 (J,): bounds of each column.
    on_duty_minutes
        int64 (J, 168): minutes a post of the column is on duty in each hour
        of the week over the common period of ``period_weeks`` weeks.
    bucket_of_hour
        int64 (168,): the bucket of each hour of the week.
    workload
        float64 (A, R, B): judged hours of each bucket over the window.
    committed
        float64 (A, R, B) or None: unweighted hours of recorded demand (utilisation).
    kappa
        float64 (R,): reactive hours over the window per on-duty post-minute of the period.
    available
        float64 (R,): ``1 - abstraction``.
    proactive
        float64 (R,): each role's proactive share.
    establishment
        int64 (R,).
    families
        The constraint families, establishment first.
    current
        int64 (J,) or None: the current posting per column.
    role_weights
        float64 (R,): weights of each role's coverage when rules couple roles.
    service
        The response floors (None without service levels); their rows are the
        ``response floors`` family, which the solver meets as far as the
        establishment allows before any other stage.
    profiles
        The force's pattern profiles the columns were built from (the
        builder's, kept so the solve and the results need not work them out again).
    """

    areas: tuple[str, ...]
    roles: tuple[str, ...]
    patterns: tuple[str, ...]
    teams: tuple[tuple[str, ...], ...]
    buckets: tuple[str, ...]
    col_area: np.ndarray
    col_role: np.ndarray
    col_pattern: np.ndarray
    col_team: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    on_duty_minutes: np.ndarray
    period_weeks: int
    bucket_of_hour: np.ndarray
    workload: np.ndarray
    kappa: np.ndarray
    available: np.ndarray
    proactive: np.ndarray
    establishment: np.ndarray
    families: list[Family]
    weeks: float
    current: np.ndarray | None = None
    committed: np.ndarray | None = None
    role_weights: np.ndarray | None = None
    allow_unallocated: bool = False
    equal_profiles: tuple[bool, ...] = ()
    profiles: tuple[Any, ...] = field(default=(), repr=False)
    source: Any = field(default=None, repr=False)
    service: ServiceFloors | None = None

    # ------------------------------------------------------------------ shape
    @property
    def n(self) -> int:
        """Number of columns."""
        return int(self.col_area.size)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(areas, roles, buckets)."""
        return (len(self.areas), len(self.roles), len(self.buckets))

    def bucket_minutes(self) -> np.ndarray:
        """int64 (J, B): on-duty minutes per post of each column in each bucket over the period."""
        B = len(self.buckets)
        out = np.zeros((self.n, B), dtype=np.int64)
        for b in range(B):
            out[:, b] = self.on_duty_minutes[:, self.bucket_of_hour == b].sum(axis=1)
        return out

    def columns(self) -> pd.DataFrame:
        """The columns as a tidy frame: area, role, pattern, team."""
        return pd.DataFrame({
            "area": [self.areas[a] for a in self.col_area],
            "role": [self.roles[r] for r in self.col_role],
            "pattern": [self.patterns[p] for p in self.col_pattern],
            "team": [self.teams[p][t] for p, t in zip(self.col_pattern, self.col_team, strict=True)],
        })

    def family(self, name: str) -> Family | None:
        """The family called ``name`` (None if the formulation has none)."""
        return next((f for f in self.families if f.name == name), None)

    # ------------------------------------------------------------ evaluation
    def coverage_matrix(self, role: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the maximin for ``role``, one per (area, bucket) with workload.

        Returns ``(cols, minutes, need, where)``: ``cols`` int64 (K,) the role's
        columns; ``minutes`` int64 (rows, K) on-duty minutes of each column in
        the row's bucket (zero outside the row's area); ``need`` float64 (rows,)
        ``W / kappa``, so coverage of a row is ``minutes @ x / need``; and
        ``where`` int64 (rows, 2), the row's (area, bucket).
        """
        cols = np.flatnonzero(self.col_role == role)
        bm = self.bucket_minutes()[cols]  # (K, B)
        W = self.workload[:, role, :]  # (A, B)
        where = np.argwhere(W > 0)
        M = np.zeros((len(where), cols.size), dtype=np.int64)
        for i, (a, b) in enumerate(where):
            own = self.col_area[cols] == a
            M[i, own] = bm[own, b]
        need = W[where[:, 0], where[:, 1]] / self.kappa[role] if len(where) else np.zeros(0)
        return cols, M, need, where

    def coverage(self, x: np.ndarray) -> np.ndarray:
        """Judged coverage per (area, role, bucket) under posting ``x``; NaN where no workload."""
        A, R, B = self.shape
        hours = np.zeros((A, R, B))
        bm = self.bucket_minutes()
        np.add.at(hours, (self.col_area, self.col_role), bm * np.asarray(x, dtype=float)[:, None])
        cap = hours * self.kappa[None, :, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.workload > 0, cap / np.where(self.workload > 0, self.workload, 1.0), np.nan)

    def on_duty(self, x: np.ndarray) -> np.ndarray:
        """Expected officers on duty per (area, role, hour of week), after abstraction."""
        A, R, _ = self.shape
        out = np.zeros((A, R, 168))
        per_post = self.on_duty_minutes / (60.0 * self.period_weeks)  # fraction of the hour, averaged
        np.add.at(out, (self.col_area, self.col_role), per_post * np.asarray(x, dtype=float)[:, None])
        return out * self.available[None, :, None]

    def utilisation(self, x: np.ndarray) -> np.ndarray:
        """Committed time per (area, role, bucket), in percent: recorded hours / on-duty hours.

        NaN where nobody is on duty or the committed hours are unknown.
        """
        A, R, B = self.shape
        if self.committed is None:
            return np.full((A, R, B), np.nan)
        duty = self.on_duty(x)  # officers per hour of week (averaged)
        duty_hours = np.zeros((A, R, B))
        for b in range(B):
            duty_hours[:, :, b] = duty[:, :, self.bucket_of_hour == b].sum(axis=2) * self.weeks
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(duty_hours > 0, 100.0 * self.committed / np.where(duty_hours > 0, duty_hours, 1.0),
                            np.nan)

    def posts(self, x: np.ndarray) -> np.ndarray:
        """Posts per (area, role) under ``x``, int64 (A, R)."""
        A, R, _ = self.shape
        out = np.zeros((A, R), dtype=np.int64)
        np.add.at(out, (self.col_area, self.col_role), np.asarray(x, dtype=np.int64))
        return out

    def admits(self, x: np.ndarray) -> bool:
        """Whether ``x`` meets every column bound and every family's rows."""
        x = np.asarray(x, dtype=np.int64)
        if x.shape != (self.n,) or (x < self.col_lo).any() or (x > self.col_hi).any():
            return False
        return all(f.violated(x, self.current).size == 0 for f in self.families)

    def broken(self, x: np.ndarray) -> list[str]:
        """The rules ``x`` breaks, in the force's words."""
        out = []
        for f in self.families:
            for i in f.violated(np.asarray(x, dtype=np.int64), self.current):
                out.append(f"{f.name}: {f.labels[i]}")
        return out

    def floors_held_at(self, level: float) -> Formulation:
        """This formulation with its response floors held at ``level`` (the service-level stage's result).

        Below 1 each floor row asks for ``ceil(level * floor)`` and its words
        say so; at 1 (or without floors) the formulation itself.
        """
        fam = self.family(RESPONSE_FLOORS)
        if fam is None or level >= 1.0:
            return self
        lo = np.ceil(fam.lo * level - 1e-9 * np.maximum(fam.lo * level, 1.0))
        labels = tuple(f"{text}, held at {level:.1%} of the floor (the establishment cannot meet it)"
                       for text in fam.labels)
        held = replace(fam, lo=lo, labels=labels)
        return replace(self, families=[held if g is fam else g for g in self.families])

    def min_coverage(self, x: np.ndarray, role: int) -> float:
        """The smallest coverage of ``role`` under ``x`` (NaN if the role has no workload)."""
        cov = self.coverage(x)[:, role, :]
        return float(np.nanmin(cov)) if np.isfinite(cov).any() else math.nan


def family_from_rows(
    name: str,
    rows: list[tuple[list[int], list[int], float, float, str]],
    col_area: np.ndarray,
    col_role: np.ndarray,
    l1: Callable[[int], np.ndarray] | None = None,
) -> Family:
    """A :class:`Family` from a list of ``(cols, whole coefs, lo, hi, label)`` rows."""
    r_idx: list[int] = []
    c_idx: list[int] = []
    v: list[int] = []
    lo, hi, labels = [], [], []
    for i, (cols, coefs, rlo, rhi, label) in enumerate(rows):
        r_idx += [i] * len(cols)
        c_idx += list(cols)
        v += [int(c) for c in coefs]
        lo.append(rlo)
        hi.append(rhi)
        labels.append(label)
    rows_a = np.array(r_idx, dtype=np.int64)
    cols_a = np.array(c_idx, dtype=np.int64)
    l1_weights = tuple(l1(i) for i in range(len(rows))) if l1 is not None else ()
    if l1_weights:  # rows on absolute changes: their columns are those of nonzero weight
        parts = [(np.full(np.count_nonzero(w), i), np.flatnonzero(w)) for i, w in enumerate(l1_weights)]
        link_rows = np.concatenate([r for r, _ in parts]).astype(np.int64)
        link_cols = np.concatenate([c for _, c in parts]).astype(np.int64)
    else:
        link_rows, link_cols = rows_a, cols_a
    links_areas = _spans(link_rows, col_area[link_cols], len(rows))
    links_roles = _spans(link_rows, col_role[link_cols], len(rows))
    return Family(
        name=name,
        rows=rows_a,
        cols=cols_a,
        vals=np.array(v, dtype=np.int64),
        lo=np.array(lo, dtype=float),
        hi=np.array(hi, dtype=float),
        labels=tuple(labels),
        roles=frozenset(int(r) for r in np.unique(col_role[np.concatenate([cols_a, *(np.flatnonzero(w) for w in l1_weights)])]))
        if cols_a.size or l1_weights else frozenset(),
        links_areas=bool(links_areas),
        links_roles=bool(links_roles),
        l1=l1_weights,
    )


def _spans(rows: np.ndarray, values: np.ndarray, n_rows: int) -> bool:
    """Whether some row holds more than one distinct value (vectorised over all rows)."""
    if rows.size == 0:
        return False
    lo = np.full(n_rows, np.iinfo(np.int64).max)
    hi = np.full(n_rows, np.iinfo(np.int64).min)
    np.minimum.at(lo, rows, values)
    np.maximum.at(hi, rows, values)
    return bool((hi > lo).any())
