"""Shared fixtures and the hypothesis profiles (``ci`` keeps the suite fast)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import allocator

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",  # for a deep check before a release: HYPOTHESIS_PROFILE=thorough
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def sample_force() -> allocator.Force:
    """The bundled six-area sample force."""
    return allocator.load_force(allocator.sample_path("force_shifts.yaml"))
