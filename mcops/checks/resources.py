r"""Runbook 004 Scenario 7 "Resource Pressure": memory, CPU and meeting capacity.

Each as a share of its limit: memory over the container limit (or, for a local server,
RSS over ``MEMORY_LIMIT_BYTES``), CPU over the CPU limit (one core locally, see
`latency.cpu_usage`), active meetings over ``mc_meeting_capacity``. Warning above 85 %
memory (MCHighMemory), 80 % CPU (MCHighCPU), 80 % capacity (MCCapacityWarning, a number
mcops chose: the runbook names none); recovery means both resources below 70 %.

Diagnostics 2 and 3 read the cluster: the limits of the deployment's containers
(``kubectl describe deployment | grep -A 10 "Limits:"``; no memory limit is a warning:
nothing stops one pod from taking the node's memory, OOM protection is off), with their
usage beside them when metrics-server answers; and the namespace's Pod events that say
OOM or killed (``kubectl get events ... | grep -i "oom\|killed"``): critical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.classify import classify
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = ["capacity", "memory_usage", "oom_events", "resource_limits", "usage_against"]


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


#: the runbook's grep -i "oom\|killed" over the events, and the kubelet's reasons
_OOM_TEXT = r"(?i)oom|killed"
_OOM_REASONS = ("OOMKilling", "OOMKilled")


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _ratio(usage: object, limit: object) -> float | None:
    used, cap = pd.to_numeric(usage, errors="coerce"), pd.to_numeric(limit, errors="coerce")
    if pd.isna(used) or pd.isna(cap) or cap <= 0 or math.isinf(cap):
        return None
    return float(used) / float(cap)


def usage_against(
    row: Mapping[str, Any], cap: str, *, thresholds: Thresholds | None = None
) -> tuple[dict[str, float | None], list[Level], list[str]]:
    """Memory and CPU usage of ``row`` against its ``memory_<cap>_bytes`` and
    ``cpu_<cap>_cores`` through the memory and CPU bands: ``<what>_percent`` per resource
    (None when usage or the cap is unknown), the levels, and "memory 91 %" per one that warns."""
    percents: dict[str, float | None] = {}
    levels: list[Level] = []
    notes: list[str] = []
    for what, used, limit in (
        ("memory", row.get("memory_usage_bytes"), row.get(f"memory_{cap}_bytes")),
        ("cpu", row.get("cpu_usage_cores"), row.get(f"cpu_{cap}_cores")),
    ):
        ratio = _ratio(used, limit)
        percents[f"{what}_percent"] = None if ratio is None else round(100 * ratio, 1)
        if ratio is not None:
            verdict = classify(f"{what}_ratio", ratio, thresholds=thresholds)
            levels.append(verdict.level)
            if verdict.level >= Level.WARNING:
                notes.append(f"{what} {verdict.text}")
    return percents, levels, notes


def resource_limits(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Diagnosis 2 judged: a container without a memory limit → warning; usage against
    the limit (where metrics-server gave usage) through the memory and CPU bands.

    Columns: ``container``, ``cpu_request``, ``cpu_limit``, ``memory_request``,
    ``memory_limit`` (as the spec writes them), ``memory_limit_bytes``,
    ``cpu_limit_cores``, ``memory_usage_bytes``, ``cpu_usage_cores`` (NaN when unknown).
    """
    check = "resource_limits"
    if frame.empty or "container" not in frame:
        return Finding.not_checked(check, "the deployment has no containers")
    rows, levels, notes = [], [Level.OK], []
    for row in frame.to_dict(orient="records"):
        name = str(row["container"])
        out = {k: _text(row.get(k)) for k in ("container", "memory_limit", "cpu_limit")}
        if not _text(row.get("memory_limit")):
            levels.append(Level.WARNING)
            notes.append(f"no memory limit on {name}: OOM protection off")
        percents, used, warned = usage_against(row, "limit", thresholds=thresholds)
        out.update(percents)
        levels += used
        notes += [f"{name} {note}" for note in warned]
        rows.append(out)
    level = max(levels)
    title = "; ".join(notes) if notes else "Every container has a memory limit"
    if not notes and all(r["memory_percent"] is None for r in rows):
        title += " (usage unknown: no metrics-server answer)"
    return Finding.make(
        check,
        level,
        title,
        detail="Option 2 raises the limits (cpu 4000m, memory 2Gi): a capacity decision, "
        "shown, not planned.",
        rows=rows,
        count=len(notes),
    )


def oom_events(frame: pd.DataFrame) -> Finding:
    """Diagnosis 3 judged: any Pod event with an OOM reason or text → critical."""
    check = "oom_events"
    if frame.empty:
        return Finding.make(check, Level.OK, "No Pod events in the namespace", count=0)
    reason = frame["reason"].astype("string").fillna("")
    message = frame["message"].astype("string").fillna("")
    mask = reason.isin(_OOM_REASONS) | message.str.contains(_OOM_TEXT, regex=True)
    mask |= reason.str.contains(_OOM_TEXT, regex=True)
    hits = frame[mask.fillna(False).to_numpy()]
    if hits.empty:
        return Finding.make(check, Level.OK, "No OOMKilled events", count=0)
    cols = [c for c in ("last_timestamp", "reason", "object_name", "message", "count") if c in hits]
    times = int(hits["count"].fillna(1).sum()) if "count" in hits else len(hits)
    pods = hits["object_name"].dropna().nunique() if "object_name" in hits else 0
    return Finding.make(
        check,
        Level.CRITICAL,
        f"{times} OOMKilled event(s) on {pods} pod(s): the memory limit was reached",
        detail="Pods killed for memory restart and drop their meetings. Fix: raise the "
        "memory limit (Option 2) or restart to clear a leak (Option 3); a leak → MC Team.",
        rows=hits[cols],
        count=times,
    )
