"""Response demand and the queueing floors it asks for, per (area, hour of the week).

:func:`response_floors` reads the force's ``service_levels`` section and the
workload's summable partial sums (no record is read again) and gives, for every
area and hour of the week:

* **response calls**: the recency-weighted count of calls of the response
  grades divided by the total recency weight of that hour of the week over the
  window (its effective number of weeks): calls per hour;
* **service time** per call: the workload's time term (recorded durations
  blended with the responders' standard minutes by ``data_weight``), one
  response unit per call;
* **load in progress**: calls of earlier hours still being served (the lagged
  offered load of time-varying staffing models), in Erlangs of units;
* **busy**: responder officers busy on non-response work (its offered load in
  Erlangs of officers, lagged the same way);
* **units**: the least number of free response units for which Erlang C
  attends the target share of calls of the first grade within its target less
  the area's travel allowance; **officers** on duty = crew x units + busy.

:func:`measure` turns the responder officers expected on duty into the
service a posting gives (P(wait), mean wait, share of each grade within
target, met or not, and where the queue never empties).

The formulas are stated in ``docs/methodology.md`` (section *Service levels*).

Examples
--------
>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> wl = allocator.compute_workload(allocator.sample_demand(force, 20_000, seed=1), force)
>>> floors = response_floors(force, wl)
>>> floors.officers.shape, floors.grades, floors.crew.tolist()
((6, 168), ('immediate', 'priority'), [1, 1, 1, 1, 1, 1])
>>> bool((floors.units > floors.load).all())
True
>>> service = measure(floors, floors.officers)
>>> bool(service["met"].all())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import ArgumentError, Problem, WorkloadError
from allocator.model.force import WEEKDAYS, Force
from allocator.model.service_levels import ServiceLevels
from allocator.queueing.erlang import servers_for, wait_measures
from allocator.workload.engine import Workload
from allocator.workload.kernel import HOURS_PER_WEEK, LocalClock, Partials, judged_hours

__all__ = [
    "NEGLIGIBLE_LOAD",
    "ResponseDemand",
    "ResponseFloors",
    "effective_weeks",
    "in_progress",
    "lag_weights",
    "measure",
    "response_demand",
    "response_floors",
]

_NS_PER_HOUR = 3_600_000_000_000
#: a load in progress below this many Erlangs (one job in progress in about 114,000 years) is 0
NEGLIGIBLE_LOAD = 1e-9
#: on-duty officers are rounded down to whole units with this tolerance (3.9999999 is 4)
_UNIT_TOLERANCE = 1e-9


# ----------------------------------------------------------------- effective weeks
def effective_weeks(as_of: pd.Timestamp, days: float, half_life_days: float | None, tz: str) -> np.ndarray:
    """Total recency weight of each local hour of the week over the window, float64 (168,).

    The window is the ``days`` before ``as_of``, hour by hour; an hour ``j + 1/2``
    hours before ``as_of`` weighs ``0.5 ** (age_days / half_life_days)`` (1 without
    a half-life) and counts for the local hour of the week it falls in. Without a
    half-life and over whole weeks every entry is the number of weeks; a change of
    clocks adds or removes its hour as it did for the records.

    >>> w = effective_weeks(pd.Timestamp("2026-03-02", tz="UTC"), 28, None, "UTC")
    >>> float(w.min()), float(w.max())
    (4.0, 4.0)
    >>> w = effective_weeks(pd.Timestamp("2026-03-02", tz="UTC"), 28, 7.0, "UTC")
    >>> round(float(w[0]), 4)       # Monday 00:00: ages 6.98, 13.98, 20.98, 27.98 days
    0.9394
    """
    hours = max(round(days * 24), 1)
    ages_h = np.arange(hours, dtype=np.float64) + 0.5
    instants = pd.Timestamp(as_of).value - (ages_h * _NS_PER_HOUR).astype(np.int64)
    how = LocalClock(instants, tz).hour_of_week(instants).astype(np.int64)
    weight = None if half_life_days is None else np.exp2(-ages_h / (24.0 * half_life_days))
    return np.bincount(how, weights=weight, minlength=HOURS_PER_WEEK).astype(np.float64)


# ------------------------------------------------------------------ load in progress
def lag_weights(mean_hours: np.ndarray, lag: int) -> np.ndarray:
    """Expected hours in service during hour ``k`` of a job arriving in hour ``k - lag``.

    Jobs arrive uniformly in their hour and last an exponential time of mean
    ``s`` hours; ``q = exp(-1/s)``. Lag 0: ``s - s^2 (1 - q)``; lag ``d >= 1``:
    ``s^2 (1 - q)^2 q^(d-1)``. The week repeats, so lags ``d + 168 m`` are folded
    in (``/(1 - q^168)``). Summed over the 168 lags the weights give ``s``.

    >>> s = np.array([0.5, 2.0, 40.0])
    >>> total = sum(lag_weights(s, d) for d in range(168))
    >>> bool(np.allclose(total, s, rtol=1e-12))
    True
    """
    s = mean_hours
    one_minus_q = -np.expm1(-1.0 / s)
    q = 1.0 - one_minus_q
    fold = 1.0 / -np.expm1(-HOURS_PER_WEEK / s)
    tail = s * s * one_minus_q * one_minus_q
    if lag == 0:
        return s - s * s * one_minus_q + tail * np.power(q, HOURS_PER_WEEK - 1) * fold
    return tail * np.power(q, lag - 1) * fold


def in_progress(rate: np.ndarray, mean_hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Load in progress and its mean service time, per (row, hour of the week).

    ``rate`` (R, 168) jobs arriving per hour, ``mean_hours`` (R, 168) their mean
    length in hours (exponential). The load in hour ``k`` is the expected number
    of jobs in service, averaged over the hour, of jobs arriving in that and
    every earlier hour of the (repeating) week:
    ``L[k] = sum_d rate[k - d] g_d(s[k - d])`` (see :func:`lag_weights`). With a
    constant rate and length it is ``rate x s``, the stationary offered load.
    The mean service time of the load in progress weighs each arrival hour's
    ``s`` by its part of the load. A load below :data:`NEGLIGIBLE_LOAD` (the
    far tail of jobs long gone) is taken as 0. Returns ``(load, mean_hours)``,
    both 0 where no job is in progress.

    >>> load, s = in_progress(np.full((1, 168), 2.0), np.full((1, 168), 1.5))
    >>> bool(np.allclose(load, 3.0)), bool(np.allclose(s, 1.5))
    (True, True)
    >>> rate = np.zeros((1, 168)); rate[0, 10] = 1.0        # one job an hour, in hour 10 only
    >>> load, _ = in_progress(rate, np.ones((1, 168)))
    >>> round(float(load.sum()), 6), round(float(load[0, 10]), 4), round(float(load[0, 11]), 4)
    (1.0, 0.3679, 0.3996)
    """
    rate = np.asarray(rate, dtype=np.float64)
    active = rate > 0
    s = np.where(active, mean_hours, 1.0)
    if np.any(s <= 0) or not np.all(np.isfinite(s)):
        raise ValueError("mean job lengths must be finite and above 0 where jobs arrive")
    rows = rate.shape[0]
    if not active.any():
        return np.zeros_like(rate), np.zeros_like(rate)
    # beyond this lag every weight is below 1e-17 of the job's hours
    lags = min(HOURS_PER_WEEK, math.ceil(40.0 * float(s[active].max())) + 2)
    one_minus_q = -np.expm1(-1.0 / s)
    q = 1.0 - one_minus_q
    # both sums at once: [0] jobs in progress, [1] jobs in progress x their mean length
    term = np.stack([rate, rate * s])
    ext = np.zeros((2, rows, HOURS_PER_WEEK + lags))
    ext[:, :, :HOURS_PER_WEEK] = term * lag_weights(s, 0)
    term *= s * s * one_minus_q * one_minus_q / -np.expm1(-HOURS_PER_WEEK / s)  # lag 1
    for d in range(1, lags):
        ext[:, :, d : d + HOURS_PER_WEEK] += term
        term *= q
    total = ext[:, :, :HOURS_PER_WEEK]
    total[:, :, :lags] += ext[:, :, HOURS_PER_WEEK:]  # lags past Sunday night fold into Monday
    load, weighted = total[0].copy(), total[1]
    load[load < NEGLIGIBLE_LOAD] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(load > 0, weighted / load, 0.0)
    return load, mean


