"""Exact fast paths: maximin search, apportionment, greedy and parametric greedy stages, closest posting."""
