"""Runbook 004 Diagnostic Commands, Resource Utilization: ``kubectl top nodes``.

The nodes the MC pods run on: a node NotReady takes its MC pods with it (critical, the
severity table's "Single pod failing", P2); a node under MemoryPressure, DiskPressure or
PIDPressure evicts or starves pods before their own limits are reached (warning, P3).
Usage against allocatable, where metrics-server answered, follows the same memory and CPU
bands as the containers (``memory_ratio`` above 85 %, ``cpu_ratio`` above 80 %).
Scenario 7: "If infrastructure resource constraints, escalate to Infrastructure Team".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.resources import usage_against
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = ["NODE_COLUMNS", "PRESSURES", "node_pressure"]

#: node condition type → its column (True means the kubelet reports that pressure)
PRESSURES = {
    "MemoryPressure": "memory_pressure",
    "DiskPressure": "disk_pressure",
    "PIDPressure": "pid_pressure",
}

NODE_COLUMNS = [
    "node", "mc_pods", "ready", "memory_pressure", "disk_pressure", "pid_pressure",
    "cpu_allocatable_cores", "memory_allocatable_bytes", "cpu_usage_cores", "memory_usage_bytes",
]  # fmt: skip

_INFRA = "Escalate node trouble to the Infrastructure Team (#infra-oncall, PagerDuty: SRE)."


def node_pressure(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """NotReady → critical; a pressure condition True → warning; usage over allocatable
    through the memory and CPU bands. One row per node (``NODE_COLUMNS``; ``ready`` is
    False for NotReady and Unknown, usage NaN when metrics-server did not answer)."""
    check = "node_pressure"
    if frame.empty or "node" not in frame:
        return Finding.not_checked(check, "no MC pod is scheduled on a node")
    levels, notes, rows = [Level.OK], [], []
    for row in frame.to_dict(orient="records"):
        node = str(row["node"])
        out = {"node": node, "mc_pods": row.get("mc_pods"), "ready": bool(row.get("ready"))}
        if not row.get("ready"):
            levels.append(Level.CRITICAL)
            notes.append(f"node {node} NotReady")
        pressed = [kind for kind, column in PRESSURES.items() if row.get(column) is True]
        out["pressure"] = ", ".join(pressed)
        if pressed:
            levels.append(Level.WARNING)
            notes.append(f"node {node} {', '.join(pressed)}")
        percents, used, warned = usage_against(row, "allocatable", thresholds=thresholds)
        out.update(percents)
        levels += used
        notes += [f"node {node} {note} of allocatable" for note in warned]
        rows.append(out)
    level = max(levels)
    if notes:
        title = "; ".join(notes)
    else:
        title = f"{len(rows)} node(s) of the MC pods Ready, no pressure"
        if all(r["memory_percent"] is None for r in rows):
            title += " (usage unknown: no metrics-server answer)"
    detail = (
        "A NotReady node takes its MC pods with it; pressure makes the kubelet evict pods. "
        + _INFRA
    )
    return Finding.make(check, level, title, detail=detail, rows=rows, count=len(notes))
