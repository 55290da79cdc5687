"""Runbook 004 Scenario 6 steps 2, 4 and 5: is the global controller there, answering,
and what does the MC log about it?

Step 2 (``kubectl get pods -l app=global-controller``): root cause 1 "GC Service Down —
Fix: Escalate to GC Team". No ready GC pod means no MC can register or heartbeat: the
severity table's "Complete GC registration failure" (P1). Step 4 (``curl -i .../health``
from the MC pod): here the GET goes from where mcops runs, which the finding says. Step 5
(``kubectl logs ... | grep -i "gc\\|heartbeat\\|register"``): the lines at WARN or ERROR.
"""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["gc_log_errors", "gc_pods", "gc_reachable"]

_GC_TEAM = "Escalate to the GC Team (#gc-oncall, PagerDuty: GC-Team)."
#: the runbook's grep -i "gc\|heartbeat\|register" (substrings, as grep matches them)
_GC_WORDS = r"(?i)gc|heartbeat|register"
_LOUD = ("WARN", "WARNING", "ERROR", "FATAL", "CRITICAL")


def gc_pods(frame: pd.DataFrame) -> Finding:
    """Step 2 judged: no GC pod ready → critical; some not ready → warning."""
    check = "gc_pods"
    selector = str(frame.attrs.get("selector") or "app=global-controller")
    if frame.empty:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"No GC pod found ({selector}): the global controller is not running",
            detail=f"GC Service Down (Scenario 6 root cause 1). {_GC_TEAM}",
            count=0,
        )
    cols = [c for c in ("name", "phase", "ready", "restarts") if c in frame]
    ready = int(frame["ready"].astype(bool).sum())
    total = len(frame)
    down = frame[~frame["ready"].astype(bool).to_numpy()]
    if ready == 0:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"No GC pod ready (0 of {total}, {selector}): MCs cannot register or heartbeat",
            detail=f"GC Service Down (Scenario 6 root cause 1). {_GC_TEAM}",
            rows=frame[cols],
            count=total,
        )
    if len(down):
        return Finding.make(
            check,
            Level.WARNING,
            f"{len(down)} of {total} GC pods not ready ({selector})",
            detail=f"The GC is degraded. If heartbeats fail too: {_GC_TEAM}",
            rows=down[cols],
            count=len(down),
        )
    return Finding.make(
        check, Level.OK, f"All {total} GC pods ready ({selector})", rows=frame[cols], count=0
    )


def gc_reachable(frame: pd.DataFrame) -> Finding:
    """Step 4 judged: the GC health URL answered 2xx (ok), an error status or nothing
    (critical). Columns ``url``, ``status_code``, ``latency_ms``, ``error``."""
    check = "gc_reachable"
    if frame.empty:
        return Finding.not_checked(check, "no answer was recorded")
    row = frame.iloc[0]
    where = (
        "Measured from where mcops runs, not from inside the MC pod as the runbook's "
        "`kubectl exec deployment/meeting-controller -- curl` does: a NetworkPolicy or DNS "
        "problem of the MC's own network shows in network_policy, not here."
    )
    error = str(row.get("error") or "")
    status = row.get("status_code")
    if error:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"GC unreachable: {error}",
            detail=f"Root causes 1, 3, 5: GC down or overloaded, or DNS. {_GC_TEAM} {where}",
            rows=frame,
            count=1,
        )
    code = int(status)
    if not 200 <= code < 300:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"GC health answered HTTP {code}: the GC is up but unhealthy",
            detail=f"{_GC_TEAM} {where}",
            rows=frame,
            count=1,
        )
    latency = float(row.get("latency_ms") or 0.0)
    return Finding.make(
        check,
        Level.OK,
        f"GC health answered HTTP {code} in {latency:.0f} ms",
        detail=where,
        rows=frame,
        count=0,
    )


def gc_log_errors(frame: pd.DataFrame) -> Finding:
    """Step 5 judged: WARN/ERROR lines about the GC, heartbeats or registration → warning."""
    check = "gc_log_errors"
    if frame.empty or "msg" not in frame:
        return Finding.make(check, Level.OK, "No log lines in the window", count=0)
    mask = frame["msg"].astype("string").str.contains(_GC_WORDS, regex=True, na=False)
    if "level" in frame:
        mask &= frame["level"].astype("string").str.upper().isin(_LOUD)
    hits = frame[mask.fillna(False).to_numpy()]
    if hits.empty:
        return Finding.make(
            check, Level.OK, "No GC, heartbeat or registration warnings in the logs", count=0
        )
    cols = [c for c in ("ts", "pod", "level", "msg") if c in hits]
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(hits)} GC / heartbeat / registration warnings or errors in the MC logs",
        detail="Authentication errors point at root cause 4 (invalid credentials: verify "
        "them, re-register); timeouts and refusals at 1-3 and 5. " + _GC_TEAM,
        rows=hits[cols].tail(50),
        count=len(hits),
    )
