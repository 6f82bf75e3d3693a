"""A scenario applied to the base: a varied force, and demand growth on the partial sums.

Nothing is re-read: rule, establishment, abstraction and judgement changes give
a new :class:`~allocator.model.force.Force` (validated as a force file is, every
problem named by the scenario and its line); demand growth scales the base's
summable :class:`~allocator.workload.kernel.Partials` per (area, demand type).

Examples
--------
>>> import numpy as np, allocator
>>> from allocator.whatif.spec import Growth
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> m = growth_matrix(force, [Growth(1.15, "DA"), Growth(2.0, "DA", "Swindon North")])
>>> float(m[0, force.type_codes.index("DA")]), float(m[1, force.type_codes.index("DA")]), float(m[0, 0])
(2.3, 1.15, 1.0)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from allocator.errors import ForceError, Problem, did_you_mean
from allocator.model.force import Force
from allocator.model.forcefile import load_force
from allocator.whatif.spec import Growth, Scenario, ScenarioError
from allocator.workload.kernel import Partials

__all__ = ["apply_scenario", "grow_partials", "growth_matrix", "scenario_force", "scenario_problems"]


def growth_matrix(force: Force, growth: Sequence[Growth]) -> np.ndarray:
    """Multiplier per (area, demand type), float64; entries that meet multiply, 1 elsewhere.

    Names must be the force's (see :func:`scenario_problems`); unknown ones raise ``KeyError``.
    """
    out = np.ones((len(force.areas), len(force.demand_types)))
    for g in growth:
        a = slice(None) if g.area is None else force.area_names.index(g.area)
        t = slice(None) if g.demand_type is None else force.type_codes.index(g.demand_type)
        out[a, t] *= g.multiplier
    return out


def grow_partials(partials: Partials, multiplier: np.ndarray) -> Partials:
    """The partial sums as if each (area, demand type) had ``multiplier`` times its records.

    Record counts, recency weight sums and recorded minutes all scale, so the
    judged workload and the committed (utilisation) hours of a cell scale by
    its multiplier exactly. Counts become float64 (expected records) unless
    every multiplier is 1, when the partials are returned unchanged.

    >>> import numpy as np
    >>> p = Partials.zeros(2, 3)
    >>> p.count[0, 5, 1, 1] = 4
    >>> q = grow_partials(p, np.array([[1.0, 1.5, 1.0], [1.0, 1.0, 1.0]]))
    >>> float(q.count[0, 5, 1, 1]), grow_partials(p, np.ones((2, 3))) is p
    (6.0, True)
    """
    m = np.asarray(multiplier, dtype=np.float64)
    if m.shape != partials.count.shape[:1] + partials.count.shape[2:3]:
        raise ValueError(f"multiplier of shape {m.shape} does not fit partials of shape {partials.count.shape}")
    if np.all(m == 1.0):
        return partials
    per_cell = m[:, None, :]
    return Partials(
        partials.count * per_cell[..., None],
        partials.weight * per_cell[..., None],
        partials.minutes * per_cell,
        partials.first_ns,
    )


def scenario_problems(force: Force, scenario: Scenario, source: str) -> list[Problem]:
    """Names in ``scenario`` that the force does not know, each with the scenario's name and line."""
    problems: list[Problem] = []

    def add(path: tuple[Any, ...], message: str, value: Any) -> None:
        line = None
        p = path
        while p and line is None:
            line = scenario.lines.get(p)
            p = p[:-1]
        where = f"scenario {scenario.name!r}, " + ".".join(str(x) for x in path)
        problems.append(Problem(source, where, message, value, line=line or scenario.line))

    roles, areas, types = force.role_names, force.area_names, force.type_codes
    for role, changes in scenario.roles.items():
        if role not in roles:
            add(("roles", role), did_you_mean("role", role, roles), role)
            continue
        for pattern in changes.get("patterns", []):
            if pattern not in force.pattern_names:
                add(("roles", role, "patterns"), did_you_mean("pattern", pattern, force.pattern_names), pattern)
    for area, changes in scenario.areas.items():
        if area not in areas:
            add(("areas", area), did_you_mean("area", area, areas), area)
        for key, bounds in changes.items():
            for role in bounds:
                if role not in roles:
                    add(("areas", area, key, role), did_you_mean("role", role, roles), role)
    for i, g in enumerate(scenario.demand):
        if g.demand_type is not None and g.demand_type not in types:
            add(("demand", i, "type"), did_you_mean("demand type", g.demand_type, types), g.demand_type)
        if g.area is not None and g.area not in areas:
            add(("demand", i, "area"), did_you_mean("area", g.area, areas), g.area)
    defined = {(j.demand_type, j.role) for j in force.judgement}
    for i, j in enumerate(scenario.judgement):
        ok = True
        if j.demand_type not in types:
            add(("judgement", i, "type"), did_you_mean("demand type", j.demand_type, types), j.demand_type)
            ok = False
        if j.role not in roles:
            add(("judgement", i, "role"), did_you_mean("role", j.role, roles), j.role)
            ok = False
        if ok and (j.demand_type, j.role) not in defined and (j.share is None or j.minutes is None):
            add(("judgement", i), f"the judgement has no row for ({j.demand_type}, {j.role}); a new row needs "
                "share and minutes", j.demand_type)
    return problems


