"""Runbook 004 Scenario 5 "High Latency": where do messages wait, and why.

p95 message processing time by actor type (MCHighLatency above 500 ms), then the causes
the runbook lists: mailbox backpressure (see `backlog`), CPU contention, a slow global
controller (heartbeat latency), pauses in the logs. With Prometheus the quantiles are
its ``histogram_quantile`` over the window; without it, the same arithmetic on the
histogram's growth between scrapes of ``/metrics`` (`mcops.sources.promcalc`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.findings import Finding, Level
from mcops.sources.promcalc import histogram_quantile, rate
from mcops.thresholds import Thresholds, classify

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = [
    "cpu_usage",
    "fetch_cpu",
    "fetch_gc_p95",
    "fetch_p95",
    "gc_heartbeat_latency",
    "p95_latency",
    "pause_logs",
    "quantile_from_scrapes",
    "rate_from_scrapes",
    "remediations",
]

_PAUSE_WORDS = r"(?i)\bgc\b|pause|heartbeat"
_HISTOGRAM = "mc_message_processing_duration_seconds"
_GC_HISTOGRAM = "mc_gc_heartbeat_duration_seconds"


def quantile_from_scrapes(
    samples: pd.DataFrame, q: float, *, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """``histogram_quantile(q, rate(..._bucket))`` between the first and last scrape.

    Rows with no observation between the scrapes (NaN) are dropped: no traffic is no
    latency to judge. The ``timestamp`` is the last scrape's.
    """
    if samples.empty:
        return pd.DataFrame(columns=["timestamp", *by, "value"])
    grown = rate(samples)
    grown = grown[grown["metric"].astype("str").str.endswith("_bucket")]
    if grown.empty:
        return pd.DataFrame(columns=["timestamp", *by, "value"])
    result = histogram_quantile(q, grown, by=by).dropna(subset=["value"])
    return result.drop(columns=["metric"]).assign(timestamp=samples["timestamp"].max())


def rate_from_scrapes(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-second growth of every counter between the first and last scrape."""
    if samples.empty:
        return pd.DataFrame(columns=["timestamp", "metric", "value"])
    return rate(samples).assign(timestamp=samples["timestamp"].max())


def fetch_p95(inv: Investigation) -> pd.DataFrame:
    """Steps 1–2: p95 by actor type over the window (Prometheus) or between scrapes."""
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_latency_quantile", q="0.95")
    samples = inv.metric_range(f"{_HISTOGRAM}_bucket")
    return quantile_from_scrapes(samples, 0.95, by=("actor_type",))


