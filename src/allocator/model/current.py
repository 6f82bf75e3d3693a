"""The current posting: who is where today, checked against the force.

A current posting is a table with one row per (area, shift, role) cell and
columns ``area, shift, role, posts``, from a CSV file or a DataFrame, or an
int array of shape (areas, shifts, roles). :func:`read_current` turns it into
the array the allocation counts moves against, refusing anything that would
make the move count wrong, every problem at once.

Examples
--------
>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> posts = read_current(allocator.sample_path("current_shifts.csv"), force)
>>> posts.shape, posts.sum(axis=(0, 1)).tolist()
((6, 5, 3), [400, 120, 60])
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocator.errors import ArgumentError, InputError, Problem, did_you_mean
from allocator.model.force import MAX_ESTABLISHMENT, Force
from allocator.model.textfile import read_csv_table

__all__ = ["CURRENT_COLUMNS", "PATTERN_COLUMNS", "read_current", "read_current_on_patterns"]

logger = logging.getLogger(__name__)

CURRENT_COLUMNS = ("area", "shift", "role", "posts")
#: a current posting of a force on patterns (``team`` may be left out: see :func:`read_current_on_patterns`)
PATTERN_COLUMNS = ("area", "role", "pattern", "team", "posts")


def read_current(
    current: Any,
    force: Force,
    *,
    allow_vacancies: bool = False,
    vacancies: Mapping[str, int] | None = None,
    missing: Literal["error", "zero"] = "error",
) -> np.ndarray:
    """The current posting as int64 (areas, shifts, roles), checked against the force.

    Parameters
    ----------
    current
        A CSV path or DataFrame with columns ``area, shift, role, posts``, one
        row per cell, or an int array of shape (areas, shifts, roles).
    force
        The force whose names and establishment the posting must fit.
    allow_vacancies
        Accept any total per role. By default each role's posts must add up
        to its establishment, because moves are counted against the posting:
        a posting of 10,400 PCs against an establishment of 400 would report
        thousands of moves that nobody makes.
    vacancies
        Declared vacancies per role name (a negative number is overstrength):
        the role's posts must then add up to the establishment less that
        number exactly. Roles not named must match their establishment.
    missing
        ``"error"`` (default): every cell needs a row (write ``0`` for an
        empty cell); ``"zero"``: cells without a row hold 0 posts.

    Returns
    -------
    numpy.ndarray
        int64 (areas, shifts, roles), in force order.

    Raises
    ------
    allocator.errors.InputError
        Naming file, row, column and value, for every problem at once: a
        missing or unknown column, no rows, an unknown area, shift or role
        (with a "did you mean"), a cell given twice, posts that are not a
        whole number from 0 to 1,000,000 (``3.5``, ``-1``, ``true``, blank),
        cells without a row, and role totals that differ from the
        establishment (less declared vacancies).
    allocator.errors.ArgumentError
        If ``missing`` or ``vacancies`` is not usable.

    Notes
    -----
    An array is taken as a posting the program already holds (the posts of
    an earlier allocation, say): its shape and counts are checked, and a role
    total that differs from the establishment is logged as a warning, not
    refused. Names match after trimming spaces; case matters.

    Examples
    --------
    >>> import allocator, pandas as pd
    >>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    >>> df = pd.DataFrame({"area": ["Swindon North"], "shift": ["Night"],
    ...                    "role": ["PC"], "posts": [9]})
    >>> arr = read_current(df, force, missing="zero", allow_vacancies=True)
    >>> int(arr[0, 4, 0]), int(arr.sum())
    (9, 9)
    >>> read_current(df, force, missing="zero", vacancies={"PC": 380, "PCSO": 120, "LCI": 60})
    Traceback (most recent call last):
    ...
    allocator.errors.InputError: <DataFrame>: 1 problem
      - <DataFrame>, column posts: current posting has 9 PCs; the establishment is 400 less 380 declared vacancies (20)
    """
    if missing not in ("error", "zero"):
        raise ArgumentError("missing", missing, "must be 'error' or 'zero'")
    declared = _check_vacancies(vacancies, force)
    shape = (len(force.areas), len(force.shifts), len(force.roles))
    if isinstance(current, np.ndarray):
        return _from_array(current, force, shape)
    source, frame, offset = _table(current, CURRENT_COLUMNS, CURRENT_COLUMNS)
    problems: list[Problem] = []

    names = {"area": force.area_names, "shift": force.shift_names, "role": force.role_names}
    index = {col: {n: i for i, n in enumerate(valid)} for col, valid in names.items()}
    out = np.zeros(shape, dtype=np.int64)
    seen: dict[tuple[int, int, int], int] = {}
    for n, rec in enumerate(frame[list(CURRENT_COLUMNS)].itertuples(index=False), start=1):
        line = n + offset if offset is not None else None
        key, posts = _row(source, n, line, ("area", "shift", "role"), rec[:3], rec[3], names, index, problems)
        if len(key) == 3 and posts is not None:
            cell = (key[0], key[1], key[2])
            if cell in seen:
                problems.append(Problem(source, f"row {n}", f"cell given twice (first in row {seen[cell]})",
                                        " / ".join(str(v) for v in rec[:3]), line=line))
            else:
                seen[cell] = n
                out[cell] = posts
    if problems:
        raise InputError(source, problems)

    if missing == "error" and len(seen) < out.size:
        for k, role in enumerate(force.role_names):
            gaps = [f"{a} / {s}" for i, a in enumerate(force.area_names) for j, s in enumerate(force.shift_names)
                    if (i, j, k) not in seen]
            if gaps:
                shown = ", ".join(gaps[:6]) + (f", ... ({len(gaps)} in all)" if len(gaps) > 6 else "")
                problems.append(Problem(source, f"role {role}",
                                        f"no row for {len(gaps)} cell{'s' if len(gaps) != 1 else ''}: {shown}; "
                                        "write them with posts 0, or pass missing='zero'"))
    if not allow_vacancies:
        problems += _total_problems(out.sum(axis=(0, 1)), force, declared, source)
    if problems:
        raise InputError(source, problems)
    return out


def _table(current: Any, required: tuple[str, ...], known: tuple[str, ...]
           ) -> tuple[str, pd.DataFrame, int | None]:
    """The posting as a frame with trimmed lower-case headings: ``(source, frame, header line or None)``."""
    if isinstance(current, str | Path):
        path = Path(current)
        source = path.name
        if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
            raise InputError(source, [Problem(source, "", "a workbook; save the sheet as CSV, or pass "
                                                          "pd.read_excel(...) as a DataFrame")])
        frame = read_csv_table(path, "current posting")
        offset: int | None = 1  # the header line
    elif isinstance(current, pd.DataFrame):
        source, frame, offset = "<DataFrame>", current, None
    else:
        raise ArgumentError("current", type(current).__name__, "must be a DataFrame, a CSV path or an int array")
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InputError(source, [Problem(source, "header", f"column {c!r} appears more than once") for c in dup])
    problems = [Problem(source, "header", f"missing column {c!r}") for c in required if c not in frame.columns]
    problems += [Problem(source, "header", did_you_mean("column", str(c), list(known)))
                 for c in frame.columns if c not in known]
    if problems:
        raise InputError(source, problems)
    if frame.empty:
        raise InputError(source, [Problem(source, "", "no rows: the current posting has a header and no cells")])
    return source, frame, offset


def read_current_on_patterns(
    current: Any,
    force: Force,
    columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    team_labels: list[tuple[str, ...]],
    pattern_names: list[str],
    *,
    allow_vacancies: bool = False,
    vacancies: Mapping[str, int] | None = None,
    missing: Literal["error", "zero"] = "error",
) -> np.ndarray:
    """The current posting of a force on patterns, per column (area, role, pattern, team), int64 (J,).

    A CSV path or DataFrame with columns ``area, role, pattern, team, posts``
    (or an int array per column). ``team`` may be left out (or blank) for a
    row that gives a pattern's posts in an area as a whole: they are spread
    over its teams, the first teams taking one more. The checks are those of
    :func:`read_current`, every problem at once: unknown names with a "did you
    mean", a pattern the role does not work, a cell given twice, posts that
    are not whole numbers from 0 to 1,000,000, (area, role, pattern) with no
    row (unless ``missing="zero"``), and role totals that differ from the
    establishment (unless declared as ``vacancies`` or ``allow_vacancies``).
    ``columns`` are the formulation's ``(area, role, pattern, team)`` index
    arrays; ``team_labels`` and ``pattern_names`` name its patterns' teams.
    """
    if missing not in ("error", "zero"):
        raise ArgumentError("missing", missing, "must be 'error' or 'zero'")
    declared = _check_vacancies(vacancies, force)
    ca, cr, cp, ct = columns
    J = ca.size
    if isinstance(current, np.ndarray):
        arr = np.asarray(current)
        if arr.shape != (J,) or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise InputError("<current>", [Problem("<current>", "shape", f"expected {J} posts, one per column",
                                                   arr.shape)])
        as_float = arr.astype(np.float64)
        if (not np.all(np.isfinite(as_float)) or (as_float < 0).any() or not np.all(as_float == np.round(as_float))
                or (as_float > MAX_ESTABLISHMENT).any()):
            raise InputError("<current>", [Problem("<current>", "posts",
                                                   f"posts must be whole numbers from 0 to {MAX_ESTABLISHMENT:,}")])
        return as_float.astype(np.int64)
    required = ("area", "role", "pattern", "posts")
    source, frame, offset = _table(current, required, PATTERN_COLUMNS)
    if "team" not in frame.columns:
        frame = frame.assign(team="")
    names = {"area": force.area_names, "role": force.role_names, "pattern": pattern_names}
    index = {col: {n: i for i, n in enumerate(valid)} for col, valid in names.items()}
    out = np.zeros(J, dtype=np.int64)
    problems: list[Problem] = []
    seen: dict[tuple[int, ...], int] = {}
    given: set[tuple[int, int, int]] = set()
    for n, rec in enumerate(frame[list(PATTERN_COLUMNS)].itertuples(index=False), start=1):
        line = n + offset if offset is not None else None
        key, posts = _row(source, n, line, ("area", "role", "pattern"), rec[:3], rec[4], names, index, problems)
        if len(key) != 3 or posts is None:
            continue
        a, r, p = key
        cols = np.flatnonzero((ca == a) & (cr == r) & (cp == p))
        if cols.size == 0:
            problems.append(Problem(source, f"row {n}, column pattern",
                                    f"{force.role_names[r]} does not work pattern {pattern_names[p]!r}",
                                    rec[2], line=line))
            continue
        team = "" if _blank(rec[3]) else str(rec[3]).strip()
        labels = team_labels[p]
        if team and team not in labels:
            problems.append(Problem(source, f"row {n}, column team", did_you_mean("team", team, list(labels)),
                                    rec[3], line=line))
            continue
        cell = (a, r, p, labels.index(team)) if team else (a, r, p, -1)
        clash = [k for k in seen if k[:3] == cell[:3] and (k[3] == cell[3] or -1 in (k[3], cell[3]))]
        if clash:
            problems.append(Problem(source, f"row {n}", f"cell given twice (first in row {seen[clash[0]]})",
                                    " / ".join(str(v) for v in rec[:4] if not _blank(v)), line=line))
            continue
        seen[cell] = n
        given.add(cell[:3])
        if team:
            out[cols[ct[cols] == labels.index(team)]] += posts
        else:
            order = cols[np.argsort(ct[cols], kind="stable")]
            split = np.full(order.size, posts // order.size, dtype=np.int64)
            split[: posts % order.size] += 1
            out[order] += split
    if problems:
        raise InputError(source, problems)
    if missing == "error":
        for k, role in enumerate(force.role_names):
            gaps = sorted({(int(ca[j]), int(cp[j])) for j in np.flatnonzero(cr == k)
                           if (int(ca[j]), k, int(cp[j])) not in given})
            if gaps:
                shown = ", ".join(f"{force.area_names[a]} / {pattern_names[p]}" for a, p in gaps[:6])
                shown += f", ... ({len(gaps)} in all)" if len(gaps) > 6 else ""
                problems.append(Problem(source, f"role {role}",
                                        f"no row for {len(gaps)} area and pattern{'s' if len(gaps) != 1 else ''}: "
                                        f"{shown}; write them with posts 0, or pass missing='zero'"))
        # a rota's teams given one by one must all be there
        for (a, r, p, t_), row in seen.items():
            if t_ < 0:
                continue
            teams = {k[3] for k in seen if k[:3] == (a, r, p)}
            lost = [team_labels[p][i] for i in range(len(team_labels[p])) if i not in teams]
            if lost and min(k_ for k_ in teams) == t_:
                problems.append(Problem(source, f"row {row}",
                                        f"{force.area_names[a]} / {pattern_names[p]} / {force.role_names[r]}: "
                                        f"no row for team{'s' if len(lost) != 1 else ''} {', '.join(lost)}; "
                                        "write them with posts 0, or give the pattern's posts without a team"))
    if not allow_vacancies:
        totals = np.bincount(cr, weights=out, minlength=len(force.roles)).astype(np.int64)
        problems += _total_problems(totals, force, declared, source)
    if problems:
        raise InputError(source, problems)
    return out


def _row(source: str, n: int, line: int | None, columns: tuple[str, ...], values: Any, posts_value: Any,
         names: Mapping[str, list[str]], index: Mapping[str, Mapping[str, int]], problems: list[Problem]
         ) -> tuple[list[int], int | None]:
    """One row's name columns as indices and its posts, each fault appended to ``problems``."""
    key = []
    for col, value in zip(columns, values, strict=True):
        name = "" if _blank(value) else str(value).strip()
        if name not in index[col]:
            message = f"{col} is blank" if not name else did_you_mean(col, name, names[col])
            problems.append(Problem(source, f"row {n}, column {col}", message, value, line=line))
        else:
            key.append(index[col][name])
    posts = _whole(posts_value)
    if posts is None:
        problems.append(Problem(source, f"row {n}, column posts",
                                f"posts must be a whole number from 0 to {MAX_ESTABLISHMENT:,}", posts_value, line=line))
    return key, posts


