"""Duty windows, patterns and bucket settings: the force file's words for time.

A :class:`DutyWindow` is a named stretch of duty (start, length, the weekdays
it runs, other starts on some weekdays). A :class:`Pattern` says how a post is
worked through the weeks: either a **rota** (a cycle of days, each a window or
rest, worked by teams offset through the cycle) or a **fixed** pattern (a
window on given weekdays). One class holds both; exactly one of ``rota`` and
``fixed`` is given. The arithmetic on them (on-duty profiles, buckets) lives
in :mod:`allocator.model.patterns`; the cross-checks in
:mod:`allocator.model.rota_checks`.

Examples
--------
>>> night = DutyWindow(name="Night", start="22:00", hours=9)
>>> night.start_on(5), night.runs_on(6)
(1320, True)
>>> late = DutyWindow(name="Super Late", start="18:00", hours=10, days=["fri", "Saturday"])
>>> late.days, late.runs_on(0)
(['Fri', 'Sat'], False)
>>> p = Pattern(name="Response", rota="E E L L N N R R R R",
...             codes={"E": "Early", "L": "Late", "N": "Night"}, teams=5)
>>> p.cycle_windows()[:3], p.team_offsets()
(['Early', 'Early', 'Late'], [0, 2, 4, 6, 8])
>>> Pattern(name="Investigation",
...         fixed={"weekdays": ["Mon", "Tue"], "window": "Day"}).fixed
{'Mon': 'Day', 'Tue': 'Day'}
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from allocator.errors import did_you_mean

__all__ = [
    "REST_TOKENS",
    "WEEKDAYS",
    "BucketDayparts",
    "BucketSpec",
    "BucketSplit",
    "Daypart",
    "DutyWindow",
    "Pattern",
    "hhmm_minutes",
    "weekday_index",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
REST_TOKENS = ("R", "Rest", "-")
"""Rota tokens that mean a rest day (unless ``codes`` maps them to a window)."""

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def hhmm_minutes(v: Any) -> int:
    """Minutes after midnight of a ``HH:MM`` time (YAML's sexagesimal integers too).

    >>> hhmm_minutes("07:30"), hhmm_minutes(420)
    (450, 420)
    """
    return _parse_hhmm(v)[1]


def _parse_hhmm(v: Any) -> tuple[str, int]:
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1440:
        # YAML 1.1 reads an unquoted 07:00 as the sexagesimal integer 420.
        v = f"{v // 60:02d}:{v % 60:02d}"
    if not isinstance(v, str) or not _HHMM.match(v.strip()):
        raise ValueError("a time must be HH:MM on the 24-hour clock, e.g. '07:00'")
    text = v.strip()
    return text, int(text[:2]) * 60 + int(text[3:])


def weekday_index(name: Any) -> int:
    """0 for Monday .. 6 for Sunday, from ``Mon`` or ``Monday`` in any case.

    >>> weekday_index("sat"), weekday_index("Sunday")
    (5, 6)
    """
    text = str(name).strip().lower()
    for i, full in enumerate(_FULL_DAYS):
        if text in (full, full[:3]):
            return i
    raise ValueError(did_you_mean("weekday", str(name), list(WEEKDAYS)))


def _weekday(name: Any) -> str:
    return WEEKDAYS[weekday_index(name)]


class DutyWindow(_Model):
    """A named stretch of duty: a start time and a length, on some or all weekdays.

    ``start`` is ``HH:MM``; ``hours`` the length (a window may cross midnight
    into the next weekday). ``days`` lists the weekdays it runs (None: every
    day); ``starts`` maps a weekday to another start on that day (a later start
    at weekends, say). A window starting on a weekday belongs to that weekday,
    however far past midnight it runs.
    """

    name: str = Field(min_length=1)
    start: str
    hours: float = Field(gt=0, le=24)
    days: list[str] | None = None
    starts: dict[str, str] = Field(default_factory=dict)

    @field_validator("start", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> Any:
        return _parse_hhmm(v)[0]

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, str):
            v = v.replace(",", " ").split()
        if not isinstance(v, list) or not v:
            raise ValueError("days must be a list of weekdays, e.g. [Fri, Sat]")
        days = [_weekday(d) for d in v]
        if len(set(days)) != len(days):
            raise ValueError(f"a weekday appears more than once in {v!r}")
        return sorted(days, key=WEEKDAYS.index)

    @field_validator("starts", mode="before")
    @classmethod
    def _starts(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, str] = {}
        for day, start in v.items():
            key = _weekday(day)
            if key in out:
                raise ValueError(f"{key} is given more than once")
            out[key] = _parse_hhmm(start)[0]
        return dict(sorted(out.items(), key=lambda kv: WEEKDAYS.index(kv[0])))

    @model_validator(mode="after")
    def _starts_on_running_days(self) -> DutyWindow:
        idle = [d for d in self.starts if self.days is not None and d not in self.days]
        if idle:
            raise ValueError(f"starts names {', '.join(idle)}, when the window does not run (days: {', '.join(self.days or [])})")
        return self

    def runs_on(self, weekday: int) -> bool:
        """Whether the window runs on ``weekday`` (0 = Monday)."""
        return self.days is None or WEEKDAYS[weekday] in self.days

    def start_on(self, weekday: int) -> int:
        """Minutes after midnight at which the window starts on ``weekday`` (0 = Monday)."""
        return hhmm_minutes(self.starts.get(WEEKDAYS[weekday], self.start))

    @property
    def minutes(self) -> int:
        """Length in whole minutes."""
        return round(self.hours * 60)


def _tokens(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace(",", " ").split()
    if isinstance(v, list):
        return [str(t).strip() if isinstance(t, str | int) else t for t in v]
    return v


class Pattern(_Model):
    """How a post is worked: a rota (``rota``) or a fixed weekly pattern (``fixed``).

    A **rota** is a cycle of days, each a window name, a code from ``codes`` or
    rest (``R``, ``Rest`` or ``-``), given as a string (``"E E L L N N R R R R"``)
    or a list. ``teams`` teams work it, team *k* (from 0) starting cycle day 0
    ``offsets[k]`` days after ``anchor`` (a date; None: a Monday). By default
    ``teams`` is the number of ``offsets`` (else 1) and the offsets are
    ``round(k * cycle / teams)``, halves rounded up.

    A **fixed** pattern maps weekdays to windows (``{Mon: Early, Tue: Early}``)
    or gives ``{weekdays: [...], window: Day}``; one team works it.
    """

    name: str = Field(min_length=1)
    rota: list[str] | None = None
    codes: dict[str, str] = Field(default_factory=dict)
    teams: int | None = Field(default=None, ge=1)
    offsets: list[int] | None = None
    anchor: dt.date | None = None
    fixed: dict[str, str] | None = None

    @field_validator("rota", mode="before")
    @classmethod
    def _rota(cls, v: Any) -> Any:
        v = _tokens(v)
        if isinstance(v, list) and not v:
            raise ValueError("a rota needs at least one day")
        return v

    @field_validator("fixed", mode="before")
    @classmethod
    def _fixed(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        if "weekdays" in v or "window" in v:
            extra = sorted(set(v) - {"weekdays", "window"})
            if extra or "weekdays" not in v or "window" not in v:
                raise ValueError("the short form of a fixed pattern is {weekdays: [...], window: NAME}")
            days = _tokens(v["weekdays"])
            if not isinstance(days, list):
                raise ValueError("weekdays must be a list of weekdays, e.g. [Mon, Tue]")
            v = dict.fromkeys(days, v["window"])
        if not v:
            raise ValueError("a fixed pattern needs at least one weekday")
        out: dict[str, Any] = {}
        for day, window in v.items():
            key = _weekday(day)
            if key in out:
                raise ValueError(f"{key} is given more than once")
            out[key] = window
        return dict(sorted(out.items(), key=lambda kv: WEEKDAYS.index(kv[0])))

    @model_validator(mode="after")
    def _one_kind(self) -> Pattern:
        if (self.rota is None) == (self.fixed is None):
            raise ValueError("give exactly one of rota (a cycle of days) and fixed (weekday -> window)")
        if self.fixed is not None:
            given = [k for k in ("codes", "teams", "offsets", "anchor") if getattr(self, k)]
            if given:
                raise ValueError(f"{', '.join(given)} apply to a rota only, not to a fixed pattern")
        return self

    @property
    def kind(self) -> Literal["rota", "fixed"]:
        """``"rota"`` or ``"fixed"``."""
        return "rota" if self.rota is not None else "fixed"

    @property
    def cycle_days(self) -> int:
        """Days in the cycle (7 for a fixed pattern)."""
        return len(self.rota) if self.rota is not None else 7

    @property
    def team_count(self) -> int:
        """Teams working the pattern (1 for a fixed pattern)."""
        if self.rota is None:
            return 1
        if self.teams is not None:
            return self.teams
        return len(self.offsets) if self.offsets else 1

    def team_offsets(self) -> list[int]:
        """Each team's offset in days: given, else evenly spread, halves up."""
        if self.rota is None:
            return [0]
        if self.offsets is not None:
            return list(self.offsets)
        n, t = self.cycle_days, self.team_count
        return [(2 * k * n + t) // (2 * t) for k in range(t)]

    def team_labels(self) -> tuple[str, ...]:
        """``("1", "2", ...)`` for a rota; ``("all",)`` for a fixed pattern."""
        if self.rota is None:
            return ("all",)
        return tuple(str(k + 1) for k in range(self.team_count))

    def cycle_windows(self) -> list[str | None]:
        """The window name of each cycle day (None: rest), codes resolved.

        For a fixed pattern the cycle is the week, Monday first.
        """
        if self.fixed is not None:
            return [self.fixed.get(d) for d in WEEKDAYS]
        assert self.rota is not None
        out: list[str | None] = []
        for token in self.rota:
            if token in self.codes:
                out.append(self.codes[token])
            elif token in REST_TOKENS:
                out.append(None)
            else:
                out.append(token)
        return out

    def anchor_weekday(self) -> int:
        """Weekday (0 = Monday) of the anchor, the day team 1 with offset 0 is on cycle day 0."""
        return self.anchor.weekday() if self.anchor is not None else 0


class Daypart(_Model):
    """A named part of every day starting at ``start`` (a bucket boundary)."""

    name: str = Field(min_length=1)
    start: str

    @field_validator("start", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> Any:
        return _parse_hhmm(v)[0]


class BucketSplit(_Model):
    """Buckets: each weekday split only at the starts of these windows."""

    split_at: list[str] = Field(min_length=1)


class BucketDayparts(_Model):
    """Buckets: the same day parts every day (``Mon Morning``, ``Mon Evening``, ...)."""

    dayparts: list[Daypart] = Field(min_length=1)


def _bucket_kind(v: Any) -> str | None:
    if isinstance(v, str):
        return "name"
    if isinstance(v, BucketSplit) or (isinstance(v, dict) and "split_at" in v):
        return "split_at"
    if isinstance(v, BucketDayparts) or (isinstance(v, dict) and "dayparts" in v):
        return "dayparts"
    return None


BucketSpec = Annotated[
    Annotated[Literal["windows", "hours"], Tag("name")]
    | Annotated[BucketSplit, Tag("split_at")]
    | Annotated[BucketDayparts, Tag("dayparts")],
    Discriminator(
        _bucket_kind,
        custom_error_type="bucket_spec",
        custom_error_message="buckets must be windows, hours, {split_at: [windows]} or {dayparts: [{name, start}]}",
    ),
]
"""The ``settings.buckets`` value: ``"windows"``, ``"hours"``, :class:`BucketSplit` or :class:`BucketDayparts`."""
