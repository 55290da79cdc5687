"""Runbook 004 Scenario 5 "High Latency": where do messages wait, and why.

p95 message processing time by actor type (MCHighLatency above 500 ms), then the causes
the runbook lists: mailbox backpressure (see `backlog`), CPU contention, a slow global
controller (heartbeat latency), pauses in the logs, network round trips (root cause 5).
`mcops.scenarios.high_latency` reads the quantiles (Prometheus's ``histogram_quantile``,
or the same arithmetic on scrapes); these judges see the same frame either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.classify import classify
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = [
    "cpu_usage",
    "gc_heartbeat_latency",
    "network_latency",
    "p95_latency",
    "pause_logs",
]

_PAUSE_WORDS = r"(?i)\bgc\b|pause|heartbeat"


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


def network_latency(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Root cause 5 judged: median round trip per target above its threshold → warning.

    One row per probe: ``target`` (``service``: GET /health; ``database``: SELECT 1),
    ``ms`` (NaN when the probe got no answer), ``error``. A warning, never critical: a
    slow network makes the runbook's "Fix: Infrastructure team investigation" plausible,
    but the latency finding itself is p95_latency's.
    """
    from mcops.thresholds import default_thresholds

    check = "network_latency"
    if frame.empty or "target" not in frame:
        return Finding.not_checked(check, "no round trip was measured")
    limits = (thresholds or default_thresholds()).network
    edge = {"service": limits.service_rtt_ms, "database": limits.database_rtt_ms}
    rows, slow, parts = [], [], []
    for target, group in frame.groupby(frame["target"].astype("string"), sort=False):
        answered = pd.to_numeric(group["ms"], errors="coerce").dropna()
        limit = edge.get(str(target), limits.service_rtt_ms)
        row = {"target": str(target), "probes": len(group), "answered": len(answered)}
        if answered.empty:
            rows.append({**row, "median_ms": None, "max_ms": None, "limit_ms": limit})
            parts.append(f"{target}: no answer")
            continue
        median, peak = float(answered.median()), float(answered.max())
        rows.append(
            {**row, "median_ms": round(median, 2), "max_ms": round(peak, 2), "limit_ms": limit}
        )
        parts.append(f"{target} median {median:.1f} ms (max {peak:.1f})")
        if median > limit:
            slow.append(f"{target} {median:.0f} ms > {limit:g} ms")
    if not any(r["answered"] for r in rows):
        return Finding.not_checked(check, "no probe got an answer: " + "; ".join(parts))
    if slow:
        return Finding.make(
            check,
            Level.WARNING,
            f"Network is a plausible cause: median round trip {', '.join(slow)}",
            detail="Runbook 004 Scenario 5 root cause 5: escalate to the Infrastructure Team "
            "(#infra-oncall). Measured from where mcops runs; the runbook pings the GC from "
            "the MC pod.",
            rows=rows,
            count=len(slow),
        )
    return Finding.make(
        check,
        Level.OK,
        f"Network is not a plausible cause: {'; '.join(parts)}",
        detail="Measured from where mcops runs, not between the pods.",
        rows=rows,
        count=0,
    )
