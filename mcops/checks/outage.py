"""Runbook 004 Scenario 4 (Complete Service Outage): judges of what the pods say.

Why pure: the outage is when sources fail most, so judging must never depend on
fetching. `mcops.scenarios.service_outage` fetches (pods, events, logs, rollout history,
Secrets and ConfigMaps by name) and these functions turn the frames into Findings.

Levels follow 004's severity table: "P1 ... All pods crash-looping" is critical,
"P2 ... Single pod failing" is a warning; an OOMKilled container (root cause 2) and a
missing Secret or ConfigMap (root causes 4-5) are critical, a rollout inside the window
(root cause 1, "Bad Deployment") is a warning that points at the rollback.

Pods frame (one row per pod): ``pod``, ``phase``, ``ready``, ``restarts``,
``waiting_reason`` (CrashLoopBackOff, ImagePullBackOff...), ``last_reason`` (OOMKilled,
Error...), ``last_exit_code``, ``last_finished_at``, ``container``.
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

from mcops.checks.config_refs import config_refs
from mcops.findings import Finding, Level
from mcops.utc import timestamp

__all__ = [
    "BAD_WAITING",
    "config_refs",
    "database_reachable",
    "down_periods",
    "last_logs",
    "oom_killed",
    "pods_not_ready",
    "recent_rollout",
    "restarts",
]

#: waiting reasons that mean the container cannot run (004 Scenario 4 symptoms)
BAD_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "RunContainerError",
    }
)
_ERROR_LEVELS = frozenset({"ERROR", "FATAL", "PANIC", "CRITICAL"})
#: the runbook's `grep -E "error|panic|fatal"` (004 Log Analysis) for lines without a level
_ERROR_WORDS = re.compile(r"\b(?:error|panic|panicked|fatal|exception|traceback)\b", re.I)
_POD_COLUMNS = ["pod", "phase", "ready", "restarts", "waiting_reason", "last_reason"]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _shown(pods: pd.DataFrame) -> pd.DataFrame:
    return pods[[c for c in _POD_COLUMNS if c in pods.columns]]


# ---------------------------------------------------------------- step 1: pod status


def pods_not_ready(pods: pd.DataFrame, *, check: str = "pods_not_ready") -> Finding:
    """`kubectl get pods -l app=...`: no ready pod is an outage, some not ready is one failing.

    004 Scenario 4 symptom "No healthy pods" → critical (P1 "Service down"); a pod
    not ready while others serve → warning (P2 "Single pod failing"). No pod at all
    matches the selector is an outage too (scaled to zero, or nothing schedulable).
    """
    if pods.empty:
        return Finding.make(
            check,
            Level.CRITICAL,
            "All pods down: no pod matches the deployment's selector",
            detail="Nothing runs: check the deployment's replicas, its events and resource "
            "quotas (Diagnosis 4-5), and that namespace and deployment are right.",
            count=1,
        )
    ready = pods["ready"].astype(bool)
    failing = pods[~ready.to_numpy()]
    total = len(pods)
    if failing.empty:
        return Finding.make(check, Level.OK, f"All {_n(total, 'pod')} ready", count=0)
    found = {_pod_reason(row) for _, row in failing.iterrows()}
    reasons = ", ".join(sorted(found))
    hints = "".join(f" {h}" for r, h in _WAITING_HINTS.items() if r in found)
    if len(failing) == total:
        return Finding.make(
            check,
            Level.CRITICAL,
            f"All pods down: 0 of {total} ready ({reasons})",
            detail="Complete outage (P1): active meetings are disrupted. Read the previous "
            "container's logs and the events below; roll back if a rollout came first." + hints,
            rows=_shown(failing),
        )
    return Finding.make(
        check,
        Level.WARNING,
        f"Single pod failing: {len(failing)} of {total} not ready ({reasons})",
        detail="The others still serve (P2). Read the failing pod's previous logs; deleting "
        "it reschedules it (Option 2)." + hints,
        rows=_shown(failing),
    )


_PULL = (
    "the image cannot be pulled (wrong tag, registry down, imagePullSecrets): no log exists; "
    "read the events, fix the image or roll back to the one that pulled (Option 1)."
)
#: what a waiting reason tells about the cause (the container never ran, so no logs)
_WAITING_HINTS = {
    "ErrImagePull": f"ErrImagePull: {_PULL}",
    "ImagePullBackOff": f"ImagePullBackOff: {_PULL}",
    "InvalidImageName": "InvalidImageName: the image reference is malformed; fix or roll back.",
    "CreateContainerConfigError": "CreateContainerConfigError: a Secret/ConfigMap or key the "
    "pod needs is missing (root causes 4-5, see config_refs; Option 3).",
}


def _pod_reason(row: pd.Series) -> str:
    for column in ("waiting_reason", "last_reason", "phase"):
        value = row.get(column)
        if isinstance(value, str) and value:
            return value
    return "not ready"


def restarts(
    pods: pd.DataFrame,
    *,
    since: datetime | pd.Timestamp | None = None,
    threshold: float = 3,
    check: str = "restarts",
) -> Finding:
    """Restarts in the window; a pod is crash-looping in CrashLoopBackOff or above ``threshold``.

    ``threshold`` is MCPodRestartingFrequently's (more than 3 restarts in 15 minutes). Every
    pod crash-looping is 004's P1 example "All pods crash-looping" (critical); some, or
    any restart in the window, is "Single pod failing" (warning). A restart counts as in
    the window when the container last terminated after ``since`` (unknown: counted).
    """
    if pods.empty:
        return Finding.make(check, Level.OK, "No pods: no restarts to count", count=0)
    finished = (
        pd.to_datetime(pods["last_finished_at"], utc=True)
        if "last_finished_at" in pods
        else pd.Series(pd.NaT, index=pods.index, dtype="datetime64[ns, UTC]")
    )
    start = timestamp(since)
    if start is None:
        recent = pd.Series(True, index=pods.index)
    else:
        recent = finished.isna() | (finished >= start)
    counts = pods["restarts"].fillna(0).astype(int)
    restarted = (counts > 0) & recent
    waiting = (
        pods["waiting_reason"].astype("object")
        if "waiting_reason" in pods
        else pd.Series(None, index=pods.index, dtype="object")
    )
    looping = (waiting == "CrashLoopBackOff") | (restarted & (counts > threshold))
    hit = pods[(restarted | looping).to_numpy()]
    if hit.empty:
        return Finding.make(check, Level.OK, "No restarts in the window", count=0)
    rows = _shown(hit).assign(crash_looping=looping[hit.index].to_numpy())
    total = int(counts[hit.index].sum())
    if bool(looping.all()):
        return Finding.make(
            check,
            Level.CRITICAL,
            f"All pods crash-looping: {_n(len(pods), 'pod')}, {_n(total, 'restart')}",
            detail="P1: no pod stays up. The previous container's last lines say why it died; "
            "roll back if a rollout came first (Option 1).",
            rows=rows,
        )
    what = f"{_n(int(looping.sum()), 'pod')} crash-looping" if looping.any() else "restarting"
    return Finding.make(
        check,
        Level.WARNING,
        f"Single pod failing: {len(hit)} of {len(pods)} pods restarted ({what}), "
        f"{_n(total, 'restart')}",
        detail="The others still serve (P2); if every pod follows, it is an outage.",
        rows=rows,
    )


def oom_killed(
    pods: pd.DataFrame, *, events: pd.DataFrame | None = None, check: str = "oom_killed"
) -> Finding:
    """Root cause 2, "Pod events show OOMKilled": any container last terminated OOMKilled.

    ``events`` (optional, ``kubectl get events``) adds OOMKilling events of pods whose
    status no longer shows it. Critical: raise the memory limit (Option 4), look for a leak.
    """
    last = (
        pods["last_reason"].astype("object")
        if not pods.empty and "last_reason" in pods
        else pd.Series([], dtype="object")
    )
    killed = pods[(last == "OOMKilled").to_numpy()] if len(last) else pods.iloc[0:0]
    names = set(killed["pod"]) if "pod" in killed else set()
    rows = [
        {"pod": r["pod"], "container": r.get("container"), "source": "pod status"}
        for _, r in killed.iterrows()
    ]
    if events is not None and not events.empty and "reason" in events:
        text = (
            events["reason"].astype("string").fillna("")
            + " "
            + events.get("message", pd.Series("", index=events.index)).astype("string").fillna("")
        )
        oom = events[text.str.contains("OOM", case=False, regex=False).to_numpy()]
        for _, event in oom.iterrows():
            if event.get("object_name") not in names:
                names.add(event.get("object_name"))
                rows.append({"pod": event.get("object_name"), "container": None, "source": "event"})
    if not rows:
        return Finding.make(check, Level.OK, "No container was OOMKilled", count=0)
    return Finding.make(
        check,
        Level.CRITICAL,
        f"OOMKilled: {_n(len(rows), 'pod')} ran out of memory",
        detail="Root cause 2 (Out of Memory): raise the memory limit (Option 4, planned "
        "below) and investigate the leak (resource_pressure, memory_leak).",
        rows=rows,
    )


# ---------------------------------------------------------------- step 3: last logs


def last_logs(logs: pd.DataFrame, *, tail: int = 100, check: str = "last_logs") -> Finding:
    """`kubectl logs --previous --tail=100`: the error lines among each pod's last lines.

    Error lines (level ERROR/FATAL/PANIC, or the runbook's "error|panic|fatal" in a line
    without a level) are a warning: they are the crash's own account, to read before any
    fix. Root causes 3 and 6 (GC registration, actor system start) show up here.
    """
    if logs.empty:
        return Finding.make(
            check, Level.INFO, "No log lines in the window: nothing was written before", count=0
        )
    frame = logs.sort_values("ts", kind="stable", na_position="first") if "ts" in logs else logs
    groups = frame.groupby("pod", sort=False) if "pod" in frame else None
    last = groups.tail(tail) if groups is not None else frame.tail(tail)
    level = (
        last["level"].astype("string").fillna("").str.upper()
        if "level" in last
        else pd.Series("", index=last.index, dtype="string")
    )
    text = (
        last["msg"].astype("string").fillna("")
        if "msg" in last
        else pd.Series("", index=last.index, dtype="string")
    )
    if "raw" in last:
        text = text.where(text != "", last["raw"].astype("string").fillna(""))
    errors = level.isin(_ERROR_LEVELS) | ((level == "") & text.str.contains(_ERROR_WORDS))
    hit = last[errors.to_numpy()]
    if hit.empty:
        return Finding.make(
            check, Level.OK, f"No error among the last {_n(len(last), 'log line')}", count=0
        )
    shown = pd.DataFrame(
        {
            "ts": hit.get("ts", pd.NaT),
            "pod": hit.get("pod"),
            "level": level[hit.index],
            "msg": text[hit.index].str.slice(0, 500),
        }
    ).iloc[::-1]
    newest = str(shown["msg"].iloc[0])[:120]
    return Finding.make(
        check,
        Level.WARNING,
        f"{_n(len(hit), 'error line')} among the last {len(last)}; newest: {newest}",
        detail="Newest first. GC connection errors → root cause 3; actor initialisation "
        "errors → root cause 6; a panic → actor_panics.",
        rows=shown,
    )


# ---------------------------------------------------------------- step 7: rollouts


def recent_rollout(
    history: pd.DataFrame,
    *,
    since: datetime | pd.Timestamp,
    check: str = "recent_rollout",
) -> Finding:
    """`kubectl rollout history`: a revision created inside the window is the suspect.

    Root cause 1 (Bad Deployment): warning, with Option 1 (rollout undo) as the fix.
    """
    if history.empty:
        return Finding.make(check, Level.OK, "No rollout history for this deployment", count=0)
    start = timestamp(since)
    created = pd.to_datetime(history["created"], utc=True)
    inside = history[(created >= start).to_numpy()].sort_values("revision")
    if inside.empty:
        latest = history.sort_values("revision").iloc[-1]
        when = pd.Timestamp(latest["created"])
        at = "" if pd.isna(when) else f" at {when:%Y-%m-%d %H:%M} UTC"
        return Finding.make(
            check,
            Level.OK,
            f"No rollout in the window; latest revision {latest['revision']}{at}",
            rows=history.tail(5),
            count=0,
        )
    suspect = inside.iloc[-1]
    return Finding.make(
        check,
        Level.WARNING,
        f"Bad Deployment? revision {suspect['revision']} rolled out at "
        f"{pd.Timestamp(suspect['created']):%H:%M:%S} UTC, inside the window: roll back",
        detail="Root cause 1: a recent deployment introduced the crash. `kubectl rollout undo` "
        "(Option 1) is planned below; inform the GC Team so it routes meetings elsewhere.",
        rows=inside,
    )


# ---------------------------------------------------------------- local: database


def database_reachable(probe: pd.DataFrame, *, check: str = "database_reachable") -> Finding:
    """`SELECT 1` against database_url: a service whose database is gone cannot start.

    ``probe``: one row with ``reachable``, ``latency_ms`` and ``error``.
    """
    if probe.empty:
        return Finding.not_checked(check, "database: nothing was probed")
    row = probe.iloc[0]
    if bool(row["reachable"]):
        return Finding.make(
            check,
            Level.OK,
            f"Database answered SELECT 1 in {float(row['latency_ms']):.0f} ms",
            rows=probe,
            count=0,
        )
    return Finding.make(
        check,
        Level.CRITICAL,
        "Database unreachable: the service cannot start or become ready without it",
        detail=str(row.get("error") or ""),
        rows=probe,
    )


# ---------------------------------------------------------------- history


def down_periods(up: pd.DataFrame) -> pd.DataFrame:
    """When each target went down (``up`` == 0) and came back, from a Prometheus range.

    ``up``: ``timestamp``, ``value`` and the target's labels (``instance``, ``job``). One
    row per period: ``target``, ``down_from``, ``down_until`` (NaT: still down).
    """
    columns = ["target", "down_from", "down_until"]
    if up.empty or "value" not in up:
        return pd.DataFrame(columns=columns)
    keys = [c for c in ("job", "instance", "pod") if c in up.columns]
    target = up[keys].astype("string").agg(" ".join, axis=1) if keys else "up"
    frame = up.assign(_target=target).sort_values("timestamp")
    rows = []
    for name, group in frame.groupby("_target", sort=True):
        down = (group["value"] == 0).to_numpy()
        stamps = pd.to_datetime(group["timestamp"], utc=True).to_numpy()
        start = None
        for is_down, stamp in zip(down, stamps, strict=True):
            if is_down and start is None:
                start = stamp
            elif not is_down and start is not None:
                rows.append({"target": name, "down_from": start, "down_until": stamp})
                start = None
        if start is not None:
            rows.append({"target": name, "down_from": start, "down_until": pd.NaT})
    out = pd.DataFrame(rows, columns=columns)
    for column in ("down_from", "down_until"):
        out[column] = pd.to_datetime(out[column], utc=True)
    return out