def _check_vacancies(vacancies: Mapping[str, int] | None, force: Force) -> dict[str, int]:
    if vacancies is None:
        return {}
    if not isinstance(vacancies, Mapping):
        raise ArgumentError("vacancies", vacancies, "must map role names to whole numbers")
    out: dict[str, int] = {}
    for role, n in vacancies.items():
        if role not in force.role_names:
            raise ArgumentError("vacancies", vacancies, did_you_mean("role", str(role), force.role_names))
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ArgumentError("vacancies", vacancies, f"vacancies of {role} must be a whole number, got {n!r}")
        est = force.role(role).establishment
        if int(n) > est:
            raise ArgumentError("vacancies", vacancies,
                                f"{n} vacancies of {role} exceed its establishment of {est}")
        out[role] = int(n)
    return out


def _total_problems(totals: np.ndarray, force: Force, declared: Mapping[str, int], source: str) -> list[Problem]:
    """Role totals (R,) that differ from the establishment (less declared vacancies)."""
    problems = []
    for k, role in enumerate(force.roles):
        total = int(totals[k])
        est = role.establishment
        if role.name in declared:
            n = declared[role.name]
            want = est - n
            if total != want:
                kind = "declared vacancies" if n >= 0 else "declared overstrength"
                problems.append(Problem(source, "column posts",
                                        f"current posting has {total:,} {role.name}s; the establishment is "
                                        f"{est:,} {'less' if n >= 0 else 'plus'} {abs(n):,} {kind} ({want:,})"))
        elif total != est:
            problems.append(Problem(source, "column posts",
                                    f"current posting has {total:,} {role.name}s; the establishment is {est:,} "
                                    "(declare vacancies={...} or pass allow_vacancies=True if that is so)"))
    return problems


