"""A plain pandas reference for the workload engine, written to be checked by eye.

One row per (record, role) after a merge on the judgement table, the formula
of ``docs/methodology.md`` applied column by column, a groupby to
(area, hour, role), a merge on the hour -> shift shares, a groupby to
(area, shift, role). No arrays, no kernels: it shares nothing with
:mod:`allocator.workload.engine` but the force.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from allocator.model.force import Force


def shift_share_table(force: Force, rule: str) -> pd.DataFrame:
    """``hour_of_day, shift, share``: how the shifts on duty share each hour of the day."""
    cover = pd.DataFrame(force.shift_cover(), columns=force.shift_names)
    cover.index.name = "hour_of_day"
    on = (cover > 0).astype(float) if rule == "equal" else cover
    shares = on.div(on.sum(axis=1), axis=0)
    long = shares.reset_index().melt(id_vars="hour_of_day", var_name="shift", value_name="share")
    return long[long["share"] > 0]


def reference_workload(
    records: pd.DataFrame, force: Force, as_of: pd.Timestamp | None = None, overlap_rule: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Judged hours by (area, shift, role) and by (area, hour_of_week, role), in pandas.

    Returns two frames: ``area, shift, role, hours`` and
    ``area, hour_of_week, role, hours`` (only the combinations with records).
    """
    settings = force.settings
    rule = overlap_rule or settings.overlap_rule
    local = records["timestamp"].dt.tz_convert(settings.timezone)
    if as_of is None:
        as_of = local.max()
    df = pd.DataFrame(
        {
            "area": records["area"].astype("category"),
            "demand_type": records["demand_type"].astype("category"),
            "duration": records["duration"].astype(float),
            "hour_of_day": local.dt.hour,
            "hour_of_week": local.dt.day_of_week * 24 + local.dt.hour,
        }
    )
    if settings.half_life_days is None:
        df["weight"] = 1.0
    else:
        age_days = (as_of - local).dt.total_seconds() / 86400
        df["weight"] = 0.5 ** (age_days / settings.half_life_days)

    # one row per (record, role) the judgement gives the record's demand type
    judgement = force.judgement_table()
    judgement["demand_type"] = judgement["demand_type"].astype(df["demand_type"].dtype)
    long = df.merge(judgement, on="demand_type", how="inner")
    dw = settings.data_weight
    time = np.where(
        long["duration"].isna(), long["minutes"], dw * long["duration"] + (1 - dw) * long["minutes"]
    )
    long["hours"] = long["share"] * long["impact"] * long["weight"] * time / 60

    factors = pd.DataFrame(
        [
            {"area": a, "role": r, "factor": force.area_factors.get(a, {}).get(r, 1.0)}
            for a in force.area_names
            for r in force.role_names
        ]
    )
    factors["area"] = factors["area"].astype(df["area"].dtype)
    long = long.merge(factors, on=["area", "role"], how="left")
    long["hours"] = long["hours"] * long["factor"]

    by_hour = long.groupby(
        ["area", "hour_of_week", "hour_of_day", "role"], as_index=False, observed=True
    )["hours"].sum()
    by_shift = by_hour.merge(shift_share_table(force, rule), on="hour_of_day")
    by_shift["hours"] = by_shift["hours"] * by_shift["share"]
    by_shift = by_shift.groupby(["area", "shift", "role"], as_index=False, observed=True)["hours"].sum()
    return by_shift, by_hour[["area", "hour_of_week", "role", "hours"]]


def as_array(by_shift: pd.DataFrame, force: Force) -> np.ndarray:
    """The reference's (area, shift, role) hours as an array in force order, zeros filled."""
    index = pd.MultiIndex.from_product([force.area_names, force.shift_names, force.role_names])
    series = by_shift.set_index(["area", "shift", "role"])["hours"].reindex(index, fill_value=0.0)
    return series.to_numpy().reshape(len(force.areas), len(force.shifts), len(force.roles))


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result (the benchmarks' one timer)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sample_over_areas(areas: int, file: str = "force.yaml") -> Force:
    """The bundled sample force ``file`` over ``areas`` areas, each role's establishment scaled with them.

    What names the sample's six areas is dropped: area factors, minimums per
    area and the ``service_levels`` section (its area types; the benchmarks
    that need floors give them as arrays).
    """
    import allocator

    data = allocator.load_force(allocator.sample_path(file)).to_dict()
    data["areas"] = [{"name": f"Area {i:04d}"} for i in range(areas)]
    data["area_factors"] = {}
    data.pop("service_levels", None)
    for role in data["roles"]:
        role["establishment"] = int(round(role["establishment"] * areas / 6))
        role["min_on_duty_by_area"] = {}
    return allocator.load_force(data)
