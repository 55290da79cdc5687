"""Memory leak: actor and memory trends, and actors the inactivity sweep left behind."""

import numpy as np
import pandas as pd

from mcops.checks import leaks
from mcops.findings import Level

T0 = pd.Timestamp("2026-11-23T00:00:00Z")


def minutes(values, metric="actor_registry_active_actors"):
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(T0, periods=len(values), freq="1min"),
            "metric": metric,
            "value": np.asarray(values, dtype="float64"),
        }
    )


def test_actor_count_growing_linearly_is_a_leak_and_flat_is_not():
    leak = leaks.actor_count_trend(minutes(np.arange(60) * 3 + 100))  # +180/h: 10k in 2 days
    assert (leak.check, leak.level) == ("actor_count_trend", Level.WARNING)
    soon = leaks.actor_count_trend(minutes(np.arange(60) * 100 + 3000))  # 10,000 in ~0.2 h
    assert soon.level is Level.CRITICAL and "10000" in soon.title
    fresh = leaks.actor_count_trend(minutes([0, 0, 0, 0, 4, 8, 12, 16, 20, 24]))
    assert fresh.level is Level.WARNING  # from an empty registry: judged from the first actor
    flat = leaks.actor_count_trend(minutes([500, 505, 498, 502, 499]))
    assert flat.level is Level.OK
    assert not leaks.actor_count_trend(minutes([1, 2])).checked


def test_memory_trend_reads_mib_and_projects_the_2_gib_limit():
    growing = minutes((200 + np.arange(60) * 30) * 2**20, "process_resident_memory_bytes")
    finding = leaks.memory_trend(growing)
    assert finding.check == "memory_trend" and finding.level is Level.CRITICAL
    assert finding.data[0]["slope_per_hour"] == 1800.0  # MiB per hour
    assert "2048 MiB" in finding.title


def actors(idle, timeout=None):
    frame = pd.DataFrame(
        {
            "actor_type": "conversation",
            "actor_id": [f"c{i}" for i in range(len(idle))],
            "mailbox_depth": 0,
            "idle_seconds": idle,
        }
    )
    return frame if timeout is None else frame.assign(inactivity_timeout=timeout)


def test_actors_idle_past_the_inactivity_timeout_are_stale():
    frame = actors([0.5, 30.0, 4000.0], timeout=10.0)
    assert leaks.idle_limit(frame) == 10.0
    assert leaks.idle_limit(actors([1.0])) == 7 * 86400  # the runbook's 7 days
    finding = leaks.stale_actors(frame)
    assert finding.level is Level.WARNING
    assert [r["actor_id"] for r in finding.data] == ["c2", "c1"]  # longest idle first
    assert leaks.stale_actors(frame, idle_seconds=5000).level is Level.OK
    assert leaks.stale_actors(actors([])).level is Level.OK


def test_inactivity_tiers_come_from_thresholds():
    tiers = leaks.inactivity_tiers()
    assert tiers["tier"].tolist() == ["high", "medium", "low", "cleanup sweep"]
    assert tiers["inactivity_timeout"].tolist() == [
        "1:00:00",
        "1 day, 0:00:00",
        "7 days, 0:00:00",
        "every 0:05:00",
    ]
