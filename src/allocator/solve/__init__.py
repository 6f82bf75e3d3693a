"""Solving the allocation: the planner, exact fast paths (exact/), MILP backends (milp/), diagnosis."""
