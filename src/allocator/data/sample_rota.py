"""A current posting for the sample force on rotas, so a monthly reallocation can be shown.

:func:`sample_current_rota` spreads each role's establishment evenly over the
areas (the first areas taking one more) and, within an area, evenly over the
teams of the role's patterns (the first teams taking one more): the posting a
force inherits when it has never allocated by demand. Deterministic; written
to ``data/samples/current.csv``.

Examples
--------
>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> current = sample_current_rota(force)
>>> list(current.columns)
['area', 'role', 'pattern', 'team', 'posts']
>>> current.groupby("role", sort=False)["posts"].sum().to_dict()
{'PC': 400, 'PCSO': 120, 'LCI': 60}
>>> current[(current["area"] == "Swindon North") & (current["role"] == "PC")]["posts"].tolist()
[14, 14, 13, 13, 13]
"""

from __future__ import annotations

import pandas as pd

from allocator.model.force import Force

__all__ = ["sample_current_rota"]


def _spread(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` whole shares, the first ``total % parts`` one larger."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)] if parts else []


def sample_current_rota(force: Force) -> pd.DataFrame:
    """An even current posting of a force on patterns: ``area, role, pattern, team, posts``.

    Each role's establishment is shared evenly over the areas, then over
    the teams of every pattern the role works (one team for a fixed
    pattern). Area bounds and cross-role rules are not looked at: it stands
    for a posting made before them.
    """
    from allocator.model.patterns import pattern_profiles

    profiles = {p.name: p for p in pattern_profiles(force)}
    rows = []
    for role in force.roles:
        for area, in_area in zip(force.area_names, _spread(role.establishment, len(force.areas)), strict=True):
            slots = [(name, team) for name in force.role_pattern_names(role.name) for team in profiles[name].teams]
            for (name, team), posts in zip(slots, _spread(in_area, len(slots)), strict=True):
                rows.append((area, role.name, name, team, posts))
    frame = pd.DataFrame(rows, columns=["area", "role", "pattern", "team", "posts"])
    order = {a: i for i, a in enumerate(force.area_names)}
    return frame.sort_values("area", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
