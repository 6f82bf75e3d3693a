"""The workload engine: demand records + judgement -> judged hours per (area, shift, role).

:func:`compute_workload` is the whole path. It runs in two stages that can be
called apart, so that each can be timed, inspected or distributed:

* :func:`~allocator.data.records.prepare_records` checks the records against the force and turns them
  into :class:`PreparedRecords`: int16 codes for area, demand type and local
  hour of the week, float64 durations (NaN = none recorded) and recency
  weights. Every problem (unknown codes, blank values, timezone-naive
  timestamps, demand types without judgement) is reported at once in one
  :class:`~allocator.errors.WorkloadError`; no record is dropped.
* the array kernel (:mod:`allocator.workload.kernel`) reduces the prepared records to
  summable :class:`~allocator.workload.kernel.Partials` and contracts them with the
  judgement and the hour -> shift matrix (:func:`workload_from_partials`).

The formulas are stated in ``docs/methodology.md`` (section *Workload*).

Examples
--------
>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> records = allocator.sample_demand(force, 2000, seed=3)
>>> wl = compute_workload(records, force)
>>> wl.array.shape
(6, 5, 3)
>>> bool(abs(wl.by_shift["hours"].sum() - wl.by_hour["hours"].sum()) < 1e-6)
True
>>> cell = wl.explain("Swindon North", "Late", "PC")
>>> list(cell.columns)
['demand_type', 'records', 'hours', 'share']
>>> bool(abs(cell["hours"].sum() - wl.hours("Swindon North", "Late", "PC")) < 1e-9)
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocator.data.records import PreparedRecords, prepare_records
from allocator.errors import Problem, WorkloadError
from allocator.errors import did_you_mean as _unknown
from allocator.model.force import Force
from allocator.workload.kernel import (
    HOURS_PER_WEEK,
    Partials,
    contract,
    shift_shares,
)

__all__ = [
    "Partials",
    "PreparedRecords",
    "Workload",
    "compute_workload",
    "covered_days",
    "hour_shift_matrix",
    "prepare_records",
    "workload_from_partials",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------ workload
def _cat(codes: np.ndarray, labels: list[str]) -> pd.Categorical[str]:
    """Names as an ordered categorical in force order."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels), ordered=True)


def _tidy(array: np.ndarray, axes: dict[str, list[str] | None]) -> pd.DataFrame:
    """One row per cell of ``array`` (C order), a column per axis, then ``hours``.

    Axes with names become ordered categoricals; ``None`` axes int64 positions.
    """
    codes = np.indices(array.shape).reshape(array.ndim, -1)
    columns: dict[str, Any] = {
        name: codes[i].astype(np.int64) if labels is None else _cat(codes[i], labels)
        for i, (name, labels) in enumerate(axes.items())
    }
    columns["hours"] = array.reshape(-1)
    return pd.DataFrame(columns)


