"""Shared inputs of the what-if tests: the sample force on rotas and small bases built from it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import allocator
from allocator.whatif import Base, ScenarioSpec, parse_scenarios


@cache
def rota_force() -> allocator.Force:
    return allocator.load_force(allocator.sample_path("force.yaml"))


@cache
def small_base(n: int = 3000, seed: int = 1) -> Base:
    """A base of ``n`` generated records on the sample force (no current posting)."""
    force = rota_force()
    return Base.from_records(allocator.sample_demand(force, n, seed=seed), force)


def spec_text(scenarios: str, extra: str = "", current: bool = False) -> str:
    """A scenario file on the bundled sample (absolute paths) with the given ``scenarios:`` items."""
    base = f"force: {allocator.sample_path('force.yaml')}, demand: {allocator.sample_path('demand.csv')}"
    if current:
        base += f", current: {allocator.sample_path('current.csv')}"
    return f"base: {{{base}}}\noptions: {{time_limit: 30}}\nscenarios:\n{scenarios}{extra}"


def spec(scenarios: str, extra: str = "", current: bool = False) -> ScenarioSpec:
    return parse_scenarios(spec_text(scenarios, extra, current), "scenarios.yaml", Path("."))
