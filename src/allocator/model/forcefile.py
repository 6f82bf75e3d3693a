"""Reading a force from its files: YAML or TOML, with the judgement table from CSV or Excel.

Every problem is collected and raised at once in one
:class:`~allocator.errors.ForceError`, each located by file, line and field path
(``roles[0].abstraction``) or, for the judgement table, by row and column.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from allocator.errors import ForceError, Problem, did_you_mean
from allocator.model.force import JUDGEMENT_COLUMNS, Force, JudgementRow, cross_problems

__all__ = ["load_force", "load_judgement"]

_unknown = did_you_mean


def _node_lines(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every key path in a composed YAML document to its 1-based line."""
    out: dict[tuple[Any, ...], int] = {}
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            out.update({k: v for k, v in _node_lines(value_node, (*path, key)).items() if k != (*path, key)})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_node_lines(item, (*path, i)))
    return out


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


def load_judgement(path: str | Path, sheet: str | int | None = None) -> list[JudgementRow]:
    """Read a long-format judgement table from CSV or an Excel sheet.

    Columns: ``demand_type, role, share, minutes, impact`` (``impact`` may be
    left out: 1). Every faulty row is reported at once, naming the file, sheet,
    row and column.
    """
    path = Path(path)
    source = f"{path.name}" + (f" [sheet {sheet}]" if sheet is not None else "")
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise ForceError(str(path), [Problem(str(path), "", "judgement file not found")]) from exc
    except (ValueError, KeyError) as exc:
        raise ForceError(source, [Problem(source, "", f"cannot read judgement table: {exc}")]) from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    required = [c for c in JUDGEMENT_COLUMNS if c != "impact"]
    missing = [c for c in required if c not in frame.columns]
    extra = [c for c in frame.columns if c not in JUDGEMENT_COLUMNS]
    problems = [Problem(source, "header", f"missing column {c!r}") for c in missing]
    problems += [
        Problem(source, "header", _unknown("column", c, list(JUDGEMENT_COLUMNS))) for c in extra
    ]
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
                problems.append(
                    Problem(source, f"row {n}, column {col}", err["msg"], record.get(col), line=n + 1)
                )
    if problems:
        raise ForceError(source, problems)
    return rows


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def load_force(path: str | Path) -> Force:
    """Load and validate a force from a YAML (``.yaml``/``.yml``) or TOML file.

    ``judgement`` in the file is either a list of rows, a path to a CSV or
    Excel file (relative to the force file), or ``{file: ..., sheet: ...}``.
    Raises :class:`~allocator.errors.ForceError` listing every problem found.
    """
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ForceError(str(path), [Problem(str(path), "", "force file not found")]) from exc
    lines: dict[tuple[Any, ...], int] = {}
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
            lines = _node_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ForceError(source, [Problem(source, "", f"not valid syntax: {exc}", line=line)]) from exc
    if not isinstance(data, dict):
        raise ForceError(source, [Problem(source, "", "expected a mapping of force settings at the top")])

    problems: list[Problem] = []
    judgement = data.get("judgement")
    if isinstance(judgement, str | dict):
        ref = judgement if isinstance(judgement, str) else judgement.get("file")
        sheet = None if isinstance(judgement, str) else judgement.get("sheet")
        if not isinstance(ref, str):
            problems.append(
                Problem(source, "judgement", "expected a file name, {file:, sheet:} or a list of rows",
                        line=_line_for(lines, ("judgement",)))
            )
        else:
            try:
                data = {**data, "judgement": [j.model_dump() for j in load_judgement(path.parent / ref, sheet)]}
            except ForceError as exc:
                problems.extend(exc.problems)
                data = {k: v for k, v in data.items() if k != "judgement"}
    try:
        force = Force.model_validate(data)
    except ValidationError as exc:
        found = _pydantic_problems(exc, source, lines)
        if "judgement" not in data:
            found = [p for p in found if p.where != "judgement"]  # already reported from its file
        problems.extend(found)
        if not any(not e["loc"] for e in exc.errors()):
            # the fields had faults, so the cross-checks did not run: run them on the raw data
            for where, msg in cross_problems(data):
                loc = _parse_loc(where)
                problems.append(Problem(source, where, msg, line=_line_for(lines, loc)))
        raise ForceError(source, problems) from None
    if problems:
        raise ForceError(source, problems)
    return force
