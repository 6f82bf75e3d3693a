"""Demand extracts: reading, column mapping, row checks, compact records, sample data."""
