"""The allocation as an Excel workbook for analysts: a summary sheet and one sheet per role.

The workbook is byte-for-byte deterministic (fixed document dates and zip
entry times) and written atomically. Every text cell is written as text
(a name such as ``=HYPERLINK(...)`` is never a live formula; it is stored as a
string with Excel's quote prefix) and floats are rounded to
:data:`allocator.io.cells.SIGNIFICANT` significant digits (no ``1.7999999999999998``).

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> table = pd.DataFrame({
...     "area": ["North", "North", "South", "South"],
...     "shift": ["Day", "Night", "Day", "Night"],
...     "role": ["PC"] * 4,
...     "posts": [5, 3, 4, 2],
...     "on_duty": [2.5, 1.5, 2.0, 1.0],
...     "workload_hours": [100.0, 60.0, 80.0, 40.0],
...     "coverage": [1.1, 1.2, 1.0, 1.3],
... })
>>> path = pathlib.Path(tempfile.mkdtemp()) / "allocation.xlsx"
>>> allocation_to_excel(table, path)
>>> pd.read_excel(path, sheet_name=None).keys()
dict_keys(['Summary', 'PC'])
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.io.atomic import atomic_write_bytes
from allocator.io.cells import round_significant

__all__ = ["allocation_to_excel", "excel_bytes"]

_FIXED_DATE = "2000-01-01T00:00:00Z"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _table_of(allocation: Any) -> pd.DataFrame:
    table = allocation if isinstance(allocation, pd.DataFrame) else allocation.table
    missing = {"area", "shift", "role", "posts"} - set(table.columns)
    if missing:
        raise ValueError(f"allocation table lacks columns {sorted(missing)}")
    return table


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", str(name))[:31] or "Role"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


def _ordered(values: pd.Series) -> list[str]:
    """Distinct values in their categorical order, else in order of appearance."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return [str(v) for v in dict.fromkeys(values.tolist())]


def summary_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Posts per area and role (columns), with a total row, in the table's order."""
    t = table.assign(area=table["area"].astype(str), role=table["role"].astype(str))
    grid = t.pivot_table(index="area", columns="role", values="posts", aggfunc="sum", sort=False)
    grid = grid.reindex(index=_ordered(table["area"]), columns=_ordered(table["role"])).fillna(0)
    grid = grid.astype("int64")
    grid.loc["Total"] = grid.sum(axis=0)
    grid.columns.name = None
    return grid.reset_index()


def _role_grid(rows: pd.DataFrame, areas: list[str], shifts: list[str]) -> pd.DataFrame:
    grid = rows.pivot_table(index="area", columns="shift", values="posts", aggfunc="sum", sort=False)
    grid = grid.reindex(index=areas, columns=shifts).fillna(0).astype("int64")
    grid["Total"] = grid.sum(axis=1)
    grid.loc["Total"] = grid.sum(axis=0)
    grid.columns.name = None
    return grid.reset_index()


def excel_bytes(allocation: Any, extra: dict[str, pd.DataFrame] | None = None) -> bytes:
    """The workbook as bytes (see :func:`allocation_to_excel`)."""
    table = _table_of(allocation)
    areas, shifts = _ordered(table["area"]), _ordered(table["shift"])
    plain = round_significant(table)
    for col in ("area", "shift", "role"):
        plain[col] = plain[col].astype(str).astype(object)
    buf = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        summary = summary_frame(table)
        summary.to_excel(xl, sheet_name=_sheet_name("Summary", taken), index=False)
        for role in _ordered(table["role"]):
            rows = plain[plain["role"] == role].drop(columns="role")
            name = _sheet_name(role, taken)
            grid = _role_grid(rows, areas, shifts)
            grid.to_excel(xl, sheet_name=name, index=False, startrow=0)
            rows.to_excel(xl, sheet_name=name, index=False, startrow=len(grid) + 3)
        for title, frame in (extra or {}).items():
            round_significant(frame).to_excel(xl, sheet_name=_sheet_name(title, taken), index=False)
        for sheet in xl.book.worksheets:
            _text_as_text(sheet)
    return _deterministic_zip(buf.getvalue())


def _text_as_text(sheet: Any) -> None:
    """Store every cell openpyxl took for a formula (text starting ``=``) as text, quote-prefixed.

    The library writes no formulas, so each such cell is a name from the input.
    """
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                cell.quotePrefix = True


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite an xlsx with fixed entry times and fixed document dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: f"{m.group(1)}{_FIXED_DATE}{m.group(3)}",
                    text,
                )
                body = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def allocation_to_excel(
    allocation: Any, path: str | Path, extra: dict[str, pd.DataFrame] | None = None
) -> None:
    """Write the allocation to an Excel workbook, atomically.

    Parameters
    ----------
    allocation
        An :class:`~allocator.Allocation` or its tidy ``table`` (columns
        ``area, shift, role, posts`` and any others, e.g. ``coverage``).
    path
        The ``.xlsx`` file to write.
    extra
        More sheets: title -> frame (e.g. the moves).

    Notes
    -----
    Sheet ``Summary`` holds posts per area and role with totals; each role's
    sheet holds its area x shift grid of posts with totals and, below it, the
    role's rows of the table.
    """
    atomic_write_bytes(path, excel_bytes(allocation, extra))


def frames_to_excel(sheets: dict[str, pd.DataFrame], path: str | Path) -> None:
    """Write tidy frames, one sheet each, to an ``.xlsx`` workbook, atomically and deterministically.

    Categorical and string columns are written as plain text.
    """
    buf = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for title, frame in sheets.items():
            plain = frame.copy()
            for col in plain.columns:
                if isinstance(plain[col].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(plain[col]):
                    plain[col] = plain[col].astype(str).astype(object)
            plain.to_excel(xl, sheet_name=_sheet_name(title, taken), index=False)
    atomic_write_bytes(path, _deterministic_zip(buf.getvalue()))