def _from_array(current: np.ndarray, force: Force, shape: tuple[int, int, int]) -> np.ndarray:
    arr = np.asarray(current)
    if arr.shape != shape:
        raise InputError("<current>", [Problem("<current>", "shape", f"expected (areas, shifts, roles) = {shape}",
                                               arr.shape)])
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise InputError("<current>", [Problem("<current>", "dtype", "posts must be whole numbers", str(arr.dtype))])
    as_float = arr.astype(np.float64)
    if (not np.all(np.isfinite(as_float)) or (as_float < 0).any() or not np.all(as_float == np.round(as_float))
            or (as_float > MAX_ESTABLISHMENT).any()):
        raise InputError("<current>", [Problem("<current>", "posts",
                                               f"posts must be whole numbers from 0 to {MAX_ESTABLISHMENT:,}")])
    out = as_float.astype(np.int64)
    totals = out.sum(axis=(0, 1))
    for k, role in enumerate(force.roles):
        if int(totals[k]) != role.establishment:
            logger.warning("current posting has %d %ss; the establishment is %d", int(totals[k]), role.name,
                           role.establishment)
    return out


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _whole(value: Any) -> int | None:
    """A count from a cell: ``3``, ``"3"``, ``3.0``; not ``3.5``, ``-1``, ``True``, blank or huge."""
    if isinstance(value, bool | np.bool_) or _blank(value):
        return None
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(f) or f < 0 or f != int(f) or f > MAX_ESTABLISHMENT:
        return None
    return int(f)
