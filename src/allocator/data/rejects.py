"""The rejects of a demand load: the table of refused rows, their details, and the reject limit.

:func:`reject_table` builds ``DemandLoad.rejects`` (the raw values as read, the
reason and a detail naming the column, the value and a hint);
:func:`add_malformed` adds the CSV rows that could not be split into cells;
:func:`check_reject_share` stops a load that leaves no usable record or
rejects more than the force allows.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from allocator.data.checks import CODE, REASONS, norm
from allocator.data.extract import Extract, malformed_rows
from allocator.data.mapping import DemandMapping
from allocator.data.summary import DemandSummary
from allocator.errors import DemandError, Problem
from allocator.model.force import Force

__all__ = ["add_malformed", "check_reject_share", "detail_fields", "reject_table", "str_series", "suggest",
           "top_reasons"]


def top_reasons(summary: DemandSummary, rejects: pd.DataFrame, k: int = 3) -> str:
    """The ``k`` commonest reject reasons, each with its count and one sample value."""
    out = []
    for reason, count in sorted(summary.rejected.items(), key=lambda kv: -kv[1])[:k]:
        row = rejects.loc[rejects["reason"] == reason].iloc[0]
        where = f"{row['file']} row" if "file" in rejects.columns else "row"  # rejects of several files
        out.append(f"{reason}: {count:,} (e.g. {where} {int(row['row'])}: {row['detail']})")
    return "; ".join(out)


def check_reject_share(summary: DemandSummary, rejects: pd.DataFrame, limit: float, accept: bool) -> None:
    """No usable record, or too large a share rejected (unless accepted): one DemandError."""
    name, read = summary.source, summary.rows_read
    if summary.accepted == 0:
        msg = f"no usable record: {read:,} rows read, 0 accepted"
        msg += f"; {top_reasons(summary, rejects)}" if summary.rejected else " (the extract has no data rows)"
        raise DemandError(name, [Problem(name, "", msg)])
    share = summary.rejected_total / read
    if share > limit and not accept:
        msg = (
            f"{share:.0%} of rows were rejected (limit {limit:.0%}): {top_reasons(summary, rejects)}; "
            "pass accept_rejects=True / --accept-rejects to go on"
        )
        raise DemandError(name, [Problem(name, "", msg)])


def add_malformed(
    records: pd.DataFrame, rejects: pd.DataFrame, ext: Extract, wanted: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Malformed CSV rows become rejects, and every other row keeps its data row number in the file."""
    if not ext.malformed:
        return records, rejects
    rows = malformed_rows(ext)
    exact = rows is not None
    if rows is None:  # positions unknown: after the rows read
        total = len(records) + len(rejects)
        rows = list(range(total + 1, total + 1 + len(ext.malformed)))
    skipped = np.array(rows, dtype=np.int64)
    shift = skipped - np.arange(len(skipped))

    def moved(r: pd.Series) -> np.ndarray:
        v = r.to_numpy(dtype=np.int64)
        return v + np.searchsorted(shift, v, side="right")

    if exact:
        records = records.assign(row=moved(records["row"]))
        rejects = rejects.assign(row=moved(rejects["row"]))
    extra: dict[str, Any] = {"row": skipped}
    for col in rejects.columns:
        if col not in ("row", "reason", "detail"):
            extra[col] = pd.Series([None] * len(skipped), dtype=rejects[col].dtype)
    extra["reason"] = "malformed row"
    extra["detail"] = [
        f"the row has a different number of cells than the header: {text[:120]!r}" for text in ext.malformed
    ]
    both = pd.concat([rejects, pd.DataFrame(extra)], ignore_index=True)
    return records, both.sort_values("row", kind="stable", ignore_index=True)


def suggest(kind: str, value: str, valid: list[str]) -> str:
    msg = f"{kind} {value!r} is not in the force"
    close = difflib.get_close_matches(value, valid, n=1, cutoff=0.6)
    if not close:
        lower = {v.lower(): v for v in valid}
        close = [lower[c] for c in difflib.get_close_matches(value.lower(), list(lower), n=1, cutoff=0.6)]
    return msg + (f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(map(repr, valid))}")


