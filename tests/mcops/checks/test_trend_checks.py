"""Trend detectors: leak slopes, mailbox drain time, heartbeat gaps, meeting ages."""

import math

import numpy as np
import pandas as pd
import pytest

from mcops.checks import trends
from mcops.findings import Level

T0 = pd.Timestamp("2026-11-23T00:00:00Z")


def minutes(values, step_min=1):
    index = pd.date_range(T0, periods=len(values), freq=f"{step_min}min")
    return pd.Series(values, index=index, dtype="float64")


def test_linear_growth_is_a_leak_and_projects_the_limit():
    values = minutes(np.arange(61) * 100 + 1000)  # +6000/h
    finding = trends.trend_finding("actor_count_trend", values, what="active actors", limit=10_000)
    assert finding.level is Level.CRITICAL
    row = finding.data[0]
    assert row["slope_per_hour"] == pytest.approx(6000, rel=1e-6)
    assert row["r2"] == pytest.approx(1.0)
    assert row["hours_until_limit"] == pytest.approx((10_000 - 7000) / 6000, abs=0.01)


def test_noise_and_sawtooth_are_not_leaks():
    rng = np.random.default_rng(1)
    flat = trends.trend_finding(
        "memory_trend", minutes(500 + rng.normal(0, 20, 120)), what="memory"
    )
    assert flat.level is Level.OK
    saw = trends.trend_finding(
        "memory_trend", minutes(np.tile(np.arange(10) * 50, 12) + 100), what="memory"
    )
    assert saw.level is Level.OK


def test_too_few_points_is_not_checked():
    finding = trends.trend_finding("memory_trend", minutes([1, 2]), what="memory")
    assert not finding.checked and finding.level is Level.INFO


def test_drain_estimate_from_depth_and_processed_counter():
    depth = minutes([100, 160, 220], step_min=1)  # +1 msg/s
    processed = minutes([0, 300, 600], step_min=1)  # 5 msg/s
    drain = trends.drain_estimate(depth, processed)
    assert drain.processing_per_s == pytest.approx(5.0)
    assert drain.arrival_per_s == pytest.approx(6.0)
    assert math.isinf(drain.seconds_to_drain)
    finding = trends.mailbox_growth(depth, processed)
    assert finding.level is Level.CRITICAL and "never drains" in finding.title


def test_draining_backlog_has_an_eta_and_counter_reset_is_handled():
    depth = minutes([600, 480, 360])  # -2 msg/s
    processed = minutes([1000, 1300, 100])  # reset at the end: +300, then +100
    drain = trends.drain_estimate(depth, processed)
    assert drain.processing_per_s == pytest.approx(400 / 120)
    assert drain.seconds_to_drain == pytest.approx(360 / 2)
    # draining, but 360 queued is still above the 100 warning line (runbook 004)
    assert trends.mailbox_growth(depth, processed).level is Level.WARNING


def test_heartbeat_gaps_find_stalls_longer_than_tolerance():
    counts = [1, 2, 3, 3, 3, 3, 3, 4, 5, 5, 6]
    series = pd.Series(counts, index=pd.date_range(T0, periods=len(counts), freq="5s"))
    gaps = trends.heartbeat_gaps(series, interval_s=5, tolerance=3)
    assert len(gaps) == 1
    assert gaps.loc[0, "seconds"] == 25.0
    assert gaps.loc[0, "gap_start"] == T0 + pd.Timedelta(seconds=10)


def test_meeting_ages_are_binned():
    now = T0 + pd.Timedelta(hours=30)
    meetings = pd.DataFrame(
        {
            "updated_at": [
                now - pd.Timedelta(minutes=5),
                now - pd.Timedelta(hours=2),
                now - pd.Timedelta(hours=25),
            ]
        }
    )
    dist = trends.meeting_age_distribution(meetings, now=now)
    assert dict(zip(dist["age"], dist["meetings"], strict=True)) == {
        "< 1 h": 1,
        "1–6 h": 1,
        "6–24 h": 0,
        "> 24 h": 1,
    }


def test_growth_from_an_empty_registry_is_growth():
    # idle at 0, then climbing: the fitted line starts below zero
    values = minutes([0, 0, 0, 0, 50, 100, 150, 200, 250, 300])
    trend = trends.linear_trend(values)
    assert trend.start < 0 and trend.growth == math.inf
    finding = trends.trend_finding("actor_count_trend", values, what="active actors")
    assert finding.level is Level.WARNING
