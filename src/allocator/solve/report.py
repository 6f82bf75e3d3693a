"""The report every allocation carries: status, objective, bound, gap and time per stage.

It belongs to no backend: exact fast paths and MILP backends fill the same
:class:`StageReport`, and :class:`SolverReport` gathers them for the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["STATUSES", "SolverReport", "StageReport", "worst_status"]

Status = Literal["optimal", "feasible", "infeasible", "no_solution", "error"]
#: statuses from best to worst
STATUSES: tuple[str, ...] = ("optimal", "feasible", "no_solution", "infeasible", "error")


def worst_status(statuses: list[str]) -> str:
    """The worst of several statuses (``optimal`` if there are none).

    >>> worst_status(["optimal", "feasible", "optimal"])
    'feasible'
    """
    return max(statuses, key=STATUSES.index, default="optimal")


@dataclass
class StageReport:
    """What one stage did: status, objective, best bound, gap, time, and how it was solved.

    ``method`` names what solved the stage: a backend (``cpsat``, ``pulp:cbc``,
    ``pulp:highs``), ``"exact search"`` (the breakpoint bisection of the maximin
    stage), ``"water-filling"`` (its closed-form fast path) or ``"greedy"`` (the
    exact marginal allocation of the separable stages). ``seconds`` is the time
    of the stage itself; model building is reported beside it.
    """

    name: str
    role: str
    status: str
    objective: float
    bound: float
    seconds: float
    method: str = ""

    @property
    def gap(self) -> float:
        """Relative gap ``|objective - bound| / max(|objective|, 1e-9)`` (0 when equal)."""
        if math.isnan(self.objective) or math.isnan(self.bound):
            return math.nan
        diff = abs(self.objective - self.bound)
        return 0.0 if diff <= 1e-9 else diff / max(abs(self.objective), 1e-9)


@dataclass
class SolverReport:
    """How the allocation was solved.

    Attributes
    ----------
    backend
        Backend name (``cpsat``, ``pulp:cbc``, ``pulp:highs``): the solver
        chosen; each stage's ``method`` says what actually solved it.
    status
        ``optimal``, ``feasible`` (time limit hit with a solution),
        ``infeasible``, ``no_solution`` (time limit without one) or ``error``.
    objective, bound
        Per stage and role (``"maximin[PC]"``, ``"moves[PC]"``,
        ``"proportional[PC]"``): the value reached and the best proven bound.
        ``maximin`` values are the exact smallest coverage ratio.
    gap
        Largest relative gap over the stages.
    seconds
        Total wall time, including building the problem and the solver models.
    build_seconds
        The part of ``seconds`` spent building the problem and solver models.
    stages
        One :class:`StageReport` per stage and role, in solve order.
    checks
        Independent checks (``allocate(..., verify=True)``): for each role the
        plain maximin MILP solved by the backend, its ``objective`` the MILP's
        smallest coverage, to be compared with the exact ``maximin`` stage.
    """

    backend: str
    status: str
    objective: dict[str, float] = field(default_factory=dict)
    bound: dict[str, float] = field(default_factory=dict)
    gap: float = 0.0
    seconds: float = 0.0
    stages: list[StageReport] = field(default_factory=list)
    build_seconds: float = 0.0
    checks: list[StageReport] = field(default_factory=list)

    def add(self, stage: StageReport) -> None:
        """Record one stage."""
        self.stages.append(stage)
        key = f"{stage.name}[{stage.role}]"
        self.objective[key] = stage.objective
        self.bound[key] = stage.bound
        g = stage.gap
        if not math.isnan(g):
            self.gap = max(self.gap, g)
        self.status = worst_status([self.status, stage.status])

    def __str__(self) -> str:
        lines = [
            f"{self.backend}: {self.status} in {self.seconds:.3f} s "
            f"(model building {self.build_seconds:.3f} s, gap {self.gap:.3g})"
        ]
        for s in self.stages:
            lines.append(
                f"  {s.name}[{s.role}] by {s.method or '?'}: {s.status}, objective {s.objective:.6g}, "
                f"bound {s.bound:.6g}, gap {s.gap:.3g}, {s.seconds:.3f} s"
            )
        for c in self.checks:
            exact = self.objective.get(f"maximin[{c.role}]", math.nan)
            lines.append(
                f"  check {c.name}[{c.role}] by {c.method}: {c.status}, MILP coverage {c.objective:.9g}, "
                f"bound {c.bound:.9g}, exact {exact:.9g}, {c.seconds:.3f} s"
            )
        return "\n".join(lines)
