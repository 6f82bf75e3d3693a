"""Welfare checks of a duty pattern against Police Federation guidance.

The guidance (docs/rotas.md): duties of 8-10 hours, forward rotation (early,
then late, then night), at most 6 duties before rest days, at most 4 nights in
a row, rest days in blocks of at least 2, and at least 11 hours between the
end of one duty and the start of the next. Forces decide, so a breach is a
warning in plain English, never an error.

Cycle days in the messages count from 1, the rota's first day; a fixed
pattern's days are named by weekday. A **night** duty is one with at least
3 hours between 23:00 and 06:00 (the Working Time Regulations' night time).
A duty's place in the day is its start measured from the force day's start
(the earliest start of the windows the pattern uses); forward rotation means
that place never moves earlier from one duty day to the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from allocator.model.rota import WEEKDAYS

if TYPE_CHECKING:
    from allocator.model.patterns import PatternProfile

__all__ = ["check_welfare"]

_DAY = 1440
MIN_HOURS, MAX_HOURS = 8.0, 10.0
MAX_DUTIES_IN_A_ROW = 6
MAX_NIGHTS_IN_A_ROW = 4
MIN_REST_BLOCK = 2
MIN_GAP_HOURS = 11.0


def _hhmm(minute: int) -> str:
    m = int(minute) % _DAY
    return f"{m // 60:02d}:{m % 60:02d}"


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Maximal cyclic runs of True as (first index, length); the whole cycle gives (0, n)."""
    n = flags.size
    if flags.all():
        return [(0, n)]
    out = []
    first_false = int(np.flatnonzero(~flags)[0])
    i = 0
    while i < n:
        j = (first_false + 1 + i) % n
        if flags[j]:
            length = 0
            while flags[(j + length) % n]:
                length += 1
            out.append((j, length))
            i += length
        else:
            i += 1
    return sorted(out)


