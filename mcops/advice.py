"""The runbooks' quick fixes and expected recovery times, as advice beside a verdict.

Runbook 000's "Common issues and quick fixes" table names a fix and how long it takes for
each symptom; runbook 004 names the expected recovery time after each remediation. A
check declares its quick fix in `mcops.registry` (``quick_fix``, a key of thresholds.yaml
``recovery``); an action's recovery time is looked up by its name here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from mcops.findings import Finding, Level
from mcops.registry import check_spec
from mcops.thresholds import Thresholds, default_thresholds

__all__ = ["ACTION_RECOVERY", "QUICK_FIXES", "expected_recovery", "quick_fixes"]

#: 000 Incident Response, Step 3 "Common issues and quick fixes": the fix, in its words.
QUICK_FIXES: Mapping[str, str] = {
    "restart_server": "restart the server",
    "increase_max_connections": "increase max_connections",
    "disable_actors_rollback": "disable actors, roll back",
    "kill_queries_add_indexes": "kill slow queries, add indexes",
}

#: A remediation's name → its runbook recovery time (thresholds.yaml ``recovery``).
ACTION_RECOVERY: Mapping[str, str] = {
    "scale": "scale_out",
    "delete_pod": "delete_pod",
    "rollout_undo": "rollout_undo",
    "rollout_restart": "rollout_restart",
    "patch_resources": "patch_limits",
    "restart_local_server": "restart_server",
    "set_pool_size": "increase_max_connections",
    "add_runbook_indexes": "kill_queries_add_indexes",
    "kill_long_queries": "kill_queries_add_indexes",
}


def quick_fixes(
    findings: Iterable[Finding], *, thresholds: Thresholds | None = None
) -> tuple[str, ...]:
    """One line per quick fix that a firing finding calls for, worst finding first."""
    t = thresholds or default_thresholds()
    firing = sorted(
        (f for f in findings if f.checked and f.level >= Level.WARNING),
        key=lambda f: -int(f.level),
    )
    by_fix: dict[str, list[str]] = {}
    for finding in firing:
        if key := check_spec(finding.check).quick_fix:
            by_fix.setdefault(key, []).append(finding.check)
    return tuple(
        f"{QUICK_FIXES[key]} ({', '.join(checks)}): about {_span(t.recovery[key])}"
        for key, checks in by_fix.items()
    )


def expected_recovery(action: str, *, thresholds: Thresholds | None = None) -> str | None:
    """``"30–60 s"`` for a remediation the runbooks time; None for one they do not."""
    key = ACTION_RECOVERY.get(action)
    if key is None:
        return None
    return _span((thresholds or default_thresholds()).recovery[key])


def _span(bounds: tuple[timedelta, timedelta]) -> str:
    """As the runbooks write it: ``30 s``, ``1 min``, ``2–3 min``, ``30 s–1 min``."""
    low, high = (_short(b) for b in bounds)
    if low == high:
        return low
    (low_n, low_unit), high_unit = low.split(), high.split()[1]
    return f"{low_n}–{high}" if low_unit == high_unit else f"{low}–{high}"


def _short(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds} s" if seconds < 60 or seconds % 60 else f"{seconds // 60} min"
