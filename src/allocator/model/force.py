"""The force, described in data: areas, shifts, roles, demand types, judgement.

A :class:`Force` is plain, validated data. It is loaded from one YAML (or TOML)
file with :func:`load_force`, whose judgement table may live beside it as a CSV
file or an Excel sheet, or it is built in Python. Everything downstream (the
workload engine, the allocation problem) reads the force through the index and
array helpers at the bottom of :class:`Force`, always in the force's own order.

Examples
--------
>>> force = Force(
...     name="Tiny",
...     areas=[Area(name="North"), Area(name="South")],
...     shifts=[Shift(name="Day", start="07:00", hours=12),
...             Shift(name="Night", start="19:00", hours=12)],
...     roles=[Role(name="PC", establishment=20, abstraction=0.5,
...                 min_on_duty={"Night": 2})],
...     demand_types=[DemandType(code="THEFT", name="Theft")],
...     judgement=[JudgementRow(demand_type="THEFT", role="PC", share=1.0,
...                             minutes=60, impact=1.0)],
... )
>>> force.area_names, force.shift_names, force.role_names
(['North', 'South'], ['Day', 'Night'], ['PC'])
>>> force.role("PC").min_posts("North", "Night")
4
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from allocator.errors import did_you_mean
from allocator.model.rota import (
    WEEKDAYS,
    BucketDayparts,
    BucketSpec,
    BucketSplit,
    Daypart,
    DutyWindow,
    Pattern,
)
from allocator.model.rota_checks import duty_keys, is_rota_data, rota_problems
from allocator.model.rules import CoverageWeights, MoveBudget, Rule, rule_problems
from allocator.model.service_levels import ServiceLevels, service_level_problems

__all__ = [
    "JUDGEMENT_COLUMNS",
    "LIMITS",
    "MAX_ESTABLISHMENT",
    "WEEKDAYS",
    "Area",
    "BucketDayparts",
    "BucketSplit",
    "Daypart",
    "DemandType",
    "DutyWindow",
    "Force",
    "JudgementRow",
    "Pattern",
    "Pin",
    "Role",
    "Settings",
    "Shift",
]

JUDGEMENT_COLUMNS = ("demand_type", "role", "share", "minutes", "impact")
_SHARE_TOLERANCE = 1e-6
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

#: the largest establishment of a role, and the largest count of posts anywhere
MAX_ESTABLISHMENT = 1_000_000
#: the most areas, shifts, roles, demand types, judgement rows and pins a force may have,
#: and the longest demand window in days
LIMITS: Mapping[str, int] = {
    "areas": 10_000,
    "shifts": 100,
    "roles": 100,
    "demand_types": 10_000,
    "judgement": 100_000,
    "pins": 100_000,
    "window_days": 3_660,
}


def _count(v: Any) -> Any:
    """Counts are strict whole numbers: ``true``, ``12.5``, ``12.0`` and ``"12"`` are refused."""
    if isinstance(v, bool | np.bool_):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        raise ValueError("must be a whole number written without a decimal point")
    raise ValueError("must be a whole number")


def _number(v: Any) -> Any:
    """Numbers may be written as text (judgement tables are), but never as ``true``/``false``."""
    if isinstance(v, bool | np.bool_):
        raise ValueError("must be a number, not true/false")
    return v


Count = Annotated[int, BeforeValidator(_count)]
Number = Annotated[float, BeforeValidator(_number)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Area(_Model):
    """A Community Policing Team area.

    ``max_posts`` and ``min_posts`` bound the posts of a role summed over the
    area's shifts (station capacity, say); both are optional.
    """

    name: str = Field(min_length=1)
    max_posts: dict[str, Count] = Field(default_factory=dict)
    min_posts: dict[str, Count] = Field(default_factory=dict)

    @field_validator("max_posts", "min_posts")
    @classmethod
    def _non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {k: n for k, n in v.items() if not 0 <= n <= MAX_ESTABLISHMENT}
        if bad:
            raise ValueError(f"posts must be 0 to {MAX_ESTABLISHMENT:,}, got {bad}")
        return v


class Shift(_Model):
    """A named duty window that runs every day.

    ``start`` is ``HH:MM`` (24-hour clock); ``hours`` is its length. A shift may
    cross midnight (``start: "22:00", hours: 10``) and may overlap another.
    """

    name: str = Field(min_length=1)
    start: str
    hours: Number = Field(gt=0, le=24)

    @field_validator("start", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            # YAML 1.1 reads an unquoted 07:00 as the sexagesimal integer 420.
            v = f"{v // 60:02d}:{v % 60:02d}"
        if not isinstance(v, str) or not _HHMM.match(v.strip()):
            raise ValueError("start must be a time HH:MM on the 24-hour clock, e.g. '07:00'")
        return v.strip()

    @property
    def start_minutes(self) -> int:
        """Minutes after midnight at which the shift starts."""
        hh, mm = self.start.split(":")
        return int(hh) * 60 + int(mm)

    def cover(self) -> np.ndarray:
        """Fraction of each hour of the day (0..23) this shift is on duty, shape (24,).

        >>> Shift(name="Night", start="22:30", hours=9).cover()[[21, 22, 23, 0, 6, 7, 8]]
        array([0. , 0.5, 1. , 1. , 1. , 0.5, 0. ])
        """
        start = self.start_minutes
        end = start + round(self.hours * 60)
        hour_starts = np.arange(0, 48 * 60, 60)  # two days, so windows past midnight fold back
        overlap = np.clip(np.minimum(hour_starts + 60, end) - np.maximum(hour_starts, start), 0, 60)
        folded = overlap[:24] + overlap[24:]
        return np.minimum(folded, 60) / 60.0


class Role(_Model):
    """A kind of post with its establishment and abstraction.

    ``min_on_duty`` maps shift name to officers that must be on duty in that
    shift in every area; ``min_on_duty_by_area`` maps area -> shift -> officers
    and overrides it for that area. In a force with patterns the keys are
    window names (every bucket of the window) or bucket names (``Sat Night``).
    ``patterns`` names the patterns the role's posts may work (required when
    the force has patterns); ``min_on_duty_chance`` (q, between 0 and 1) asks
    for the minimums on at least q of dates rather than on average.
    """

    name: str = Field(min_length=1)
    establishment: Count = Field(ge=0, le=MAX_ESTABLISHMENT)
    abstraction: Number = Field(ge=0, lt=1)
    proactive_share: Number = Field(default=0.0, ge=0, lt=1)
    min_on_duty: dict[str, Number] = Field(default_factory=dict)
    min_on_duty_by_area: dict[str, dict[str, Number]] = Field(default_factory=dict)
    patterns: list[str] = Field(default_factory=list)
    min_on_duty_chance: Number | None = Field(default=None, gt=0, lt=1)

    @field_validator("min_on_duty")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: n for k, n in v.items() if not (0 <= n <= MAX_ESTABLISHMENT)}
        if bad:
            raise ValueError(f"minimum on duty must be 0 to {MAX_ESTABLISHMENT:,}, got {bad}")
        return v

    @field_validator("min_on_duty_by_area")
    @classmethod
    def _non_negative_by_area(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for area, mins in v.items():
            bad = {k: n for k, n in mins.items() if not (0 <= n <= MAX_ESTABLISHMENT)}
            if bad:
                raise ValueError(f"minimum on duty in {area!r} must be 0 to {MAX_ESTABLISHMENT:,}, got {bad}")
        return v

    def min_on_duty_at(self, area: str, shift: str) -> float:
        """Officers that must be on duty in ``area`` during ``shift``."""
        by_area = self.min_on_duty_by_area.get(area, {})
        if shift in by_area:
            return by_area[shift]
        return self.min_on_duty.get(shift, 0.0)

    def min_posts(self, area: str, shift: str) -> int:
        """Posts needed so that posts x (1 - abstraction) reaches the minimum on duty.

        >>> Role(name="PC", establishment=10, abstraction=0.5,
        ...      min_on_duty={"Day": 3}).min_posts("A", "Day")
        6
        """
        need = self.min_on_duty_at(area, shift)
        if need <= 0:
            return 0
        # a small tolerance keeps 0.3 / (1 - 0.7) from rounding up to 2 by float error
        return math.ceil(need / (1.0 - self.abstraction) - 1e-9)


class DemandType(_Model):
    """A category of demand, optionally with its THRIVE grade or priority."""

    code: str = Field(min_length=1)
    name: str | None = None
    grade: str | None = None
    priority: Count | None = None

    @property
    def label(self) -> str:
        """The name when there is one, else the code."""
        return self.name or self.code


class JudgementRow(_Model):
    """Professional judgement for one (demand type, role) pair.

    ``share`` is the part of the type's work this role does (a type's shares sum
    to 1); ``minutes`` the standard time per occurrence when the record has
    none; ``impact`` how heavily it weighs on the role (harm, risk, vulnerability).
    """

    demand_type: str = Field(min_length=1)
    role: str = Field(min_length=1)
    share: Number = Field(ge=0, le=1)
    minutes: Number = Field(ge=0, allow_inf_nan=False)
    impact: Number = Field(default=1.0, ge=0, allow_inf_nan=False)


class Pin(_Model):
    """A judgement override: exactly ``posts`` in this (area, shift, role)."""

    area: str
    shift: str
    role: str
    posts: Count = Field(ge=0, le=MAX_ESTABLISHMENT)


class Settings(_Model):
    """Global judgement and data settings.

    ``data_weight`` (0..1) is how far recorded durations override standard
    minutes; ``half_life_days`` weights recent demand more (None: no
    weighting); ``window_days`` is the length of the demand window.
    ``overlap_rule`` says how overlapping shifts share an hour's demand:
    ``"equal"`` (each shift on duty in the hour takes an equal part) or
    ``"time"`` (in proportion to the minutes of the hour each is on duty).
    ``buckets`` says how coverage splits the week (patterns only; see
    :func:`allocator.model.patterns.buckets_for`): ``"windows"`` (each weekday
    split at the windows' starts), ``"hours"``, ``{split_at: [windows]}`` or
    ``{dayparts: [{name, start}]}``.
    ``max_reject_share`` (0..1) is the share of an extract's rows that may be
    rejected before :func:`allocator.load_demand` stops (unless the rejects
    are accepted explicitly).
    """

    data_weight: Number = Field(default=0.5, ge=0, le=1)
    half_life_days: Number | None = Field(default=None, gt=0, allow_inf_nan=False)
    window_days: Count = Field(default=182, gt=0, le=LIMITS["window_days"])
    timezone: str = "Europe/London"
    max_duration_minutes: Number = Field(default=1440.0, gt=0, allow_inf_nan=False)
    catch_all_type: str | None = None
    overlap_rule: Literal["equal", "time"] = "equal"
    buckets: BucketSpec = "windows"
    max_reject_share: Number = Field(default=0.2, ge=0, le=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (e.g. 'Europe/London')") from exc
        return v


class Force(_Model):
    """A police force as the allocation sees it.

    Cross-references (shift names in minimums, roles in judgement, ...) are
    checked all together; every problem is reported at once.

    A force gives either ``shifts`` (the older model: each shift worked every
    day, :attr:`is_legacy`) or duty ``windows`` and ``patterns`` (rotas and
    fixed patterns; see docs/rotas.md). ``service_levels`` (optional) marks the
    response grades and their attendance targets
    (:class:`~allocator.model.service_levels.ServiceLevels`; docs/data-formats.md).
    """

    name: str = "Force"
    areas: list[Area] = Field(min_length=1, max_length=LIMITS["areas"])
    shifts: list[Shift] = Field(default_factory=list, max_length=LIMITS["shifts"])
    roles: list[Role] = Field(min_length=1, max_length=LIMITS["roles"])
    demand_types: list[DemandType] = Field(min_length=1, max_length=LIMITS["demand_types"])
    judgement: list[JudgementRow] = Field(min_length=1, max_length=LIMITS["judgement"])
    settings: Settings = Field(default_factory=Settings)
    area_factors: dict[str, dict[str, Number]] = Field(default_factory=dict)
    pins: list[Pin] = Field(default_factory=list, max_length=LIMITS["pins"])
    windows: list[DutyWindow] = Field(default_factory=list)
    patterns: list[Pattern] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    move_budget: MoveBudget | None = None
    coverage_weights: CoverageWeights = Field(default_factory=dict)
    service_levels: ServiceLevels | None = None

    @model_validator(mode="after")
    def _cross_check(self) -> Force:
        problems = cross_problems(self.model_dump())
        if problems:
            raise ValueError("\n".join(f"{where}: {msg}" for where, msg in problems))
        return self

    # ----------------------------------------------------------------- names
    @property
    def area_names(self) -> list[str]:
        """Area names in force order."""
        return [a.name for a in self.areas]

    @property
    def shift_names(self) -> list[str]:
        """Shift names in force order."""
        return [s.name for s in self.shifts]

    @property
    def role_names(self) -> list[str]:
        """Role names in force order."""
        return [r.name for r in self.roles]

    @property
    def type_codes(self) -> list[str]:
        """Demand type codes in force order."""
        return [t.code for t in self.demand_types]

    @property
    def is_legacy(self) -> bool:
        """True for a force of shifts worked every day (no windows or patterns)."""
        return not self.patterns

    @property
    def window_names(self) -> list[str]:
        """Duty window names in force order (legacy: the shift names)."""
        return [w.name for w in self.duty_windows]

    @property
    def pattern_names(self) -> list[str]:
        """Pattern names in force order (legacy: one per shift, named as the shift)."""
        return [p.name for p in self.duty_patterns]

    @property
    def duty_windows(self) -> list[DutyWindow]:
        """The duty windows; legacy: each shift as a window running every day."""
        if self.windows:
            return list(self.windows)
        return [DutyWindow(name=s.name, start=s.start, hours=s.hours) for s in self.shifts]

    @property
    def duty_patterns(self) -> list[Pattern]:
        """The patterns; legacy: one fixed pattern per shift, worked every day."""
        if self.patterns:
            return list(self.patterns)
        return [Pattern(name=s.name, fixed=dict.fromkeys(WEEKDAYS, s.name)) for s in self.shifts]

    def role_pattern_names(self, role: str) -> list[str]:
        """The patterns ``role`` may work (legacy: every shift's pattern)."""
        return list(self.role(role).patterns) if self.patterns else self.pattern_names

    def window(self, name: str) -> DutyWindow:
        """The duty window called ``name``."""
        for w in self.duty_windows:
            if w.name == name:
                return w
        raise KeyError(_unknown("window", name, self.window_names))

    def pattern(self, name: str) -> Pattern:
        """The pattern called ``name``."""
        for p in self.duty_patterns:
            if p.name == name:
                return p
        raise KeyError(_unknown("pattern", name, self.pattern_names))

    def role(self, name: str) -> Role:
        """The role called ``name``."""
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(_unknown("role", name, self.role_names))

    def shift(self, name: str) -> Shift:
        """The shift called ``name``."""
        for s in self.shifts:
            if s.name == name:
                return s
        raise KeyError(_unknown("shift", name, self.shift_names))

    def area(self, name: str) -> Area:
        """The area called ``name``."""
        for a in self.areas:
            if a.name == name:
                return a
        raise KeyError(_unknown("area", name, self.area_names))

    # ---------------------------------------------------------------- arrays
    def judgement_table(self) -> pd.DataFrame:
        """The judgement as a tidy frame: demand_type, role, share, minutes, impact."""
        return pd.DataFrame(
            [j.model_dump() for j in self.judgement], columns=list(JUDGEMENT_COLUMNS)
        )

    def judgement_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Share, minutes and impact as float64 arrays of shape (types, roles).

        The fourth array is a boolean mask of the pairs the judgement defines;
        undefined pairs hold share 0, minutes 0, impact 0.
        """
        t_index = {c: i for i, c in enumerate(self.type_codes)}
        r_index = {r: i for i, r in enumerate(self.role_names)}
        shape = (len(t_index), len(r_index))
        share, minutes, impact = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        defined = np.zeros(shape, dtype=bool)
        for j in self.judgement:
            t, r = t_index[j.demand_type], r_index[j.role]
            share[t, r], minutes[t, r], impact[t, r] = j.share, j.minutes, j.impact
            defined[t, r] = True
        return share, minutes, impact, defined

    def area_factor_array(self) -> np.ndarray:
        """Area factor per (area, role), shape (areas, roles); 1 where not set."""
        out = np.ones((len(self.areas), len(self.roles)))
        r_index = {r: i for i, r in enumerate(self.role_names)}
        for i, area in enumerate(self.area_names):
            for role, f in self.area_factors.get(area, {}).items():
                out[i, r_index[role]] = f
        return out

    def shift_cover(self) -> np.ndarray:
        """Fraction of each hour of the day each shift is on duty, shape (24, shifts)."""
        return np.stack([s.cover() for s in self.shifts], axis=1)

    def shift_hours(self) -> np.ndarray:
        """Length of each shift in hours, shape (shifts,)."""
        return np.array([s.hours for s in self.shifts], dtype=float)

    def min_posts_array(self) -> np.ndarray:
        """Posts needed for minimum staffing per (area, shift, role), int64."""
        out = np.zeros((len(self.areas), len(self.shifts), len(self.roles)), dtype=np.int64)
        for k, role in enumerate(self.roles):
            for i, area in enumerate(self.area_names):
                for j, shift in enumerate(self.shift_names):
                    out[i, j, k] = role.min_posts(area, shift)
        return out

    # ------------------------------------------------------------------ YAML
    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`load_force` reads back to an equal force."""
        data = self.model_dump(mode="json", exclude_defaults=False)
        if self.service_levels is None:
            del data["service_levels"]  # a force without the section writes what it wrote before
        return data

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The force as YAML text (judgement inline); written atomically to ``path`` if given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            from allocator.io.atomic import atomic_write_text

            atomic_write_text(Path(path), text)
        return text


# --------------------------------------------------------------------- checks
_unknown = did_you_mean


def _duplicates(names: list[str]) -> list[str]:
    seen: set[str] = set()
    dup = []
    for n in names:
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    return dup


def _names(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(it[key]) for it in items if isinstance(it, dict) and it.get(key) is not None]


def _mapping(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def cross_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every cross-reference fault in a force given as plain data.

    Tolerant of malformed parts, so that it can run on a file whose fields also
    have faults and every problem is reported in one pass.
    """
    out: list[tuple[str, str]] = []
    areas = _names(data.get("areas"), "name")
    shifts = _names(data.get("shifts"), "name")
    roles = _names(data.get("roles"), "name")
    types = _names(data.get("demand_types"), "code")
    for kind, names in (
        ("areas", areas),
        ("shifts", shifts),
        ("roles", roles),
        ("demand_types", types),
    ):
        for d in _duplicates(names):
            out.append((kind, f"{d!r} appears more than once"))

    try:
        cover = np.stack([Shift.model_validate(s).cover() for s in data.get("shifts") or []], axis=1)
    except (ValidationError, ValueError, TypeError):
        cover = None  # the shifts' own faults are reported field by field
    if cover is not None:
        uncovered = np.flatnonzero(cover.sum(axis=1) < 1 - 1e-9)
        if uncovered.size:
            hours = ", ".join(f"{h:02d}:00" for h in uncovered)
            out.append(("shifts", f"no shift is on duty for all of the hours starting {hours}"))

    for i, area in enumerate(data.get("areas") or []):
        area = _mapping(area)
        for key in ("max_posts", "min_posts"):
            for role in _mapping(area.get(key)):
                if role not in roles:
                    out.append((f"areas[{i}].{key}", _unknown("role", role, roles)))
        hi_posts = _mapping(area.get("max_posts"))
        for role, lo in _mapping(area.get("min_posts")).items():
            hi = hi_posts.get(role)
            if isinstance(hi, int | float) and isinstance(lo, int | float) and lo > hi:
                out.append(
                    (f"areas[{i}]", f"{area.get('name')}: min_posts {lo} {role} exceed max_posts {hi}")
                )

    rota_force = is_rota_data(data)
    out.extend(rota_problems(data))
    out.extend(rule_problems(data))
    out.extend(service_level_problems(data))
    keys = duty_keys(data) if rota_force else shifts
    key_kind = "window or bucket" if rota_force else "shift"
    for k, raw_role in enumerate(data.get("roles") or []):
        role_data = _mapping(raw_role)
        for shift in _mapping(role_data.get("min_on_duty")):
            if keys is not None and shift not in keys:
                out.append((f"roles[{k}].min_on_duty", _unknown(key_kind, shift, keys)))
        for area, mins in _mapping(role_data.get("min_on_duty_by_area")).items():
            if area not in areas:
                out.append((f"roles[{k}].min_on_duty_by_area", _unknown("area", area, areas)))
            for shift in _mapping(mins):
                if keys is not None and shift not in keys:
                    out.append(
                        (f"roles[{k}].min_on_duty_by_area.{area}", _unknown(key_kind, shift, keys))
                    )

    share_sum: dict[str, float] = {}
    seen_pairs: set[tuple[str, str]] = set()
    judgement = data.get("judgement")
    for n, j in enumerate(judgement if isinstance(judgement, list) else []):
        j = _mapping(j)
        where = f"judgement[{n}]"
        t, r = j.get("demand_type"), j.get("role")
        if t not in types:
            out.append((where, _unknown("demand type", str(t), types)))
        if r not in roles:
            out.append((where, _unknown("role", str(r), roles)))
        pair = (str(t), str(r))
        if pair in seen_pairs:
            out.append((where, f"({t}, {r}) is given more than once"))
        seen_pairs.add(pair)
        try:
            share_sum[str(t)] = share_sum.get(str(t), 0.0) + float(j.get("share", 0.0))
        except (TypeError, ValueError):
            share_sum.setdefault(str(t), math.nan)  # the share's own fault is reported by field
    if isinstance(judgement, list):
        for code in types:
            if code not in share_sum:
                out.append(("judgement", f"demand type {code!r} has no judgement rows"))
            elif abs(share_sum[code] - 1.0) > _SHARE_TOLERANCE:
                out.append(
                    ("judgement", f"shares of demand type {code!r} sum to {share_sum[code]:.6g}, not 1")
                )

    for area, factors in _mapping(data.get("area_factors")).items():
        if area not in areas:
            out.append(("area_factors", _unknown("area", area, areas)))
        for role, f in _mapping(factors).items():
            if role not in roles:
                out.append((f"area_factors.{area}", _unknown("role", role, roles)))
            if isinstance(f, bool) or not (isinstance(f, int | float) and f > 0 and math.isfinite(f)):
                out.append((f"area_factors.{area}.{role}", f"factor must be above 0, got {f!r}"))

    pinned: set[tuple[str, str, str]] = set()
    for n, raw_pin in enumerate(data.get("pins") or []):
        pin_data = _mapping(raw_pin)
        where = f"pins[{n}]"
        for kind, valid in (("area", areas), ("shift", shifts), ("role", roles)):
            if kind == "shift" and rota_force:
                # with patterns, a pin fixes the posts of an (area, pattern, role)
                kind, valid = "pattern", _names(data.get("patterns"), "name")
                if pin_data.get("shift") not in valid:
                    out.append((where, _unknown(kind, str(pin_data.get("shift")), valid)))
                continue
            if pin_data.get(kind) not in valid:
                out.append((where, _unknown(kind, str(pin_data.get(kind)), valid)))
        cell = (str(pin_data.get("area")), str(pin_data.get("shift")), str(pin_data.get("role")))
        if cell in pinned:
            out.append((where, f"{cell[0]} / {cell[1]} / {cell[2]} is pinned more than once"))
        pinned.add(cell)

    catch_all = _mapping(data.get("settings")).get("catch_all_type")
    if catch_all is not None and catch_all not in types:
        out.append(("settings.catch_all_type", _unknown("demand type", str(catch_all), types)))
    return out
