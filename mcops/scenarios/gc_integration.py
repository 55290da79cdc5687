"""Runbook 004 Scenario 6 (GC Integration Failures): what to read, from where, the fixes.

The heartbeat counter (Prometheus or scrapes of ``/metrics``) and the GC's
``meeting_controllers`` table (database); the judges in `mcops.checks.heartbeats` only
see the frames. Re-registration goes through the admin API, a restart through Kubernetes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.heartbeats import COUNTER
from mcops.errors import SourceError
from mcops.scenarios._shared import deployment, fired, kube_api, namespace, on_kubernetes

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["heartbeats", "recent_heartbeats", "registration", "remediations"]


def heartbeats(inv: Investigation) -> pd.DataFrame:
    """Step 1: the heartbeat counter over the window (Prometheus), else 3 scrapes 1 s apart.

    ``attrs["since"]`` is the window start for a Prometheus range (a series born inside
    the window counts its first value), None for scrapes (only growth between them).
    """
    metrics = inv.metrics
    frame = metrics.range(COUNTER).copy()
    frame.attrs["since"] = inv.since if metrics.history else None
    return frame


def registration(inv: Investigation, *, limit: int = 1000) -> pd.DataFrame:
    """Step 3: the ``meeting_controllers`` rows (every row, not the runbook's 10)."""
    return inv.sql("meeting_controllers", limit=limit)


def recent_heartbeats(inv: Investigation, *, max_age: timedelta) -> pd.DataFrame:
    """The runbook's "Verify recovery" query; empty when the database is not there."""
    try:
        return inv.sql("recent_heartbeats", cutoff=inv.until - max_age)
    except SourceError:
        return pd.DataFrame(columns=["id", "last_heartbeat", "status"])


def remediations(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Option 4 (re-register through the admin API) and, on Kubernetes, Option 1.

    Re-registration is forced when the ``registration`` finding is not ok: a stale row
    with ``mc_gc_registered`` still 1 would otherwise plan "nothing to do".
    """
    from mcops.remediate import ReRegisterController, RolloutRestart

    reason = "runbook 004 Scenario 6: GC integration failures"
    actions: list[Action] = []
    admin = inv.admin_api()
    if admin is not None:
        force = fired(inv, "registration")
        actions.append(ReRegisterController(admin, force=force, reason=reason))
    name = deployment(inv)
    if on_kubernetes(inv) and name:
        api = kube_api(api_client)
        actions.append(RolloutRestart(api, namespace(inv), name, reason=reason))
    return actions