# ------------------------------------------------------------------ response demand
@dataclass(frozen=True, eq=False)
class ResponseDemand:
    """Response and non-response demand per (area, hour of the week), from the partials.

    Attributes
    ----------
    calls
        float64 (A, 168): response calls arriving per hour (all response grades).
    call_minutes
        float64 (A, 168): mean service minutes per call arriving (0 where none).
    by_grade
        float64 (A, 168, G): response calls per hour by grade.
    work
        float64 (A, 168): responder officer-hours of non-response work arriving per hour.
    task_minutes
        float64 (A, 168): mean minutes per non-response record (0 where none).
    weeks
        float64 (168,): effective weeks of each hour of the week.
    response_types
        Demand type codes that are response demand, force order.
    """

    calls: np.ndarray
    call_minutes: np.ndarray
    by_grade: np.ndarray
    work: np.ndarray
    task_minutes: np.ndarray
    weeks: np.ndarray
    response_types: tuple[str, ...]


def _hour_name(k: int) -> str:
    return f"{WEEKDAYS[k // 24]} {k % 24:02d}:00"


def _records(n: int) -> str:
    return f"{n} record falls" if n == 1 else f"{n} records fall"


def _grade_of_types(force: Force, sl: ServiceLevels) -> np.ndarray:
    """Grade index of each demand type (force order), -1 for non-response types."""
    order = {g.strip().lower(): i for i, g in enumerate(sl.grade_names)}
    return np.array(
        [order.get((t.grade or "").strip().lower(), -1) for t in force.demand_types], dtype=np.int64
    )