def scenario_force(force: Force, scenario: Scenario, source: str = "<scenarios>") -> Force:
    """The force with the scenario's role, area and judgement changes, validated as a force file is.

    Raises
    ------
    ScenarioError
        Naming the scenario and its line: unknown names, or a varied force
        that is not a valid force (a negative establishment, shares of a demand
        type that no longer sum to 1, a minimum on an unknown window, ...).
    """
    problems = scenario_problems(force, scenario, source)
    if problems:
        raise ScenarioError(source, problems)
    if not (scenario.roles or scenario.areas or scenario.judgement):
        return force
    data = copy.deepcopy(force.to_dict())
    for role in data["roles"]:
        changes = scenario.roles.get(role["name"])
        if not changes:
            continue
        for key in ("abstraction", "establishment", "proactive_share", "patterns"):
            if key in changes:
                role[key] = changes[key]
        if "establishment_change" in changes:
            role["establishment"] = role["establishment"] + changes["establishment_change"]
        if "min_on_duty" in changes:
            role["min_on_duty"] = {**role.get("min_on_duty", {}), **changes["min_on_duty"]}
    for area in data["areas"]:
        for key, bounds in scenario.areas.get(area["name"], {}).items():
            area[key] = {**area.get(key, {}), **bounds}
    rows = {(j["demand_type"], j["role"]): j for j in data["judgement"]}
    for change in scenario.judgement:
        row = rows.get((change.demand_type, change.role))
        if row is None:
            row = {"demand_type": change.demand_type, "role": change.role, "impact": 1.0}
            data["judgement"].append(row)
            rows[(change.demand_type, change.role)] = row
        for key in ("share", "minutes", "impact"):
            value = getattr(change, key)
            if value is not None:
                row[key] = value
    try:
        return load_force(data)
    except ForceError as exc:
        raise ScenarioError(source, [_reworded(p, source, scenario) for p in exc.problems]) from None


def _reworded(p: Problem, source: str, scenario: Scenario) -> Problem:
    """A problem of the varied force, named by the scenario file, the scenario and its line."""
    where = f"scenario {scenario.name!r}, varied force: {p.where}"
    if p.as_dict()["value"] is None:
        return Problem(source, where, p.message, line=scenario.line)
    return Problem(source, where, p.message, p.value, line=scenario.line)


def apply_scenario(force: Force, partials: Partials, scenario: Scenario, source: str = "<scenarios>"
                   ) -> tuple[Force, Partials]:
    """The scenario's force and partial sums (see :func:`scenario_force`, :func:`grow_partials`)."""
    varied = scenario_force(force, scenario, source)
    return varied, grow_partials(partials, growth_matrix(force, scenario.demand))
