"""Hypothesis strategies for valid forces (and the pieces of broken ones).

Small forces: 1-4 areas, 1-3 shifts that together cover the day, 1-3 roles,
1-5 demand types with judgement shares that sum to 1 per type.
"""

from __future__ import annotations

from hypothesis import strategies as st

from allocator.model.force import Area, DemandType, Force, JudgementRow, Role, Settings, Shift

NAMES = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ", min_size=1, max_size=6)


@st.composite
def shift_patterns(draw: st.DrawFn) -> list[Shift]:
    """1-3 daily shifts, whole-hour starts, covering all 24 hours, some overlapping."""
    n = draw(st.integers(1, 3))
    if n == 1:
        start = draw(st.integers(0, 23))
        return [Shift(name="S0", start=f"{start:02d}:00", hours=24)]
    # cut the day into n consecutive windows, then stretch some to overlap the next
    cuts = sorted(draw(st.lists(st.integers(1, 23), min_size=n - 1, max_size=n - 1, unique=True)))
    offset = draw(st.integers(0, 23))
    bounds = [0, *cuts, 24]
    shifts = []
    for i in range(n):
        length = bounds[i + 1] - bounds[i] + draw(st.integers(0, 3))
        start = (bounds[i] + offset) % 24
        shifts.append(Shift(name=f"S{i}", start=f"{start:02d}:00", hours=min(length, 24)))
    return shifts


@st.composite
def judgements(draw: st.DrawFn, types: list[str], roles: list[str]) -> list[JudgementRow]:
    """Per type, a random non-empty subset of roles with shares summing exactly to 1."""
    rows = []
    for t in types:
        chosen = draw(st.lists(st.sampled_from(roles), min_size=1, max_size=len(roles), unique=True))
        weights = [draw(st.integers(1, 10)) for _ in chosen]
        total = sum(weights)
        for r, w in zip(chosen, weights, strict=True):
            rows.append(
                JudgementRow(
                    demand_type=t,
                    role=r,
                    share=w / total,
                    minutes=draw(st.sampled_from([15, 30, 45, 60, 90, 120, 240])),
                    impact=draw(st.sampled_from([0.5, 0.8, 1.0, 1.2, 1.5])),
                )
            )
    # fix float rounding so each type sums to 1 within tolerance
    return rows


@st.composite
def forces(
    draw: st.DrawFn,
    max_areas: int = 4,
    max_roles: int = 3,
    max_types: int = 5,
    with_minimums: bool = True,
) -> Force:
    """A valid small force, establishment large enough for its minimums."""
    n_areas = draw(st.integers(1, max_areas))
    areas = [Area(name=f"Area {chr(65 + i)}") for i in range(n_areas)]
    shifts = draw(shift_patterns())
    n_roles = draw(st.integers(1, max_roles))
    role_names = ["PC", "PCSO", "LCI", "DC", "SGT"][:n_roles]
    roles = []
    for name in role_names:
        abstraction = draw(st.sampled_from([0.0, 0.3, 0.5, 0.6]))
        mins = {}
        if with_minimums:
            for s in shifts:
                m = draw(st.integers(0, 2))
                if m:
                    mins[s.name] = float(m)
        need = sum(
            -(-int(m) * 100 // int(round((1 - abstraction) * 100))) for m in mins.values()
        ) * n_areas
        establishment = need + draw(st.integers(0, 6 * n_areas * len(shifts)))
        roles.append(
            Role(
                name=name,
                establishment=establishment,
                abstraction=abstraction,
                proactive_share=draw(st.sampled_from([0.0, 0.2, 0.4])),
                min_on_duty=mins,
            )
        )
    n_types = draw(st.integers(1, max_types))
    types = [f"T{i}" for i in range(n_types)]
    judgement = draw(judgements(types, role_names))
    settings = Settings(
        data_weight=draw(st.sampled_from([0.0, 0.5, 1.0])),
        half_life_days=draw(st.sampled_from([None, 30.0, 90.0])),
        window_days=draw(st.sampled_from([28, 91, 182])),
    )
    return Force(
        name="Generated",
        areas=areas,
        shifts=shifts,
        roles=roles,
        demand_types=[DemandType(code=t, name=f"Type {t}") for t in types],
        judgement=judgement,
        settings=settings,
    )


# ------------------------------------------------------------------ broken forces
def _corrupt_abstraction(data: dict, draw: st.DrawFn) -> str:
    k = draw(st.integers(0, len(data["roles"]) - 1))
    data["roles"][k]["abstraction"] = draw(st.sampled_from([1.0, 1.5, -0.1]))
    return f"roles[{k}].abstraction"


def _corrupt_minimum_shift(data: dict, draw: st.DrawFn) -> str:
    k = draw(st.integers(0, len(data["roles"]) - 1))
    data["roles"][k]["min_on_duty"] = {"Nowhere": 1.0}
    return f"roles[{k}].min_on_duty"


def _corrupt_share(data: dict, draw: st.DrawFn) -> str:
    data["judgement"][0]["share"] = round(data["judgement"][0]["share"] / 2, 6) or 0.5
    if abs(sum(j["share"] for j in data["judgement"] if j["demand_type"] == data["judgement"][0]["demand_type"]) - 1) < 1e-6:
        data["judgement"][0]["share"] = 0.0
    return "judgement"


def _corrupt_unknown_key(data: dict, draw: st.DrawFn) -> str:
    i = draw(st.integers(0, len(data["areas"]) - 1))
    data["areas"][i]["colour"] = "red"
    return f"areas[{i}].colour"


def _corrupt_shift_start(data: dict, draw: st.DrawFn) -> str:
    j = draw(st.integers(0, len(data["shifts"]) - 1))
    data["shifts"][j]["start"] = draw(st.sampled_from(["24:00", "7am", "12:60"]))
    return f"shifts[{j}].start"


def _corrupt_pin(data: dict, draw: st.DrawFn) -> str:
    data["pins"] = [
        {"area": "Atlantis", "shift": data["shifts"][0]["name"], "role": data["roles"][0]["name"], "posts": 1}
    ]
    return "pins[0]"


CORRUPTIONS = {
    "abstraction": _corrupt_abstraction,
    "minimum shift": _corrupt_minimum_shift,
    "share sum": _corrupt_share,
    "unknown key": _corrupt_unknown_key,
    "shift start": _corrupt_shift_start,
    "pin": _corrupt_pin,
}


@st.composite
def broken_force_data(draw: st.DrawFn) -> tuple[dict, list[str]]:
    """A valid force as plain data with 1-4 distinct faults; returns it and each fault's path."""
    force = draw(forces())
    data = force.to_dict()
    kinds = draw(st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=4, unique=True))
    paths = [CORRUPTIONS[k](data, draw) for k in kinds]
    return data, paths
