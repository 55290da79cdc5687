"""Runbook 004 Scenario 7 "Resource Pressure": memory, CPU and meeting capacity.

Each as a share of its limit: memory over the container limit (or, for a local server,
RSS over ``MEMORY_LIMIT_BYTES``), CPU over the CPU limit (one core locally, see
`latency.cpu_usage`), active meetings over ``mc_meeting_capacity``. Warning above 85 %
memory (MCHighMemory), 80 % CPU (MCHighCPU), 80 % capacity (MCCapacityWarning, a number
mcops chose: the runbook names none); recovery means both resources below 70 %.
"""

from __future__ import annotations

import pandas as pd

from mcops.classify import classify
from mcops.findings import Finding, Level
from mcops.thresholds import Thresholds

__all__ = ["capacity", "memory_usage"]


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
