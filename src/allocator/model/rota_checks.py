"""Cross-checks of the force file's duty windows, patterns, buckets and role patterns.

Run on plain data by :func:`allocator.model.force.cross_problems`, tolerant of
malformed parts (their own faults are reported field by field), so that every
problem in a file is reported in one pass. Each fault is ``(where, message)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from allocator.errors import did_you_mean
from allocator.model.patterns import anchor_day, buckets_for, duty_intervals, schedule_of
from allocator.model.rota import REST_TOKENS, WEEKDAYS, DutyWindow, Pattern

__all__ = ["duty_keys", "is_rota_data", "rota_problems"]


def _mapping(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _names(items: Any) -> list[str]:
    return [str(it["name"]) for it in _list(items) if isinstance(it, dict) and it.get("name") is not None]


def is_rota_data(data: Mapping[str, Any]) -> bool:
    """Whether a force given as plain data uses windows and patterns (not the older shifts)."""
    return bool(data.get("windows")) or bool(data.get("patterns"))


def _valid_windows(data: Mapping[str, Any]) -> list[DutyWindow] | None:
    try:
        return [DutyWindow.model_validate(w) for w in _list(data.get("windows"))]
    except (ValidationError, ValueError, TypeError):
        return None


def _bucket_spec(data: Mapping[str, Any]) -> Any:
    return _mapping(data.get("settings")).get("buckets", "windows")


def duty_keys(data: Mapping[str, Any]) -> list[str] | None:
    """The names ``min_on_duty`` may use in a rota force: windows, then bucket names.

    None when the windows or the bucket setting have faults of their own.
    """
    windows = _valid_windows(data)
    if windows is None or not windows:
        return None
    try:
        buckets = buckets_for(windows, _bucket_spec(data))
    except (ValidationError, ValueError, TypeError):
        return None
    return [w.name for w in windows] + list(buckets.names)


def _dupes(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for n in names:
        if n in seen and n not in out:
            out.append(n)
        seen.add(n)
    return out


def rota_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every fault in the windows, patterns, role patterns and bucket setting of ``data``."""
    out: list[tuple[str, str]] = []
    window_names = _names(data.get("windows"))
    pattern_names = _names(data.get("patterns"))
    for d in _dupes(window_names):
        out.append(("windows", f"{d!r} appears more than once"))
    for d in _dupes(pattern_names):
        out.append(("patterns", f"{d!r} appears more than once"))

    has_shifts, has_windows, has_patterns = (bool(data.get(k)) for k in ("shifts", "windows", "patterns"))
    if has_shifts and has_windows:
        out.append(("shifts", "give duty windows (windows) or the older shifts, not both"))
    if not has_shifts and not has_windows:
        out.append(("windows", "give duty windows and patterns (or the older shifts, each worked every day)"))
    if has_patterns and not has_windows:
        out.append(("patterns", "patterns need duty windows: rename shifts to windows"))
    if has_windows and not has_patterns:
        out.append(("windows", "duty windows need patterns saying who works them (see docs/rotas.md)"))

    windows = _valid_windows(data)
    by_name = {w.name: w for w in windows or []}
    for i, raw in enumerate(_list(data.get("patterns"))):
        out.extend(_pattern_problems(i, _mapping(raw), window_names, windows))

    for k, raw_role in enumerate(_list(data.get("roles"))):
        role = _mapping(raw_role)
        chosen = role.get("patterns")
        if not has_patterns:
            if chosen:
                out.append((f"roles[{k}].patterns", "the force has no patterns for roles to name"))
            continue
        if not chosen:
            known = ", ".join(repr(p) for p in pattern_names[:8])
            out.append(
                (f"roles[{k}].patterns", f"role {role.get('name')!r} names no patterns it may work (known: {known})")
            )
            continue
        for name in _list(chosen):
            if name not in pattern_names:
                out.append((f"roles[{k}].patterns", did_you_mean("pattern", str(name), pattern_names)))
        for d in _dupes([str(p) for p in _list(chosen)]):
            out.append((f"roles[{k}].patterns", f"{d!r} appears more than once"))

    spec = _bucket_spec(data)
    if isinstance(spec, dict) and isinstance(spec.get("split_at"), list):
        valid = window_names if has_windows else _names(data.get("shifts"))
        for name in spec["split_at"]:
            if name not in valid:
                out.append(("settings.buckets.split_at", did_you_mean("window", str(name), valid)))
    elif isinstance(spec, dict) and isinstance(spec.get("dayparts"), list):
        parts = spec["dayparts"]
        for d in _dupes(_names(parts)):
            out.append(("settings.buckets.dayparts", f"{d!r} appears more than once"))
        if windows is not None or not has_windows:
            try:
                buckets_for(list(by_name.values()), spec)
            except ValueError as exc:
                if "same hour" in str(exc):
                    out.append(("settings.buckets.dayparts", str(exc)))
            except (ValidationError, TypeError):
                pass  # reported field by field
    return out


