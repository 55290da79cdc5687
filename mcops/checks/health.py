"""Runbook 000 "Monitoring Actor Health": the five key metrics and the dashboard panels.

Each key metric is its own finding (from a `mcops.snapshot` frame, Prometheus or two
scrapes); each Grafana panel of the runbook (read by `mcops.scenarios.dashboard`) is
drawn with the threshold bands given here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks import metrics
from mcops.findings import Finding
from mcops.plots import Band

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = ["key_metric", "plot_bands"]


def key_metric(
    snapshot: pd.DataFrame, *, check: str, thresholds: Thresholds | None = None
) -> Finding:
    """Key metric ``check`` (active_actors, spawn_rate, p95_latency, error_rate, db_pool)."""
    return metrics.metric_check(check, snapshot, thresholds=thresholds)


def plot_bands(metric: str, *, thresholds: Thresholds | None = None) -> list[Band]:
    """thresholds.yaml's bands of ``metric`` as `plots.timeseries` bands (low, high, level)."""
    from mcops.thresholds import default_thresholds

    bands = (thresholds or default_thresholds()).bands(metric)
    return [(b.lower or 0.0, math.inf if b.upper is None else b.upper, b.level) for b in bands]
