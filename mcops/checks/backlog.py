"""Runbook 000 FM2 "Mailbox Backlog" and runbook 004 Scenario 1 "High Mailbox Depth".

Inputs are long metric frames (``timestamp``, ``metric``, ``value``, label columns such
as ``actor_type``) from `Investigation.metric_range`: a Prometheus range, or a few
scrapes when Prometheus is gone. The runbook's questions: which actor type is backed up
(depth, peak and now), does processing keep up with arrivals, are messages dropped,
which statements are slow, how many connections are busy.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks import trends
from mcops.classify import classify
from mcops.counters import growth
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = [
    "counter_increase",
    "depth_by_actor_type",
    "mailbox_depth",
    "messages_dropped",
    "pg_connections",
    "processing_vs_arrival",
    "slow_queries",
]

_BY = "actor_type"


def _labels(frame: pd.DataFrame) -> pd.Series:
    if _BY in frame:
        return frame[_BY].astype("string").fillna("(none)")
    return pd.Series("all", index=frame.index, dtype="string")


def depth_by_actor_type(frame: pd.DataFrame) -> pd.DataFrame:
    """``sum by(actor_type) (mc_actor_mailbox_depth)``: now and its peak in the window."""
    columns = [_BY, "now", "peak", "peak_at"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    summed = (
        frame.assign(**{_BY: _labels(frame)})
        .groupby([_BY, "timestamp"], observed=True)["value"]
        .sum()
        .reset_index()
        .sort_values("timestamp")
    )
    rows = []
    for kind, group in summed.groupby(_BY, observed=True, sort=True):
        peak = group.loc[group["value"].idxmax()]
        rows.append((kind, group["value"].iloc[-1], peak["value"], peak["timestamp"]))
    result = pd.DataFrame(rows, columns=columns)
    return result.sort_values("peak", ascending=False, ignore_index=True)


def mailbox_depth(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """004 Scenario 1 steps 1–2: the most backed-up actor type, judged at its peak.

    Warning above 100 queued messages, critical above 500 (MCHighMailboxDepth*).
    """
    if frame.empty:
        return Finding.not_checked("mailbox_depth", "no mc_actor_mailbox_depth samples")
    table = depth_by_actor_type(frame)
    worst = table.iloc[0]
    verdict = classify("mc_mailbox_depth", float(worst["peak"]), thresholds=thresholds)
    title = (
        f"Mailbox depth of {worst[_BY]} actors peaked at {worst['peak']:.0f} "
        f"(now {worst['now']:.0f}): {verdict.text}"
    )
    return Finding.make(
        "mailbox_depth",
        verdict.level,
        title,
        detail=(
            "Above 100 the actor type is falling behind; above 500 for 5 minutes escalate "
            "to the Service Owner. Compare processing with arrival rates next."
        ),
        rows=table,
        count=int((table["peak"] > 0).sum()),
    )


def processing_vs_arrival(
    processed: pd.DataFrame, *, depth: pd.DataFrame, thresholds: Thresholds | None = None
) -> Finding:
    """004 Scenario 1 step 3: is processing slower than mailbox growth (`trends.mailbox_growth`).

    ``processed`` is ``mc_message_processing_duration_seconds_count`` over the window,
    ``depth`` the ``mc_actor_mailbox_depth`` frame of the same window.
    """
    from mcops.thresholds import default_thresholds

    depth_series = trends.series(depth)
    processed_series = trends.series(processed)
    if len(depth_series) < 2 or len(processed_series) < 2:
        return Finding.not_checked(
            "processing_vs_arrival", "fewer than 2 samples of depth and processed count"
        )
    bands = {
        b.name: b.upper for b in (thresholds or default_thresholds()).bands("mc_mailbox_depth")
    }
    return trends.mailbox_growth(
        depth_series,
        processed_series,
        warning=bands.get("ok") or 100,
        critical=bands.get("warning") or 500,
    )


def counter_increase(frame: pd.DataFrame, *, since: datetime) -> pd.DataFrame:
    """Per actor_type: how much a counter grew in the window, resets handled.

    A series whose first sample is after ``since`` (plus a little slack) was born in the
    window, or history is missing (a scrape): its first value counts as growth too.
    """
    columns = [_BY, "increase", "total"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    labelled = frame.assign(**{_BY: _labels(frame)})
    rows = []
    for kind, group in labelled.groupby(_BY, observed=True, sort=True):
        values = group.groupby("timestamp")["value"].sum().sort_index()
        rows.append((kind, growth(values, since=since), float(values.iloc[-1])))
    return pd.DataFrame(rows, columns=columns).sort_values(
        "increase", ascending=False, ignore_index=True
    )


def messages_dropped(
    frame: pd.DataFrame,
    *,
    since: datetime,
    processed: pd.DataFrame | None = None,
    thresholds: Thresholds | None = None,
) -> Finding:
    """004 Scenario 1 step 7: messages dropped in the window, judged by the drop rate.

    ``frame`` is ``mc_messages_dropped_total``, ``processed`` the
    ``mc_message_processing_duration_seconds_count`` of the same window. The rate
    dropped / (processed + dropped) is placed in the ``drop_rate`` band: any drop is a
    warning ("escalate immediately"), above 1 % critical (the severity table's P1). When
    the processed count is unknown, any drop is a warning and the title says why.
    """
    check = "messages_dropped"
    if frame.empty:
        return Finding.make(
            check, Level.OK, "No message was dropped (no mc_messages_dropped_total)"
        )
    table = counter_increase(frame, since=since)
    dropped = table[table["increase"] > 0]
    if dropped.empty:
        return Finding.make(
            check, Level.OK, "No message dropped in the window", rows=table, count=0
        )
    total = float(dropped["increase"].sum())
    parts = ", ".join(
        f"{k}: {n:.0f}" for k, n in zip(dropped[_BY], dropped["increase"], strict=True)
    )
    done = (
        None if processed is None or processed.empty else counter_increase(processed, since=since)
    )
    detail = (
        "Mailboxes are full and callers get 503 MailboxFull: escalate immediately. "
        "Find the slow handler or the slow database, then scale out."
    )
    if done is None:
        return Finding.make(
            check,
            Level.WARNING,
            f"{total:.0f} messages dropped by full mailboxes ({parts}); drop rate unknown "
            "(no processed count), so any drop is a warning",
            detail=detail,
            rows=dropped,
        )
    handled = done.set_index(_BY)["increase"]
    rows = dropped.assign(
        processed=dropped[_BY].map(handled).fillna(0.0).to_numpy(),
    )
    rows = rows.assign(drop_rate=rows["increase"] / (rows["processed"] + rows["increase"]))
    rate = total / (float(handled.sum()) + total)
    verdict = classify("drop_rate", rate, thresholds=thresholds)
    return Finding.make(
        check,
        verdict.level,
        f"{total:.0f} messages dropped by full mailboxes ({parts}): drop rate {verdict.text}",
        detail=detail,
        rows=rows,
    )


def slow_queries(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """000 Clearing Mailbox Backlog step 1: statements averaging over 100 ms.

    ``frame`` is the ``slow_statements`` query (pg_stat_statements, mean_exec_time in ms).
    """
    if frame.empty:
        return Finding.make("slow_queries", Level.OK, "No statement statistics recorded")
    levels = frame["mean_exec_time"].map(
        lambda ms: classify("slow_query_ms", float(ms), thresholds=thresholds).level
    )
    slow = frame[levels >= Level.WARNING]
    if slow.empty:
        return Finding.make(
            "slow_queries",
            Level.OK,
            f"No statement averages over 100 ms (slowest {frame['mean_exec_time'].max():.1f} ms)",
            rows=frame,
            count=0,
        )
    return Finding.make(
        "slow_queries",
        Level.WARNING,
        f"{len(slow)} statements average over 100 ms "
        f"(slowest {slow['mean_exec_time'].max():.0f} ms)",
        detail="Add the runbook's indexes (AddRunbookIndexes) and check query plans.",
        rows=slow,
    )


def pg_connections(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """000 FM2 detection / step 2: ``pg_stat_activity`` active connections (20+ exhausted)."""
    if frame.empty:
        return Finding.make("pg_connections", Level.OK, "No connections in pg_stat_activity")
    active = int(frame.loc[frame["state"] == "active", "count"].sum())
    verdict = classify("pg_active_connections", active, thresholds=thresholds)
    return Finding.make(
        "pg_connections",
        verdict.level,
        f"{active} active database connections: {verdict.text}",
        rows=frame,
        count=0 if verdict.level < Level.WARNING else active,
    )
