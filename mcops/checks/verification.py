"""After a remediation: did it leave the state its runbook query expects?

Shared by every notebook that applies an action and then re-runs the runbook's
diagnostic query: rows left after a plan are expected, rows left after an apply are not.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["applied", "remediation_verified"]


def applied(report: Any | None) -> bool:
    """Whether ``report`` (an `mcops.remediate.ActionReport`, or None) applied its plan."""
    return report is not None and getattr(report, "mode", "plan") == "apply"


def remediation_verified(
    remaining: pd.DataFrame,
    *,
    report: Any | None,
    what: str,
    check: str = "remediation_verified",
) -> Finding:
    """After a remediation: the runbook's query must return no rows once applied.

    ``remaining`` is that query's result now; ``report`` the action's
    `mcops.remediate.ActionReport` (None: the action could not be built, e.g. no
    database); ``what`` names the rows ("duplicate commit epochs"). Rows remaining after
    a plan are expected and reported as info; after an apply they are critical.
    """
    n = len(remaining)
    if n == 0:
        return Finding.make(check, Level.OK, f"Verified: no {what} remain")
    if applied(report):
        return Finding.make(
            check,
            Level.CRITICAL,
            f"Verification failed: {n} {what} remain after the apply",
            detail="The remediation did not leave the expected state; see the audit log.",
            rows=remaining,
        )
    return Finding.make(
        check,
        Level.INFO,
        f"Plan only: {n} {what} remain (nothing was changed)",
        detail="Review the plan above, then run again with apply_remediation=True.",
        rows=remaining,
    )
