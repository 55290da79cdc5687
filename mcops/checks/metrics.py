"""Key metrics judged against the runbooks' normal/high/critical ranges.

Input is a `mcops.snapshot` frame (``key``, ``value``, ``operation``); each value is
placed in its band by `mcops.classify.classify`, so the sentence an engineer reads
("150 ms is slow (50–200 ms)") and the level come from the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from mcops.classify import classify, pool_advice
from mcops.errors import ParameterError
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = [
    "judge_snapshot",
    "key_metrics",
    "metric_check",
    "metric_findings",
]

#: Snapshot keys that qualify another row instead of being judged on their own.
_CONTEXT_KEYS = frozenset({"db_pool_max"})

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
    "memory_bytes": "Memory in use",
    "memory_ratio": "Memory / limit",
    "cpu_ratio": "CPU / limit",
    "capacity_ratio": "Meetings / capacity",
    "gc_registered": "Registered with the GC",
}


def judge_snapshot(snapshot: pd.DataFrame, *, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Each snapshot row with its ``level`` and ``assessment`` sentence, worst first."""
    pool_max = _value(snapshot, "db_pool_max")
    rows = []
    for item in snapshot.itertuples(index=False):
        if item.key in _CONTEXT_KEYS:
            continue
        verdict = _verdict(item.key, item.value, item.operation, thresholds, pool_max)
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


class _Verdict(NamedTuple):
    level: Level
    text: str


def _verdict(
    key: str, value: float, operation: str, thresholds: Thresholds | None, pool_max: float | None
) -> _Verdict:
    from mcops.thresholds import default_thresholds

    if key == "gc_registered":  # 004 P1 "Complete GC registration failure"
        if value < 1:
            return _Verdict(Level.CRITICAL, "not registered with the GC (mc_gc_registered 0)")
        return _Verdict(Level.OK, "registered with the GC")
    if key == "p95_latency_ms" and operation:
        try:
            v = classify(key, value, thresholds=thresholds, operation=operation)
            return _Verdict(v.level, v.text)
        except ParameterError:  # a message type the table does not class: general bands
            pass
    verdict = classify(key, value, thresholds=thresholds)
    if key != "db_pool_active":
        return _Verdict(verdict.level, verdict.text)
    # 000 Tuning Parameters, "Tuning guidelines": without the pool's own max
    # (db_pool_connections_max) "maxed out" is judged against the runbook's DbConfig.
    maximum = int(pool_max or (thresholds or default_thresholds()).pool.default_max)
    advice = pool_advice(int(value), maximum, thresholds=thresholds).split(": ", 1)[-1]
    # "10+ (maxed out)": a pool at its configured max is exhausted whatever the absolute
    # bands say (10 of 10 is not "normal 5-10").
    if pool_max and value >= pool_max:
        return _Verdict(
            Level.CRITICAL,
            f"{value:g} of {pool_max:g} connections in use: pool exhausted; {advice}",
        )
    return _Verdict(verdict.level, f"{verdict.text}; {advice}")


def _value(snapshot: pd.DataFrame, key: str) -> float | None:
    if "key" not in snapshot:
        return None
    rows = snapshot.loc[snapshot["key"] == key, "value"]
    return float(rows.iloc[0]) if len(rows) else None


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
    check: str,
    snapshot: pd.DataFrame,
    key: str | None = None,
    *,
    thresholds: Thresholds | None = None,
) -> Finding:
    """The snapshot rows of ``key``, or of the metric keys ``check`` owns in
    `mcops.registry`, judged as that check's finding: actor_health's panels, triage's
    per-metric findings."""
    from mcops.registry import check_spec  # the registry loads when a snapshot is judged

    keys = {key} if key else set(check_spec(check).metric_keys)
    if not keys:
        raise ParameterError(f"check {check!r} judges no key metric", name="check")
    context = snapshot[snapshot["key"].isin(_CONTEXT_KEYS)] if "key" in snapshot else snapshot
    rows = snapshot[snapshot["key"].isin(keys)] if "key" in snapshot else snapshot
    if rows.empty:
        what = ", ".join(_TITLES.get(k, k) for k in sorted(keys))
        return Finding.not_checked(check, f"no data for {what}")
    judged = judge_snapshot(pd.concat([rows, context]), thresholds=thresholds)
    worst = judged.iloc[0]
    level = Level.parse(worst["level"])
    label = worst["metric"] + (f" ({worst['operation']})" if worst["operation"] else "")
    bad = int((judged["level"].isin(["warning", "critical"])).sum())
    return Finding.make(check, level, f"{label}: {worst['assessment']}", rows=judged, count=bad)


def metric_findings(
    snapshot: pd.DataFrame, *, thresholds: Thresholds | None = None
) -> list[Finding]:
    """One finding per check that owns a key present in ``snapshot``, so that triage
    routes from what is actually wrong (a pool, a panic) and not from a summary."""
    from mcops.registry import metric_checks

    present = set(snapshot["key"]) if "key" in snapshot else set()
    owners = dict.fromkeys(check for key, check in metric_checks().items() if key in present)
    return [metric_check(check, snapshot, thresholds=thresholds) for check in owners]
