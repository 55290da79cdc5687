"""Checks: one function per runbook diagnostic, each returning a Finding.

Checks take DataFrames (what `mcops.sources` returns), never sources, so they are pure
and unit-testable. `guarded` turns a source failure into the DESIGN contract's
"not checked: <why>" finding, so a notebook never dies on a missing source.
"""

from mcops.checks.guard import guarded, run_guarded

__all__ = ["guarded", "run_guarded"]
