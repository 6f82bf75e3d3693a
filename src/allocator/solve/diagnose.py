"""Before solving: can the rules be met at all? After: why not, in the force's words.

:func:`diagnose` runs exact checks on an
:class:`~allocator.model.problem.AllocationProblem` role by role and returns plain
sentences: errors (no posting can meet the rules) and warnings (the problem is
solvable but some cell with workload must go without a post). When rules
conflict, :func:`explain_infeasible` finds a minimal set of conflicting rule
groups with a deletion filter over the exact feasibility test.

Examples
--------
>>> import numpy as np, allocator
>>> from allocator.model.problem import build_problem
>>> force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
>>> small = force.model_copy(update={"roles": [force.roles[0].model_copy(
...     update={"establishment": 100})] + force.roles[1:]})
>>> d = diagnose(build_problem(np.ones((6, 5, 3)), small))
>>> print(d.errors[0])
minimum staffing needs 140 PCs; the establishment is 100
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from allocator.errors import AllocatorError
from allocator.model.problem import MIN_STAFFING, AllocationProblem, RoleProblem

__all__ = ["Diagnosis", "InfeasibleError", "diagnose", "explain_infeasible"]

logger = logging.getLogger(__name__)

_SHOW = 5  # cells named in a message before "and N more"


class InfeasibleError(AllocatorError):
    """No posting meets the rules (or none was found in time).

    Attributes
    ----------
    reasons
        Plain sentences naming the force's areas, shifts and roles.
    report
        The :class:`~allocator.solve.milp.SolverReport` so far.
    """

    def __init__(self, reasons: list[str], report: Any = None):
        self.reasons = list(reasons)
        self.report = report
        n = len(self.reasons)
        lines = [f"no allocation is possible: {n} reason{'s' if n != 1 else ''}"]
        lines += [f"  - {r}" for r in self.reasons]
        super().__init__("\n".join(lines))


@dataclass
class Diagnosis:
    """What the pre-solve checks found."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors


def _plural(n: int, role: str) -> str:
    return f"{n} {role}" + ("s" if n != 1 and not role.endswith("s") else "")


def _cells(problem: AllocationProblem, flat: np.ndarray) -> str:
    S = len(problem.shifts)
    names = [f"{problem.areas[c // S]} / {problem.shifts[c % S]}" for c in flat[:_SHOW]]
    more = len(flat) - _SHOW
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def diagnose(problem: AllocationProblem) -> Diagnosis:
    """Check every role's rules exactly before solving.

    Parameters
    ----------
    problem
        The allocation problem.

    Returns
    -------
    Diagnosis
        ``errors`` (each a reason no posting exists) and ``warnings``.
    """
    out = Diagnosis()
    for r in range(len(problem.roles)):
        _role_checks(problem, problem.role_problem(r), r, out)
    if out.errors:
        for r in range(len(problem.roles)):
            if not problem.role_problem(r).check():
                out.errors.extend(explain_infeasible(problem, r, core_only=True))
    return out


