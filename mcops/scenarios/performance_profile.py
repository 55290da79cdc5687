"""Runbook 000 "Performance Profiling" and Alert ActorUnresponsive: which fixes to plan.

Adding the runbook's indexes is planned from the notebook; killing long-running queries
(ActorUnresponsive remediation step 4) only when actor processing is critical and the
database is PostgreSQL, whose ``pg_stat_activity`` shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcops.findings import Level

if TYPE_CHECKING:
    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["kill_long_queries"]


def kill_long_queries(inv: Investigation) -> list[Action]:
    """Step 4 "Kill long-running database queries", planned (cancel before terminate,
    at most 5, older than 30 s) when p95 by message type is critical."""
    from mcops.remediate import KillLongQueries

    writable = inv.database_for_actions()
    critical = any(
        f.check == "p95_by_message_type" and f.checked and f.level == Level.CRITICAL
        for f in inv.findings
    )
    if not (writable and critical and writable.startswith("postgresql")):
        return []
    return [KillLongQueries(writable, reason="ActorUnresponsive step 4: long-running queries")]
