"""Key metrics judged against the runbooks' normal/high/critical ranges.

Input is a `mcops.snapshot` frame (``key``, ``value``, ``operation``); each value is
placed in its band by `mcops.thresholds.classify`, so the sentence an engineer reads
("150 ms is slow (50–200 ms)") and the level come from the same table.
"""

from __future__ import annotations

import pandas as pd

from mcops.errors import ParameterError
from mcops.findings import Finding, Level
from mcops.thresholds import Thresholds, classify

__all__ = ["judge_snapshot", "key_metrics", "metric_check"]

_TITLES = {
    "active_actors": "Active actors",
    "spawn_rate_per_minute": "Actor spawn rate",
    "p95_latency_ms": "P95 message latency",
    "error_rate": "Actor error rate",
    "db_pool_active": "DB pool connections in use",
    "actor_mailbox_size": "Queued actor messages",
    "mc_mailbox_depth": "MC mailbox depth",
    "mc_p95_latency_seconds": "MC p95 processing latency",
    "drop_rate": "Dropped message rate",
    "gc_heartbeat_failure_ratio": "GC heartbeat failures",
    "actor_panics": "Actor panics",
    "epoch_conflicts": "Epoch conflicts (last hour)",
}


def judge_snapshot(snapshot: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Each snapshot row with its ``level`` and ``assessment`` sentence, worst first."""
    rows = []
    for item in snapshot.itertuples(index=False):
        operation = item.operation if item.key == "p95_latency_ms" and item.operation else None
        try:
            verdict = classify(item.key, item.value, thresholds=thresholds, operation=operation)
        except ParameterError:  # a message type the table does not class: general bands
            verdict = classify(item.key, item.value, thresholds=thresholds)
        rows.append(
            {
                "metric": _TITLES.get(item.key, item.key),
                "key": item.key,
                "operation": item.operation,
                "value": item.value,
                "level": str(verdict.level),
                "assessment": verdict.text,
                "_rank": int(verdict.level),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["metric", "key", "operation", "value", "level", "assessment", "_rank"]
    )
    frame = frame.sort_values(["_rank", "metric"], ascending=[False, True], kind="stable")
    return frame.drop(columns="_rank").reset_index(drop=True)


def key_metrics(
    snapshot: pd.DataFrame, *, thresholds: Thresholds | None = None, check: str = "key_metrics"
) -> Finding:
    """Triage step 2 'check metrics': the worst key metric sets the level."""
    if snapshot.empty:
        return Finding.not_checked(check, "no key metric had data (no traffic or no metrics)")
    judged = judge_snapshot(snapshot, thresholds=thresholds)
    worst = Level.parse(judged.loc[0, "level"])
    bad = judged[judged["level"].isin(["warning", "critical"])]
    if bad.empty:
        return Finding.make(
            check,
            worst,
            f"All {len(judged)} key metrics in their normal ranges",
            rows=judged,
            count=0,
        )
    first = bad.iloc[0]
    return Finding.make(
        check,
        worst,
        f"{len(bad)} key metrics out of range; worst: {first['metric']} — {first['assessment']}",
        detail="; ".join(f"{r.metric}: {r.assessment}" for r in bad.itertuples()),
        rows=judged,
        count=len(bad),
    )


def metric_check(
    check: str, snapshot: pd.DataFrame, key: str, *, thresholds: Thresholds | None = None
) -> Finding:
    """One metric as its own finding (actor_health's panels: active_actors, p95_latency...)."""
    rows = snapshot[snapshot["key"] == key] if "key" in snapshot else snapshot
    if rows.empty:
        return Finding.not_checked(check, f"no data for {_TITLES.get(key, key)}")
    judged = judge_snapshot(rows, thresholds=thresholds)
    worst = judged.iloc[0]
    level = Level.parse(worst["level"])
    label = worst["metric"] + (f" ({worst['operation']})" if worst["operation"] else "")
    bad = int((judged["level"].isin(["warning", "critical"])).sum())
    return Finding.make(check, level, f"{label}: {worst['assessment']}", rows=judged, count=bad)
