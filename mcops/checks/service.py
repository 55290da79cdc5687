"""Liveness and readiness: runbook 000 Incident Response step 2, 004 Quick Health Check."""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["health", "readiness", "unreachable"]


def _row(frame: pd.DataFrame, endpoint: str) -> pd.Series | None:
    rows = frame[frame["endpoint"] == endpoint] if "endpoint" in frame else frame.iloc[0:0]
    return None if rows.empty else rows.iloc[0]


def health(frame: pd.DataFrame) -> Finding:
    """`curl /health`: anything but 200 means the process is not serving."""
    row = _row(frame, "/health")
    if row is None:
        return Finding.not_checked("health", "/health was not probed")
    shown = [
        {
            "endpoint": "/health",
            "status_code": int(row["status_code"]),
            "latency_ms": round(float(row["latency_ms"]), 1),
        }
    ]
    if bool(row["ok"]):
        return Finding.make(
            "health",
            Level.OK,
            f"/health answered 200 in {row['latency_ms']:.0f} ms",
            rows=shown,
            count=0,
        )
    return Finding.make(
        "health",
        Level.CRITICAL,
        f"/health answered {int(row['status_code'])}",
        detail="The liveness probe fails: Kubernetes will restart the pod. Check the logs of "
        "the previous container and recent rollouts (service_outage).",
        rows=shown,
    )


def readiness(frame: pd.DataFrame) -> Finding:
    """`curl /ready`: 503 means up but not taking traffic (DB down, pool exhausted...)."""
    row = _row(frame, "/ready")
    if row is None:
        return Finding.not_checked("readiness", "/ready was not probed")
    body = row["body"] if isinstance(row["body"], dict) else {}
    failing = {k: v for k, v in (body.get("checks") or {}).items() if v not in ("ok", True)}
    shown = [{"endpoint": "/ready", "status_code": int(row["status_code"]), **failing}]
    if bool(row["ok"]):
        return Finding.make(
            "readiness", Level.OK, "/ready answered 200: taking traffic", rows=shown, count=0
        )
    reasons = ", ".join(f"{k}: {v}" for k, v in failing.items()) or str(row["body"])[:200]
    return Finding.make(
        "readiness",
        Level.CRITICAL,
        f"/ready answered {int(row['status_code'])}: {reasons}",
        detail="The service is alive but not ready: it gets no traffic from the load balancer.",
        rows=shown,
    )


def unreachable(why: str) -> Finding:
    """The service did not answer at all: for a health check, that is the answer."""
    return Finding.make(
        "health",
        Level.CRITICAL,
        "Service unreachable: nothing answers on service_url",
        detail=f"{why}. If it runs on Kubernetes, check pods and events (service_outage).",
        count=1,
    )
