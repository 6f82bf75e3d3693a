"""What a demand load returns: :class:`DemandLoad` and its :class:`DemandSummary`."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.data.mapping import DemandMapping

__all__ = ["DemandLoad", "DemandSummary"]


@dataclass(frozen=True)
class DemandSummary:
    """What a load did: rows read, accepted, rejected per reason, codes sent to the catch-all."""

    source: str
    rows_read: int
    accepted: int
    rejected: dict[str, int]
    unmapped_codes: dict[str, int]
    catch_all_type: str | None
    missing_durations: int
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    durations_dropped: int = 0
    names_matched_loosely: int = 0

    @property
    def rejected_total(self) -> int:
        """All rejected rows."""
        return sum(self.rejected.values())

    @property
    def days_covered(self) -> float:
        """Days of the window the accepted records cover: window end minus the later of
        the window start and the first record (0 without records)."""
        if self.first is None or self.window_end is None:
            return 0.0
        start = self.first if self.window_start is None else max(self.window_start, self.first)
        return (self.window_end - start) / pd.Timedelta(days=1)

    def __str__(self) -> str:
        lines = [
            f"{self.source}: {self.rows_read:,} rows read, {self.accepted:,} accepted, "
            f"{self.rejected_total:,} rejected",
        ]
        if self.window_start is not None:
            lines.append(f"  window: {self.window_start} .. {self.window_end}")
        if self.first is not None:
            lines.append(f"  records: {self.first} .. {self.last} ({self.days_covered:.1f} days covered)")
        for reason, n in self.rejected.items():
            lines.append(f"  rejected, {reason}: {n:,}")
        for code, n in self.unmapped_codes.items():
            lines.append(f"  code {code!r} counted as {self.catch_all_type}: {n:,}")
        if self.missing_durations:
            lines.append(
                f"  {self.missing_durations:,} records without a duration "
                "(standard minutes are used)"
            )
        if self.durations_dropped:
            lines.append(
                f"  {self.durations_dropped:,} durations over max_duration_minutes dropped "
                "(records kept; standard minutes are used)"
            )
        if self.names_matched_loosely:
            lines.append(f"  {self.names_matched_loosely:,} records matched an area or type ignoring case or spacing")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The counts and the window as plain JSON-ready values (aggregates only)."""
        return {
            "records_read": self.rows_read,
            "records_accepted": self.accepted,
            "records_rejected": self.rejected_total,
            "rejected_by_reason": dict(self.rejected),
            "unmapped_codes": dict(self.unmapped_codes),
            "missing_durations": self.missing_durations,
            "durations_dropped": self.durations_dropped,
            "names_matched_loosely": self.names_matched_loosely,
            "window_start": None if self.window_start is None else str(self.window_start),
            "window_end": None if self.window_end is None else str(self.window_end),
            "first_record": None if self.first is None else str(self.first),
            "last_record": None if self.last is None else str(self.last),
            "days_covered": round(self.days_covered, 6),
        }

    def to_frame(self) -> pd.DataFrame:
        """The summary as a tidy frame: ``item, detail, count``."""
        rows: list[tuple[str, str, int]] = [
            ("rows read", "", self.rows_read),
            ("accepted", "", self.accepted),
        ]
        rows += [("rejected", reason, n) for reason, n in self.rejected.items()]
        rows += [("unmapped code", code, n) for code, n in self.unmapped_codes.items()]
        rows.append(("missing duration", "", self.missing_durations))
        rows.append(("duration dropped", "", self.durations_dropped))
        rows.append(("name matched loosely", "", self.names_matched_loosely))
        out = pd.DataFrame(rows, columns=["item", "detail", "count"])
        return out.astype({"item": "str", "detail": "str", "count": "int64"})

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(i)}</td><td>{html.escape(d)}</td><td>{c:,}</td></tr>"
            for i, d, c in self.to_frame().itertuples(index=False)
        )
        window = (
            f"<p>window {html.escape(str(self.window_start))} .. {html.escape(str(self.window_end))}</p>"
            if self.window_start is not None
            else ""
        )
        return (
            f"<div><strong>{html.escape(self.source)}</strong>{window}<table>"
            f"<tr><th>item</th><th>detail</th><th>count</th></tr>{body}</table></div>"
        )


@dataclass(frozen=True)
class DemandLoad:
    """The outcome of :func:`load_demand`.

    Attributes
    ----------
    records
        One row per accepted record: ``row`` (1-based data row in the source),
        ``timestamp`` (tz-aware, force zone, ns), ``area`` and ``demand_type``
        (categoricals whose categories are the force's names and codes in force
        order), ``duration`` (float64 minutes, NaN when none), and ``id`` and
        ``grade`` (strings) when the extract has them.
    rejects
        One row per refused row: ``row``, the raw values of the mapped columns
        under the extract's own headings (strings, as read), ``reason`` (one of
        :data:`REASONS`) and ``detail`` (the column and value, and a hint).
    summary
        Counts: see :class:`DemandSummary`.
    inputs
        Every file the load read: the extract, the mapping file and the code
        lookup it references (none for a DataFrame or an in-memory mapping),
        so that a run can record a hash of each.
    """

    records: pd.DataFrame
    rejects: pd.DataFrame
    summary: DemandSummary
    mapping: DemandMapping = field(repr=False)
    inputs: tuple[Path, ...] = ()

    @property
    def window(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The demand window ``(start, end]`` the records were checked against."""
        return self.summary.window_start, self.summary.window_end
