"""Runbook 004 Scenario 3 "Meeting Lifecycle Issues": stale, stuck and orphaned meetings.

Three views of one meeting, which should agree: the MC's gauges (``mc_meetings_active``,
``mc_connections_active``), the MC's live meeting actors (admin API), and the global
controller's ``meetings`` table. Where they disagree is the finding: active meetings
without connections (MCLowConnectionCount), meetings the GC still calls active but no MC
actor serves (GC-MC state mismatch), meetings untouched for an hour (MCMeetingStale).
The frames are read by `mcops.scenarios.meeting_lifecycle`; these judges only compare them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from mcops.checks.backlog import counter_increase
from mcops.findings import Finding, Level
from mcops.utc import timestamp

__all__ = [
    "GAUGES",
    "distinct_meetings",
    "gc_mc_mismatch",
    "idle_minutes",
    "latest",
    "meeting_activity",
    "meeting_counts",
    "meeting_errors",
    "stale_meetings",
]

GAUGES = ("mc_meetings_active", "mc_connections_active")
_LIFECYCLE_WORDS = r"(?i)meeting|session|lifecycle"


def distinct_meetings(frame: pd.DataFrame) -> int | None:
    """How many distinct meetings ``frame``'s rows name (004: "affects multiple meetings").

    Each row's ``meeting_id``, else the logs' ``meeting_ref`` (the id a line refers to);
    two rows of one meeting count once. None when no row names a meeting.
    """
    ids = pd.Series(pd.NA, index=frame.index, dtype="string")
    for column in ("meeting_id", "meeting_ref"):
        if column in frame:
            named = frame[column].astype("string").str.strip().replace("", pd.NA)
            ids = ids.fillna(named)
    ids = ids.dropna()
    return int(ids.nunique()) if not ids.empty else None


def latest(frame: pd.DataFrame, metric: str) -> float | None:
    """The newest value of ``metric`` summed over its series; None when it is absent."""
    if frame.empty or "metric" not in frame:
        return None
    rows = frame[frame["metric"].astype("string") == metric]
    if rows.empty:
        return None
    last = rows[rows["timestamp"] == rows["timestamp"].max()]
    return float(last["value"].sum())


def meeting_counts(frame: pd.DataFrame) -> Finding:
    """Step 1 judged: fewer connections than active meetings leaves a meeting unconnected."""
    check = "meeting_counts"
    if frame.empty or "metric" not in frame:
        return Finding.not_checked(check, "the service exports neither gauge")
    meetings, connections = (latest(frame, name) for name in GAUGES)
    if meetings is None or connections is None:
        found = zip(GAUGES, (meetings, connections), strict=True)
        missing = [name for name, value in found if value is None]
        return Finding.not_checked(check, f"the service does not export {', '.join(missing)}")
    rows = [{"meetings_active": meetings, "connections_active": connections}]
    if connections < meetings:
        return Finding.make(
            check,
            Level.WARNING,
            f"{connections:g} connections for {meetings:g} active meetings: "
            "some meetings have nobody connected (MCLowConnectionCount)",
            detail="Clients disconnected without cleanup, or connections fail to establish: "
            "see connection_errors; the meeting timeout ends an empty meeting eventually.",
            rows=rows,
            count=int(meetings - connections),
        )
    return Finding.make(
        check,
        Level.OK,
        f"{meetings:g} active meetings, {connections:g} connections",
        rows=rows,
        count=0,
    )


def meeting_activity(
    frame: pd.DataFrame,
    *,
    since: datetime,
    active_meetings: float | None,
    window: timedelta,
    stale_after: timedelta,
) -> Finding:
    """Step 2: messages meeting actors processed in the window.

    MCMeetingStale's question: active meetings, yet not one message for ``stale_after``.
    A shorter window cannot answer it, so it only reports the count. The counter has no
    meeting label: the meetings affected are the ``active_meetings`` gauge's, each one
    meeting.
    """
    check = "meeting_activity"
    grown = counter_increase(frame, since=since)
    meeting = grown[grown["actor_type"].astype("string") == "meeting"]
    processed = float(meeting["increase"].sum()) if not meeting.empty else 0.0
    rows = [{"actor_type": "meeting", "processed": processed, "active_meetings": active_meetings}]
    if processed == 0 and (active_meetings or 0) > 0 and window >= stale_after:
        return Finding.make(
            check,
            Level.WARNING,
            f"{active_meetings:g} active meetings processed no message in {_span(window)} "
            "(MCMeetingStale)",
            detail="Meeting actors stuck or sessions orphaned: see stale_meetings and "
            "gc_mc_mismatch below.",
            rows=rows,
            count=int(active_meetings or 0),
            affected_meetings=int(active_meetings or 0),
        )
    return Finding.make(
        check,
        Level.INFO,
        f"Meeting actors processed {processed:g} messages in the window",
        rows=rows,
        count=int(processed),
    )


def meeting_errors(frame: pd.DataFrame) -> Finding:
    """Step 3: error and warning lines about meetings, sessions or their lifecycle."""
    check = "meeting_errors"
    if frame.empty or "msg" not in frame:
        return Finding.make(check, Level.OK, "No log lines in the window", count=0)
    text = frame["msg"].astype("string")
    levels = frame["level"].astype("string").str.upper() if "level" in frame else None
    mask = text.str.contains(_LIFECYCLE_WORDS, regex=True, na=False)
    if levels is not None:
        mask &= levels.isin(["ERROR", "WARN", "WARNING"]).fillna(False)
    errors = frame[mask.to_numpy()]
    if errors.empty:
        return Finding.make(check, Level.OK, "No meeting lifecycle errors in the logs", count=0)
    grouped = (
        errors.assign(message=errors["msg"].astype("string").str.slice(0, 160))
        .groupby("message", sort=False)
        .size()
        .sort_values(ascending=False)
        .rename("lines")
        .reset_index()
    )
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(errors)} meeting lifecycle errors in the logs ({len(grouped)} distinct)",
        rows=grouped,
        count=len(errors),
        affected_meetings=distinct_meetings(errors),
    )


def idle_minutes(frame: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """``frame`` with ``idle_minutes``: minutes from ``updated_at`` to ``now``."""
    if frame.empty:
        return frame.assign(idle_minutes=pd.Series(dtype="float64"))
    idle = timestamp(now) - pd.to_datetime(frame["updated_at"], utc=True)
    return frame.assign(idle_minutes=(idle.dt.total_seconds() / 60).round(1))


def stale_meetings(frame: pd.DataFrame, *, now: datetime, stale_after: timedelta) -> Finding:
    """Root cause 1/5: active in the GC, yet untouched for longer than ``stale_after``."""
    check = "stale_meetings"
    if frame.empty:
        return Finding.make(
            check, Level.OK, f"No active meeting idle for more than {_span(stale_after)}", count=0
        )
    rows = idle_minutes(frame, now=now)
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(frame)} active meetings idle for more than {_span(stale_after)} (MCMeetingStale)",
        detail="Stuck or orphaned sessions: end them (Option 3 below), after checking that "
        "nobody is still connected.",
        rows=rows,
        count=len(frame),
        affected_meetings=distinct_meetings(frame),
    )


def gc_mc_mismatch(frame: pd.DataFrame) -> Finding:
    """Root cause 3: the GC thinks a meeting is active but no MC actor serves it."""
    check = "gc_mc_mismatch"
    where = f"MC {frame.attrs['mc_id']}" if frame.attrs.get("mc_id") else "this MC"
    if frame.empty:
        return Finding.make(check, Level.OK, f"The GC lists no active meeting on {where}", count=0)
    orphaned = frame[~frame["live_on_mc"].astype(bool)]
    if orphaned.empty:
        return Finding.make(
            check,
            Level.OK,
            f"All {len(frame)} meetings the GC calls active on {where} have a live actor",
            count=0,
        )
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(orphaned)} of {len(frame)} meetings the GC calls active on {where} "
        "have no live meeting actor",
        detail="GC-MC state mismatch (after an MC restart, say): reconcile by ending them in "
        "the GC (Option 3), and tell the GC Team.",
        rows=orphaned.drop(columns=["live_on_mc"]),
        count=len(orphaned),
        affected_meetings=distinct_meetings(orphaned),
    )


def _span(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"
