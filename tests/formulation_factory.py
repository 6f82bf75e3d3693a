"""Small formulations made by hand, for brute force and conformance tests of the lexicographic solver.

A tiny force: ``A`` areas, one or two roles, each role on one rota of ``T``
teams whose on-duty minutes per hour of the week are drawn at random, three
buckets, an establishment per role, and optional minimum staffing, team
equality, a ratio across roles and a move budget.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from allocator.model import formulation as fm
from allocator.model.formulation import Formulation, family_from_rows


def tiny(
    seed: int,
    areas: int = 2,
    teams: int = 2,
    roles: int = 1,
    establishment: tuple[int, ...] = (6, 3),
    minimum: int = 0,
    team_rule: bool = False,
    ratio: bool = False,
    budget: int | None = None,
) -> Formulation:
    rng = np.random.default_rng(seed)
    B = 3
    on = rng.integers(0, 3, size=(roles, teams, 168)) * 30
    W = rng.uniform(1, 10, size=(areas, roles, B))
    cols = [(a, r, t) for a in range(areas) for r in range(roles) for t in range(teams)]
    ca = np.array([c[0] for c in cols])
    cr = np.array([c[1] for c in cols])
    ct = np.array([c[2] for c in cols])
    J = len(cols)
    est = establishment[:roles]
    families = [family_from_rows(
        fm.ESTABLISHMENT,
        [(np.flatnonzero(cr == r).tolist(), [1] * int((cr == r).sum()), est[r], est[r], f"R{r}: {est[r]} posts")
         for r in range(roles)], ca, cr)]
    if minimum:
        # at least `minimum` post-minutes in hour 0 from each area's role-0 teams
        rows = [(np.flatnonzero((ca == a) & (cr == 0)).tolist(), [1] * teams, minimum, math.inf,
                 f"A{a}: {minimum} on duty") for a in range(areas)]
        families.append(family_from_rows(fm.MIN_STAFFING, rows, ca, cr))
    if team_rule:
        rows = []
        for a in range(areas):
            for r in range(roles):
                c = np.flatnonzero((ca == a) & (cr == r))
                for i, k in itertools.permutations(range(c.size), 2):
                    rows.append(([int(c[i]), int(c[k])], [1, -1], -math.inf, 1, f"A{a} R{r} teams"))
        families.append(family_from_rows(fm.TEAM_EQUALITY, rows, ca, cr))
    if ratio and roles > 1:
        # role 1's posts at most role 0's posts in every area
        rows = [(np.flatnonzero((ca == a) & (cr == 1)).tolist() + np.flatnonzero((ca == a) & (cr == 0)).tolist(),
                 [1] * teams + [-1] * teams, -math.inf, 0, f"A{a}: R1 at most R0") for a in range(areas)]
        families.append(family_from_rows(fm.RATIO, rows, ca, cr))
    current = None
    if budget is not None:
        current = np.zeros(J, dtype=np.int64)
        for r in range(roles):
            mine = np.flatnonzero(cr == r)
            picks = rng.multinomial(est[r], np.ones(mine.size) / mine.size)
            current[mine] = picks
        families.append(family_from_rows(fm.MOVE_BUDGET, [([], [], -math.inf, 2 * budget, f"{budget} moves")],
                                         ca, cr, l1=lambda i: np.ones(J, dtype=np.int64)))
    return Formulation(
        areas=tuple(f"A{a}" for a in range(areas)), roles=tuple(f"R{r}" for r in range(roles)), patterns=("rota",),
        teams=(tuple(str(t + 1) for t in range(teams)),), buckets=("b0", "b1", "b2"),
        col_area=ca, col_role=cr, col_pattern=np.zeros(J, dtype=np.int64), col_team=ct,
        col_lo=np.zeros(J, dtype=np.int64), col_hi=np.array([est[r] for r in cr], dtype=np.int64),
        on_duty_minutes=on[cr, ct], period_weeks=1, bucket_of_hour=np.repeat(np.arange(B), 56),
        workload=W, kappa=np.full(roles, 0.01), available=np.full(roles, 0.5), proactive=np.zeros(roles),
        establishment=np.array(est, dtype=np.int64), families=families, weeks=26.0, current=current,
    )


def brute(f: Formulation) -> tuple[list[float], np.ndarray | None]:
    """Over every posting meeting the rules, the lexicographic best smallest coverages.

    Roles in force order; when a family couples roles, the smallest coverage
    over all roles first (the solver's joint stage).
    """
    J = f.n
    ranges = [range(int(f.col_lo[j]), int(f.col_hi[j]) + 1) for j in range(J)]
    best: list[float] | None = None
    best_x = None
    for x in itertools.product(*ranges):
        xa = np.array(x, dtype=np.int64)
        if not f.admits(xa):
            continue
        levels = [f.min_coverage(xa, r) for r in range(len(f.roles))]
        key = [(-1.0 if math.isnan(v) else v) for v in levels]
        if any(fam.links_roles for fam in f.families) and len(key) > 1:
            key = [min(key), *key]
        if best is None or key > best:
            best, best_x = key, xa
    return (best or []), best_x