def response_demand(force: Force, workload: Workload) -> ResponseDemand:
    """Response calls, their service time and the responders' other work, per (area, hour).

    Computed from ``workload.partials`` (recency weights, counts and recorded
    minutes per (area, hour of week, demand type)), so no record is read again.

    Raises
    ------
    ValueError
        When the force has no ``service_levels`` section.
    WorkloadError
        Naming area, hour and demand type: response calls whose service time is
        0 minutes, or records in an hour of the week the window never covers.
    """
    sl = force.service_levels
    if sl is None:
        raise ValueError("the force has no service_levels section")
    _check_fits(force, workload)
    p: Partials = workload.partials
    settings = force.settings
    weeks = effective_weeks(workload.as_of, workload.days, settings.half_life_days, settings.timezone)
    grade = _grade_of_types(force, sl)
    response = grade >= 0
    roles = [force.role_names.index(r) for r in sl.responders]
    share, minutes, _, _ = force.judgement_arrays()
    dw = settings.data_weight

    problems: list[Problem] = []
    counted = p.count.sum(axis=(0, 2, 3))
    uncovered = np.flatnonzero((weeks <= 0) & (counted > 0))
    for k in uncovered:
        problems.append(Problem("<Workload>", f"hour {_hour_name(int(k))}",
                                f"{_records(int(counted[k]))} in an hour of the week the "
                                f"{workload.days:.1f}-day window never covers: widen "
                                "settings.window_days or leave out the older records"))
    safe_weeks = np.where(weeks > 0, weeks, 1.0)

    # A call of type t needs a responder unit with probability attend(t), the responders' share of
    # its work in the judgement (capped at 1), and then holds it for the responders' share-weighted
    # minutes, blended with the recorded duration and stretched by the area factor as the workload
    # is. So the response load in officer-hours is exactly the responders' committed hours of
    # response work: the queue and the utilisation count the same time once.
    rs, rm = share[:, roles], minutes[:, roles]
    attend = np.minimum(rs.sum(axis=1), 1.0)                                     # (T,)
    factor = force.area_factor_array()[:, roles]                                 # (A, R')
    with np.errstate(divide="ignore", invalid="ignore"):
        standard = np.where(rs.sum(axis=1) > 0, (rs * rm).sum(axis=1) / rs.sum(axis=1), 0.0)
        stretch = np.where(rs.sum(axis=1) > 0, (factor @ rs.T) / rs.sum(axis=1), 1.0)  # (A, T)
    w_none, w_rec = p.weight[..., 0], p.weight[..., 1]
    calls_t = (w_none + w_rec) / safe_weeks[None, :, None]                      # (A, 168, T)
    minutes_t = (standard * (w_none + (1.0 - dw) * w_rec) + dw * p.minutes) / safe_weeks[None, :, None]
    minutes_t = minutes_t * stretch[:, None, :]
    zero = response[None, None, :] & (calls_t > 0) & (minutes_t <= 0)
    for a, t in sorted({(int(a), int(t)) for a, _, t in zip(*np.nonzero(zero), strict=True)}):
        hours = np.flatnonzero(zero[a, :, t])
        shown = ", ".join(_hour_name(int(k)) for k in hours[:5]) + (", ..." if hours.size > 5 else "")
        problems.append(Problem(
            "<Workload>", f"area {force.area_names[a]}, demand type {force.type_codes[t]}",
            f"response calls with a service time of 0 minutes in {hours.size} hour(s) of the week "
            f"({shown}): recorded durations of 0 and data_weight {dw:g}; give durations or standard "
            "minutes"))
    if problems:
        raise WorkloadError("<Workload>", problems)

    calls = (calls_t[..., response] * attend[response]).sum(axis=2)
    call_min = (minutes_t[..., response] * attend[response]).sum(axis=2)
    n_grades = len(sl.grade_names)
    by_grade = np.zeros((*calls.shape, n_grades))
    for g in range(n_grades):
        by_grade[..., g] = (calls_t[..., grade == g] * attend[grade == g]).sum(axis=2)

    # the responders' non-response work: the workload's judged hours without the impact weight
    hours = judged_hours(p, share, minutes, np.ones_like(share), force.area_factor_array(), dw)
    other = ~response
    work = hours[:, :, other][..., roles].sum(axis=(2, 3)) / safe_weeks[None, :]
    tasks = calls_t[..., other].sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        call_minutes = np.where(calls > 0, call_min / calls, 0.0)
        task_minutes = np.where(tasks > 0, minutes_t[..., other].sum(axis=2) / tasks, 0.0)
    return ResponseDemand(
        calls=calls, call_minutes=call_minutes, by_grade=by_grade, work=work,
        task_minutes=task_minutes, weeks=weeks,
        response_types=tuple(c for c, r in zip(force.type_codes, response, strict=True) if r),
    )


