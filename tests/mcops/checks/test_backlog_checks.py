"""Mailbox backlog: depth per actor type, drain, drops (with counter resets), slow SQL, pool."""

import pandas as pd
import pytest

from mcops.checks import backlog
from mcops.findings import Level

T0 = pd.Timestamp("2026-11-23T00:00:00Z")


def long(metric, points, actor_type="conversation", step_s=10):
    return pd.DataFrame(
        {
            "timestamp": [T0 + pd.Timedelta(seconds=i * step_s) for i in range(len(points))],
            "metric": metric,
            "value": [float(v) for v in points],
            "actor_type": actor_type,
        }
    )


def test_depth_is_judged_at_its_peak_per_actor_type():
    frame = pd.concat(
        [long("mc_actor_mailbox_depth", [0, 120, 40]), long("x", [0, 600, 700], "meeting")]
    )
    table = backlog.depth_by_actor_type(frame)
    assert table[["actor_type", "now", "peak"]].values.tolist() == [
        ["meeting", 700.0, 700.0],
        ["conversation", 40.0, 120.0],
    ]
    finding = backlog.mailbox_depth(frame)
    assert finding.level is Level.CRITICAL and "meeting actors peaked at 700" in finding.title
    assert backlog.mailbox_depth(long("d", [0, 120, 40])).level is Level.WARNING
    assert backlog.mailbox_depth(long("d", [0, 3, 0])).level is Level.OK
    assert not backlog.mailbox_depth(pd.DataFrame()).checked


def test_processing_slower_than_arrival_never_drains():
    depth = long("mc_actor_mailbox_depth", [100, 300, 500, 700])
    processed = long("mc_message_processing_duration_seconds_count", [0, 100, 200, 300])
    finding = backlog.processing_vs_arrival(processed, depth=depth)
    assert finding.check == "processing_vs_arrival" and finding.level is Level.CRITICAL
    row = finding.data[0]
    assert row["processing_per_s"] == pytest.approx(10.0)
    assert row["arrival_per_s"] == pytest.approx(30.0)
    assert not backlog.processing_vs_arrival(processed.head(1), depth=depth).checked


def test_counter_increase_handles_resets_and_series_born_in_the_window():
    since = T0 - pd.Timedelta(seconds=5)
    reset = long("mc_messages_dropped_total", [10, 14, 2, 5])  # restart after 14
    table = backlog.counter_increase(reset, since=since)
    assert table.to_dict("records") == [
        {"actor_type": "conversation", "increase": 9.0, "total": 5.0}
    ]
    born = long("mc_messages_dropped_total", [3, 4], step_s=10)
    later = backlog.counter_increase(born, since=T0 - pd.Timedelta(minutes=5))
    assert later["increase"].tolist() == [4.0]  # its first 3 happened in the window too


def drops_and_processed(dropped, processed):
    """Counters over the window (first sample at ``since``): grown by the given amounts."""
    return (
        long("mc_messages_dropped_total", [0, 0, dropped]),
        long("mc_message_processing_duration_seconds_count", [0, processed // 2, processed]),
    )


def test_drop_rate_edge_is_1_percent_004_severity_p1_and_scenario_1_escalation():
    # 004 Severity Classification P1: ">1% message drop rate"; Scenario 1 Escalation: "If
    # messages being dropped, escalate immediately" -> any drop is a warning.
    # Rate = dropped / (processed + dropped), thresholds.yaml drop_rate.
    since = T0

    def judged(dropped, processed):
        frame, done = drops_and_processed(dropped, processed)
        return backlog.messages_dropped(frame, since=since, processed=done)

    one = judged(1, 10_000)  # 0.01 %: a drop, far below 1 %
    assert one.level is Level.WARNING
    at_edge = judged(10, 990)  # exactly 1 %
    assert at_edge.level is Level.WARNING
    assert at_edge.title == (
        "10 messages dropped by full mailboxes (conversation: 10): "
        "drop rate 1 % is dropping (0–1 %)"
    )
    assert at_edge.data[0]["processed"] == 990 and at_edge.data[0]["drop_rate"] == 0.01
    past = judged(10, 989)  # 10 / 999: just above 1 %
    assert past.level is Level.CRITICAL
    assert judged(1, 0).level is Level.CRITICAL  # nothing processed: every message dropped
    frame, done = drops_and_processed(0, 100)
    assert backlog.messages_dropped(frame, since=since, processed=done).level is Level.OK


def test_the_rate_is_over_every_actor_type_processed():
    since = T0
    dropped = pd.concat([long("d", [0, 0, 2]), long("d", [0, 0, 0], "meeting")], ignore_index=True)
    done = pd.concat(
        [long("p", [0, 50, 100]), long("p", [0, 50, 150], "meeting")], ignore_index=True
    )
    finding = backlog.messages_dropped(dropped, since=since, processed=done)
    assert finding.level is Level.WARNING  # 2 / 252, though 2 / 102 for conversations
    assert [r["actor_type"] for r in finding.data] == ["conversation"]


def test_with_no_processed_count_any_drop_is_a_warning_and_none_is_ok():
    since = T0 - pd.Timedelta(seconds=5)
    dropped = pd.concat([long("d", [0, 0, 7]), long("d", [0, 0, 0], "meeting")], ignore_index=True)
    for unknown in (None, pd.DataFrame()):
        finding = backlog.messages_dropped(dropped, since=since, processed=unknown)
        assert finding.level is Level.WARNING
        assert finding.title == (
            "7 messages dropped by full mailboxes (conversation: 7); drop rate unknown "
            "(no processed count), so any drop is a warning"
        )
        assert [r["actor_type"] for r in finding.data] == ["conversation"]
    assert backlog.messages_dropped(dropped, since=since).level is Level.WARNING
    assert backlog.messages_dropped(long("d", [0, 0]), since=since).level is Level.OK
    assert backlog.messages_dropped(pd.DataFrame(), since=since).level is Level.OK


def test_slow_queries_over_100_ms_and_pool_states():
    stats = pd.DataFrame(
        {
            "query": ["SELECT a", "SELECT b"],
            "calls": [10, 3],
            "mean_exec_time": [250.0, 4.0],
            "max_exec_time": [900.0, 9.0],
        }
    )
    slow = backlog.slow_queries(stats)
    assert (slow.level, slow.count, slow.data[0]["query"]) == (Level.WARNING, 1, "SELECT a")
    assert backlog.slow_queries(stats.tail(1)).level is Level.OK
    pool = pd.DataFrame({"state": ["active", "idle"], "count": [22, 3]})
    assert backlog.pg_connections(pool).level is Level.CRITICAL
    assert backlog.pg_connections(pool.assign(count=[6, 3])).level is Level.OK
