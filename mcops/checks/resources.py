"""Runbook 004 Scenario 7 "Resource Pressure": memory, CPU and meeting capacity.

Each as a share of its limit: memory over the container limit (or, for a local server,
RSS over ``MEMORY_LIMIT_BYTES``), CPU over the CPU limit (one core locally, see
`latency.fetch_cpu`), active meetings over ``mc_meeting_capacity``. Warning above 85 %
memory (MCHighMemory), 80 % CPU (MCHighCPU), 80 % capacity (MCCapacityWarning, a number
mcops chose: the runbook names none); recovery means both resources below 70 %.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.errors import SourceError
from mcops.findings import Finding, Level
from mcops.thresholds import Thresholds, classify

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = [
    "capacity",
    "fetch_capacity",
    "fetch_memory",
    "meeting_load",
    "memory_usage",
    "ratio_from_scrapes",
    "remediations",
]

_PRESSURE_CHECKS = ("memory_usage", "cpu_usage", "capacity")


def ratio_from_scrapes(samples: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    """``numerator / denominator`` (each summed over its series) at every scrape.

    Scrapes where the denominator is missing or 0 (no limit configured) are left out.
    """
    if samples.empty:
        return pd.DataFrame(columns=["timestamp", "value"])
    names = samples["metric"].astype("str")
    top = samples[names == numerator].groupby("timestamp")["value"].sum()
    bottom = samples[names == denominator].groupby("timestamp")["value"].sum()
    ratio = (top / bottom[bottom > 0]).dropna()
    return pd.DataFrame({"timestamp": ratio.index, "value": ratio.to_numpy()})


def _pods(inv: Investigation) -> str:
    return f"{inv.params.get('deployment') or 'meeting-controller'}-.*"


def fetch_memory(inv: Investigation) -> pd.DataFrame:
    """Steps 1, 4: memory in use over its limit, over the window."""
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_memory_ratio", pod_regex=_pods(inv))
    samples = inv.metric_range("process_resident_memory_bytes")
    limits = inv.metric_range("mc_memory_limit_bytes")
    return ratio_from_scrapes(
        pd.concat([samples, limits], ignore_index=True),
        "process_resident_memory_bytes",
        "mc_memory_limit_bytes",
    )


def fetch_capacity(inv: Investigation) -> pd.DataFrame:
    """Step 6: active meetings over the MC's capacity, over the window."""
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_capacity_ratio")
    meetings = inv.metric_range("mc_meetings_active")
    limit = inv.metric_range("mc_meeting_capacity")
    return ratio_from_scrapes(
        pd.concat([meetings, limit], ignore_index=True), "mc_meetings_active", "mc_meeting_capacity"
    )


def meeting_load(inv: Investigation) -> pd.DataFrame:
    """Step 6's gauges for the plot; empty when no metrics source answers (the capacity
    finding already says why)."""
    from mcops.checks.meetings import fetch_counts

    try:
        return fetch_counts(inv)
    except SourceError:
        return pd.DataFrame(columns=["timestamp", "metric", "value"])


def _judged_now(
    check: str, frame: pd.DataFrame, metric: str, what: str, thresholds: Thresholds | None
) -> Finding:
    if frame.empty or "value" not in frame:
        return Finding.not_checked(check, f"no {what} samples (is a limit configured?)")
    ordered = frame.sort_values("timestamp")
    now, peak = float(ordered["value"].iloc[-1]), float(ordered["value"].max())
    verdict = classify(metric, now, thresholds=thresholds)
    rows = [{"now_percent": round(100 * now, 2), "peak_percent": round(100 * peak, 2)}]
    return Finding.make(
        check,
        verdict.level,
        f"{what} now: {verdict.text}",
        rows=rows,
        count=int(verdict.level >= Level.WARNING),
    )


def memory_usage(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Memory over its limit now: warning above 85 % (MCHighMemory), recovered below 70 %."""
    return _judged_now("memory_usage", frame, "memory_ratio", "Memory / limit", thresholds)


def capacity(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Active meetings over capacity now: warning above 80 %, critical when full."""
    return _judged_now("capacity", frame, "capacity_ratio", "Meetings / capacity", thresholds)


def remediations(
    inv: Investigation, *, mc_id: str, api_client: ApiClient | None = None
) -> list[Action]:
    """Option 4 (mark the MC draining in the GC) anywhere; Options 1 and 3 on Kubernetes.

    Planned only when memory, CPU or capacity is under pressure. Option 2 (raise the
    limits) changes the pod spec for good and is a capacity decision: shown, not planned.
    """
    from mcops.remediate import MarkController, RolloutRestart, Scale

    pressed = [
        f.check
        for f in inv.findings
        if f.check in _PRESSURE_CHECKS and f.checked and f.level >= Level.WARNING
    ]
    if not pressed:
        return []
    reason = f"runbook 004 Scenario 7: {', '.join(pressed)} under pressure"
    actions: list[Action] = []
    deployment = str(inv.params.get("deployment") or "")
    if str(inv.params.get("platform") or "local") == "kubernetes" and deployment:
        from mcops.sources.kube import default_api_client

        api = api_client if api_client is not None else default_api_client()
        namespace = str(inv.params.get("namespace") or "default")
        # Option 1, ``kubectl scale --replicas=5``: the thresholds' remediation.scale_replicas
        replicas = inv.thresholds.remediation.scale_replicas
        actions.append(Scale(api, namespace, deployment, replicas=replicas, reason=reason))
        if "memory_usage" in pressed:
            actions.append(RolloutRestart(api, namespace, deployment, reason=reason))
    db = inv.database_for_actions()
    if db and mc_id:
        actions.append(MarkController(db, mc_id, status="draining", reason=reason))
    return actions
