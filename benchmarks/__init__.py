"""Reproducible performance measurements (scripts that print tables, not timed tests)."""