def _check_fits(force: Force, workload: Workload) -> None:
    if list(workload.areas) != force.area_names or list(workload.demand_types) != force.type_codes:
        raise ArgumentError("workload", repr(workload),
                            "was computed for a force with other areas or demand types")


# ------------------------------------------------------------------------ floors
@dataclass(frozen=True, eq=False)
class ResponseFloors:
    """The least responder officers on duty per (area, hour of the week) for the response target.

    Arrays are in force order of areas; hours of the week run 0..167 from
    Monday 00:00 local time.

    Attributes
    ----------
    areas, responders, grades
        Area names, responder role names and response grades (most urgent first).
    officers : float64 (A, 168)
        Least responder officers on duty in each hour to meet the target:
        ``crew x units + busy``; 0 where there is no response load.
    units : int64 (A, 168)
        Least free response units ``c`` (Erlang C), always above ``load``; 0 where the load is 0.
    load : float64 (A, 168)
        Response load in progress, Erlangs of units.
    busy : float64 (A, 168)
        Responder officers busy on non-response work (Erlangs of officers, in progress).
    mean_service : float64 (A, 168)
        Mean minutes per response unit-call in progress (0 where the load is 0).
    calls : float64 (A, 168)
        Response calls arriving per hour.
    target : float64 (A,)
        The first grade's target less the area's travel allowance, minutes.
    targets : float64 (A, G)
        Each grade's target less travel, minutes.
    service_level : float
        Share of the first grade's calls to attend within ``target``.
    crew : int64 (A,)
        Officers per response unit.
    level, percentile, chance
        The section's settings (see :class:`~allocator.model.service_levels.ServiceLevels`).
    buckets : tuple of str
        The force's coverage bucket names; ``bucket_of_hour`` (168,) int64 the bucket of each hour.
    bucket_officers : float64 (A, B)
        Per bucket, the ``percentile`` of its hours' ``officers`` (100: the largest).
    required : float64 (A, 168)
        The floor to enforce on the officers on duty in each hour: ``officers``
        with ``level: hour``, the bucket's ``bucket_officers`` in each of its
        hours with ``level: bucket``.
    weeks : float64 (168,)
        Effective weeks (total recency weight) of each hour of the week.
    """

    areas: tuple[str, ...]
    responders: tuple[str, ...]
    grades: tuple[str, ...]
    officers: np.ndarray
    units: np.ndarray
    load: np.ndarray
    busy: np.ndarray
    mean_service: np.ndarray
    calls: np.ndarray
    target: np.ndarray
    targets: np.ndarray
    service_level: float
    crew: np.ndarray
    level: str
    percentile: float
    chance: float | None
    buckets: tuple[str, ...]
    bucket_of_hour: np.ndarray
    bucket_officers: np.ndarray
    required: np.ndarray
    weeks: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"<ResponseFloors {len(self.areas)} areas x 168 hours; "
            f"{self.grades[0]} {self.service_level:.0%} within target; responders "
            f"{', '.join(self.responders)}; largest floor {float(self.required.max()):.1f} officers>"
        )

    def frame(self) -> pd.DataFrame:
        """Tidy: ``area, hour, weekday, time, bucket, calls, load, mean_service, busy, units, officers, required``.

        One row per (area, hour of the week), areas in force order.
        """
        n = len(self.areas)
        hours = np.tile(np.arange(HOURS_PER_WEEK, dtype=np.int64), n)
        return pd.DataFrame({
            "area": pd.Categorical.from_codes(np.repeat(np.arange(n), HOURS_PER_WEEK),
                                              categories=pd.Index(self.areas), ordered=True),
            "hour": hours,
            "weekday": pd.Categorical.from_codes(hours // 24, categories=pd.Index(WEEKDAYS),
                                                 ordered=True),
            "time": np.tile(np.array([f"{h % 24:02d}:00" for h in range(HOURS_PER_WEEK)], dtype=object), n),
            "bucket": pd.Categorical.from_codes(np.tile(self.bucket_of_hour, n),
                                                categories=pd.Index(self.buckets), ordered=True),
            "calls": self.calls.reshape(-1),
            "load": self.load.reshape(-1),
            "mean_service": self.mean_service.reshape(-1),
            "busy": self.busy.reshape(-1),
            "units": self.units.reshape(-1),
            "officers": self.officers.reshape(-1),
            "required": self.required.reshape(-1),
        })


