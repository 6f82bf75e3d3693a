"""Hypothesis strategies for demand extracts of a given force: valid ones and broken ones.

Extracts are text, as a file holds them (``timestamp`` local ISO without an
offset). Broken extracts plant exactly one fault in some rows and say which
reason each of those rows must be rejected with; they are meant to be loaded
with ``as_of=AS_OF`` and ``now=NOW`` so that the window and the time of the run are known.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from allocator.data.demand import REASONS
from allocator.model.force import Force

AS_OF = pd.Timestamp("2026-10-31 23:00")
NOW = pd.Timestamp("2026-12-01 12:00", tz="Europe/London")
COLUMNS = ["id", "timestamp", "area", "demand_type", "duration", "grade"]


@st.composite
def valid_rows(draw: st.DrawFn, force: Force, min_size: int = 1, max_size: int = 25) -> pd.DataFrame:
    """A valid extract: every row must be accepted when loaded with ``as_of=AS_OF``."""
    n = draw(st.integers(min_size, max_size))
    days = force.settings.window_days
    # whole minutes inside the window, keeping a day clear of both ends;
    # skip the spring gap by drawing whole hours away from 01:00-02:00 on gap days
    minutes = draw(
        st.lists(st.integers(24 * 60, (days - 1) * 24 * 60), min_size=n, max_size=n)
    )
    rows = []
    for k, m in enumerate(minutes):
        ts = AS_OF - pd.Timedelta(minutes=m)
        if ts.hour == 1 and ts.month == 3 and ts.day >= 25 and ts.dayofweek == 6:
            ts -= pd.Timedelta(hours=2)  # the spring gap: not a valid local time
        duration = draw(
            st.one_of(
                st.just(""),
                st.integers(0, int(force.settings.max_duration_minutes)).map(str),
                st.floats(0, force.settings.max_duration_minutes, allow_nan=False).map(
                    lambda x: f"{x:.2f}"
                ),
            )
        )
        rows.append(
            {
                "id": f"R{k:05d}",
                "timestamp": f"{ts:%Y-%m-%d %H:%M:%S}",
                "area": draw(st.sampled_from(force.area_names)),
                "demand_type": draw(st.sampled_from(force.type_codes)),
                "duration": duration,
                "grade": draw(st.sampled_from(["immediate", "priority", "standard", ""])),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS).astype("str")


#: every rejection reason a frame can carry, in the loader's order (a frame has no malformed
#: rows; over-long durations are dropped, not rejected, unless the mapping says so)
FAULTS = tuple(r for r in REASONS if r not in ("malformed row", "implausible duration"))


def _plant(row: dict[str, str], fault: str, force: Force, earlier_id: str, variant: int) -> None:
    match fault:
        case "missing value":
            col = ("timestamp", "area", "demand_type")[variant % 3]
            row[col] = ("", "  ", "NA")[variant % 3]
        case "unparseable timestamp":
            row["timestamp"] = ("yesterday", "2026-02-30 10:00:00", "2026-13-01 10:00", "10:00")[
                variant % 4
            ]
        case "timestamp out of range":
            row["timestamp"] = ("1600-01-01 10:00:00", "2611-03-01 10:00:00", "1677-09-21 00:00:00")[variant % 3]
        case "non-existent local time":
            row["timestamp"] = "2026-03-29 01:30:00"
        case "in the future":
            row["timestamp"] = f"{NOW.tz_localize(None) + pd.Timedelta(hours=1 + variant):%Y-%m-%d %H:%M:%S}"
        case "unknown area":
            row["area"] = force.area_names[variant % len(force.area_names)] + "shire"
        case "unmapped demand type code":
            row["demand_type"] = "NOT-A-TYPE"
        case "non-numeric duration":
            row["duration"] = ("45 mins", "abc", "inf")[variant % 3]
        case "negative duration":
            row["duration"] = ("-1", "-0.5", "-600")[variant % 3]
        case "duplicate id":
            row["id"] = earlier_id
        case "outside window":
            later = AS_OF + pd.Timedelta(hours=1 + variant)
            earlier = AS_OF - pd.Timedelta(days=force.settings.window_days, hours=1 + variant)
            row["timestamp"] = f"{(later, earlier)[variant % 2]:%Y-%m-%d %H:%M:%S}"


@st.composite
def broken_extracts(draw: st.DrawFn, force: Force) -> tuple[pd.DataFrame, dict[int, str]]:
    """A valid extract with faults planted: ``(frame, {1-based row: expected reason})``.

    The unmapped-code fault is only planted when the force has no catch-all type.
    At least one row is left clean (a load with no usable record is an error).
    """
    df = draw(valid_rows(force, min_size=1, max_size=25))
    faults = [f for f in FAULTS if f != "unmapped demand type code" or force.settings.catch_all_type is None]
    rows = df.to_dict("records")
    expected: dict[int, str] = {}
    chosen = draw(st.lists(st.integers(0, len(rows) - 1), unique=True, max_size=len(rows) - 1))
    for i in sorted(chosen):
        fault = draw(st.sampled_from(faults))
        clean_before = [j for j in range(i) if j + 1 not in expected]
        if fault == "duplicate id" and not clean_before:
            continue
        earlier = rows[draw(st.sampled_from(clean_before))]["id"] if clean_before else ""
        _plant(rows[i], fault, force, earlier, draw(st.integers(0, 11)))
        expected[i + 1] = fault
    return pd.DataFrame(rows, columns=COLUMNS).astype("str"), expected