def detail_fields(m: DemandMapping) -> dict[int, str]:
    """Reason code -> the field whose value its detail quotes."""
    t_field = "start" if m.uses_start_end else "timestamp"
    d_field = "end" if m.uses_start_end else "duration"
    return {
        CODE["unparseable timestamp"]: t_field,
        CODE["timestamp out of range"]: t_field,
        CODE["non-existent local time"]: t_field,
        CODE["in the future"]: t_field,
        CODE["unknown area"]: "area",
        CODE["unmapped demand type code"]: "demand_type",
        CODE["non-numeric duration"]: d_field,
        CODE["negative duration"]: d_field,
        CODE["implausible duration"]: d_field,
        CODE["duplicate id"]: "id",
        CODE["outside window"]: t_field,
    }


def str_series(arr: pa.ChunkedArray | pa.Array) -> pd.Series:
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.Series(arr.to_pandas(types_mapper={pa.string(): dtype, pa.large_string(): dtype}.get), dtype=dtype)


def reject_table(
    bad: np.ndarray,
    why: np.ndarray,
    raw_text: dict[str, pa.Array],
    wanted: dict[str, str],
    detail_col: dict[int, str],
    blank_field: np.ndarray,
    first_row: dict[int, int],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    force: Force,
    fmt: str | None,
) -> pd.DataFrame:
    out: dict[str, Any] = {"row": (bad + 1).astype(np.int64)}
    raw: dict[str, pd.Series] = {}
    for fld, text in raw_text.items():
        raw[fld] = str_series(text)
        out[wanted[fld]] = raw[fld]
    out["reason"] = pd.Categorical.from_codes(why - 1, categories=pd.Index(REASONS)).astype("str")
    detail = np.empty(len(bad), dtype=object)
    blank_names = {1: wanted["start" if "start" in wanted else "timestamp"], 2: wanted["area"],
                   3: wanted["demand_type"]}
    nearest: dict[str, str] = {}
    for code in np.unique(why):
        sel = np.flatnonzero(why == code)
        rows = bad[sel]
        r = REASONS[code - 1]
        fld = detail_col.get(int(code), "")
        vals: list[Any] = (
            [None if pd.isna(v) else v for v in raw[fld].iloc[sel].tolist()]
            if fld in raw
            else [None] * len(sel)
        )
        heading = wanted.get(fld, fld)
        if r == "missing value":
            detail[sel] = [f"column {blank_names[int(b)]!r} is blank" for b in blank_field[sel]]
        elif r == "unknown area":
            for v in vals:
                if norm(v) not in nearest:
                    nearest[norm(v)] = suggest("area", norm(v), force.area_names)
            detail[sel] = [nearest[norm(v)] for v in vals]
        elif r == "duplicate id":
            detail[sel] = [f"id {v!r} first seen at row {first_row[int(i)]}" for v, i in zip(vals, rows, strict=True)]
        elif r == "outside window":
            detail[sel] = [f"{heading} {v!r} is outside the window {start} .. {end}" for v in vals]
        elif r == "implausible duration":
            cap = force.settings.max_duration_minutes
            detail[sel] = [f"{heading} {v!r} is over max_duration_minutes {cap:g}" for v in vals]
        elif r == "unparseable timestamp":
            expected = f"{fmt!r}" if fmt else "ISO 8601, e.g. '2026-10-01 09:30:00'"
            detail[sel] = [f"{heading} {v!r} is not a timestamp in the expected format {expected}"
                           for v in vals]
        elif r == "timestamp out of range":
            detail[sel] = [f"{heading} {v!r} is out of range (1678-01-02 .. 2261-12-31)" for v in vals]
        elif r == "in the future":
            detail[sel] = [f"{heading} {v!r} is after the time of the run" for v in vals]
        elif r == "non-existent local time":
            detail[sel] = [f"{heading} {v!r} falls in the spring clock-change gap ({force.settings.timezone})"
                           for v in vals]
        else:
            detail[sel] = [f"{heading} {v!r}: {r}" for v in vals]
    out["detail"] = pd.Series(detail, dtype="str")
    return pd.DataFrame(out)