def _buckets(force: Force) -> tuple[tuple[str, ...], np.ndarray]:
    from allocator.model.patterns import make_buckets

    b = make_buckets(force)
    return tuple(b.names), np.asarray(b.of_hour, dtype=np.int64)


def bucket_floors(officers: np.ndarray, of_hour: np.ndarray, n_buckets: int, percentile: float) -> np.ndarray:
    """Per (area, bucket): the ``percentile`` of the bucket's hourly floors (``"higher"``: a value taken).

    >>> officers = np.array([[1.0, 5.0, 3.0, 2.0]])
    >>> bucket_floors(officers, np.array([0, 0, 0, 1]), 2, 100).tolist()
    [[5.0, 2.0]]
    >>> bucket_floors(officers, np.array([0, 0, 0, 1]), 2, 50).tolist()
    [[3.0, 2.0]]
    """
    out = np.zeros((officers.shape[0], n_buckets))
    for b in range(n_buckets):
        cols = np.flatnonzero(of_hour == b)
        if cols.size:
            out[:, b] = np.percentile(officers[:, cols], percentile, axis=1, method="higher")
    return out


def response_floors(force: Force, workload: Workload) -> ResponseFloors | None:
    """The queueing floors of the force's ``service_levels``: responder officers on duty per hour.

    For each (area, hour of the week): the response load in progress ``a``
    (Erlangs of units) and its mean service time ``s`` (:func:`response_demand`,
    :func:`in_progress`), the least whole number of free units
    ``c = servers_for(a, target - travel, service_level, s)``, and the officers
    on duty that leave ``c`` units free: ``crew x c + busy``.

    Parameters
    ----------
    force
        The force; None is returned when it has no ``service_levels`` section.
    workload
        Its workload (:func:`allocator.compute_workload`); its partial sums give the demand.

    Returns
    -------
    ResponseFloors or None

    Raises
    ------
    WorkloadError
        Response calls with a service time of 0 minutes, named by area, demand type and hours.
    allocator.errors.ArgumentError
        When the workload was computed for another force.
    """
    sl = force.service_levels
    if sl is None:
        return None
    demand = response_demand(force, workload)
    areas = force.area_names
    load, mean_hours = in_progress(demand.calls, demand.call_minutes / 60.0)
    busy = _busy_officers(demand)
    targets = np.array([[sl.wait_minutes(g, a) for g in sl.grade_names] for a in areas], dtype=np.float64)
    target = targets[:, 0]
    mean_minutes = mean_hours * 60.0
    units = np.asarray(servers_for(load, target[:, None], sl.service_level, mean_minutes), dtype=np.int64)
    crew = np.array([sl.crew_of(a) for a in areas], dtype=np.int64)
    officers = np.where(load > 0, crew[:, None] * units + busy, 0.0)
    names, of_hour = _buckets(force)
    by_bucket = bucket_floors(officers, of_hour, len(names), sl.percentile)
    required = by_bucket[:, of_hour] if sl.level == "bucket" else officers.copy()
    return ResponseFloors(
        areas=tuple(areas), responders=tuple(sl.responders), grades=sl.grade_names,
        officers=officers, units=units, load=load, busy=busy, mean_service=mean_minutes,
        calls=demand.calls, target=target, targets=targets, service_level=float(sl.service_level),
        crew=crew, level=sl.level, percentile=float(sl.percentile), chance=sl.chance,
        buckets=names, bucket_of_hour=of_hour, bucket_officers=by_bucket, required=required,
        weeks=demand.weeks,
    )


