"""Scenario wiring: the fetching and remediation plans one scenario notebook needs.

Judges stay pure in `mcops.checks`; what a notebook would otherwise do in its cells
(pick the source from the parameters, read it, plan the runbook's fixes) lives here, one
module per scenario, so the notebook reads like the runbook: a step, then one line.
"""
