"""The force file's ``service_levels:`` section: response grades, targets, crews and travel.

In the force file::

    service_levels:
      responders: [PC]            # roles that attend response calls (default [PC])
      crew: 2                     # officers per response unit (double crewing)
      service_level: 0.9          # share of calls of the first grade attended within its target
      grades:                     # response grades, most urgent first; the first sets the target
        immediate: {target_minutes: {urban: 15, rural: 20}}
        priority:  {target_minutes: 60}
      areas:                      # area type, travel allowance and (optionally) crew per area
        Swindon North: {type: urban, travel_minutes: 6}
        Wiltshire South: {type: rural, travel_minutes: 10, crew: 1}
      level: hour                 # floors per hour, or per bucket (its busiest hour or a percentile)
      percentile: 100             # with level: bucket, the percentile of the bucket's hourly floors
      chance: null                # or e.g. 0.9: floors met on that share of dates

A demand type is response demand when its ``grade`` (``demand_types[].grade``)
is one of ``grades`` (compared without regard to case). A target is minutes
from the call to arrival; the area's travel allowance comes off it, the rest is
the longest acceptable wait for a free unit. A target per area type needs every
area to have that type in ``areas``; a single number applies to every area.

The section is checked when the force is loaded (:func:`service_level_problems`,
every problem at once, by field): unknown roles or areas, a grade no demand type
uses, a response type no responder role has judgement for (or whose responder
minutes are 0), an area without a type where a target depends on it, and a
target shorter than the area's travel allowance (no number of officers meets it).

Examples
--------
>>> sl = ServiceLevels.model_validate({
...     "service_level": 0.9,
...     "grades": {"immediate": {"target_minutes": {"urban": 15, "rural": 20}},
...                "priority": {"target_minutes": 60}},
...     "areas": {"North": {"type": "urban", "travel_minutes": 6},
...               "South": {"type": "rural", "travel_minutes": 10, "crew": 1}}})
>>> sl.grade_names, sl.target_minutes("immediate", "North"), sl.wait_minutes("immediate", "South")
(('immediate', 'priority'), 15.0, 10.0)
>>> sl.crew_of("North"), sl.crew_of("South")
(2, 1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from allocator.errors import did_you_mean

__all__ = ["AreaService", "GradeTarget", "ServiceLevels", "service_level_problems"]


def _number(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


def _count(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(v, numbers.Integral):
        return int(v)
    raise ValueError("must be a whole number")


Number = Annotated[float, BeforeValidator(_number)]
Count = Annotated[int, BeforeValidator(_count)]
Minutes = Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GradeTarget(_Model):
    """A response grade's target: minutes from call to arrival, one number or per area type."""

    target_minutes: Minutes | dict[str, Minutes]


class AreaService(_Model):
    """An area's type (``urban``, ``rural``, ... as the targets name them), travel allowance and crew."""

    type: str | None = Field(default=None, min_length=1)
    travel_minutes: Minutes = 0.0
    crew: Count | None = Field(default=None, ge=1, le=20)


class ServiceLevels(_Model):
    """Response service levels: which grades are response, their targets, crews and travel.

    Attributes
    ----------
    responders
        Roles that attend response calls (default ``["PC"]``).
    crew
        Officers per response unit (2: double crewing); an area may set its own.
    service_level
        Share of calls of the first grade to be attended within its target,
        above 0 and below 1.
    grades
        Response grades, most urgent first (the order of the file), each with
        its target. The first grade sets the floors; the others are reported.
    areas
        Per area: ``type``, ``travel_minutes`` (default 0) and ``crew``.
    level
        ``"hour"``: a floor for every hour of the week; ``"bucket"``: each
        coverage bucket's hours all take the bucket's ``percentile`` of its
        hourly floors (100: its busiest hour).
    percentile
        See ``level``; above 0, at most 100.
    chance
        None (floors met on average) or the share of dates on which they must
        hold, above 0 and below 1 (applied by the allocation, as
        ``Role.min_on_duty_chance`` is).
    """

    responders: list[str] = Field(default_factory=lambda: ["PC"], min_length=1)
    crew: Count = Field(default=2, ge=1, le=20)
    service_level: Number
    grades: dict[str, GradeTarget] = Field(min_length=1)
    areas: dict[str, AreaService] = Field(default_factory=dict)
    level: Literal["hour", "bucket"] = "hour"
    percentile: Number = Field(default=100.0, gt=0, le=100)
    chance: Number | None = Field(default=None, gt=0, lt=1)

    @field_validator("service_level")
    @classmethod
    def _level(cls, v: float) -> float:
        if not 0 < v < 1:
            raise ValueError("must be above 0 and below 1: no number of officers attends every call "
                             "within a target, so a level of 1 can never be met")
        return v

    @property
    def grade_names(self) -> tuple[str, ...]:
        """Response grades, most urgent first."""
        return tuple(self.grades)

    def area_type(self, area: str) -> str | None:
        """The area's type, or None when the section does not give one."""
        entry = self.areas.get(area)
        return entry.type if entry is not None else None

    def travel_minutes(self, area: str) -> float:
        """The area's travel allowance in minutes (0 when not given)."""
        entry = self.areas.get(area)
        return float(entry.travel_minutes) if entry is not None else 0.0

    def crew_of(self, area: str) -> int:
        """Officers per response unit in ``area``."""
        entry = self.areas.get(area)
        return int(entry.crew) if entry is not None and entry.crew is not None else int(self.crew)

    def target_minutes(self, grade: str, area: str) -> float:
        """Minutes from call to arrival for ``grade`` in ``area`` (KeyError when it has none)."""
        target = self.grades[grade].target_minutes
        if isinstance(target, dict):
            kind = self.area_type(area)
            if kind is None or kind not in target:
                raise KeyError(f"{grade}: no target for area {area!r} of type {kind!r}")
            return float(target[kind])
        return float(target)

    def wait_minutes(self, grade: str, area: str) -> float:
        """The longest acceptable wait for a free unit: the target less the travel allowance."""
        return self.target_minutes(grade, area) - self.travel_minutes(area)


