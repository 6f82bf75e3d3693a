"""Synthetic demand extracts and current postings for any force, at any size.

:func:`sample_demand` draws a realistic demand extract (calls, incidents and
crimes) for a force: an hour-of-week profile with evening and weekend-night
peaks, busier first areas, a realistic mix of demand types that shifts towards
disorder and violence at night, and lognormal durations around each type's
standard minutes. It is vectorised (ten million records take seconds) and
deterministic for a seed. :func:`sample_current` builds a plausible current
posting that is deliberately *not* proportional to demand.

Examples
--------
>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> df = sample_demand(force, 1000, seed=1)
>>> list(df.columns)
['id', 'timestamp', 'area', 'demand_type', 'duration', 'grade']
>>> len(df), str(df["timestamp"].dt.tz)
(1000, 'Europe/London')
>>> df.equals(sample_demand(force, 1000, seed=1))
True
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.model.force import Force

__all__ = ["DEFAULT_END", "Planted", "sample_current", "sample_demand"]

log = logging.getLogger(__name__)

#: The window of a sample extract ends at local midnight starting this day
#: unless ``start`` is given (fixed, so that samples never depend on "now").
DEFAULT_END = "2026-11-01"

# Calls for service by hour of the day (local), Monday to Thursday: a quiet
# small hours, a morning rise, a late-afternoon and evening peak.
_DAY_SHAPE = np.array(
    [
        0.55, 0.45, 0.38, 0.32, 0.28, 0.27, 0.32, 0.45,  # 00-07
        0.62, 0.75, 0.82, 0.86, 0.90, 0.92, 0.95, 1.00,  # 08-15
        1.08, 1.15, 1.18, 1.15, 1.08, 1.00, 0.88, 0.70,  # 16-23
    ]
)  # fmt: skip
# Friday and Saturday evenings and the nights that follow run hotter; Sunday
# daytime is quieter.
_WEEKDAY_FACTOR = np.array([1.0, 0.97, 0.98, 1.0, 1.08, 1.12, 0.95])

# Share of records per demand type, and how much more (or less) likely each is
# between 22:00 and 04:00, for the sample force's codes.
_KNOWN_TYPES: dict[str, tuple[float, float]] = {
    "THEFT": (0.15, 0.6),
    "BURG": (0.05, 1.3),
    "ASB": (0.13, 1.3),
    "DA": (0.09, 1.6),
    "RTC": (0.05, 0.7),
    "CFW": (0.08, 1.2),
    "MISPER": (0.03, 1.1),
    "SIL999": (0.04, 1.2),
    "SUSP": (0.08, 1.0),
    "DISORD": (0.05, 2.6),
    "LOSTP": (0.04, 0.3),
    "ASSAULT": (0.07, 2.0),
    "CRIMDAM": (0.06, 1.2),
    "MENTAL": (0.05, 1.3),
    "OTHER": (0.03, 1.0),
}
_NIGHT_HOURS = (22, 23, 0, 1, 2, 3)
_DURATION_SIGMA = 0.55
_MISSING_DURATION = 0.15
# Source codes a command-and-control system uses that a force rarely models as
# a type of its own: in a messy extract some catch-all records carry them.
_UNMODELLED_CODES = ("NOISE", "ANIMAL", "ALARM", "HIGHWAY", "FIREWORKS")


@dataclass(frozen=True)
class Planted:
    """A fault planted in a messy extract: the reason it is rejected with, and how."""

    reason: str
    how: str


def _hour_of_week_profile() -> np.ndarray:
    """Relative demand per hour of week (0 = Monday 00:00), shape (168,)."""
    prof = np.empty(168)
    for d in range(7):
        prof[d * 24 : (d + 1) * 24] = _DAY_SHAPE * _WEEKDAY_FACTOR[d]
    # weekend nights: Friday and Saturday 20:00 to 03:00 next morning
    for d in (4, 5):
        for h in range(20, 27):
            prof[(d * 24 + h) % 168] *= 1.45 if h >= 22 else 1.2
    return prof / prof.sum()


def area_weights(force: Force) -> np.ndarray:
    """Share of demand per area: the force's first areas are the busiest.

    Area ``i`` (0-based, force order) weighs ``1 / (1 + 0.08 i)``, normalised;
    with the sample force, the two Swindon areas come first and are busiest,
    and the six areas differ as CPT areas of one force do (about 60 to 80 PC
    posts each at equal coverage).

    >>> import allocator
    >>> w = area_weights(allocator.load_force(allocator.sample_path("force_shifts.yaml")))
    >>> w.round(3).tolist()
    [0.197, 0.183, 0.17, 0.159, 0.15, 0.141]
    """
    w = 1.0 / (1.0 + 0.08 * np.arange(len(force.areas)))
    return np.asarray(w / w.sum())


def type_weights(force: Force) -> tuple[np.ndarray, np.ndarray]:
    """Share of demand per type by day and by night (22:00-04:00), each shape (types,).

    When every code of the force is one of the sample's known codes the
    sample's mix is used (theft and ASB most common, disorder and assault
    peaking at night); otherwise a Zipf-like mix ``1 / (k + 1)`` in force
    order, the same by day and night.
    """
    codes = force.type_codes
    if all(c in _KNOWN_TYPES for c in codes):
        base = np.array([_KNOWN_TYPES[c][0] for c in codes])
        night = base * np.array([_KNOWN_TYPES[c][1] for c in codes])
    else:
        base = 1.0 / (1.0 + np.arange(len(codes)))
        night = base.copy()
    return base / base.sum(), night / night.sum()


def type_minutes(force: Force) -> np.ndarray:
    """Median recorded duration per type: its share-weighted standard minutes, shape (types,)."""
    share, minutes, _, _ = force.judgement_arrays()
    total = share.sum(axis=1)
    med = np.where(total > 0, (share * minutes).sum(axis=1) / np.where(total > 0, total, 1), 60.0)
    return np.asarray(np.where(med > 0, med, 30.0))


def _window(force: Force, start: str | pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    tz = force.settings.timezone
    days = pd.Timedelta(days=force.settings.window_days)
    if start is None:
        end = pd.Timestamp(DEFAULT_END).tz_localize(tz)
        return end - days, end
    ts = pd.Timestamp(start)
    ts = ts.tz_localize(tz, nonexistent="shift_forward", ambiguous=True) if ts.tz is None else ts.tz_convert(tz)
    return ts, ts + days


def _ids(first: int, count: int, width: int) -> pa.Array:
    nums = pa.array(np.arange(first, first + count, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise("D", pc.utf8_lpad(nums, width, "0"), "")


def _as_str(arr: pa.Array) -> pd.Series:
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.Series(arr.to_pandas(types_mapper={pa.string(): dtype}.get), dtype=dtype)


def sample_demand(
    force: Force,
    n: int,
    seed: int = 0,
    *,
    start: str | pd.Timestamp | None = None,
    messy: bool = False,
) -> pd.DataFrame:
    """Generate a realistic demand extract of ``n`` records for ``force``.

    Parameters
    ----------
    force
        The force; its areas, demand types, judgement minutes, time zone,
        ``window_days`` and ``max_duration_minutes`` shape the extract.
    n
        Number of records (clean ones; a messy extract has a few more).
    seed
        Seed for :func:`numpy.random.default_rng`: same seed, same extract.
    start
        First instant of the window (naive: local time in the force's zone).
        The window runs ``window_days`` from it. By default the window is the
        ``window_days`` ending at local midnight starting :data:`DEFAULT_END`.
    messy
        Plant bad rows covering every rejection reason (see
        :func:`planted_faults`) and, when the force has a catch-all type, give
        some catch-all records source codes the force does not know. A messy
        extract is returned as text, as a file would hold it.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (``D0000001``...), ``timestamp`` (tz-aware, force zone,
        whole seconds, chronological), ``area`` and ``demand_type``
        (categoricals in force order), ``duration`` (float64 minutes, whole,
        about 15% NaN, lognormal around the type's standard minutes, within
        1 .. ``max_duration_minutes``) and ``grade`` (the type's grade,
        ``"standard"`` when it has none). With ``messy=True`` every column is
        a string column; timestamps are local ISO text without an offset,
        missing durations are blank.

    Notes
    -----
    Timestamps are drawn hour by hour across the window in proportion to an
    hour-of-week profile (evening peaks, Friday and Saturday nights hottest),
    uniformly within the hour. Area shares follow :func:`area_weights`, the
    type mix :func:`type_weights`, durations are lognormal (sigma 0.55) with
    median :func:`type_minutes`. Every record lies inside the window, so a
    clean extract loads with no rejects.

    Examples
    --------
    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> df = sample_demand(force, 5, seed=3)
    >>> df["area"].cat.categories.tolist() == force.area_names
    True
    >>> bool(df["timestamp"].is_monotonic_increasing)
    True
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    if messy and n < 1:
        raise ValueError("a messy extract needs at least one clean record to corrupt")
    rng = np.random.default_rng(seed)
    first, end = _window(force, start)
    total_s = int((end - first).total_seconds())
    n_hours = math.ceil(total_s / 3600)

    # hour slots of the window and their local hour of week
    slot_local = (first + pd.to_timedelta(np.arange(n_hours) * 3600, unit="s")).tz_convert(
        force.settings.timezone
    )
    how = np.asarray(slot_local.day_of_week * 24 + slot_local.hour)
    p = _hour_of_week_profile()[how]
    slots = rng.choice(n_hours, size=n, p=p / p.sum())
    offsets = np.minimum(slots * 3600 + rng.integers(0, 3600, size=n), total_s - 1)
    offsets.sort()  # an extract is chronological; sorting keeps slot/offset draws fixed
    night = np.isin(how[offsets // 3600] % 24, _NIGHT_HOURS)

    areas = rng.choice(len(force.areas), size=n, p=area_weights(force)).astype(np.int16)
    day_w, night_w = type_weights(force)
    u = rng.random(n)
    types = np.where(
        night,
        np.searchsorted(np.cumsum(night_w), u * night_w.sum(), side="right"),
        np.searchsorted(np.cumsum(day_w), u * day_w.sum(), side="right"),
    )
    types = np.minimum(types, len(day_w) - 1).astype(np.int16)
    median = type_minutes(force)[types]
    duration = np.round(median * np.exp(rng.normal(0.0, _DURATION_SIGMA, size=n)))
    duration = np.clip(duration, 1.0, math.floor(force.settings.max_duration_minutes))
    duration[rng.random(n) < _MISSING_DURATION] = np.nan

    ts_ns = first.as_unit("ns").value + offsets.astype(np.int64) * 1_000_000_000
    timestamp = pd.Series(
        pd.DatetimeIndex(ts_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(
            force.settings.timezone
        )
    )
    grades = [t.grade or "standard" for t in force.demand_types]
    grade_cats = sorted(set(grades))
    grade_codes = np.array([grade_cats.index(g) for g in grades], dtype=np.int8)
    width = max(7, len(str(n)))
    df = pd.DataFrame(
        {
            "id": _as_str(_ids(1, n, width)),
            "timestamp": timestamp,
            "area": pd.Categorical.from_codes(areas, categories=pd.Index(force.area_names)),
            "demand_type": pd.Categorical.from_codes(types, categories=pd.Index(force.type_codes)),
            "duration": duration,
            "grade": pd.Categorical.from_codes(grade_codes[types], categories=pd.Index(grade_cats)),
        }
    )
    log.debug("sampled %d records for %s (seed %d)", n, force.name, seed)
    if not messy:
        return df
    return _make_messy(df, force, rng, first, width)


def planted_faults(force: Force) -> list[Planted]:
    """The faults ``sample_demand(force, n, messy=True)`` plants, once each, in order.

    Each is planted twice when ``n >= 100``. Reasons match
    :data:`allocator.data.demand.REASONS`. The unknown-type fault is planted only
    when the force has no catch-all type (with one, unknown codes are counted,
    not rejected); the clock-change fault only when the zone has a spring gap.
    """
    out = [
        Planted("missing value", "blank timestamp"),
        Planted("missing value", "blank area"),
        Planted("missing value", "blank demand_type"),
        Planted("unparseable timestamp", "day-first text with a 13th month"),
    ]
    if _spring_gap(force, 2026) is not None:
        out.append(Planted("non-existent local time", "a time in the spring clock-change gap"))
    out.append(Planted("unknown area", "the first area's name with a letter missing"))
    if force.settings.catch_all_type is None:
        out.append(Planted("unmapped demand type code", "a code the force does not have"))
    out += [
        Planted("non-numeric duration", "'45 mins'"),
        Planted("negative duration", "-30"),
        Planted("implausible duration", "twice max_duration_minutes"),
        Planted("duplicate id", "an exact copy of an earlier record"),
        Planted("outside window", "a record a day older than the window can reach"),
    ]
    return out


def _spring_gap(force: Force, year: int) -> pd.Timestamp | None:
    """A naive local time that does not exist in the force's zone in ``year`` (or None)."""
    hours = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq="h")
    local = hours.tz_localize(force.settings.timezone, nonexistent="NaT", ambiguous=True)
    gap = np.flatnonzero(np.asarray(local.isna()))
    if gap.size == 0:
        return None
    return hours[gap[0]] + pd.Timedelta(minutes=30)


def _make_messy(
    df: pd.DataFrame, force: Force, rng: np.random.Generator, first: pd.Timestamp, width: int
) -> pd.DataFrame:
    n = len(df)
    raw = pd.DataFrame(
        {
            "id": df["id"],
            "timestamp": df["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "area": df["area"].astype("str"),
            "demand_type": df["demand_type"].astype("str"),
            "duration": df["duration"].map(lambda v: "" if np.isnan(v) else f"{v:.0f}"),
            "grade": df["grade"].astype("str"),
        }
    )
    catch_all = force.settings.catch_all_type
    if catch_all is not None:
        # some catch-all records carry the source system's own codes
        idx = np.flatnonzero((df["demand_type"] == catch_all).to_numpy())
        pick = idx[rng.random(idx.size) < 0.4]
        codes = np.array(_UNMODELLED_CODES)[rng.integers(0, len(_UNMODELLED_CODES), pick.size)]
        raw.loc[pick, "demand_type"] = codes

    faults = planted_faults(force)
    copies = 2 if n >= 100 else 1
    rows: list[dict[str, str]] = []
    positions: list[int] = []
    next_id = n + 1
    gap = _spring_gap(force, first.year)
    old = (first - pd.Timedelta(days=force.settings.window_days + 1)).tz_localize(None)
    area0 = force.area_names[0]
    typo = area0[: len(area0) // 2] + area0[len(area0) // 2 + 1 :]
    if typo in force.area_names or not typo:
        typo = area0 + " X"
    for _ in range(copies):
        for fault in faults:
            src = int(rng.integers(0, n))
            row = {str(k): str(v) for k, v in raw.iloc[src].items()}
            pos = int(rng.integers(src + 1, n + 1))
            if fault.reason == "duplicate id":
                rows.append(row)
                positions.append(pos)
                continue
            row["id"] = f"D{next_id:0{width}d}"
            next_id += 1
            match fault.how:
                case "blank timestamp":
                    row["timestamp"] = ""
                case "blank area":
                    row["area"] = ""
                case "blank demand_type":
                    row["demand_type"] = " "
                case "day-first text with a 13th month":
                    row["timestamp"] = "31/13/2026 25:61"
                case "a time in the spring clock-change gap":
                    assert gap is not None
                    row["timestamp"] = f"{gap:%Y-%m-%d %H:%M:%S}"
                case "the first area's name with a letter missing":
                    row["area"] = typo
                case "a code the force does not have":
                    row["demand_type"] = "ZZ-UNKNOWN"
                case "'45 mins'":
                    row["duration"] = "45 mins"
                case "-30":
                    row["duration"] = "-30"
                case "twice max_duration_minutes":
                    row["duration"] = f"{2 * force.settings.max_duration_minutes:.0f}"
                case "a record a day older than the window can reach":
                    row["timestamp"] = f"{old:%Y-%m-%d %H:%M:%S}"
            rows.append(row)
            positions.append(pos)
    # insert planted rows after their positions (stable: ties keep planting order)
    order = np.argsort(np.array(positions), kind="stable")
    pieces = []
    prev = 0
    planted = pd.DataFrame(rows, columns=raw.columns)
    for k in order:
        pos = positions[k]
        pieces.append(raw.iloc[prev:pos])
        pieces.append(planted.iloc[[k]])
        prev = pos
    pieces.append(raw.iloc[prev:])
    out = pd.concat(pieces, ignore_index=True)
    return out.astype("str")


def sample_current(force: Force) -> pd.DataFrame:
    """A plausible current posting that ignores demand: tidy ``area, shift, role, posts``.

    Each role starts from its minimum posts (:meth:`Force.min_posts_array`);
    the rest of the establishment goes one post at a time to the area with the
    fewest posts of that role (force order breaks ties) that is below its
    ``max_posts``, and within it to the shift with the fewest posts per hour of
    shift length. The result sums to each establishment, meets every minimum
    and respects every area maximum, but splits roughly equally across areas,
    so a demand-led allocation has moves to make.

    Raises
    ------
    ValueError
        When the minimums exceed a role's establishment or the area maximums
        leave no room for the rest.

    Examples
    --------
    >>> import allocator
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> cur = sample_current(force)
    >>> cur.groupby("role", sort=False)["posts"].sum().to_dict()
    {'PC': 400, 'PCSO': 120, 'LCI': 60}
    """
    posts = force.min_posts_array().copy()
    hours = force.shift_hours()
    for k, role in enumerate(force.roles):
        left = role.establishment - int(posts[:, :, k].sum())
        if left < 0:
            raise ValueError(
                f"minimum staffing needs {int(posts[:, :, k].sum())} {role.name} posts; "
                f"the establishment is {role.establishment}"
            )
        caps = np.array(
            [a.max_posts.get(role.name, np.iinfo(np.int64).max) for a in force.areas], dtype=np.int64
        )
        for _ in range(left):
            totals = posts[:, :, k].sum(axis=1)
            open_areas = np.flatnonzero(totals < caps)
            if open_areas.size == 0:
                raise ValueError(f"area max_posts leave no room for all {role.establishment} {role.name}")
            i = int(open_areas[np.argmin(totals[open_areas])])
            j = int(np.argmin(posts[i, :, k] / hours))
            posts[i, j, k] += 1
    a, s, r = np.meshgrid(
        np.arange(len(force.areas)), np.arange(len(force.shifts)), np.arange(len(force.roles)),
        indexing="ij",
    )
    return pd.DataFrame(
        {
            "area": np.array(force.area_names, dtype=object)[a.ravel()],
            "shift": np.array(force.shift_names, dtype=object)[s.ravel()],
            "role": np.array(force.role_names, dtype=object)[r.ravel()],
            "posts": posts.ravel().astype(np.int64),
        }
    ).astype({"area": "str", "shift": "str", "role": "str"})
