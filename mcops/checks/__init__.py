"""Checks: one judge per runbook diagnostic, each returning a Finding.

Judges are pure: DataFrames and thresholds in, a Finding out. They never read a source,
build a remediation or see an `Investigation`; what to read, from where, and which fixes
to plan live with the scenario in `mcops.scenarios`, and `Investigation.check` turns a
source failure into the DESIGN contract's "not checked: <why>". So a judge is tested with
a hand-made frame, and the same judge serves every scenario that asks its question.
`tests/test_check_purity.py` holds the line.
"""
