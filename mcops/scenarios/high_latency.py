"""Runbook 004 Scenario 5 (High Latency): what to read, from where, the fix to plan.

The quantiles come from the investigation's metrics backend: Prometheus's
``histogram_quantile`` over the window, or the same arithmetic on the histogram's growth
between scrapes of ``/metrics``; the judges in `mcops.checks.latency` see one frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.scenarios._shared import (
    cpu_ratio,
    deployment,
    fired,
    kube_api,
    namespace,
    on_kubernetes,
)

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["cpu", "gc_p95", "p95", "remediations"]

_HISTOGRAM = "mc_message_processing_duration_seconds"
_GC_HISTOGRAM = "mc_gc_heartbeat_duration_seconds"


def p95(inv: Investigation) -> pd.DataFrame:
    """Steps 1–2: p95 by actor type over the window (Prometheus) or between scrapes."""
    return inv.metrics.quantile(0.95, _HISTOGRAM, by=("actor_type",))


def cpu(inv: Investigation) -> pd.DataFrame:
    """Step 4: CPU used over the limit (Kubernetes) or over one core (a local server)."""
    return cpu_ratio(inv)


def gc_p95(inv: Investigation) -> pd.DataFrame:
    """Step 5: p95 of the heartbeat round trip to the global controller."""
    return inv.metrics.quantile(0.95, _GC_HISTOGRAM)


def remediations(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Scenario A (CPU bound: scale to the runbook's 5 replicas) on Kubernetes.

    Planned only when ``cpu_usage`` found CPU above the limit; Scenarios B (backpressure)
    and C (memory) are mailbox_backlog's and resource_pressure's; D (delete a pod) ends
    its meetings, a person decides it.
    """
    from mcops.remediate import Scale

    name = deployment(inv)
    if not (fired(inv, "cpu_usage") and on_kubernetes(inv) and name):
        return []
    reason = "runbook 004 Scenario 5 A: CPU bound"
    # ``kubectl scale --replicas=5``: the thresholds' remediation.scale_replicas
    replicas = inv.thresholds.remediation.scale_replicas
    return [Scale(kube_api(api_client), namespace(inv), name, replicas=replicas, reason=reason)]
