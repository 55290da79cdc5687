"""Runbook 004 Scenario 5 (High Latency): what to read, from where, the fix to plan.

With Prometheus the quantiles are its ``histogram_quantile`` over the window; without
it, the same arithmetic on the histogram's growth between scrapes of ``/metrics``, so the
judges in `mcops.checks.latency` see the same frame either way.
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
    quantile_from_scrapes,
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
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_latency_quantile", q="0.95")
    samples = inv.metric_range(f"{_HISTOGRAM}_bucket")
    return quantile_from_scrapes(samples, 0.95, by=("actor_type",))


def cpu(inv: Investigation) -> pd.DataFrame:
    """Step 4: CPU used over the limit (Kubernetes) or over one core (a local server)."""
    return cpu_ratio(inv)


def gc_p95(inv: Investigation) -> pd.DataFrame:
    """Step 5: p95 of the heartbeat round trip to the global controller."""
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_gc_heartbeat_p95")
    return quantile_from_scrapes(inv.metric_range(f"{_GC_HISTOGRAM}_bucket"), 0.95)


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
