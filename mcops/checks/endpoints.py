"""Runbook 004 Diagnostic Commands, Network Debugging:
``kubectl get endpoints -n dark-tower meeting-controller``.

The Service sends traffic only to ready endpoints. None ready means every request to
``meeting-controller.dark-tower.svc.cluster.local`` fails even if a process is alive:
critical (the severity table's P1, pods failing as far as traffic can tell). Some not
ready is a pod out of rotation, "Single pod failing" (warning, P2). No Service at all:
nothing routes to the pods (critical).
"""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["ENDPOINT_COLUMNS", "service_endpoints"]

ENDPOINT_COLUMNS = ["address", "ready", "pod", "node", "source"]


def service_endpoints(frame: pd.DataFrame) -> Finding:
    """One row per endpoint address (``ENDPOINT_COLUMNS``); ``attrs``: ``service``
    (namespace/name) and ``found`` (False when the Service does not exist)."""
    check = "service_endpoints"
    service = str(frame.attrs.get("service") or "the Service")
    if frame.attrs.get("found") is False:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"Service {service} not found: nothing routes traffic to the pods",
            detail="Check the namespace and the deployment parameter; if it was deleted, "
            "re-apply the Service from the service's manifests.",
            count=1,
        )
    ready = frame["ready"].astype(bool) if "ready" in frame else pd.Series(dtype=bool)
    total, up = len(frame), int(ready.sum())
    cols = [c for c in ENDPOINT_COLUMNS if c in frame]
    if up == 0:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"{service}: the Service has no ready endpoints: traffic reaches no pod "
            f"(0 of {total} ready)",
            detail="Every pod is out of rotation: see pods_not_ready and its readiness probe.",
            rows=frame[cols] if cols else (),
            count=total,
        )
    if up < total:
        down = frame[~ready.to_numpy()]
        return Finding.make(
            check,
            Level.WARNING,
            f"{service}: {total - up} of {total} endpoints not ready",
            detail="Those pods get no traffic until their readiness probe passes.",
            rows=down[cols],
            count=total - up,
        )
    return Finding.make(
        check, Level.OK, f"{service}: all {total} endpoints ready", rows=frame[cols], count=0
    )