def _busy_officers(demand: ResponseDemand) -> np.ndarray:
    """Responder officers busy on non-response work, in progress (Erlangs of officers).

    Work arriving in an hour (officer-hours per hour) is spread over the
    following hours like jobs of the hour's mean task length: the officer-hours
    of each arrival hour are conserved.
    """
    s = demand.task_minutes / 60.0
    active = (demand.work > 0) & (s > 0)
    # work arriving = jobs x hours per job, so jobs = work / s, and in progress = jobs x g(s)
    jobs = np.where(active, demand.work / np.where(active, s, 1.0), 0.0)
    busy, _ = in_progress(jobs, np.where(active, s, 1.0))
    return busy


# ------------------------------------------------------------------------ measure
def measure(floors: ResponseFloors, on_duty: Any) -> pd.DataFrame:
    """The response service a posting gives, per (area, hour of the week).

    Free units ``c = floor((on_duty - busy) / crew)`` (0 when negative); then
    Erlang C on the load in progress.

    Parameters
    ----------
    floors
        From :func:`response_floors`.
    on_duty
        float (A, 168): responder officers expected on duty (the responders'
        posts x on-duty fraction x (1 - abstraction), summed over responder roles).

    Returns
    -------
    pandas.DataFrame
        ``area, hour, weekday, time, on_duty, busy, servers, load,
        occupancy`` (load / servers; above 1 or infinite where the queue never
        empties), ``p_wait``, ``mean_wait`` (minutes; infinite where the queue
        never empties),
        ``within_<grade>`` for each grade (share of its calls attended within
        its target), ``met`` (the first grade's share reaches the service level;
        true where there is no load), ``never_empties`` and ``note`` ("the queue
        never empties" where the free units are at or below the load).

    Raises
    ------
    allocator.errors.ArgumentError
        ``on_duty`` of the wrong shape, or with values that are not finite or below 0.
    """
    a_n = len(floors.areas)
    try:
        duty = np.asarray(on_duty, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError("on_duty", on_duty, "must be an array of numbers") from None
    if duty.shape != (a_n, HOURS_PER_WEEK):
        raise ArgumentError("on_duty", duty.shape, f"must have shape ({a_n}, {HOURS_PER_WEEK}): "
                                                    "areas x hours of the week")
    bad = ~np.isfinite(duty) | (duty < 0)
    if bad.any():
        a, k = (int(x[0]) for x in np.nonzero(bad))
        raise ArgumentError("on_duty", float(duty[a, k]),
                            f"must be finite and 0 or more ({int(bad.sum())} bad values; the first "
                            f"in {floors.areas[a]}, {_hour_name(k)})")
    free = (duty - floors.busy) / floors.crew[:, None] + _UNIT_TOLERANCE
    servers = np.maximum(np.floor(free), 0.0).astype(np.int64)
    load, s = floors.load, floors.mean_service
    grade_targets = [floors.targets[:, g][:, None] for g in range(len(floors.grades))]
    p_wait, wait, within = wait_measures(load, servers, s, grade_targets)
    never = (load > 0) & (servers <= load)
    frame = floors.frame()[["area", "hour", "weekday", "time"]]
    frame["on_duty"] = duty.reshape(-1)
    frame["busy"] = floors.busy.reshape(-1)
    frame["servers"] = servers.reshape(-1)
    frame["load"] = load.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(load > 0, load / servers, 0.0)
    frame["occupancy"] = occupancy.reshape(-1)
    frame["p_wait"] = p_wait.reshape(-1)
    frame["mean_wait"] = wait.reshape(-1)
    for grade, share in zip(floors.grades, within, strict=True):
        frame[f"within_{grade}"] = share.reshape(-1)
    frame["met"] = (within[0] >= floors.service_level).reshape(-1)
    frame["never_empties"] = never.reshape(-1)
    frame["note"] = np.where(never, "the queue never empties", "").reshape(-1)
    return frame