@dataclass(frozen=True, eq=False)
class Workload:
    """Judged hours of work per (area, shift, role), with their breakdowns.

    Arrays are in force order. The tidy frames (``by_shift``, ``by_hour``,
    ``by_type``) are built on first use; names in them are ordered categoricals.

    Attributes
    ----------
    array
        float64 ``(areas, shifts, roles)``: judged hours over the window.
    by_type_array
        float64 ``(areas, shifts, demand_types, roles)``.
    records_by_type
        int64 ``(areas, shifts, demand_types)``: records whose local hour a shift
        is on duty for (any part of it). A record in an hour two shifts cover is
        counted in both, while its hours are shared between them, so counts
        summed over shifts can exceed the number of records.
    hour_array
        float64 ``(areas, 168, roles)``: judged hours by local hour of the week.
    areas, shifts, roles, demand_types
        The force's names.
    as_of
        The instant record ages are measured from.
    n_records
        Number of records.
    overlap_rule
        How shifts on duty in the same hour shared it (``"equal"``, ``"time"``).
    partials
        The summable partial sums the workload was contracted from.
    days
        The days of the window the records actually cover: ``as_of`` minus the
        window start, the later of ``as_of - window_days`` and the earliest
        record (``window_days`` when the earliest record is unknown; at least
        an hour). Capacity is counted over these days.
    """

    array: np.ndarray
    by_type_array: np.ndarray
    records_by_type: np.ndarray
    hour_array: np.ndarray
    areas: list[str]
    shifts: list[str]
    roles: list[str]
    demand_types: list[str]
    as_of: pd.Timestamp
    n_records: int
    overlap_rule: str
    partials: Partials = field(repr=False)
    days: float = 0.0

    def __repr__(self) -> str:
        per_role = ", ".join(
            f"{r} {h:,.0f}" for r, h in zip(self.roles, self.array.sum(axis=(0, 1)), strict=True)
        )
        return (
            f"<Workload {len(self.areas)} areas x {len(self.shifts)} shifts x {len(self.roles)} roles"
            f" from {self.n_records:,} records as of {self.as_of:%Y-%m-%d %H:%M %Z};"
            f" hours: {per_role}>"
        )

    def _index(self, names: list[str], name: str, kind: str) -> int:
        try:
            return names.index(name)
        except ValueError:
            raise KeyError(_unknown(kind, name, names)) from None

    def hours(self, area: str, shift: str, role: str) -> float:
        """Judged hours of one (area, shift, role) cell."""
        i = self._index(self.areas, area, "area")
        j = self._index(self.shifts, shift, "shift")
        k = self._index(self.roles, role, "role")
        return float(self.array[i, j, k])

    @cached_property
    def by_shift(self) -> pd.DataFrame:
        """Tidy ``area, shift, role, hours``: every combination, zeros included."""
        return _tidy(self.array, {"area": self.areas, "shift": self.shifts, "role": self.roles})

    @cached_property
    def by_hour(self) -> pd.DataFrame:
        """Tidy ``area, hour_of_week, role, hours`` (hour 0 = Monday 00:00, local)."""
        return _tidy(self.hour_array, {"area": self.areas, "hour_of_week": None, "role": self.roles})

    @cached_property
    def by_type(self) -> pd.DataFrame:
        """Tidy ``area, shift, demand_type, role, records, hours``, every combination."""
        names = {"area": self.areas, "shift": self.shifts, "demand_type": self.demand_types}
        frame = _tidy(self.by_type_array, {**names, "role": self.roles})
        records = np.broadcast_to(self.records_by_type[..., None], self.by_type_array.shape)
        frame.insert(4, "records", records.reshape(-1).astype(np.int64))
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The workload as a tidy frame ``area, shift, role, hours`` (a copy of ``by_shift``)."""
        return self.by_shift.copy()

    def explain(self, area: str, shift: str, role: str) -> pd.DataFrame:
        """Where one cell's hours come from: one row per demand type that adds to it.

        Returns ``demand_type, records, hours, share`` (share of the cell's
        hours), sorted by hours, largest first (ties in force order). Demand
        types that add no hours to the cell are left out; ``hours`` sums to
        the cell's hours.
        """
        i = self._index(self.areas, area, "area")
        j = self._index(self.shifts, shift, "shift")
        k = self._index(self.roles, role, "role")
        hours = self.by_type_array[i, j, :, k]
        keep = np.flatnonzero(hours > 0)
        keep = keep[np.argsort(-hours[keep], kind="stable")]
        total = float(self.array[i, j, k])
        return pd.DataFrame(
            {
                "demand_type": _cat(keep, self.demand_types),
                "records": self.records_by_type[i, j, keep].astype(np.int64),
                "hours": hours[keep],
                "share": hours[keep] / total if total > 0 else np.zeros(keep.size),
            }
        )

    def _repr_html_(self) -> str:
        """A compact HTML summary for notebooks (:func:`allocator.present.notebook.workload_html`)."""
        from allocator.present.notebook import workload_html

        return workload_html(self)

    def plot(self, labels: dict[str, str] | None = None) -> Any:
        """Judged hours by demand type per area, stacked bars (a matplotlib ``Figure``).

        Needs matplotlib (``pip install 'allocator[plot]'``); see
        :func:`allocator.present.plots.plot_workload`.

        Parameters
        ----------
        labels
            Demand type code -> name for the legend (``{t.code: t.label for t
            in force.demand_types}``); default the codes.
        """
        from allocator.present.plots import plot_workload

        return plot_workload(self.by_type, labels)


def _overlap_rule(force: Force, overlap_rule: str | None) -> Literal["equal", "time"]:
    rule = force.settings.overlap_rule if overlap_rule is None else overlap_rule
    if rule not in ("equal", "time"):
        raise ValueError(f"unknown overlap rule {rule!r}; expected 'equal' or 'time'")
    return rule  # type: ignore[return-value]


def hour_shift_matrix(force: Force, overlap_rule: str | None = None) -> np.ndarray:
    """Share of each local hour of the week each shift takes, shape (168, shifts).

    For a force on duty patterns the "shifts" are its coverage buckets, which
    partition the week: each hour goes whole to its bucket.

    Rows sum to 1. Raises :class:`~allocator.errors.WorkloadError` if an hour
    has no shift on duty (a valid force never has one).

    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> m = hour_shift_matrix(force)           # "equal"
    >>> m[22].tolist()                         # Monday 22:00: Late, Twilight, Night
    [0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    """
    rule = _overlap_rule(force, overlap_rule)
    if not force.is_legacy:
        # a force on patterns: its buckets split the week without overlap, so each hour goes whole
        from allocator.model.patterns import make_buckets

        return make_buckets(force).matrix()
    cover = force.shift_cover()
    short = np.flatnonzero(cover.sum(axis=1) < 1 - 1e-9)
    if short.size:
        hours = ", ".join(f"{h:02d}:00" for h in short)
        raise WorkloadError(
            "<Force>",
            [Problem("<Force>", "shifts", f"no shift is on duty for all of the hours starting {hours}")],
        )
    return np.tile(shift_shares(cover, rule), (7, 1))


def _bucket_names(force: Force) -> tuple[str, ...]:
    from allocator.model.patterns import make_buckets

    return make_buckets(force).names


def workload_from_partials(
    partials: Partials,
    force: Force,
    as_of: pd.Timestamp,
    overlap_rule: str | None = None,
) -> Workload:
    """Contract summed partial sums with the force's judgement into a :class:`Workload`.

    The last, record-count-independent step of :func:`compute_workload`. Use it
    to finish partials reduced partition by partition (each partition prepared
    with the same ``as_of``) and summed.

    Examples
    --------
    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> records = allocator.sample_demand(force, 3000, seed=5)
    >>> as_of = records["timestamp"].max()
    >>> parts = [records.iloc[:1000], records.iloc[1000:]]   # files, row groups, ...
    >>> partials = [prepare_records(p, force, as_of=as_of).partials() for p in parts]
    >>> wl = workload_from_partials(partials[0] + partials[1], force, as_of)
    >>> whole = compute_workload(records, force)
    >>> wl.n_records, bool(abs(wl.array - whole.array).max() < 1e-9)
    (3000, True)
    """
    n_areas, n_types = len(force.areas), len(force.demand_types)
    if partials.count.shape != (n_areas, HOURS_PER_WEEK, n_types, 2):
        raise ValueError(
            f"partials of shape {partials.count.shape} do not fit this force "
            f"({n_areas} areas, {n_types} demand types)"
        )
    rule = _overlap_rule(force, overlap_rule)
    to_shift = hour_shift_matrix(force, rule)
    share, minutes, impact, _ = force.judgement_arrays()
    by_type, records, hour_hours = contract(
        partials, share, minutes, impact, force.area_factor_array(), force.settings.data_weight, to_shift
    )
    days = covered_days(partials, force, as_of)
    return Workload(
        array=by_type.sum(axis=2),
        by_type_array=by_type,
        records_by_type=records,
        hour_array=hour_hours,
        areas=force.area_names,
        shifts=force.shift_names if force.is_legacy else list(_bucket_names(force)),
        roles=force.role_names,
        demand_types=force.type_codes,
        as_of=as_of,
        n_records=partials.n_records,
        overlap_rule=rule,
        partials=partials,
        days=days,
    )


_NS_PER_DAY = 86_400_000_000_000
#: below this share of ``window_days`` covered by the records, a warning is logged
COVER_WARNING = 0.9


def covered_days(partials: Partials, force: Force, as_of: pd.Timestamp) -> float:
    """Days of the window the records cover (see :attr:`Workload.days`); warn when under 90%.

    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> records = allocator.sample_demand(force, 500, seed=1)
    >>> recent = records[records["timestamp"] > records["timestamp"].max() - pd.Timedelta(days=30)]
    >>> round(compute_workload(recent, force).days)
    30
    """
    window = float(force.settings.window_days)
    if partials.first_ns is None:
        if partials.n_records:
            return window
        log.warning("no records: capacity is counted over the whole window of %g days", window)
        return window
    end = pd.Timestamp(as_of).value
    start = max(end - window * _NS_PER_DAY, partials.first_ns)
    days = max((end - start) / _NS_PER_DAY, 1 / 24)
    if days < COVER_WARNING * window:
        log.warning(
            "the records cover %.1f days of the %g-day window (first record %s); capacity is "
            "counted over the days covered",
            days,
            window,
            pd.Timestamp(int(partials.first_ns), unit="ns", tz="UTC").tz_convert(as_of.tz),
        )
    return days


def compute_workload(
    records: pd.DataFrame | PreparedRecords,
    force: Force,
    as_of: Any = None,
    overlap_rule: str | None = None,
) -> Workload:
    """Judged workload per (area, shift, role) from demand records and the force's judgement.

    Parameters
    ----------
    records
        Demand records (``DemandLoad.records`` or any frame with ``timestamp``
        tz-aware, ``area``, ``demand_type``, ``duration``), or records already
        prepared with :func:`prepare_records`.
    force
        The force: areas, shifts, roles, judgement, settings.
    as_of
        The instant recency is measured from (default: the latest record).
        Not allowed with prepared records, which carry their own.
    overlap_rule
        ``"equal"`` or ``"time"``; default ``force.settings.overlap_rule``.

    Returns
    -------
    Workload

    Raises
    ------
    WorkloadError
        When records and force do not fit (see :func:`prepare_records`).
    """
    if isinstance(records, PreparedRecords):
        if as_of is not None and pd.Timestamp(as_of) != records.as_of:
            raise ValueError("prepared records carry their own as_of; prepare them again to change it")
        if records.areas != tuple(force.area_names) or records.demand_types != tuple(force.type_codes):
            raise ValueError("the records were prepared for a force with other areas or demand types")
        prepared = records
    else:
        prepared = prepare_records(records, force, as_of)
    rule = _overlap_rule(force, overlap_rule)
    workload = workload_from_partials(prepared.partials(), force, prepared.as_of, rule)
    log.info("workload of %d records: %.1f judged hours", workload.n_records, workload.array.sum())
    return workload
