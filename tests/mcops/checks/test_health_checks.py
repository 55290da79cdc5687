"""Actor health: one finding per key metric, dashboard panels, threshold bands for plots."""

import math

import pandas as pd
import pytest

from mcops.checks import health
from mcops.errors import SourceConfigError
from mcops.findings import Level
from mcops.registry import UnknownCheck
from mcops.scenarios import dashboard

SNAPSHOT = pd.DataFrame(
    [
        ("active_actors", 12000.0, ""),
        ("spawn_rate_per_minute", 5.0, ""),
        ("p95_latency_ms", 30.0, "send_message"),
        ("error_rate", 0.0, ""),
    ],
    columns=["key", "value", "operation"],
)


def test_each_key_metric_is_its_own_finding():
    actors = health.key_metric(SNAPSHOT, check="active_actors")
    assert (actors.check, actors.level) == ("active_actors", Level.CRITICAL)
    assert health.key_metric(SNAPSHOT, check="spawn_rate").level is Level.OK
    assert health.key_metric(SNAPSHOT, check="p95_latency").level is Level.OK
    pool = health.key_metric(SNAPSHOT, check="db_pool")
    assert (pool.check, pool.checked) == ("db_pool", False)
    with pytest.raises(UnknownCheck, match=r"declare it in mcops/registry\.py"):
        health.key_metric(SNAPSHOT, check="nope")
    with pytest.raises(ValueError, match="judges no key metric"):
        health.key_metric(SNAPSHOT, check="crash_loop")


def test_a_panel_labels_each_target_and_skips_missing_sources():
    def fetch(name, **params):
        if name == "stop_rate":
            raise SourceConfigError("needs Prometheus", source="prometheus")
        ts = pd.Timestamp("2026-11-23T00:00:00Z")
        frame = pd.DataFrame({"timestamp": [ts], "metric": [name], "value": [1.0]})
        if params:
            frame["error_type"] = "crash"
        return frame

    frame = dashboard.panel(
        fetch,
        {
            "A": ("active_actors", {}),
            "S": ("stop_rate", {}),
            "E": ("errors_by_type", {"window": "5m"}),
        },
    )
    assert frame["series"].tolist() == ["A", "E crash"]
    assert list(frame.attrs["missing"]) == ["S"]
    assert dashboard.panel(fetch, {"S": ("stop_rate", {})}).empty


def test_plot_bands_follow_thresholds_yaml():
    bands = health.plot_bands("mc_mailbox_depth")
    assert bands == [
        (0.0, 100, Level.OK),
        (100, 500, Level.WARNING),
        (500, math.inf, Level.CRITICAL),
    ]
