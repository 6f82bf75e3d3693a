"""Reading a force from its files: YAML or TOML, with the judgement table from CSV or Excel.

Every problem is collected and raised at once in one
:class:`~allocator.errors.ForceError`, each located by file, line and field path
(``roles[0].abstraction``) or, for the judgement table, by file, row and column.

Force files are read defensively (:mod:`allocator.model.yamlsafe`): a YAML
alias bomb, a duplicated key, deep nesting, binary data or text that is not
UTF-8 is refused by name, never with a traceback or a runaway.

A force can also be built from a plain dict, the form :meth:`Force.to_dict`
writes, with the same all-problems-at-once report:

>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> load_force(force.to_dict()) == force
True
>>> Force.model_validate(force.to_dict()) == force
True
>>> [p.name for p in force_files(allocator.sample_path("force.yaml"))]
['force.yaml', 'judgement.csv']
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from allocator.errors import ForceError, Problem, did_you_mean
from allocator.model.force import JUDGEMENT_COLUMNS, Force, JudgementRow, cross_problems
from allocator.model.textfile import read_csv_table, read_text
from allocator.model.yamlsafe import load_yaml

__all__ = ["force_files", "load_force", "load_judgement"]

logger = logging.getLogger(__name__)

_unknown = did_you_mean


def _line_for(lines: Mapping[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid at ``loc`` (for key suggestions)."""
    model: type[BaseModel] | None = Force
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        inner = args[0] if args else ann
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return model