def _role_checks(problem: AllocationProblem, rp: RoleProblem, r: int, out: Diagnosis) -> None:
    role, A, S = rp.name, rp.n_areas, rp.n_shifts
    pins = problem.pins[:, :, r].ravel()
    pinned = pins >= 0
    lower = problem.lower[:, :, r].ravel()
    upper = problem.upper[:, :, r].ravel()
    errors: list[str] = []

    low_pin = np.flatnonzero(pinned & (pins < lower))
    for c in low_pin:
        src = problem.lower_source(int(c) // S, int(c) % S, r) or MIN_STAFFING
        errors.append(
            f"the pin of {_plural(int(pins[c]), role)} in {_cells(problem, np.array([c]))} "
            f"is below the {src} of {int(lower[c])}"
        )
    high_pin = np.flatnonzero(pinned & (pins > upper))
    for c in high_pin:
        errors.append(
            f"the pin of {_plural(int(pins[c]), role)} in {_cells(problem, np.array([c]))} "
            f"is above the most the cell may hold ({int(upper[c])})"
        )
    if errors:
        out.errors.extend(errors)
        return

    alo = rp.lo.reshape(A, S).sum(axis=1)
    ahi = rp.hi.reshape(A, S).sum(axis=1)
    pin_sum = np.where(pinned, pins, 0).reshape(A, S).sum(axis=1)
    for a in range(A):
        area = problem.areas[a]
        if alo[a] > rp.area_max[a]:
            if pin_sum[a] > rp.area_max[a]:
                errors.append(
                    f"pins in {area} exceed the area's bound: {_plural(int(pin_sum[a]), role)} "
                    f"pinned, at most {int(rp.area_max[a])}"
                )
            else:
                srcs = [k for k, v in problem.lower_bounds.items() if (v[a, :, r] > 0).any()]
                what = " and ".join((srcs or [MIN_STAFFING]) + (["pins"] if pin_sum[a] else []))
                errors.append(
                    f"{what} in {area} need {_plural(int(alo[a]), role)}; "
                    f"the area's bound is {int(rp.area_max[a])}"
                )
        if ahi[a] < rp.area_min[a]:
            errors.append(
                f"{area} must have at least {_plural(int(rp.area_min[a]), role)} but its pins "
                f"and bounds allow at most {int(ahi[a])}"
            )
    if errors:
        out.errors.extend(errors)
        return

    need_lo = np.maximum(alo, rp.area_min)
    can_hi = np.minimum(ahi, rp.area_max)
    if need_lo.sum() > rp.total:
        parts = [k for k, v in problem.lower_bounds.items() if (v[:, :, r] > 0).any()] or [MIN_STAFFING]
        if pinned.any():
            parts.append("pins")
        if (rp.area_min > alo).any():
            parts.append("area minimums")
        what = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
        errors.append(f"{what} need{'s' if len(parts) == 1 else ''} {_plural(int(need_lo.sum()), role)}; "
                      f"the establishment is {rp.total}")
    elif rp.exact_total and can_hi.sum() < rp.total:
        errors.append(
            f"area bounds and pins allow at most {_plural(int(can_hi.sum()), role)}; the establishment "
            f"is {rp.total} (allow_unallocated=True posts fewer)"
        )
    if errors:
        out.errors.extend(errors)
        return

    if rp.current is not None and rp.max_moves is not None:
        l1 = rp.min_l1(rp.lo, rp.hi)
        if l1 > 2 * rp.max_moves:
            out.errors.append(
                f"{role}: max_moves {rp.max_moves} cannot reach the minimums and bounds: at least "
                f"{math.ceil(l1 / 2)} moves needed"
            )
            return
    _coverage_warnings(problem, rp, out)


def _coverage_warnings(problem: AllocationProblem, rp: RoleProblem, out: Diagnosis) -> None:
    role = rp.name
    obj = rp.objective
    if not obj.any():
        if rp.total > 0:
            out.warnings.append(f"{role}: no cell has workload; posts follow minimums and proportional "
                                f"rules only")
        return
    blocked = np.flatnonzero(obj & (rp.hi == 0))
    if blocked.size:
        out.warnings.append(
            f"{role}: {blocked.size} cell(s) with workload may hold no {role} (area bound 0), so the "
            f"smallest coverage is zero: {_cells(problem, blocked)}"
        )
        return
    bare = obj & (rp.lo == 0)
    spare = rp.total - int(rp.lo.sum())
    if bare.sum() > spare:
        order = np.flatnonzero(bare)
        order = order[np.argsort(rp.workload[order] / rp.capacity[order], kind="stable")]
        short = int(bare.sum() - spare)
        out.warnings.append(
            f"{role}: {_plural(max(spare, 0), role)} left after minimums for {int(bare.sum())} cells "
            f"with workload and no minimum, so at least {short} of them will have no {role} "
            f"(coverage zero); the least loaded are {_cells(problem, order[:short])}"
        )


# ------------------------------------------------------------- conflict core
_GROUPS = ("establishment", "area bounds", "pins", "move limit")


def _relaxed(problem: AllocationProblem, r: int, drop: set[str]) -> tuple[RoleProblem, dict[str, bool]]:
    lower_bounds = {k: v for k, v in problem.lower_bounds.items() if k not in drop}
    p = problem
    if lower_bounds.keys() != problem.lower_bounds.keys():
        p = replace(problem, lower_bounds=lower_bounds)
    if "pins" in drop:
        p = replace(p, pins=np.full(p.shape, -1, dtype=np.int64))
    if "area bounds" in drop:
        top = p.establishment
        p = replace(p, area_min=np.zeros_like(p.area_min),
                    area_max=np.broadcast_to(top, p.area_max.shape).astype(np.int64),
                    upper=np.broadcast_to(top, p.shape).astype(np.int64))
    flags = {"areas": "area bounds" not in drop, "total": "establishment" not in drop,
             "moves": "move limit" not in drop}
    return p.role_problem(r), flags


def explain_infeasible(problem: AllocationProblem, r: int, core_only: bool = False) -> list[str]:
    """A minimal set of rule groups that cannot all hold for role ``r``.

    Deletion filter: drop each rule group in turn (each named lower bound,
    pins, area bounds, establishment, move limit); if the rest is still
    infeasible the group is not needed to explain the conflict.

    Returns
    -------
    list of str
        One sentence naming the conflicting rules (empty if role ``r`` is feasible).
    """
    role = problem.roles[r]
    rp0 = problem.role_problem(r)
    if rp0.check():
        return []
    groups = [*problem.lower_bounds.keys(), *_GROUPS]
    if not (problem.pins[:, :, r] >= 0).any():
        groups.remove("pins")
    if problem.current is None or problem.max_moves is None:
        groups.remove("move limit")
    needed = list(groups)
    for g in groups:
        trial = {x for x in groups if x not in needed or x == g}
        rp, flags = _relaxed(problem, r, trial)
        if not rp.check(areas=flags["areas"], total=flags["total"], moves=flags["moves"]):
            needed.remove(g)
    details = {
        "establishment": f"establishment {int(problem.establishment[r])}",
        "move limit": f"max_moves {problem.max_moves}",
    }
    names = [details.get(g, g) for g in needed]
    text = f"{role}: these rules conflict: " + "; ".join(names)
    if not core_only:
        found = Diagnosis()
        _role_checks(problem, rp0, r, found)
        return [*found.errors, text]
    return [text]
