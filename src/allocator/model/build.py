"""Build the :class:`~allocator.model.formulation.Formulation` of a force on duty patterns.

One function, :func:`build_formulation`, turns a workload (judged hours per
area, hour of the week and role), the force's patterns, buckets and rules, and
an optional current posting into columns, coverage data and constraint
families. Each family is built by one small function here; the planner and
the backends never look inside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from allocator.errors import InputError, Problem
from allocator.model import formulation as fm
from allocator.model.force import Force
from allocator.model.formulation import (
    Family,
    Formulation,
    ServiceFloors,
    family_from_rows,
    integer_row,
)
from allocator.model.patterns import (
    Buckets,
    PatternProfile,
    least_team_total,
    make_buckets,
    pattern_profiles,
    rostered_sets,
)

__all__ = ["apply_floor_level", "build_formulation", "carry_forward", "read_current_patterns"]

_Row = tuple[list[int], list[int], float, float, str]
_NONE = np.zeros(0, dtype=np.int64)


def groups_of(*keys: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """The columns (ascending) of each combination of key values, e.g. (area, role) -> columns.

    Built once: the families ask for every area's columns, and a scan of all
    columns per area would grow with the square of the number of areas.

    >>> groups_of(np.array([0, 0, 1]), np.array([1, 0, 1]))
    {(0, 0): array([1]), (0, 1): array([0]), (1, 1): array([2])}
    """
    stacked = np.stack(keys, axis=1)
    order = np.lexsort(stacked.T[::-1])
    groups: dict[tuple[int, ...], np.ndarray] = {}
    if order.size:
        sorted_keys = stacked[order]
        cut = np.flatnonzero((np.diff(sorted_keys, axis=0) != 0).any(axis=1)) + 1
        for part in np.split(np.arange(order.size), cut):
            groups[tuple(int(v) for v in sorted_keys[part[0]])] = np.sort(order[part])
    return groups


def _period_minutes(profiles: Sequence[PatternProfile]) -> tuple[np.ndarray, int]:
    """On-duty minutes per (pattern, team, hour) over the common period, and its length in weeks."""
    days = math.lcm(7, *(p.period_days for p in profiles))
    weeks = days // 7
    out = []
    for p in profiles:
        minutes = p.on_duty * 60.0 * weeks
        whole = np.round(minutes)
        if np.abs(minutes - whole).max() > 1e-6:
            raise ValueError(f"pattern {p.name!r}: on-duty minutes are not whole over {days} days")
        out.append(whole.astype(np.int64))
    return np.concatenate(out, axis=0) if out else np.zeros((0, 168), np.int64), weeks


def _window_hours(force: Force, window: str, worked: Sequence[PatternProfile] | None = None) -> np.ndarray:
    """Hours of the week wholly inside ``window`` on the weekdays it runs.

    With ``worked``, only on the weekdays on which one of those patterns has
    a team on that window (a minimum "1 LCI on Day" holds when LCIs work Day).
    """
    w = force.window(window)
    days = [d for d in range(7) if w.runs_on(d)]
    if worked is not None:
        k = force.window_names.index(window)
        days = [d for d in days if any(p.window_share[:, d, k].sum() > 0 for p in worked)]
    hours = []
    for d in days:
        start = d * 1440 + w.start_on(d)
        end = start + round(w.hours * 60)
        first = -(-start // 60)
        last = end // 60
        hours += [h % 168 for h in range(first, last)]
    return np.array(sorted(set(hours)), dtype=np.int64)


def _minimum_hours(force: Force, buckets: Buckets, key: str, worked: Sequence[PatternProfile]) -> np.ndarray:
    """The hours a minimum keyed by a bucket name, or by a window the role works, applies to."""
    if key in buckets.names:
        return buckets.hours(buckets.index(key))
    return _window_hours(force, key, worked)


def build_formulation(
    workload: Any,
    force: Force,
    current: Any = None,
    max_moves: int | None = None,
    allow_unallocated: bool = False,
    equal_teams: bool = False,
    days: float | None = None,
    floors: Any = None,
) -> Formulation:
    """The formulation of a force on duty patterns.

    Parameters
    ----------
    workload
        A ``Workload`` (its ``hour_array`` and, for utilisation, its partials)
        or an array of judged hours (areas, 168, roles).
    force
        A force with ``windows`` and ``patterns``.
    current
        The current posting (see :func:`read_current_patterns`).
    max_moves
        Largest number of officers of each role that may move.
    allow_unallocated
        Let a role post fewer than its establishment.
    equal_teams
        A rota's teams exactly equal (default: within one post).
    days
        Days of demand the workload covers (default: the workload's own
        ``days``, else ``settings.window_days``).
    floors
        Response floors: None (no service levels), a float (areas, 168) array
        of least responder officers on duty per hour of the week, or an object
        with such an ``officers`` array (and optionally ``responders``, role
        names, ``target``, minutes per area, ``level``, ``percentile`` and
        ``chance``, which take precedence over the force file's), as
        :func:`allocator.queueing.response.response_floors` returns. The
        force's ``service_levels`` section (if any) gives the responders, the
        level (``"hour"`` or ``"bucket"``), the percentile and the chance;
        without it: PCs, hour level, on average. They become the
        ``response floors`` family (see :func:`apply_floor_level`).
    """
    hours_arr = np.asarray(getattr(workload, "hour_array", workload), dtype=np.float64)
    A, R = len(force.areas), len(force.roles)
    if hours_arr.shape != (A, 168, R):
        raise InputError("<workload>", [Problem("<workload>", "shape",
                                                f"expected (areas, 168, roles) = {(A, 168, R)}", hours_arr.shape)])
    if not np.isfinite(hours_arr).all() or (hours_arr < 0).any():
        raise InputError("<workload>", [Problem("<workload>", "hours", "workload must be finite and 0 or more")])
    days = float(days if days is not None else getattr(workload, "days", None) or force.settings.window_days)
    weeks = days / 7.0

    profiles = pattern_profiles(force)
    buckets = make_buckets(force)
    minutes, period_weeks = _period_minutes(profiles)
    p_index = {p.name: i for i, p in enumerate(profiles)}
    team_base = np.cumsum([0] + [len(p.teams) for p in profiles])

    col_area, col_role, col_pattern, col_team = [], [], [], []
    for a in range(A):
        for r, role in enumerate(force.roles):
            for name in force.role_pattern_names(role.name):
                p = p_index[name]
                for t in range(len(profiles[p].teams)):
                    col_area.append(a)
                    col_role.append(r)
                    col_pattern.append(p)
                    col_team.append(t)
    ca, cr, cp, ct = (np.array(v, dtype=np.int64) for v in (col_area, col_role, col_pattern, col_team))
    J = ca.size
    on_minutes = minutes[team_base[cp] + ct] if J else np.zeros((0, 168), np.int64)
    establishment = np.array([r.establishment for r in force.roles], dtype=np.int64)
    available = np.array([1.0 - r.abstraction for r in force.roles])
    proactive = np.array([r.proactive_share for r in force.roles])
    kappa = available * (1.0 - proactive) * weeks / (60.0 * period_weeks)
    duty = np.zeros((A, R, 168))  # the role's on-duty post-minutes in each hour of the week
    np.add.at(duty, (ca, cr), on_minutes.astype(float))
    to_bucket = buckets.matrix()
    W = np.einsum("arh,hb->arb", carry_forward(hours_arr.transpose(0, 2, 1), duty), to_bucket)

    by_ar = groups_of(ca, cr)
    families: list[Family] = [_establishment(force, ca, cr, allow_unallocated)]
    for fam in (
        _area_bounds(force, ca, cr, by_ar),
        _pins(force, ca, cr, cp, p_index),
        _minimum_staffing(force, buckets, profiles, ca, by_ar, cr, cp, ct, on_minutes, period_weeks, available),
        _team_equality(force, profiles, ca, cr, cp, ct, equal_teams),
    ):
        if fam.n_rows:
            families.append(fam)

    for fam in (_ratios(force, ca, cr, on_minutes, available, by_ar), _caps(force, ca, cr)):
        if fam.n_rows:
            families.append(fam)
    service = None
    if floors is not None:
        service, fam = _response_floors(force, floors, buckets, profiles, ca, cr, cp, ct, by_ar, on_minutes,
                                        period_weeks, available)
        if fam.n_rows:
            families.append(fam)
    cur = None if current is None else read_current_patterns(current, force, profiles, ca, cr, cp, ct)
    col_hi = np.minimum(establishment[cr], np.iinfo(np.int32).max).astype(np.int64)
    if cur is not None and max_moves is not None:
        rows: list[_Row] = [([], [], -math.inf, 2.0 * int(max_moves),
                             f"{force.roles[r].name}: at most {int(max_moves)} moves") for r in range(R)]
        families.append(family_from_rows(
            fm.MOVE_LIMIT, rows, ca, cr, l1=lambda r: (cr == r).astype(np.int64)))
    budget = getattr(force, "move_budget", None)
    if cur is not None and budget is not None:
        families.append(_move_budget(force, budget, ca, cr))

    committed_hours = _committed(workload, force)
    committed = (None if committed_hours is None else
                 np.einsum("arh,hb->arb", carry_forward(committed_hours.transpose(0, 2, 1), duty), to_bucket))
    return Formulation(
        areas=tuple(force.area_names),
        roles=tuple(force.role_names),
        patterns=tuple(p.name for p in profiles),
        teams=tuple(p.teams for p in profiles),
        buckets=buckets.names,
        col_area=ca,
        col_role=cr,
        col_pattern=cp,
        col_team=ct,
        col_lo=np.zeros(J, dtype=np.int64),
        col_hi=col_hi,
        on_duty_minutes=on_minutes,
        period_weeks=period_weeks,
        bucket_of_hour=np.asarray(buckets.of_hour, dtype=np.int64),
        workload=W,
        kappa=kappa,
        available=available,
        proactive=proactive,
        establishment=establishment,
        families=families,
        role_weights=np.array([force.coverage_weights.get(r.name, 1.0) for r in force.roles], dtype=np.float64),
        weeks=weeks,
        current=cur,
        committed=committed,
        allow_unallocated=allow_unallocated,
        source=workload if not isinstance(workload, np.ndarray) else None,
        profiles=tuple(profiles),
        service=service,
    )


def carry_forward(per_bucket: np.ndarray, duty: np.ndarray) -> np.ndarray:
    """Share the work of hours in which a role has nobody rostered over its rostered time.

    ``per_bucket`` and ``duty`` are (areas, roles, slots) with slots hours of
    the week (or buckets); ``duty`` is the role's on-duty post-minutes in each
    (any weights). Investigators on weekday days work the night's and the
    weekend's crimes through their working week: the judged hours of a slot
    that none of the role's patterns works are shared, per area, over the
    slots the role works, in proportion to their on-duty time. A role working every bucket is unchanged; a role working none keeps
    its hours where they are (and nobody can cover them). The total is kept.

    >>> w = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> carry_forward(w, np.array([[[1.0, 0.0, 0.0, 3.0]]])).tolist()
    [[[2.25, 0.0, 0.0, 7.75]]]
    """
    out = per_bucket.copy()
    on = duty > 0
    partial: np.ndarray = np.asarray(on.any(axis=2) & ~on.all(axis=2))  # (A, R): roles with idle slots
    if not partial.any():
        return out
    idle = np.where(on, 0.0, out).sum(axis=2)  # hours to share, (A, R)
    share = np.where(on, duty, 0.0)
    share = share / np.maximum(share.sum(axis=2, keepdims=True), 1e-300)
    moved = np.where(on, out + idle[:, :, None] * share, 0.0)
    return np.where(partial[:, :, None], moved, out)


# ------------------------------------------------------------------ families
def _establishment(force: Force, ca: np.ndarray, cr: np.ndarray, allow_unallocated: bool) -> Family:
    rows: list[_Row] = []
    for r, role in enumerate(force.roles):
        cols = np.flatnonzero(cr == r).tolist()
        e = float(role.establishment)
        rows.append((cols, [1] * len(cols), -math.inf if allow_unallocated else e, e,
                     f"{role.name}: {role.establishment} posts"))
    return family_from_rows(fm.ESTABLISHMENT, rows, ca, cr)


def _area_bounds(force: Force, ca: np.ndarray, cr: np.ndarray, by_ar: dict[tuple[int, ...], np.ndarray]) -> Family:
    rows: list[_Row] = []
    r_index = {r: k for k, r in enumerate(force.role_names)}
    for a, area in enumerate(force.areas):
        for role in sorted(set(area.min_posts) | set(area.max_posts), key=lambda n: r_index[n]):
            cols = by_ar.get((a, r_index[role]), _NONE).tolist()
            lo = float(area.min_posts.get(role, 0))
            hi = float(area.max_posts[role]) if role in area.max_posts else math.inf
            words = []
            if lo > 0:
                words.append(f"at least {int(lo)}")
            if math.isfinite(hi):
                words.append(f"at most {int(hi)}")
            rows.append((cols, [1] * len(cols), lo if lo > 0 else -math.inf, hi,
                         f"{area.name}: {' and '.join(words)} {role}s"))
    return family_from_rows(fm.AREA_BOUNDS, rows, ca, cr)


def _pins(force: Force, ca: np.ndarray, cr: np.ndarray, cp: np.ndarray, p_index: dict[str, int]) -> Family:
    rows: list[_Row] = []
    a_index = {a: k for k, a in enumerate(force.area_names)}
    r_index = {r: k for k, r in enumerate(force.role_names)}
    for pin in force.pins:
        cols = np.flatnonzero((ca == a_index[pin.area]) & (cr == r_index[pin.role])
                              & (cp == p_index[pin.shift])).tolist()
        rows.append((cols, [1] * len(cols), float(pin.posts), float(pin.posts),
                     f"{pin.area} / {pin.shift} / {pin.role}: pinned at {pin.posts}"))
    return family_from_rows(fm.PINS, rows, ca, cr)


def _minimum_staffing(force: Force, buckets: Buckets, profiles: Sequence[PatternProfile], ca: np.ndarray,
                      by_ar: dict[tuple[int, ...], np.ndarray],
                      cr: np.ndarray, cp: np.ndarray, ct: np.ndarray, on_minutes: np.ndarray,
                      period_weeks: int, available: np.ndarray) -> Family:
    """Officers on duty in every hour the minimum covers: on average, or on a chance of dates.

    On average: ``sum_j minutes_j(h) x_j (1 - abstraction) >= need * 60 * period_weeks``.
    On a chance q of dates: for every set of teams the rota puts on duty
    together in the hour, the sum of their posts reaches the least ``n`` with
    ``P(Binomial(n, 1 - abstraction) >= need) >= q`` (absences independent).
    """
    rows: list[_Row] = []
    seen: set[tuple[Any, ...]] = set()
    team_sets: dict[tuple[int, str], list[tuple[tuple[int, int], ...]]] = {}
    key_hours: dict[tuple[int, str], np.ndarray] = {}
    for r, role in enumerate(force.roles):
        names = force.role_pattern_names(role.name)
        role_profiles = [next(p for p in profiles if p.name == n) for n in names]
        for a, area in enumerate(force.area_names):
            keys = dict(role.min_on_duty)
            keys.update(role.min_on_duty_by_area.get(area, {}))
            mine = by_ar.get((a, r), _NONE)
            for key, need in keys.items():
                if need <= 0:
                    continue
                if (r, key) not in key_hours:  # the same in every area
                    key_hours[(r, key)] = _minimum_hours(force, buckets, key, role_profiles)
                hours = key_hours[(r, key)]
                if role.min_on_duty_chance is None:
                    rhs = math.ceil(need * 60 * period_weeks / available[r] - 1e-9)
                    if not hours.size:
                        continue
                    # hours with the same coefficients give the same row: each distinct column once,
                    # in the order of its first hour
                    coefs_h = on_minutes[np.ix_(mine, hours)]
                    first = np.unique(coefs_h.T, axis=0, return_index=True)[1] if mine.size else np.zeros(1, np.int64)
                    for i in np.sort(first):
                        h = hours[i]
                        coefs = coefs_h[:, i]
                        sig = ("avg", r, a, tuple(coefs.tolist()), rhs)
                        if sig in seen:
                            continue
                        seen.add(sig)
                        nz = coefs > 0
                        rows.append((mine[nz].tolist(), coefs[nz].tolist(), float(rhs), math.inf,
                                     f"{area}, {key}: {need:g} {role.name}s on duty on average "
                                     f"(hour {_hour_name(int(h))})"))
                    continue
                n_star = least_team_total(math.ceil(need - 1e-9), float(available[r]), role.min_on_duty_chance)
                if (r, key) not in team_sets:  # the same in every area: work it out once
                    team_sets[(r, key)] = rostered_sets(role_profiles, hours)
                for team_set in team_sets[(r, key)]:
                    members = [(names[i], t) for i, t in team_set]
                    cols = [int(j) for j in mine
                            if (profiles[cp[j]].name, int(ct[j])) in members]
                    sig = ("chance", r, a, tuple(cols), n_star)
                    if sig in seen:
                        continue
                    seen.add(sig)
                    teams = ", ".join(f"{n} team {profiles[p_].teams[t]}" for n, t in members
                                      for p_ in [next(i for i, p in enumerate(profiles) if p.name == n)])
                    rows.append((cols, [1] * len(cols), float(n_star), math.inf,
                                 f"{area}, {key}: {need:g} {role.name}s on duty on "
                                 f"{role.min_on_duty_chance:.0%} of dates needs {n_star} on "
                                 f"{teams or 'no team'}"))
    return family_from_rows(fm.MIN_STAFFING, rows, ca, cr)


def apply_floor_level(hourly: np.ndarray, of_hour: np.ndarray, level: str = "hour",
                      percentile: float | None = None) -> np.ndarray:
    """The floor each hour's row asks for, float64 (A, 168).

    At the ``"hour"`` level each hour keeps its own floor. At the ``"bucket"``
    level every hour of a bucket asks for the bucket's busiest hour, or, with
    ``percentile``, that percentile of the bucket's hourly floors (a value
    taken, ``method="higher"``, as the queueing model's bucket floors).

    >>> F = np.array([[1.0, 4.0, 2.0, 3.0, 5.0]])
    >>> apply_floor_level(F, np.array([0, 0, 1, 1, 1]), "bucket").tolist()
    [[4.0, 4.0, 5.0, 5.0, 5.0]]
    >>> apply_floor_level(F, np.array([0, 0, 1, 1, 1]), "bucket", 50).tolist()
    [[4.0, 4.0, 3.0, 3.0, 3.0]]
    """
    hourly = np.asarray(hourly, dtype=np.float64)
    if level == "hour":
        return hourly.copy()
    if level != "bucket":
        raise ValueError(f"service level floors apply per 'hour' or per 'bucket', not {level!r}")
    out = np.zeros_like(hourly)
    for b in np.unique(of_hour):
        hours = of_hour == b
        part = hourly[:, hours]
        value = part.max(axis=1) if percentile is None else np.percentile(part, float(percentile), axis=1, method="higher")
        out[:, hours] = value[:, None]
    return out


def _floor_settings(force: Force, floors: Any) -> tuple[np.ndarray, list[str], str, float | None, float | None,
                                                       tuple[str, ...]]:
    """The hourly floors, responders, level, percentile, chance and purpose words from ``floors`` and the force."""
    A = len(force.areas)
    hourly = np.asarray(getattr(floors, "officers", floors), dtype=np.float64)
    where = "<service levels>"
    problems = []
    if hourly.shape != (A, 168):
        raise InputError(where, [Problem(where, "floors", f"expected (areas, 168) = {(A, 168)}", hourly.shape)])
    bad = ~np.isfinite(hourly) | (hourly < 0)
    if bad.any():
        a, h = (int(v) for v in np.argwhere(bad)[0])
        problems.append(Problem(where, "floors", f"{int(bad.sum())} floors are not finite and 0 or more; first: "
                                f"{force.area_names[a]}, {_hour_name(h)}", float(hourly[a, h])))
    config = getattr(force, "service_levels", None)
    responders = list(getattr(floors, "responders", None) or getattr(config, "responders", None) or ["PC"])
    for name in responders:
        if name not in force.role_names:
            problems.append(Problem(where, "responders", f"not a role of the force ({', '.join(force.role_names)})",
                                    name))
    def setting(name: str) -> Any:  # the floors' own setting first, then the force file's
        own = getattr(floors, name, None)
        return own if own is not None else getattr(config, name, None)

    level = str(setting("level") or "hour")
    if level not in ("hour", "bucket"):
        problems.append(Problem(where, "level", "must be 'hour' or 'bucket'", level))
    percentile = setting("percentile")
    chance = setting("chance")
    if problems:
        raise InputError(where, problems)
    grades = getattr(floors, "grades", None)
    target = getattr(floors, "target", None)
    if grades and config is not None and hasattr(config, "target_minutes"):  # the force's own target, travel in
        grade = str(grades[0])
        purpose = tuple(f"{grade.capitalize()} calls within {config.target_minutes(grade, a):g} min"
                        for a in force.area_names)
    elif target is not None:
        minutes = np.broadcast_to(np.asarray(target, dtype=np.float64), (A,))
        purpose = tuple(f"Immediate calls within {m:g} min" for m in minutes)
    else:
        purpose = ("response calls",) * A
    return hourly, responders, level, percentile, chance, purpose


def _response_floors(force: Force, floors: Any, buckets: Buckets, profiles: Sequence[PatternProfile],
                     ca: np.ndarray, cr: np.ndarray, cp: np.ndarray, ct: np.ndarray,
                     by_ar: dict[tuple[int, ...], np.ndarray], on_minutes: np.ndarray, period_weeks: int,
                     available: np.ndarray) -> tuple[ServiceFloors, Family]:
    """Responder officers on duty in every floored hour: on average, or on a chance of dates.

    On average, per (area, hour): ``sum_j minutes_j(h) (1 - abstraction_j) x_j
    >= floor * 60 * period_weeks``, made whole by the availabilities' common
    denominator. On a chance q of dates, as minimum staffing: for every set of
    teams rostered together in the hour, their posts reach the least ``n``
    with ``P(Binomial(n, 1 - abstraction) >= ceil(floor)) >= q`` (with
    responders of different abstraction, the lowest availability). Of rows
    with the same columns and coefficients in an area only the largest floor
    is kept (it implies the others). Hours in which no responder pattern is
    on duty get no row: no posting can meet them, and the results show their
    shortfall.
    """
    hourly, responders, level, percentile, chance, purpose = _floor_settings(force, floors)
    R_s = [force.role_names.index(n) for n in responders]
    required = getattr(floors, "required", None)  # the queueing model's floors with its level applied
    if required is not None and np.shape(required) == hourly.shape:
        applied = np.asarray(required, dtype=np.float64)
    else:
        applied = apply_floor_level(hourly, np.asarray(buckets.of_hour), level, percentile)
    service = ServiceFloors(hourly=hourly, applied=applied, responders=tuple(R_s), level=level,
                            percentile=None if percentile is None else float(percentile),
                            chance=None if chance is None else float(chance), purpose=purpose,
                            source=None if isinstance(floors, np.ndarray) else floors)
    who = "/".join(responders)
    weights, scale = integer_row([available[r] for r in R_s])
    w_of_role = dict(zip(R_s, weights.tolist(), strict=True))
    best: dict[tuple[Any, ...], tuple[float, str]] = {}  # (area, cols, coefs) -> (rhs, label)
    needs: list[tuple[tuple[Any, ...], int, int, float]] = []  # (key, area, hour, rhs): what each hour asks
    if chance is not None:
        names: list[str] = []
        role_profiles: list[PatternProfile] = []
        for r in R_s:
            for n in force.role_pattern_names(force.roles[r].name):
                if n not in names:
                    names.append(n)
                    role_profiles.append(next(p for p in profiles if p.name == n))
        avail = float(min(available[r] for r in R_s))
        sets: dict[int, list[tuple[tuple[int, int], ...]]] = {}

    def words(a: int, h: int) -> str:
        shown = math.ceil(float(applied[a, h]) * 10 - 1e-6) / 10  # in words to a tenth, never below the floor
        return (f"{force.area_names[a]}, {buckets.names[int(buckets.of_hour[h])]}: {shown:g} {who}s on duty for "
                f"{purpose[a]}")

    for a in range(len(force.area_names)):
        mine = np.concatenate([by_ar.get((a, r), _NONE) for r in R_s]) if R_s else _NONE
        hours = np.flatnonzero(applied[a] > 0)
        if chance is None:
            if not (mine.size and hours.size):
                continue
            # one row per distinct column of coefficients (hours with the same responders on duty
            # for the same minutes), its floor the largest of its hours', named by the first such hour
            w_col = np.array([w_of_role[int(cr[j])] for j in mine], dtype=np.int64)
            coefs_h = on_minutes[np.ix_(mine, hours)].astype(np.int64) * w_col[:, None]  # (columns, hours)
            some = (coefs_h > 0).any(axis=0)
            hours, coefs_h = hours[some], coefs_h[:, some]
            if not hours.size:
                continue
            rhs_h = np.ceil(applied[a, hours] * 60 * period_weeks * scale - 1e-9)
            _, first, group = np.unique(coefs_h.T, axis=0, return_index=True, return_inverse=True)
            group = np.asarray(group).reshape(-1)
            for g in np.argsort(first, kind="stable"):  # keys in the order of their first hour
                at = np.flatnonzero(group == g)
                top = int(at[np.argmax(rhs_h[at])])  # the first hour with the largest floor
                coefs = coefs_h[:, top]
                nz = coefs > 0
                key: tuple[Any, ...] = (a, tuple(mine[nz].tolist()), tuple(coefs[nz].tolist()))
                first_hour = int(hours[top])
                best[key] = (float(rhs_h[top]), f"{words(a, first_hour)} (hour {_hour_name(first_hour)})")
                needs.extend((key, a, int(hours[i]), float(rhs_h[i])) for i in at.tolist())
            continue
        for h in hours:
            need = float(applied[a, h])
            n_star = least_team_total(math.ceil(need - 1e-9), avail, float(chance))
            if int(h) not in sets:  # the same in every area
                sets[int(h)] = rostered_sets(role_profiles, np.array([h]))
            for team_set in sets[int(h)]:
                members = {(names[i], t) for i, t in team_set}
                cols = tuple(int(j) for j in mine if (profiles[cp[j]].name, int(ct[j])) in members)
                if not cols:
                    continue
                key = (a, cols, (1,) * len(cols))
                label = (f"{words(a, int(h))} on {chance:.0%} of dates needs {n_star} posted "
                         f"(hour {_hour_name(int(h))})")
                needs.append((key, a, int(h), float(n_star)))
                if key not in best or best[key][0] < n_star:
                    best[key] = (float(n_star), label)
    needs.sort(key=lambda n: (n[1], n[2]))  # by area and hour, as the floors are read
    rows: list[_Row] = [(list(cols), list(coefs), rhs, math.inf, label)
                        for (_, cols, coefs), (rhs, label) in best.items()]
    index = {key: i for i, key in enumerate(best)}
    cover = np.array([(index[key], a, h, rhs) for key, a, h, rhs in needs], dtype=np.float64).reshape(-1, 4)
    service = replace(service, cover=cover, unit=None if chance is not None else 60.0 * period_weeks * scale)
    return service, family_from_rows(fm.RESPONSE_FLOORS, rows, ca, cr)


def _hour_name(h: int) -> str:
    return f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[h // 24]} {h % 24:02d}:00"


def _team_equality(force: Force, profiles: Sequence[PatternProfile], ca: np.ndarray, cr: np.ndarray,
                   cp: np.ndarray, ct: np.ndarray, exact: bool) -> Family:
    by_arp = groups_of(ca, cr, cp)
    rows: list[_Row] = []
    for a, area in enumerate(force.area_names):
        for r, role in enumerate(force.roles):
            for p, prof in enumerate(profiles):
                cols = by_arp.get((a, r, p), _NONE)
                if cols.size < 2:
                    continue
                for i in range(cols.size):
                    for k in range(cols.size):
                        if i == k or (exact and k != i + 1):
                            continue
                        lo = 0.0 if exact else -math.inf
                        hi = 0.0 if exact else 1.0
                        rows.append(([int(cols[i]), int(cols[k])], [1, -1], lo, hi,
                                     f"{area} / {prof.name} / {role.name}: teams "
                                     f"{prof.teams[ct[cols[i]]]} and {prof.teams[ct[cols[k]]]} "
                                     f"{'equal' if exact else 'within one post'}"))
    return family_from_rows(fm.TEAM_EQUALITY, rows, ca, cr)


def _area_list(force: Force, names: list[str] | None) -> list[int]:
    return list(range(len(force.areas))) if names is None else [force.area_names.index(n) for n in names]


def _ratios(force: Force, ca: np.ndarray, cr: np.ndarray, on_minutes: np.ndarray, available: np.ndarray,
            by_ar: dict[tuple[int, ...], np.ndarray]) -> Family:
    """``role >= k per`` (or ``<=``) in each area: on posts, or on duty in every hour of the week."""
    rows: list[_Row] = []
    r_index = {r: k for k, r in enumerate(force.role_names)}
    for rule in getattr(force, "rules", []):
        ratio = rule.ratio
        if ratio is None:
            continue
        r1, r2 = r_index[ratio.role], r_index[ratio.per]
        sign = 1 if ratio.at_least is not None else -1
        for a in _area_list(force, ratio.areas):
            c1 = by_ar.get((a, r1), _NONE)
            c2 = by_ar.get((a, r2), _NONE)
            label = f"{force.area_names[a]}: {ratio.words()}"
            if ratio.on == "posts":
                (one, k), _ = integer_row([1.0, ratio.factor])
                post_coefs = [sign * int(one)] * c1.size + [-sign * int(k)] * c2.size
                rows.append((c1.tolist() + c2.tolist(), post_coefs, 0.0, math.inf, label))
                continue
            (w1, w2), _ = integer_row([available[r1], ratio.factor * available[r2]])
            seen: set[tuple[int, ...]] = set()
            for h in range(168):
                m1, m2 = on_minutes[c1, h], on_minutes[c2, h]
                duty = np.concatenate([sign * int(w1) * m1, -sign * int(w2) * m2])
                if not duty.any() or tuple(duty) in seen:
                    continue
                seen.add(tuple(duty))
                keep = duty != 0
                cols = np.concatenate([c1, c2])[keep]
                rows.append((cols.tolist(), duty[keep].tolist(), 0.0, math.inf, f"{label} ({_hour_name(h)})"))
    return family_from_rows(fm.RATIO, rows, ca, cr)


def _caps(force: Force, ca: np.ndarray, cr: np.ndarray) -> Family:
    rows: list[_Row] = []
    r_index = {r: k for k, r in enumerate(force.role_names)}
    for rule in getattr(force, "rules", []):
        cap = rule.cap
        if cap is None:
            continue
        roles = [r_index[n] for n in cap.roles] if cap.roles else list(range(len(force.roles)))
        names = "/".join(force.role_names[r] for r in roles)
        for a in _area_list(force, cap.areas):
            cols = np.flatnonzero((ca == a) & np.isin(cr, roles))
            rows.append((cols.tolist(), [1] * cols.size, -math.inf, float(cap.posts),
                         f"{force.area_names[a]}: at most {cap.posts} {names} posts"))
    return family_from_rows(fm.HEADCOUNT, rows, ca, cr)


def _move_budget(force: Force, budget: Any, ca: np.ndarray, cr: np.ndarray) -> Family:
    """``sum_j weight_role(j) |x_j - current_j| <= 2 moves``, weights made whole."""
    weights = [float(budget.weights.get(r.name, 1.0)) for r in force.roles]
    ints, scale = integer_row(weights)
    label = f"at most {budget.moves} weighted moves across the force"
    return family_from_rows(fm.MOVE_BUDGET, [([], [], -math.inf, 2.0 * budget.moves * scale, label)], ca, cr,
                            l1=lambda i: ints[cr].astype(np.int64))


def _committed(workload: Any, force: Force) -> np.ndarray | None:
    """Unweighted hours of recorded demand per (area, hour of week, role) (recency scaled to average 1)."""
    partials = getattr(workload, "partials", None)
    if partials is None or partials.n_records == 0:
        return None
    from allocator.workload.kernel import judged_hours

    share, minutes, _, _ = force.judgement_arrays()
    hours = judged_hours(partials, share, minutes, np.ones_like(share), force.area_factor_array(),
                         force.settings.data_weight).sum(axis=2)  # (A, 168, R)
    mean_weight = float(partials.weight.sum()) / partials.n_records
    if mean_weight > 0:
        hours = hours / mean_weight
    return hours


# ------------------------------------------------------------- current posting
def read_current_patterns(current: Any, force: Force, profiles: Sequence[PatternProfile], ca: np.ndarray,
                          cr: np.ndarray, cp: np.ndarray, ct: np.ndarray) -> np.ndarray:
    """The current posting per column, int64 (J,): see :func:`allocator.model.current.read_current_on_patterns`."""
    from allocator.model.current import read_current_on_patterns

    return read_current_on_patterns(current, force, (ca, cr, cp, ct), [p.teams for p in profiles],
                                    [p.name for p in profiles])


def check_current_patterns(current: Any, force: Force) -> None:
    """Read a current posting of a force on patterns (``area, role, pattern, team, posts``) once, so
    that every bad row is reported (:class:`~allocator.errors.InputError`) before any other work."""
    profiles = pattern_profiles(force)
    p_index = {p.name: i for i, p in enumerate(profiles)}
    cols: list[tuple[int, int, int, int]] = []
    for a in range(len(force.areas)):
        for r, role in enumerate(force.roles):
            for name in force.role_pattern_names(role.name):
                p = p_index[name]
                cols += [(a, r, p, t) for t in range(len(profiles[p].teams))]
    ca, cr, cp, ct = (np.array(v, dtype=np.int64) for v in zip(*cols, strict=True)) if cols else (
        np.zeros(0, dtype=np.int64),) * 4
    read_current_patterns(current, force, profiles, ca, cr, cp, ct)
