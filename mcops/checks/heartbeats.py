"""Runbook 004 Scenario 6 "GC Integration Failures": heartbeats and registration.

Two questions: what share of heartbeats to the global controller fail
(``mc_gc_heartbeats_total{result}``, MCGCHeartbeatWarning > 10 %, MCGCHeartbeatFailure
> 50 %), and is this MC registered in the GC's ``meeting_controllers`` table ('active',
or 'draining' by design) with a heartbeat newer than 30 s (the runbook's "Verify
recovery" query). `mcops.scenarios.gc_integration` reads both; these judges see frames.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.checks import trends
from mcops.classify import classify
from mcops.counters import growth
from mcops.findings import Finding, Level
from mcops.utc import timestamp

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = [
    "COUNTER",
    "REGISTERED",
    "failure_ratio",
    "gaps",
    "heartbeat_counts",
    "registration",
    "stale_after",
]

COUNTER = "mc_gc_heartbeats_total"
_RESULTS = ("success", "failure")


def heartbeat_counts(frame: pd.DataFrame, *, since: datetime | None = None) -> pd.DataFrame:
    """Per ``result``: how much the counter grew (resets handled) and its last total."""
    columns = ["result", "increase", "total"]
    if frame.empty or "result" not in frame:
        return pd.DataFrame(columns=columns)
    rows = []
    for result, group in frame.groupby(frame["result"].astype("string"), sort=True):
        values = group.groupby("timestamp")["value"].sum().sort_index()
        rows.append((str(result), growth(values, since=since), float(values.iloc[-1])))
    return pd.DataFrame(rows, columns=columns)


def failure_ratio(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Step 1 judged: failures / all heartbeats, warning > 10 %, critical > 50 %.

    Scrapes too close together to see a heartbeat fall back to the totals since the
    service started (and say so).
    """
    check = "gc_heartbeat_failures"
    if frame.empty:
        return Finding.not_checked(check, f"no {COUNTER} samples (is the MC exporting it?)")
    counts = heartbeat_counts(frame, since=frame.attrs.get("since"))
    column, over = "increase", "in the window"
    if counts["increase"].sum() <= 0:
        column, over = "total", "since the service started"
    by = dict(zip(counts["result"], counts[column], strict=True))
    failures, successes = by.get("failure", 0.0), by.get("success", 0.0)
    attempts = failures + successes
    if attempts <= 0:
        return Finding.make(
            check,
            Level.WARNING,
            "No GC heartbeat was attempted: the heartbeat loop may be stuck",
            detail="Check the MC logs for 'GC heartbeat' and 'Registered with global controller'.",
            rows=counts,
            count=0,
        )
    ratio = failures / attempts
    verdict = classify("gc_heartbeat_failure_ratio", ratio, thresholds=thresholds)
    return Finding.make(
        check,
        verdict.level,
        f"{failures:.0f} of {attempts:.0f} GC heartbeats failed {over}: {verdict.text}",
        detail=(
            "Failing heartbeats mean the GC may mark this MC unhealthy and stop routing "
            "meetings to it. Check GC health, connectivity, NetworkPolicy and DNS (steps 2, "
            "4, 6) and the MC logs for 'GC heartbeat failed'; engage the GC Team."
        ),
        rows=counts,
        count=round(failures),
    )


def gaps(frame: pd.DataFrame, *, interval_s: float = 5.0) -> pd.DataFrame:
    """Periods without a successful heartbeat (`trends.heartbeat_gaps`) in the frame."""
    if frame.empty or "result" not in frame:
        return pd.DataFrame(columns=["gap_start", "gap_end", "seconds"])
    successes = frame[frame["result"].astype("string") == "success"]
    return trends.heartbeat_gaps(trends.series(successes), interval_s=interval_s)


def stale_after(thresholds: Thresholds | None = None) -> timedelta:
    """The runbook's 30 s: the upper edge of ``gc_heartbeat_age_seconds``'s ok band."""
    from mcops.thresholds import default_thresholds

    bands = (thresholds or default_thresholds()).bands("gc_heartbeat_age_seconds")
    upper = next(b.upper for b in bands if b.level == Level.OK)
    return timedelta(seconds=float(upper if upper is not None else 30))


#: 004's statuses of a registered MC: 'active', and 'draining' (Scenario 7 Option 4 and the
#: Graceful Drain Procedure: no new meetings while current ones finish, by design).
REGISTERED = ("active", "draining")