def _night_minutes(start: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Minutes of each duty between 23:00 and 06:00, for starts within a day."""
    total = np.zeros_like(start)
    for night_start in (-_DAY + 23 * 60, 23 * 60, _DAY + 23 * 60):
        lo, hi = night_start, night_start + 7 * 60
        total += np.clip(np.minimum(start + minutes, hi) - np.maximum(start, lo), 0, None)
    return total


def check_welfare(profile: PatternProfile) -> list[str]:
    """Plain-English warnings where a pattern breaks the welfare guidance (none: an empty list).

    Examples
    --------
    >>> from allocator.model.patterns import pattern_profile
    >>> from allocator.model.rota import DutyWindow, Pattern
    >>> w = [DutyWindow(name="Early", start="07:00", hours=8),
    ...      DutyWindow(name="Late", start="14:00", hours=8),
    ...      DutyWindow(name="Night", start="22:00", hours=9)]
    >>> check_welfare(pattern_profile(Pattern(name="2-2-2", rota="Early Early Late Late Night Night R R R R", teams=5), w))
    []
    >>> for line in check_welfare(pattern_profile(Pattern(name="Bad", rota="Late Early R"), w)):
    ...     print(line)
    Bad: backward rotation: Late on cycle day 1 is followed by Early on cycle day 2 (forward rotation is early, then late, then night)
    Bad: 9 h between Late on cycle day 1 (ends 22:00) and Early on cycle day 2 (starts 07:00); at least 11 h is recommended
    Bad: a single rest day on cycle day 3; rest days in blocks of at least 2 are recommended
    """
    name = profile.name
    out: list[str] = []
    schedule = profile.schedule
    t_count, period = schedule.shape
    n = profile.cycle_days
    names = profile.window_names
    starts, lengths = profile.window_start, profile.window_minutes
    days = np.arange(period)
    cycle_day = (days[None, :] - profile.anchor_day - np.array(profile.offsets)[:, None]) % n
    on = schedule >= 0

    def when(c: int) -> str:  # a rota's cycle day from 1, a fixed pattern's weekday
        return WEEKDAYS[c] if profile.kind == "fixed" else f"cycle day {c + 1}"

    used = sorted({int(w) for w in np.unique(schedule) if w >= 0})
    if not used:
        return [f"{name}: no duty days"]

    for w in used:
        hours = lengths[w] / 60
        if hours < MIN_HOURS or hours > MAX_HOURS:
            note = " (12-hour shifts are not recommended)" if hours >= 12 else ""
            out.append(f"{name}: {names[w]} is {hours:g} h; duties of 8-10 h are recommended{note}")

    # the cycle's own days: team 1 (offset 0) from its cycle day 0
    row0 = int(np.flatnonzero(cycle_day[0] == 0)[0])
    cycle = np.array([schedule[0, (row0 + c) % period] for c in range(n)])
    cyc_on = cycle >= 0

    # every duty of every team in time order, for gaps, rotation and nights
    t_idx, d_idx = np.nonzero(on)
    win = schedule[t_idx, d_idx]
    begin = d_idx * _DAY + starts[win, d_idx % 7]
    end = begin + lengths[win]
    day_start = int(starts[used].min())
    place = (starts[win, d_idx % 7] - day_start) % _DAY
    night = _night_minutes(starts[win, d_idx % 7], lengths[win]) >= 180

    rotation: dict[tuple[int, int], str] = {}
    gaps: dict[tuple[int, int], tuple[float, str]] = {}
    nights_flag = np.zeros((t_count, period), dtype=bool)
    nights_flag[t_idx[night], d_idx[night]] = True
    for k in range(t_count):
        mine = np.flatnonzero(t_idx == k)
        nxt = np.roll(mine, -1)
        for a, b in zip(mine, nxt, strict=True):
            ca, cb = int(cycle_day[k, d_idx[a]]), int(cycle_day[k, d_idx[b]])
            wrap = period * _DAY if b <= a else 0
            gap = (begin[b] + wrap - end[a]) / 60
            label = f"{names[win[a]]} on {when(ca)}"
            if gap < MIN_GAP_HOURS and gap < gaps.get((ca, cb), (np.inf, ""))[0]:
                gaps[(ca, cb)] = (
                    gap,
                    f"{name}: {gap:g} h between {label} (ends {_hhmm(end[a])}) and "
                    f"{names[win[b]]} on {when(cb)} (starts {_hhmm(begin[b])}); "
                    f"at least 11 h is recommended",
                )
            next_day = (d_idx[a] + 1) % period
            if d_idx[b] == next_day and place[b] < place[a] and (ca, cb) not in rotation:
                rotation[(ca, cb)] = (
                    f"{name}: backward rotation: {label} is followed by {names[win[b]]} on "
                    f"{when(cb)} (forward rotation is early, then late, then night)"
                )
    out.extend(rotation[key] for key in sorted(rotation))
    out.extend(gaps[key][1] for key in sorted(gaps))

    for first, length in _runs(cyc_on):
        if length == n:
            out.append(f"{name}: a duty every day, no rest days")
        elif length > MAX_DUTIES_IN_A_ROW:
            out.append(
                f"{name}: {length} duties in a row from {when(first)}; "
                f"at most {MAX_DUTIES_IN_A_ROW} before rest days are recommended"
            )
    for first, length in _runs(~cyc_on):
        if length < MIN_REST_BLOCK:
            out.append(
                f"{name}: a single rest day on {when(first)}; "
                f"rest days in blocks of at least {MIN_REST_BLOCK} are recommended"
            )
    night_runs: set[str] = set()
    for k in range(t_count):
        for first, length in _runs(nights_flag[k]):
            if length > MAX_NIGHTS_IN_A_ROW:
                c = int(cycle_day[k, first])
                night_runs.add(
                    f"{name}: {length} nights in a row from {when(c)}; "
                    f"at most {MAX_NIGHTS_IN_A_ROW} are recommended"
                )
    out.extend(sorted(night_runs))
    return out
