"""Runbook 000 FM4 "Memory Leak" / Memory Leak Mitigation steps 1–2.

Step 1 ("if growing linearly, likely a leak") is `trends.trend_finding` over the actor
count and the process memory (memory above Alert MemoryUsageHigh's 2 GB is a warning
whatever its trend); step 2 asks which actors could go: the runbook lists
conversations idle for 7 days, and the server itself lists live actors idle longer
than its inactivity timeout — actors the cleanup sweep should already have stopped
(read by `mcops.scenarios.memory_leak.live_actors`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks import trends
from mcops.classify import classify
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = [
    "actor_count_trend",
    "idle_limit",
    "inactivity_tiers",
    "memory_trend",
    "stale_actors",
]


def _first_edge(thresholds: Thresholds | None, metric: str, level: Level) -> float | None:
    """The lower edge of the first band at ``level`` or worse (the line not to cross)."""
    from mcops.thresholds import default_thresholds

    for band in (thresholds or default_thresholds()).bands(metric):
        if band.level >= level and band.lower is not None:
            return band.lower
    return None


def actor_count_trend(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Step 1: is ``actor_registry_active_actors`` growing linearly (critical: 10,000+)?"""
    limit = _first_edge(thresholds, "active_actors", Level.CRITICAL)
    return trends.trend_finding(
        "actor_count_trend", _after_empty(trends.series(frame)), what="Active actors", limit=limit
    )


def _after_empty(values: pd.Series) -> pd.Series:
    """Drop the leading samples of an empty registry (a fresh start).

    Growth is judged relative to the line's start; from zero it is undefined, and a fit
    through a run of zeros starts below zero, which would read as shrinking.
    """
    nonzero = values.to_numpy() > 0
    if not nonzero.any():
        return values
    return values.iloc[int(nonzero.argmax()) :]


def memory_trend(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """FM4 symptom 'memory growing from 200MB to 2GB+': resident memory's trend, and now.

    The trend is `trends.trend_finding`; independently, memory above ``memory_bytes``'s
    ok band (000 Alert MemoryUsageHigh: > 2GB, a warning) is at least that band's level,
    flat or not. "Now" is each series' (each container's, like the alert) newest sample.
    """
    check = "memory_trend"
    limit = _first_edge(thresholds, "memory_bytes", Level.WARNING)
    mib = trends.series(frame) / 2**20
    finding = trends.trend_finding(
        check,
        mib,
        what="Resident memory",
        unit=" MiB",
        limit=None if limit is None else limit / 2**20,
    )
    current = _newest_per_series(frame)
    if current is None:
        return finding
    now = classify("memory_bytes", current, thresholds=thresholds)
    if now.level < Level.WARNING:
        return finding
    if not finding.checked:  # too few samples for a trend, enough to see the level
        return Finding.make(
            check,
            now.level,
            f"Resident memory now {now.text} (MemoryUsageHigh); trend not judged: "
            f"{finding.title.removeprefix('not checked: ')}",
            detail=_HIGH_MEMORY,
            rows=[{"now_bytes": current}],
            count=1,
        )
    return dataclasses.replace(
        finding,
        level=max(finding.level, now.level),
        title=f"{finding.title}; now {now.text} (MemoryUsageHigh)",
        detail=finding.detail or _HIGH_MEMORY,
        data=tuple({**row, "now_bytes": current} for row in finding.data),
        count=1,
    )


_HIGH_MEMORY = (
    "Above the MemoryUsageHigh limit: find stale actors (step 2), restart to clear them, "
    "and set an inactivity timeout."
)


def _newest_per_series(frame: pd.DataFrame) -> float | None:
    """The largest of each series' newest value (series: the label columns), or None."""
    if frame.empty or "value" not in frame:
        return None
    samples = frame.dropna(subset=["value"]).sort_values("timestamp")
    if samples.empty:
        return None
    labels = [c for c in samples.columns if c not in ("timestamp", "value")]
    if not labels:
        return float(samples["value"].iloc[-1])
    newest = samples.groupby(labels, dropna=False, observed=True)["value"].last()
    return float(newest.max())


def idle_limit(actors: pd.DataFrame, *, thresholds: Thresholds | None = None) -> float:
    """Seconds idle after which an actor is stale: the server's inactivity timeout.

    Without one (not in the frame, or the timeout disabled) the runbook's 7 days.
    """
    from mcops.thresholds import default_thresholds

    if "inactivity_timeout" in actors and actors["inactivity_timeout"].notna().any():
        return float(actors["inactivity_timeout"].dropna().iloc[0])
    return (thresholds or default_thresholds()).windows.stale_conversation.total_seconds()


def stale_actors(
    actors: pd.DataFrame,
    *,
    idle_seconds: float | None = None,
    thresholds: Thresholds | None = None,
) -> Finding:
    """Step 2: live actors idle at least ``idle_seconds`` (default: `idle_limit`).

    They hold memory for nothing; when the limit is the inactivity timeout their
    presence means the cleanup sweep is not running — the leak itself.
    """
    if actors.empty:
        return Finding.make("stale_actors", Level.OK, "No live actors")
    if idle_seconds is None:
        idle_seconds = idle_limit(actors, thresholds=thresholds)
    idle = actors[actors["idle_seconds"].astype("float64") >= idle_seconds]
    idle = idle.sort_values("idle_seconds", ascending=False, ignore_index=True)
    if idle.empty:
        return Finding.make(
            "stale_actors",
            Level.OK,
            f"None of {len(actors)} live actors is idle for {idle_seconds:g}s or more",
            count=0,
        )
    columns = [c for c in ("actor_type", "actor_id", "idle_seconds", "mailbox_depth") if c in idle]
    return Finding.make(
        "stale_actors",
        Level.WARNING,
        f"{len(idle)} of {len(actors)} live actors idle for {idle_seconds:g}s or more",
        detail=(
            "The inactivity sweep should have stopped them: actors are not being cleaned up. "
            "Stop them (StopStaleActors), restart the server as a stop-gap, and check that "
            "INACTIVITY_TIMEOUT and the cleanup sweep are in effect."
        ),
        rows=idle[columns],
    )


def inactivity_tiers(thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Step 4's actor TTL guidance: busier conversations keep their actors longer."""
    from mcops.thresholds import default_thresholds

    inactivity = (thresholds or default_thresholds()).inactivity
    rows = [
        {
            "tier": name,
            "min_messages_per_hour": tier.min_messages_per_hour,
            "inactivity_timeout": str(tier.timeout),
        }
        for name, tier in inactivity.tiers.items()
    ]
    rows.append(
        {
            "tier": "cleanup sweep",
            "min_messages_per_hour": None,
            "inactivity_timeout": f"every {inactivity.cleanup_interval}",
        }
    )
    return pd.DataFrame(rows)