# --------------------------------------------------------------------- checks
def _names(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(it[key]) for it in items if isinstance(it, dict) and it.get(key) is not None]


def _mapping(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def service_level_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every cross-reference fault of ``service_levels`` in a force given as plain data.

    Tolerant of malformed parts (their own faults are reported field by field),
    so that every problem is found in one pass.
    """
    section = data.get("service_levels")
    if not isinstance(section, dict):
        return []
    out: list[tuple[str, str]] = []
    roles = _names(data.get("roles"), "name")
    areas = _names(data.get("areas"), "name")
    responders = section.get("responders", ["PC"])
    responders = [str(r) for r in responders] if isinstance(responders, list) else []
    for role in responders:
        if role not in roles:
            out.append(("service_levels.responders", did_you_mean("role", role, roles)))
    for role in sorted({r for r in responders if responders.count(r) > 1}):
        out.append(("service_levels.responders", f"{role!r} appears more than once"))

    entries = _mapping(section.get("areas"))
    for area in entries:
        if area not in areas:
            out.append(("service_levels.areas", did_you_mean("area", str(area), areas)))

    grades = _mapping(section.get("grades"))
    types = [t for t in data.get("demand_types") or [] if isinstance(t, dict)]
    type_grade = {str(t.get("code")): str(t.get("grade")).strip().lower() for t in types
                  if t.get("grade") is not None}
    used = sorted(set(type_grade.values()))
    judgement = [j for j in data.get("judgement") or [] if isinstance(j, dict)] \
        if isinstance(data.get("judgement"), list) else None
    for grade, body in grades.items():
        where = f"service_levels.grades.{grade}"
        codes = [c for c, g in type_grade.items() if g == str(grade).strip().lower()]
        if not codes:
            known = ", ".join(repr(g) for g in used) or "none"
            out.append((where, f"no demand type has grade {grade!r} (the demand types' grades: {known})"))
        if judgement is not None:
            for code in codes:
                rows = [j for j in judgement if j.get("demand_type") == code and j.get("role") in responders]
                if not any((_finite(j.get("share")) or 0) > 0 for j in rows):
                    out.append((where, f"demand type {code!r} is response demand but no responder "
                                       f"role ({', '.join(responders)}) has a share of its work in "
                                       "the judgement"))
                elif all((_finite(j.get("minutes")) or 0) <= 0 for j in rows
                         if (_finite(j.get("share")) or 0) > 0):
                    out.append((where, f"demand type {code!r} is response demand but its responders' "
                                       "standard minutes are 0: a call needs a service time"))
        target = _mapping(body).get("target_minutes")
        for area in areas:
            entry = _mapping(entries.get(area))
            travel = _finite(entry.get("travel_minutes", 0)) or 0.0
            if isinstance(target, dict):
                kind = entry.get("type")
                if kind is None:
                    out.append((f"{where}.target_minutes",
                                f"the target depends on the area type, but area {area!r} has no type "
                                "in service_levels.areas"))
                    continue
                if kind not in target:
                    out.append((f"service_levels.areas.{area}.type",
                                f"grade {grade!r} has no target for area type {kind!r} "
                                f"(it gives {', '.join(repr(k) for k in target)})"))
                    continue
                minutes = _finite(target[kind])
            else:
                minutes = _finite(target)
            if minutes is not None and minutes < travel:
                out.append((f"service_levels.areas.{area}.travel_minutes",
                            f"{area}: the {grade} target of {minutes:g} minutes is shorter than the "
                            f"travel allowance of {travel:g} minutes; no number of officers can meet it"))
    return out
