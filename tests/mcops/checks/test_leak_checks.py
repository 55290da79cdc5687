"""Memory leak: actor and memory trends, and actors the inactivity sweep left behind."""

import numpy as np
import pandas as pd

from mcops.checks import leaks
from mcops.findings import Level
from mcops.thresholds import load_thresholds

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


GIB = 2**30


def memory(values):
    return minutes(values, "process_resident_memory_bytes")


def test_memory_above_2_gib_is_a_warning_whatever_the_trend_000_alert_memory_usage_high():
    # 000 Alert MemoryUsageHigh: container_memory_usage_bytes > 2GB -> Warning
    # (thresholds.yaml metrics.memory_bytes: ok up to 2 GiB inclusive, then high: warning).
    at_edge = leaks.memory_trend(memory([2 * GIB] * 10))
    assert at_edge.level is Level.OK and at_edge.count == 0
    past = leaks.memory_trend(memory([2 * GIB + 1] * 10))
    assert past.level is Level.WARNING and past.count == 1
    flat = leaks.memory_trend(memory([3 * GIB] * 10))  # the memory_leak notebook's case
    assert flat.checked and flat.level is Level.WARNING
    assert "not growing steadily" in flat.title
    assert "now 3 GiB is high (> 2 GiB): potential actor leak (MemoryUsageHigh)" in flat.title
    assert flat.data[0]["now_bytes"] == 3 * GIB
    # judged on the newest sample: memory that came back under 2 GiB is fine
    assert leaks.memory_trend(memory([3 * GIB] * 9 + [GIB])).level is Level.OK


def test_memory_high_needs_no_trend_and_never_lowers_a_critical_trend():
    few = leaks.memory_trend(memory([3 * GIB, 3 * GIB]))
    assert few.checked and few.level is Level.WARNING
    assert "trend not judged: fewer than 3 samples" in few.title
    assert not leaks.memory_trend(memory([GIB, GIB])).checked
    # growing linearly past the limit stays critical (the growth judgement is unchanged)
    steep = leaks.memory_trend(memory((1800 + np.arange(60) * 10) * 2**20))
    assert steep.level is Level.CRITICAL and "(MemoryUsageHigh)" in steep.title


def test_memory_is_judged_per_series_like_the_alert():
    # two containers at 1.5 GiB: each under the 2 GiB alert, though their sum is over it
    two = pd.concat(
        [memory([1.5 * GIB] * 5).assign(pod=p) for p in ("mc-a", "mc-b")], ignore_index=True
    )
    assert leaks.memory_trend(two).level is Level.OK
    one_high = pd.concat(
        [memory([1.5 * GIB] * 5).assign(pod="mc-a"), memory([2.5 * GIB] * 5).assign(pod="mc-b")],
        ignore_index=True,
    )
    assert leaks.memory_trend(one_high).level is Level.WARNING


def test_the_memory_limit_comes_from_thresholds(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        f"metrics:\n  memory_bytes:\n    bands:\n      ok: {{level: ok, upto: {GIB}}}\n"
    )
    custom = load_thresholds(path)
    assert leaks.memory_trend(memory([1.5 * GIB] * 5), thresholds=custom).level is Level.WARNING
    assert leaks.memory_trend(memory([1.5 * GIB] * 5)).level is Level.OK


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
