"""Runbook 000's Grafana panels as frames for plots, read the way each scenario reads metrics.

A panel is a picture, not a verdict: each target is fetched through the callable the
notebook passes (`Investigation.metric_range`, so Prometheus or scrapes as chosen for the
investigation), a target whose source is missing is left out and named in
``attrs["missing"]``, and the findings say what was checked. Used by actor_health,
mailbox_backlog and performance_profile, hence one module rather than one per scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from mcops.errors import SourceError

__all__ = ["PANELS", "Target", "panel"]

#: A panel's target: a PromQL template or metric name, and its parameters.
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


def panel(fetch: Callable[..., pd.DataFrame], targets: Mapping[str, Target]) -> pd.DataFrame:
    """One dashboard panel: each target's series labelled ``series`` (legend[, label]).

    ``fetch(name, **params)`` is `Investigation.metric_range`. A target whose source is
    missing is left out (``attrs["missing"]`` says why).
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