def _pattern_problems(
    i: int, raw: dict[str, Any], window_names: list[str], windows: list[DutyWindow] | None
) -> list[tuple[str, str]]:
    where = f"patterns[{i}]"
    name = raw.get("name")
    out: list[tuple[str, str]] = []
    try:
        pattern = Pattern.model_validate(raw)
    except (ValidationError, ValueError, TypeError):
        return out  # its own faults are reported field by field
    for code, window in pattern.codes.items():
        if window not in window_names:
            out.append((f"{where}.codes.{code}", did_you_mean("window", str(window), window_names)))
    if pattern.kind == "rota":
        assert pattern.rota is not None
        valid = window_names + list(pattern.codes) + ["R"]
        for c, token in enumerate(pattern.rota):
            if token not in pattern.codes and token not in REST_TOKENS and token not in window_names:
                out.append(
                    (f"{where}.rota", f"cycle day {c + 1}: " + did_you_mean("window or code", token, valid))
                )
        n, teams = pattern.cycle_days, pattern.team_count
        if pattern.offsets is not None:
            if len(pattern.offsets) != teams:
                out.append(
                    (f"{where}.offsets", f"{len(pattern.offsets)} offsets for {teams} teams; give one per team")
                )
            bad = [o for o in pattern.offsets if not 0 <= o < n]
            if bad:
                out.append((f"{where}.offsets", f"offsets must be 0 to {n - 1} (cycle days), got {bad}"))
    else:
        assert pattern.fixed is not None
        for day, window in pattern.fixed.items():
            if window not in window_names:
                out.append((f"{where}.fixed.{day}", did_you_mean("window", str(window), window_names)))
    if all(w is None for w in pattern.cycle_windows()):
        out.append((where, f"pattern {name!r} has no duty days"))
    if out or windows is None:
        return out
    return _timing_problems(where, pattern, windows)


def _timing_problems(where: str, pattern: Pattern, windows: list[DutyWindow]) -> list[tuple[str, str]]:
    """Windows on weekdays they do not run, and a team's duties that overlap."""
    out: list[tuple[str, str]] = []
    schedule = schedule_of(pattern, windows)
    t_count, period = schedule.shape
    n = pattern.cycle_days
    labels = pattern.team_labels()
    anchor = anchor_day(pattern)
    offsets = np.array(pattern.team_offsets())
    cycle_day = (np.arange(period)[None, :] - anchor - offsets[:, None]) % n
    runs = np.array([[w.runs_on(d) for d in range(7)] for w in windows])
    team, day = np.nonzero(schedule >= 0)
    win = schedule[team, day]
    bad = ~runs[win, day % 7]
    found: dict[tuple[int, int], list[int]] = {}
    for k, d in zip(team[bad], day[bad], strict=True):
        found.setdefault((int(k), int(cycle_day[k, d])), []).append(int(d) % 7)
    grouped: dict[tuple[int, str], list[str]] = {}
    for (k, c), weekdays in sorted(found.items()):
        on = ", ".join(WEEKDAYS[d] for d in sorted(set(weekdays)))
        grouped.setdefault((c, on), []).append(labels[k])
    for (c, on), teams in sorted(grouped.items()):
        k = labels.index(teams[0])
        w = windows[int(schedule[k, int(np.flatnonzero(cycle_day[k] == c)[0])])]
        runs_on = ", ".join(w.days or [])
        if pattern.kind == "fixed":
            out.append((f"{where}.fixed.{on}", f"{w.name} does not run on {on}; it runs only on {runs_on}"))
        else:
            who = f"team {teams[0]} works" if len(teams) == 1 else f"teams {', '.join(teams)} work"
            out.append(
                (
                    f"{where}.rota",
                    f"{who} {w.name} on cycle day {c + 1}, a {on}; {w.name} runs only on {runs_on}",
                )
            )
    if out:
        return out
    start = np.array([[w.start_on(d) for d in range(7)] for w in windows], dtype=np.int64)
    minutes = np.array([w.minutes for w in windows], dtype=np.int64)
    team, day, win, begin, end = duty_intervals(schedule, start, minutes)
    clashes: set[str] = set()
    total = period * 1440
    for k in range(t_count):
        mine = np.flatnonzero(team == k)
        if mine.size < 2:
            continue
        nxt = np.roll(mine, -1)
        wrap = np.where(nxt <= mine, total, 0)
        overlap = end[mine] > begin[nxt] + wrap
        for a, b in zip(mine[overlap], nxt[overlap], strict=True):
            ca, cb = int(cycle_day[k, day[a]]) + 1, int(cycle_day[k, day[b]]) + 1
            clashes.add(
                f"{windows[win[a]].name} on cycle day {ca} ends after {windows[win[b]].name} "
                f"on cycle day {cb} starts: a post cannot work both"
            )
    out.extend((f"{where}", msg) for msg in sorted(clashes))
    return out
