"""Rules across roles: ratios, headcount caps, a force-wide move budget and coverage weights (forces on patterns).

In the force file::

    rules:
      - ratio: {role: PC, per: PCSO, at_least: 0.5, on: duty}   # a PC on duty per two PCSOs, every hour
      - ratio: {role: LCI, per: PC, at_most: 0.2}                # LCI posts at most 20% of PC posts
      - cap: {posts: 150, areas: [Swindon North]}                 # station capacity, all roles
    move_budget: {moves: 40, weights: {PCSO: 0.5}}               # force-wide, at a monthly reallocation
    coverage_weights: {PC: 1.0, PCSO: 0.5}                       # when rules couple roles

A ratio holds in every area (or the areas named): ``on: posts`` compares the
roles' posts in the area, ``on: duty`` the officers expected on duty (after
abstraction) in every hour of the week. A cap bounds the posts of the roles
named (default all) in each area named (default every area). The move budget
bounds ``sum over roles of weight x moves``, a change of team counting as a
move; roles not named weigh 1.

**Coverage weights** matter when a rule couples roles (a ratio, a cap over
several roles, the move budget): the maximin then first raises all roles'
coverage together, to the largest level ``t`` at which every role ``r``'s
coverage in every bucket is at least ``weight_r x t``, that is the smallest
of ``coverage_r / weight_r`` over the roles. A role of weight 2 must have
twice the coverage of a role of weight 1 to count as as well covered; a
role of weight 0.5, half. Roles not named weigh 1. Each role's own maximin
that follows is unweighted; without a rule coupling roles the weights change
nothing (the solve logs a warning), and a force of shifts (no patterns)
refuses them.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(CoverageWeights).validate_python({"PC": 1, "PCSO": 0.5})
{'PC': 1.0, 'PCSO': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from allocator.errors import did_you_mean

__all__ = ["Cap", "CoverageWeights", "MoveBudget", "Ratio", "Rule", "rule_problems"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Ratio(_Model):
    """``role`` at least / at most ``k`` times ``per`` in each area, on posts or on duty."""

    role: str = Field(min_length=1)
    per: str = Field(min_length=1)
    at_least: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    at_most: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    on: Literal["posts", "duty"] = "posts"
    areas: list[str] | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Ratio:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least and at_most")
        if self.role == self.per:
            raise ValueError(f"a ratio needs two different roles, got {self.role!r} twice")
        return self

    @property
    def factor(self) -> float:
        """The ratio's ``k``."""
        return float(self.at_least if self.at_least is not None else self.at_most)  # type: ignore[arg-type]

    def words(self) -> str:
        """The rule in plain words."""
        sense = "at least" if self.at_least is not None else "at most"
        what = "on duty" if self.on == "duty" else "posts"
        return f"{self.role} {what} {sense} {self.factor:g} x {self.per} {what}"


class Cap(_Model):
    """At most ``posts`` posts of the roles named (all if none) in each area named (all if none)."""

    posts: int = Field(ge=0)
    roles: list[str] | None = None
    areas: list[str] | None = None


class Rule(_Model):
    """One rule across roles: exactly one of ``ratio`` and ``cap``."""

    ratio: Ratio | None = None
    cap: Cap | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.ratio is None) == (self.cap is None):
            raise ValueError("a rule is exactly one of 'ratio' and 'cap'")
        return self


class MoveBudget(_Model):
    """A force-wide limit on weighted moves: ``sum_role weight_role moves_role <= moves``."""

    moves: int = Field(ge=0)
    weights: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _finite(self) -> MoveBudget:
        bad = {k: v for k, v in self.weights.items() if not (v > 0 and math.isfinite(v))}
        if bad:
            raise ValueError(f"move weights must be above 0, got {bad}")
        return self


def _plain_number(v: Any) -> Any:
    """A weight is a number as written: ``true``, ``"0.5"`` and ``null`` are refused."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError("must be a number")
    return v


#: a weight above 0 for a role's coverage, by role name
CoverageWeights = dict[str, Annotated[float, BeforeValidator(_plain_number), Field(gt=0, allow_inf_nan=False)]]


def _names(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(it[key]) for it in items if isinstance(it, dict) and it.get(key) is not None]


def rule_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Unknown roles and areas in ``rules`` and ``move_budget`` of a force given as plain data."""
    out: list[tuple[str, str]] = []
    roles = _names(data.get("roles"), "name")
    areas = _names(data.get("areas"), "name")
    rules = data.get("rules")
    for n, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        for kind in ("ratio", "cap"):
            body = rule.get(kind)
            if not isinstance(body, dict):
                continue
            where = f"rules[{n}].{kind}"
            named = [body.get("role"), body.get("per")] if kind == "ratio" else list(body.get("roles") or [])
            for role in named:
                if role is not None and role not in roles:
                    out.append((where, did_you_mean("role", str(role), roles)))
            for area in body.get("areas") or []:
                if area not in areas:
                    out.append((where, did_you_mean("area", str(area), areas)))
    budget = data.get("move_budget")
    if isinstance(budget, dict) and isinstance(budget.get("weights"), dict):
        for role in budget["weights"]:
            if role not in roles:
                out.append(("move_budget.weights", did_you_mean("role", str(role), roles)))
    weights = data.get("coverage_weights")
    if isinstance(weights, dict):
        for role in weights:
            if role not in roles:
                out.append(("coverage_weights", did_you_mean("role", str(role), roles)))
        if weights and not (data.get("windows") or data.get("patterns")):
            out.append(("coverage_weights", "coverage weights need a force on duty patterns (windows and "
                                            "patterns); a force of shifts allocates each role alone, so they "
                                            "would change nothing"))
    return out
