"""Runbook 004 Scenario 5 (High Latency): what to read, from where, the fix to plan.

The quantiles come from the investigation's metrics backend: Prometheus's
``histogram_quantile`` over the window, or the same arithmetic on the histogram's growth
between scrapes of ``/metrics``; the judges in `mcops.checks.latency` see one frame.

Root cause 5 (network latency) is measured, not queried: timed GETs of ``service_url``
/health and timed ``SELECT 1`` on one open database connection (its setup excluded).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.errors import SourceConfigError, SourceError
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

__all__ = ["cpu", "gc_p95", "p95", "remediations", "round_trips"]

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


def _service_probes(inv: Investigation, probes: int) -> list[dict[str, Any]]:
    try:
        frame = inv.service.health(("/health",) * probes)
    except SourceConfigError:
        return []
    except SourceError as err:
        return [{"target": "service", "probe": 1, "ms": math.nan, "error": str(err)}]
    return [
        {"target": "service", "probe": i + 1, "ms": float(ms), "error": ""}
        for i, ms in enumerate(frame["latency_ms"])
    ]


def _database_probes(inv: Investigation, probes: int) -> list[dict[str, Any]]:
    try:
        engine = inv.database
    except SourceConfigError:
        return []
    except SourceError as err:
        return [{"target": "database", "probe": 1, "ms": math.nan, "error": str(err)}]
    import sqlalchemy as sa  # loaded with the engine, only when a database is given

    rows = []
    try:
        with engine.connect() as conn:
            for i in range(probes):
                started = time.perf_counter()
                conn.execute(sa.text("SELECT 1"))  # the liveness statement, no parameters
                ms = (time.perf_counter() - started) * 1000
                rows.append({"target": "database", "probe": i + 1, "ms": ms, "error": ""})
    except sa.exc.SQLAlchemyError as err:
        rows.append({"target": "database", "probe": len(rows) + 1, "ms": math.nan,
                     "error": type(err).__name__})  # fmt: skip
    return rows


def round_trips(inv: Investigation) -> pd.DataFrame:
    """Root cause 5: ``network.probes`` timed round trips to the service and the database.

    A target whose parameter is empty is left out; none given → SourceConfigError.
    """
    probes = inv.thresholds.network.probes
    rows = _service_probes(inv, probes) + _database_probes(inv, probes)
    if not rows:
        raise SourceConfigError(
            "service_url and database_url are empty: nothing to time",
            source="network",
            fix="pass -p service_url=http://host:8080 and/or -p database_url=...",
        )
    return pd.DataFrame(rows, columns=["target", "probe", "ms", "error"])


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