def _pydantic_problems(
    exc: ValidationError, source: str, lines: Mapping[tuple[Any, ...], int], prefix: tuple[Any, ...] = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _untagged((*prefix, *err["loc"]))
        msg = err["msg"]
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            valid = list(model.model_fields) if model is not None else []
            msg = _unknown("key", str(loc[-1]), valid)
            problems.append(Problem(source, _fmt_loc(loc), msg, line=_line_for(lines, loc)))
            continue
        msg = msg.removeprefix("Value error, ")
        if err["type"] == "value_error" and not err["loc"]:
            # the force's cross-reference faults come joined in one message; split them out
            body = msg
            for row in body.split("\n"):
                where, _, text = row.partition(": ")
                sub = _parse_loc(where)
                problems.append(
                    Problem(source, _fmt_loc((*loc, *sub)), text or row, line=_line_for(lines, (*loc, *sub)))
                )
            continue
        if isinstance(value, dict | list):
            problems.append(Problem(source, _fmt_loc(loc), msg, line=_line_for(lines, loc)))
        else:
            problems.append(Problem(source, _fmt_loc(loc), msg, value, line=_line_for(lines, loc)))
    return problems


def _untagged(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tag pydantic puts after ``buckets`` (``settings.buckets.split_at.split_at``)."""
    for i in range(1, len(loc)):
        tag = loc[i - 1] == "buckets" and loc[i] in ("name", "split_at", "dayparts")
        if tag and (loc[i] == "name" or loc[i + 1 : i + 2] == (loc[i],)):
            return (*loc[:i], *loc[i + 1 :])
    return loc


def _parse_loc(where: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


_EXCEL = {".xlsx", ".xlsm", ".xls"}


def load_judgement(path: str | Path, sheet: str | int | None = None) -> list[JudgementRow]:
    """Read a long-format judgement table from CSV or an Excel sheet.

    Columns: ``demand_type, role, share, minutes, impact`` (``impact`` may be
    left out: 1). Every faulty row is reported at once, naming the file, sheet,
    row and column; a file that cannot be read at all (not UTF-8, binary, a
    ragged row, a damaged workbook) is one named problem.
    """
    path = Path(path)
    source = f"{path.name}" + (f" [sheet {sheet}]" if sheet is not None else "")
    if path.suffix.lower() in _EXCEL:
        if not path.is_file():
            raise ForceError(str(path), [Problem(str(path), "", "judgement file not found")])
        try:
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
        except (ValueError, KeyError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ForceError(source, [Problem(source, "", f"cannot read judgement workbook: {exc}")]) from None
        except Exception as exc:  # a damaged workbook can fail deep inside the Excel reader
            raise ForceError(source, [Problem(source, "", f"cannot read judgement workbook: "
                                                          f"{type(exc).__name__}: {exc}")]) from None
    else:
        frame = read_csv_table(path, "judgement", ForceError)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    required = [c for c in JUDGEMENT_COLUMNS if c != "impact"]
    missing = [c for c in required if c not in frame.columns]
    extra = [c for c in frame.columns if c not in JUDGEMENT_COLUMNS]
    problems = [Problem(source, "header", f"missing column {c!r}") for c in missing]
    problems += [
        Problem(source, "header", _unknown("column", c, list(JUDGEMENT_COLUMNS))) for c in extra
    ]
    if len(set(frame.columns)) < len(frame.columns):
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        problems += [Problem(source, "header", f"column {c!r} appears more than once") for c in dup]
    if problems:
        raise ForceError(source, problems)
    rows: list[JudgementRow] = []
    for n, record in enumerate(frame.to_dict("records"), start=1):
        clean = {str(k): (None if _blank(v) else v) for k, v in record.items()}
        if clean.get("impact") is None:
            clean.pop("impact", None)
        try:
            rows.append(JudgementRow(**clean))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                col = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(Problem(source, f"row {n}, column {col}", msg, record.get(col), line=n + 1))
    if problems:
        raise ForceError(source, problems)
    return rows


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _read_force_data(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The raw data of a force file and the line of each key path (YAML only)."""
    source = path.name
    text = read_text(path, "force", ForceError)
    if path.suffix.lower() == ".toml":
        try:
            return tomllib.loads(text), {}
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
            raise ForceError(source, [Problem(source, "", f"not valid TOML: {exc}", line=line)]) from None
        except RecursionError:
            raise ForceError(source, [Problem(source, "", "refused: nested too deeply")]) from None
    return load_yaml(text, source)


def _judgement_ref(data: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """``(file, sheet)`` when the judgement lives in a file, else None."""
    judgement = data.get("judgement")
    if isinstance(judgement, str):
        return judgement, None
    if isinstance(judgement, dict):
        return judgement.get("file"), judgement.get("sheet")
    return None


def force_files(path: str | Path) -> tuple[Path, ...]:
    """Every file a force file reads: itself, then its judgement CSV or workbook.

    For a run manifest, so that each input can be hashed. Raises
    :class:`~allocator.errors.ForceError` if the force file cannot be read;
    the judgement file is listed whether or not it exists (the force's
    validation names a missing one).

    >>> import allocator
    >>> [p.name for p in force_files(allocator.sample_path("force.yaml"))]
    ['force.yaml', 'judgement.csv']
    """
    path = Path(path)
    data, _ = _read_force_data(path)
    out = [path]
    ref = _judgement_ref(data) if isinstance(data, dict) else None
    if ref is not None and isinstance(ref[0], str):
        out.append(path.parent / ref[0])
    return tuple(out)


def load_force(source: str | Path | Mapping[str, Any]) -> Force:
    """Load and validate a force from a YAML (``.yaml``/``.yml``) or TOML file, or a dict.

    ``judgement`` is either a list of rows, a path to a CSV or Excel file
    (relative to the force file; to the working folder for a dict), or
    ``{file: ..., sheet: ...}``. A dict is the form :meth:`Force.to_dict`
    writes (``load_force(force.to_dict()) == force``); unlike
    ``Force.model_validate`` it reports every problem at once in the same
    words as for a file.

    Faults in a judgement file are named by that file, row and column
    (``judgement.csv, line 12, row 11, column share``), also those found when
    the judgement is checked against the force.

    Raises
    ------
    allocator.errors.ForceError
        Listing every problem found.

    Examples
    --------
    >>> load_force({"areas": [{"name": "North"}], "shifts": [], "roles": []})
    Traceback (most recent call last):
    ...
    allocator.errors.ForceError: <dict>: 4 problems
      - <dict>, roles: List should have at least 1 item after validation, not 0
      - <dict>, demand_types: Field required
      - <dict>, judgement: Field required
      - <dict>, windows: give duty windows and patterns (or the older shifts, each worked every day)
    """
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(source, Mapping):
        name, base = "<dict>", Path.cwd()
        data: Any = dict(source)
    else:
        path = Path(source)
        name, base = path.name, path.parent
        data, lines = _read_force_data(path)
    if not isinstance(data, dict):
        raise ForceError(name, [Problem(name, "", "expected a mapping of force settings at the top")])

    problems: list[Problem] = []
    table: str | None = None  # the judgement file's name as problems name it
    ref = _judgement_ref(data)
    if ref is not None:
        file, sheet = ref
        if not isinstance(file, str) or not (sheet is None or isinstance(sheet, str | int)):
            problems.append(
                Problem(name, "judgement", "expected a file name, {file:, sheet:} or a list of rows",
                        line=_line_for(lines, ("judgement",)))
            )
        else:
            table = Path(file).name + (f" [sheet {sheet}]" if sheet is not None else "")
            try:
                data = {**data, "judgement": [j.model_dump() for j in load_judgement(base / file, sheet)]}
            except ForceError as exc:
                problems.extend(exc.problems)
                data = {k: v for k, v in data.items() if k != "judgement"}
    try:
        force = Force.model_validate(data)
    except ValidationError as exc:
        found = _pydantic_problems(exc, name, lines)
        if ref is not None and "judgement" not in data:
            found = [p for p in found if p.where != "judgement"]  # already reported from its file
        problems.extend(found)
        if not any(not e["loc"] for e in exc.errors()):
            # the fields had faults, so the cross-checks did not run: run them on the raw data
            for where, msg in cross_problems(data):
                loc = _parse_loc(where)
                problems.append(Problem(name, where, msg, line=_line_for(lines, loc)))
        if table is not None:
            rows: dict[str, list[int]] = {}
            for n, row in enumerate(data.get("judgement") or [], start=1):
                rows.setdefault(str(row.get("demand_type")), []).append(n)
            problems = [_to_table(p, name, table, rows) for p in problems]
        raise ForceError(name, problems) from None
    if problems:
        raise ForceError(name, problems)
    return force


_ROW = re.compile(r"^judgement\[(\d+)\]\.?(.*)$")


_SHARES = re.compile(r"^shares of demand type '(.*)' sum to")


def _to_table(problem: Problem, name: str, table: str, rows: Mapping[str, list[int]]) -> Problem:
    """A judgement problem found in the force, pointed at the judgement file's rows instead."""
    if problem.source != name or not problem.where.startswith("judgement"):
        return problem
    found = _ROW.match(problem.where)
    if found is None:  # about the whole table, such as the shares of a type that do not sum to 1
        shares = _SHARES.match(problem.message)
        where = ""
        if shares is not None:
            numbers = rows.get(shares.group(1), [])
            where = (f"row{'s' if len(numbers) != 1 else ''} {', '.join(map(str, numbers))}, " if numbers else "") \
                + "column share"
        return replace(problem, source=table, where=where, line=None)
    n = int(found.group(1)) + 1  # rows count from 1 after the header line
    where = f"row {n}" + (f", column {found.group(2)}" if found.group(2) else "")
    return replace(problem, source=table, where=where, line=n + 1)