def registration(
    table: pd.DataFrame,
    *,
    now: datetime,
    mc_id: str = "",
    max_age: timedelta | None = None,
    thresholds: Thresholds | None = None,
) -> Finding:
    """Step 3 judged, per MC (``mc_id``, else every row); the table comes back with ``age_s``.

    Critical only for 004's "complete GC registration failure" (P1): no row, or a status
    that is neither 'active' nor 'draining'. A heartbeat older than ``max_age`` (default:
    `stale_after`, the runbook's 30 s) or never sent is the ``gc_heartbeat_age_seconds``
    "late" band, a warning ("GC heartbeat intermittent", P2). 'draining' is info.
    """
    check = "registration"
    if mc_id and (table.empty or not (table["id"].astype("string") == mc_id).any()):
        return Finding.make(
            check,
            Level.CRITICAL,
            f"MC {mc_id} has no row in meeting_controllers: it is not registered with the GC",
            detail="Restart the MC (Option 1) or re-register it (Option 4); check GC health.",
            rows=table,
            count=1,
        )
    if table.empty:
        return Finding.make(
            check,
            Level.CRITICAL,
            "meeting_controllers is empty: no MC is registered with the GC",
            detail="Restart the MC (Option 1) or re-register it (Option 4); check GC health.",
            count=0,
        )
    if max_age is None:
        max_age = stale_after(thresholds)
    late = _late_level(thresholds)
    rows = table[table["id"].astype("string") == mc_id] if mc_id else table
    rows = rows.assign(age_s=_ages(rows["last_heartbeat"], now))
    judged = [_judge_row(r, max_age, late) for r in rows.to_dict("records")]
    level = max((lvl for lvl, _ in judged), default=Level.OK)
    limit = f"{max_age.total_seconds():g}s"
    if level == Level.OK:
        oldest = rows["age_s"].max()
        return Finding.make(
            check,
            Level.OK,
            f"{_n(len(rows), 'MC')} active with a heartbeat in the last {limit} "
            f"(oldest {oldest:.0f}s ago)",
            rows=rows,
            count=0,
        )
    notes = [text for lvl, text in sorted(judged, key=lambda j: -j[0]) if lvl > Level.OK]
    listed = "; ".join(notes[:3]) + ("; …" if len(notes) > 3 else "")
    offending = sum(lvl >= Level.WARNING for lvl, _ in judged)
    if level >= Level.CRITICAL:
        unregistered = sum(lvl >= Level.CRITICAL for lvl, _ in judged)
        title = f"{_n(unregistered, 'MC')} not registered with the GC: {listed}"
        detail = (
            "Complete GC registration failure: the GC routes no meeting to an MC whose row "
            "is neither 'active' nor 'draining'. Restart the MC (Option 1) or re-register it "
            "(Option 4); check GC health and engage the GC Team."
        )
    elif level >= Level.WARNING:
        title = f"GC heartbeat intermittent: {listed}"
        detail = (
            f"The MC is registered, but the runbook's verification wants a heartbeat newer "
            f"than {limit}; the GC may mark it unhealthy. Fix the heartbeat failures "
            "(gc_heartbeat_failures), then restart or re-register the MC if it stays late."
        )
    else:
        others = len(rows) - len(notes)
        title = listed + (f"; {_n(others, 'other MC')} active and on time" if others else "")
        detail = "Set status 'active' again after maintenance (Graceful Drain Procedure step 4)."
    return Finding.make(check, level, title, detail=detail, rows=rows, count=offending)


def _late_level(thresholds: Thresholds | None) -> Level:
    """The level of ``gc_heartbeat_age_seconds``'s first band past ok ("late": warning)."""
    from mcops.thresholds import default_thresholds

    bands = (thresholds or default_thresholds()).bands("gc_heartbeat_age_seconds")
    return next((b.level for b in bands if b.level > Level.OK), Level.WARNING)


def _ages(stamps: pd.Series, now: datetime) -> pd.Series:
    moments = pd.to_datetime(stamps, utc=True)
    # a heartbeat after ``now`` (the window end, fixed when the run started) is age 0
    return (timestamp(now) - moments).dt.total_seconds().clip(lower=0)


def _judge_row(row: dict[str, Any], max_age: timedelta, late: Level) -> tuple[Level, str]:
    status, age = row["status"], row["age_s"]
    if status not in REGISTERED:
        return Level.CRITICAL, f"{row['id']} status is {status!r} (neither 'active' nor 'draining')"
    if pd.isna(age):
        return late, f"{row['id']} never sent a heartbeat"
    if age > max_age.total_seconds():
        return late, f"{row['id']} last heartbeat {age:.0f}s ago (> {max_age.total_seconds():g}s)"
    if status == "draining":
        return Level.INFO, f"{row['id']} draining: no new meetings, by design"
    return Level.OK, ""


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
