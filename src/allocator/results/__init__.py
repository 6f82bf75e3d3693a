"""The allocation result: tidy tables, metrics, moves, explanations."""
