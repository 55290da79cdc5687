"""The runbooks' key metrics right now, from Prometheus or, without one, from /metrics.

Both paths give one frame — ``key`` (a metric key of thresholds.yaml), ``value``,
``operation`` (message type for latencies, else empty) and ``source`` — so triage and
actor_health judge a service the same way whether or not Prometheus survives the
incident. Without Prometheus, rates come from the scrapes the metrics backend shares
(`mcops.sources.metrics.ScrapeMetrics`); this module only computes.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from mcops import promql
from mcops.sources.promcalc import rate
from mcops.sources.prometheus import PrometheusSource

__all__ = ["SNAPSHOT_COLUMNS", "from_prometheus", "from_samples"]

SNAPSHOT_COLUMNS = ["key", "value", "operation", "source"]

# key -> PromQL template name (runbook 000 Key Metrics, 004 Scenarios 1, 2, 6)
_SCALAR_QUERIES: dict[str, str] = {
    "active_actors": "active_actors",
    "db_pool_active": "db_pool_active",
    "actor_mailbox_size": "mailbox_size",
    "mc_mailbox_depth": "mc_mailbox_depth",
    "epoch_conflicts": "epoch_conflicts_1h",
}
# key -> PromQL, each a single number (004 Scenarios 6 and 7; the pool's configured max)
_GAUGE_QUERIES: dict[str, str] = {
    "db_pool_max": "sum(db_pool_connections_max)",
    "gc_registered": "min(mc_gc_registered)",
    "memory_bytes": "max(process_resident_memory_bytes)",
    "memory_ratio": f"max({promql.render('mc_memory_ratio')})",
    "capacity_ratio": f"max({promql.render('mc_capacity_ratio')})",
}
_RATIO_QUERIES: dict[str, str] = {
    "error_rate": "sum(rate(actor_errors_total[{w}])) / sum(rate(actor_messages_total[{w}]))",
    "drop_rate": (
        "sum(rate(mc_messages_dropped_total[{w}])) / "
        "(sum(rate(mc_message_processing_duration_seconds_count[{w}])) "
        "+ sum(rate(mc_messages_dropped_total[{w}])))"
    ),
    "gc_heartbeat_failure_ratio": (
        'sum(rate(mc_gc_heartbeats_total{{result="failure"}}[{w}])) / '
        "sum(rate(mc_gc_heartbeats_total[{w}]))"
    ),
    "actor_panics": "sum(increase(mc_actor_panics_total[{w}]))",
    "mc_p95_latency_seconds": (
        "histogram_quantile(0.95, sum by (le) "
        "(rate(mc_message_processing_duration_seconds_bucket[{w}])))"
    ),
}


def _row(key: str, value: float, source: str, operation: str = "") -> dict[str, object]:
    return {"key": key, "value": float(value), "operation": operation, "source": source}


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS)
    # NaN means "no traffic to compute a rate from", not a value to judge
    return frame[frame["value"].map(lambda v: not math.isnan(v))].reset_index(drop=True)


def from_prometheus(
    prom: PrometheusSource,
    *,
    window: str = "5m",
    spawn_window: str = "1h",
    at: datetime | None = None,
) -> pd.DataFrame:
    """Key metrics evaluated by Prometheus at ``at`` (default now) over ``window``.

    The spawn rate uses ``spawn_window``: 000 Key Metrics 2 "rate(actor_spawns_total[1h])".
    """
    queries = {key: f"sum({promql.render(name)})" for key, name in _SCALAR_QUERIES.items()}
    queries |= _GAUGE_QUERIES
    queries |= {key: text.format(w=window) for key, text in _RATIO_QUERIES.items()}
    queries["spawn_rate_per_minute"] = f"60 * sum(rate(actor_spawns_total[{spawn_window}]))"
    queries["cpu_ratio"] = f"max({promql.render('mc_cpu_ratio', window=window)})"
    rows: list[dict[str, object]] = []
    for key, text in queries.items():
        frame = prom.instant(text, at=at)
        if not frame.empty:
            rows.append(_row(key, frame["value"].iloc[0], "prometheus"))
    p95 = prom.instant(promql.render("p95_by_message_type", window=window), at=at)
    for _, item in p95.iterrows():
        rows.append(_row("p95_latency_ms", item["value"], "prometheus", str(item["message_type"])))
    return _frame(rows)


def _sum(frame: pd.DataFrame, metric: str, **labels: str) -> float:
    mask = frame["metric"].astype("str") == metric
    for name, value in labels.items():
        if name not in frame:
            return math.nan
        mask &= frame[name].astype("str") == value
    return float(frame.loc[mask, "value"].sum()) if mask.any() else math.nan


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole and not math.isnan(whole) else math.nan


def from_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Key metrics from a few scrapes of ``/metrics`` (rates between the first and last).

    Latency per message type is the server's own ``actor_message_duration_p95`` gauge
    (runbook 000's curl), since a few scrapes are too few for a histogram rate.
    """
    last = samples[samples["timestamp"] == samples["timestamp"].max()]
    rates = rate(samples)
    rows = [
        _row(key, _sum(last, metric), "scrape")
        for key, metric in (
            ("active_actors", "actor_registry_active_actors"),
            ("db_pool_active", "db_pool_connections_active"),
            ("actor_mailbox_size", "actor_mailbox_size"),
            ("mc_mailbox_depth", "mc_actor_mailbox_depth"),
            ("epoch_conflicts", "actor_epoch_conflicts_1h"),
            ("db_pool_max", "db_pool_connections_max"),
            ("gc_registered", "mc_gc_registered"),
            ("memory_bytes", "process_resident_memory_bytes"),
        )
    ]
    rss = _sum(last, "process_resident_memory_bytes")
    processed = _sum(rates, "mc_message_processing_duration_seconds_count")
    dropped = _sum(rates, "mc_messages_dropped_total")
    rows += [
        _row("spawn_rate_per_minute", 60 * _sum(rates, "actor_spawns_total"), "scrape"),
        _row(
            "error_rate",
            _ratio(_sum(rates, "actor_errors_total"), _sum(rates, "actor_messages_total")),
            "scrape",
        ),
        _row("drop_rate", _ratio(dropped, processed + dropped), "scrape"),
        _row(
            "gc_heartbeat_failure_ratio",
            _ratio(
                _sum(rates, "mc_gc_heartbeats_total", result="failure"),
                _sum(rates, "mc_gc_heartbeats_total"),
            ),
            "scrape",
        ),
        _row("actor_panics", _sum(last, "mc_actor_panics_total"), "scrape"),
        _row("memory_ratio", _ratio(rss, _sum(last, "mc_memory_limit_bytes")), "scrape"),
        # a local process: CPU seconds per second is its share of one core
        _row("cpu_ratio", _sum(rates, "process_cpu_seconds_total"), "scrape"),
        _row(
            "capacity_ratio",
            _ratio(_sum(last, "mc_meetings_active"), _sum(last, "mc_meeting_capacity")),
            "scrape",
        ),
    ]
    p95 = last[last["metric"].astype("str") == "actor_message_duration_p95"]
    if "message_type" in p95:
        rows += [
            _row("p95_latency_ms", item["value"], "scrape", str(item["message_type"]))
            for _, item in p95.iterrows()
        ]
    return _frame(rows)
