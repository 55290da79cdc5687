"""Runbook 000 "Monitoring Actor Health": the five key metrics and the dashboard panels.

Each key metric is its own finding (from a `mcops.snapshot` frame, Prometheus or two
scrapes); each Grafana panel of the runbook is a long frame with one ``series`` per
target, drawn with its threshold bands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pandas as pd

from mcops.checks import metrics
from mcops.errors import SourceError
from mcops.findings import Finding
from mcops.plots import Band
from mcops.thresholds import Thresholds, default_thresholds

__all__ = ["PANELS", "key_metric", "panel", "plot_bands"]

Target = tuple[str, Mapping[str, str]]

#: The runbook's four panels: legend -> (PromQL template or metric name, parameters).
PANELS: Mapping[str, Mapping[str, Target]] = {
    "Actor Registry Health": {
        "Active Actors": ("active_actors", {}),
        "Spawn Rate": ("spawn_rate", {}),
        "Stop Rate": ("stop_rate", {}),
    },
    "Message Processing Latency (ms)": {
        "P50": ("p95_latency", {"q": "0.50"}),
        "P95": ("p95_latency", {"q": "0.95"}),
        "P99": ("p95_latency", {"q": "0.99"}),
    },
    "Actor Error Rate": {"errors/s": ("errors_by_type", {})},
    "Database Connection Pool": {
        "Active": ("db_pool_connections_active", {}),
        "Idle": ("db_pool_connections_idle", {}),
        "Max": ("db_pool_connections_max", {}),
    },
}


def key_metric(
    snapshot: pd.DataFrame, *, check: str, thresholds: Thresholds | None = None
) -> Finding:
    """Key metric ``check`` (active_actors, spawn_rate, p95_latency, error_rate, db_pool)."""
    return metrics.metric_check(check, snapshot, thresholds=thresholds)


def panel(fetch: Callable[..., pd.DataFrame], targets: Mapping[str, Target]) -> pd.DataFrame:
    """One dashboard panel: each target's series labelled ``series`` (legend[, label]).

    ``fetch(name, **params)`` is `Investigation.metric_range`. A target whose source is
    missing is left out (``attrs["missing"]`` says why): a panel is a picture, the
    findings say what was checked.
    """
    frames = []
    missing: dict[str, str] = {}
    for legend, (name, params) in targets.items():
        try:
            frame = fetch(name, **params)
        except SourceError as err:
            missing[legend] = str(err)
            continue
        if frame.empty:
            continue
        labels = [c for c in frame.columns if c not in ("timestamp", "metric", "value")]
        suffix = frame[labels].astype("string").fillna("").agg(" ".join, axis=1).str.strip()
        series = (legend + " " + suffix).str.strip() if labels else legend
        frames.append(frame[["timestamp", "value"]].assign(series=series))
    result = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["timestamp", "value", "series"])
    )
    result.attrs["missing"] = missing
    return result


def plot_bands(metric: str, *, thresholds: Thresholds | None = None) -> list[Band]:
    """thresholds.yaml's bands of ``metric`` as `plots.timeseries` bands (low, high, level)."""
    bands = (thresholds or default_thresholds()).bands(metric)
    return [(b.lower or 0.0, math.inf if b.upper is None else b.upper, b.level) for b in bands]
