"""Cells that cannot hurt a spreadsheet's reader: no live formulas, no float noise.

A CSV meant for spreadsheets is opened by Excel or LibreOffice, which run a
text cell beginning with ``=``, ``+``, ``-`` or ``@`` as a formula (an area
named ``=HYPERLINK(...)`` would become a live link). :func:`spreadsheet_frame`
prefixes such text cells with a single quote (``'=1+2``), the usual defence;
text that already begins with a quote gets one more, so that
:func:`restore_frame` gives back exactly the original text. Numbers, in
numeric columns or written as plain numbers in text (``-5``, ``+1.5``), stay
as they are.

Floats in CSV tables are rounded to :data:`DECIMALS` places, the same for
every float column, so no table shows ``1.7999999999999998``. The Excel
workbook keeps :data:`SIGNIFICANT` significant digits instead (what Excel
itself shows), which removes the same noise and loses nothing a reader sees.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"area": ["=1+2", "North", "-5", "'x"], "hours": [1.7999999999999998, 2.0, 0.1 + 0.2, 3.0]})
>>> safe = spreadsheet_frame(frame)
>>> safe["area"].tolist(), safe["hours"].tolist()
(["'=1+2", 'North', '-5', "''x"], [1.8, 2.0, 0.3, 3.0])
>>> restore_frame(safe)["area"].tolist()
['=1+2', 'North', '-5', "'x"]
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["DECIMALS", "SIGNIFICANT", "neutralise", "restore", "restore_frame", "round_floats",
           "round_significant", "spreadsheet_frame"]

#: Decimal places of every float column in the CSV outputs.
DECIMALS = 6
#: Significant digits of every float in the Excel workbook.
SIGNIFICANT = 15

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet will show as text (see the module notes); other values unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def restore(value: Any) -> Any:
    """The original text of a cell written by :func:`neutralise`."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_TRIGGERS):
        return value[1:]
    return value


def round_floats(frame: pd.DataFrame, decimals: int = DECIMALS) -> pd.DataFrame:
    """``frame`` with every float column rounded to ``decimals`` places (a copy)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals)
    return out


def round_significant(frame: pd.DataFrame, digits: int = SIGNIFICANT) -> pd.DataFrame:
    """``frame`` with every float rounded to ``digits`` significant digits (a copy).

    >>> round_significant(pd.DataFrame({"x": [1.7999999999999998, 12.112700364624462]}))["x"].tolist()
    [1.8, 12.1127003646245]
    """
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = [float(f"{v:.{digits}g}") for v in out[col].to_numpy(dtype="float64")]
    return out


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns
            if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype | pd.StringDtype)]


def spreadsheet_frame(frame: pd.DataFrame, decimals: int = DECIMALS) -> pd.DataFrame:
    """``frame`` ready for a CSV a spreadsheet opens: floats rounded, formula-like text quoted."""
    out = round_floats(frame, decimals)
    for col in _text_columns(out):
        out[col] = out[col].astype(object).map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read back from such a CSV with its text as it was before :func:`spreadsheet_frame`."""
    out = frame.copy()
    for col in _text_columns(out):
        out[col] = out[col].map(restore)
    out.columns = [restore(c) if isinstance(c, str) else c for c in out.columns]
    return out