def p95_latency(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Steps 1–2 judged: each actor type's worst p95 in the window.

    ``mc_p95_latency_seconds``: above 500 ms (MCHighLatency) a warning, above 1 s (the
    severity table's P2 example) critical.
    """
    check = "p95_latency"
    if frame.empty or "actor_type" not in frame:
        return Finding.not_checked(check, "no message was processed in the window")
    worst = (
        frame.dropna(subset=["value"])
        .groupby(frame["actor_type"].astype("string"), observed=True)["value"]
        .max()
        .sort_values(ascending=False)
    )
    if worst.empty:
        return Finding.not_checked(check, "no message was processed in the window")
    judged = [classify("mc_p95_latency_seconds", float(v), thresholds=thresholds) for v in worst]
    rows = pd.DataFrame(
        {
            "actor_type": worst.index.astype(str),
            "p95_seconds": worst.to_numpy().round(4),
            "level": [str(c.level) for c in judged],
        }
    )
    top = judged[0]
    slow = sum(c.level >= Level.WARNING for c in judged)
    return Finding.make(
        check,
        top.level,
        f"p95 of {worst.index[0]} actors: {top.text}",
        detail="Look at mailbox depth, CPU and GC heartbeat latency below for the cause."
        if slow
        else "",
        rows=rows,
        count=slow,
    )


def fetch_cpu(inv: Investigation) -> pd.DataFrame:
    """Step 4: CPU used over the limit (Kubernetes) or over one core (a local server)."""
    if inv.params.get("prometheus_url"):
        deployment = str(inv.params.get("deployment") or "meeting-controller")
        return inv.metric_range("mc_cpu_ratio", pod_regex=f"{deployment}-.*")
    grown = rate_from_scrapes(inv.metric_range("process_cpu_seconds_total"))
    return grown[grown["metric"].astype("str") == "process_cpu_seconds_total"]


def cpu_usage(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Step 4 judged at the window's peak: above 80 % is MCHighCPU, recovery below 70 %."""
    check = "cpu_usage"
    if frame.empty:
        return Finding.not_checked(check, "no CPU samples (process_cpu_seconds_total)")
    peak = float(frame["value"].max())
    verdict = classify("cpu_ratio", peak, thresholds=thresholds)
    last = float(frame["value"].iloc[-1])
    rows = [{"peak_percent": round(100 * peak, 2), "last_percent": round(100 * last, 2)}]
    return Finding.make(
        check,
        verdict.level,
        f"CPU at its peak: {verdict.text}",
        detail="CPU bound: scale horizontally (Scenario A below)."
        if verdict.level >= Level.WARNING
        else "",
        rows=rows,
        count=int(verdict.level >= Level.WARNING),
    )


def fetch_gc_p95(inv: Investigation) -> pd.DataFrame:
    """Step 5: p95 of the heartbeat round trip to the global controller."""
    if inv.params.get("prometheus_url"):
        return inv.metric_range("mc_gc_heartbeat_p95")
    return quantile_from_scrapes(inv.metric_range(f"{_GC_HISTOGRAM}_bucket"), 0.95)


def gc_heartbeat_latency(frame: pd.DataFrame, *, slow_seconds: float = 0.5) -> Finding:
    """Root cause 4: a slow GC. The runbook names no number; slower than MCHighLatency's
    500 ms means a heartbeat alone takes longer than a message may."""
    check = "gc_heartbeat_latency"
    values = frame["value"].dropna() if "value" in frame else pd.Series(dtype="float64")
    if values.empty:
        return Finding.not_checked(check, "no GC heartbeat in the window")
    peak = float(values.max())
    rows = [
        {"p95_seconds_peak": round(peak, 4), "p95_seconds_last": round(float(values.iloc[-1]), 4)}
    ]
    if peak > slow_seconds:
        return Finding.make(
            check,
            Level.WARNING,
            f"GC heartbeats take {peak:.3g} s at p95 (over {slow_seconds:g} s)",
            detail="The global controller is slow: see gc_integration, escalate to the GC Team.",
            rows=rows,
            count=1,
        )
    return Finding.make(check, Level.OK, f"GC heartbeats take {peak:.3g} s at p95", rows=rows)


def pause_logs(frame: pd.DataFrame) -> Finding:
    """Step 6: warnings and errors about GC, pauses or heartbeats (runbook: grep gc|pause)."""
    check = "pause_logs"
    if frame.empty or "msg" not in frame:
        return Finding.make(check, Level.OK, "No log lines in the window")
    text = frame["msg"].astype("string")
    mask = text.str.contains(_PAUSE_WORDS, regex=True, na=False)
    if "level" in frame:
        mask &= frame["level"].astype("string").str.upper().isin(["WARN", "WARNING", "ERROR"])
    hits = frame[mask.fillna(False).to_numpy()]
    if hits.empty:
        return Finding.make(check, Level.OK, "No GC or pause warnings in the logs")
    cols = [c for c in ("ts", "level", "target", "msg") if c in hits]
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(hits)} GC / pause warnings in the logs",
        rows=hits[cols],
        count=len(hits),
    )


def remediations(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Scenario A (CPU bound: scale to the runbook's 5 replicas) on Kubernetes.

    Planned only when ``cpu_usage`` found CPU above the limit; Scenarios B (backpressure)
    and C (memory) are mailbox_backlog's and resource_pressure's; D (delete a pod) ends
    its meetings, a person decides it.
    """
    from mcops.remediate import Scale

    cpu_bound = any(
        f.check == "cpu_usage" and f.checked and f.level >= Level.WARNING for f in inv.findings
    )
    deployment = str(inv.params.get("deployment") or "")
    on_kubernetes = str(inv.params.get("platform") or "local") == "kubernetes"
    if not (cpu_bound and on_kubernetes and deployment):
        return []
    from mcops.sources.kube import default_api_client

    api = api_client if api_client is not None else default_api_client()
    namespace = str(inv.params.get("namespace") or "default")
    reason = "runbook 004 Scenario 5 A: CPU bound"
    # ``kubectl scale --replicas=5``: the thresholds' remediation.scale_replicas
    replicas = inv.thresholds.remediation.scale_replicas
    return [Scale(api, namespace, deployment, replicas=replicas, reason=reason)]
