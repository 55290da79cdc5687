"""The runbook numbers in mcops/thresholds.yaml, and the helpers that read them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mcops.classify import classify, inactivity_timeout_for, level_of, pool_advice, timeout_for
from mcops.errors import ParameterError
from mcops.findings import Level
from mcops.thresholds import default_thresholds, load_thresholds, parse_duration

# Every edge of every band, written from the runbooks (not from the YAML):
# (metric, edge, band just below, band at the edge, band just above).
EDGES = [
    # 000 metric 1: normal 10-1000, high 1000-5000, critical 10,000+; 5000-10000 "elevated".
    ("active_actors", 10, "low", "normal", "normal"),
    ("active_actors", 1000, "normal", "normal", "high"),
    ("active_actors", 5000, "high", "high", "elevated"),
    ("active_actors", 10000, "elevated", "critical", "critical"),
    # 000 metric 2: 1-10/min normal, 10-50 high, 100+ critical; 50-100 "elevated".
    ("spawn_rate_per_minute", 1, "low", "normal", "normal"),
    ("spawn_rate_per_minute", 10, "normal", "normal", "high"),
    ("spawn_rate_per_minute", 50, "high", "high", "elevated"),
    ("spawn_rate_per_minute", 100, "elevated", "critical", "critical"),
    # 000 metric 3: fast < 10, normal 10-50, slow 50-200, critical > 200; unresponsive > 1000.
    ("p95_latency_ms", 10, "fast", "normal", "normal"),
    ("p95_latency_ms", 50, "normal", "normal", "slow"),
    ("p95_latency_ms", 200, "slow", "slow", "critical"),
    ("p95_latency_ms", 1000, "critical", "critical", "unresponsive"),
    # 000 metric 4: expected < 0.01 %, abnormal 0.5 %, critical 5 %.
    ("error_rate", 0.0001, "expected", "elevated", "elevated"),
    ("error_rate", 0.005, "elevated", "abnormal", "abnormal"),
    ("error_rate", 0.05, "abnormal", "critical", "critical"),
    # 000 metric 5: normal 5-10, high 10-20, critical 20+.
    ("db_pool_active", 5, "low", "normal", "normal"),
    ("db_pool_active", 10, "normal", "normal", "high"),
    ("db_pool_active", 20, "high", "critical", "critical"),
    # 000 FM2: pg_stat_activity active expected < 10, problem 20+.
    ("pg_active_connections", 10, "expected", "high", "high"),
    ("pg_active_connections", 20, "high", "exhausted", "exhausted"),
    # 000 alerts: mailbox > 1000, memory > 2 GiB, epoch conflicts > 0.
    ("actor_mailbox_size", 1000, "ok", "ok", "backlog"),
    ("memory_bytes", 2 * 2**30, "ok", "ok", "high"),
    ("epoch_conflicts", 0, "none", "none", "conflicts"),
    # 000: slow query > 100 ms; investigate errors with > 10 occurrences.
    ("slow_query_ms", 100, "ok", "ok", "slow"),
    ("error_pattern_occurrences", 10, "ok", "ok", "investigate"),
    # 004 Scenario 1: warning > 100, critical > 500.
    ("mc_mailbox_depth", 100, "ok", "ok", "warning"),
    ("mc_mailbox_depth", 500, "warning", "warning", "critical"),
    # 004 Scenario 5: > 500 ms MCHighLatency; > 1 s P2.
    ("mc_p95_latency_seconds", 0.5, "ok", "ok", "high"),
    ("mc_p95_latency_seconds", 1.0, "high", "high", "severe"),
    # 004 Scenario 6: > 10 % warning, > 50 % critical; heartbeat within 30 s.
    ("gc_heartbeat_failure_ratio", 0.10, "ok", "ok", "intermittent"),
    ("gc_heartbeat_failure_ratio", 0.50, "intermittent", "intermittent", "failing"),
    ("gc_heartbeat_age_seconds", 30, "recent", "recent", "late"),
    # 004 Scenario 7: memory > 85 %, CPU > 80 %, recovered < 70 %; capacity (mcops) 80 %.
    ("memory_ratio", 0.70, "recovered", "above_target", "above_target"),
    ("memory_ratio", 0.85, "above_target", "above_target", "high"),
    ("cpu_ratio", 0.70, "recovered", "above_target", "above_target"),
    ("cpu_ratio", 0.80, "above_target", "above_target", "high"),
    ("capacity_ratio", 0.80, "ok", "ok", "approaching"),
    ("capacity_ratio", 1.0, "approaching", "full", "full"),
    # 004: any drop warns, > 1 % is P1; any panic is critical.
    ("drop_rate", 0, "none", "none", "dropping"),
    ("drop_rate", 0.01, "dropping", "dropping", "critical"),
    ("actor_panics", 0, "none", "none", "panics"),
    # 004 Scenario 3: stale after 1 h; 000: conversations stale after 7 days.
    ("meeting_idle_seconds", 3600, "active", "active", "stale"),
    ("conversation_idle_seconds", 7 * 86400, "active", "active", "stale"),
    # 000 FM3 "Database replication lag (if using replicas)": no number; mcops's 1 s.
    ("replication_lag_seconds", 1, "in_sync", "in_sync", "lagging"),
]


def _nudge(edge: float) -> float:
    return max(abs(edge) * 1e-6, 1e-9)


@pytest.mark.parametrize(("metric", "edge", "below", "at", "above"), EDGES)
def test_every_band_edge(metric, edge, below, at, above):
    step = _nudge(edge)
    assert classify(metric, edge - step).band.name == below
    assert classify(metric, edge).band.name == at
    assert classify(metric, edge + step).band.name == above


def test_the_edge_table_covers_every_edge_of_every_metric():
    t = default_thresholds()
    in_yaml = {
        (metric, band.upper)
        for metric in t.metrics
        for band in t.bands(metric)
        if band.upper is not None
    }
    tested = {(metric, float(edge)) for metric, edge, *_ in EDGES}
    assert in_yaml == tested


@pytest.mark.parametrize(
    ("metric", "value", "level"),
    [
        ("active_actors", 500, Level.OK),
        ("active_actors", 3000, Level.WARNING),
        ("active_actors", 7500, Level.WARNING),  # the runbook's gap: a warning
        ("active_actors", 15000, Level.CRITICAL),
        ("spawn_rate_per_minute", 200, Level.CRITICAL),
        ("p95_latency_ms", 150, Level.WARNING),
        ("p95_latency_ms", 500, Level.CRITICAL),
        ("error_rate", 0.0, Level.OK),
        ("error_rate", 0.001, Level.INFO),
        ("error_rate", 0.005, Level.WARNING),
        ("db_pool_active", 18, Level.WARNING),
        ("mc_mailbox_depth", 501, Level.CRITICAL),
        # 004 Scenario 5 MCHighLatency (> 500 ms) is a warning; the P2 example (> 1 s) critical
        ("mc_p95_latency_seconds", 0.5, Level.OK),
        ("mc_p95_latency_seconds", 0.5 + 1e-6, Level.WARNING),
        ("mc_p95_latency_seconds", 0.6, Level.WARNING),
        ("mc_p95_latency_seconds", 1.0, Level.WARNING),
        ("mc_p95_latency_seconds", 1.0 + 1e-6, Level.CRITICAL),
        # 004 P1 "> 1% message drop rate"; Scenario 1 "if messages being dropped, escalate"
        ("drop_rate", 0, Level.OK),
        ("drop_rate", 1e-9, Level.WARNING),
        ("drop_rate", 0.01, Level.WARNING),
        ("drop_rate", 0.01 + 1e-9, Level.CRITICAL),
        # 004 Scenario 6 Verify recovery: heartbeat within 30 s; later is a warning
        ("gc_heartbeat_age_seconds", 30, Level.OK),
        ("gc_heartbeat_age_seconds", 30.001, Level.WARNING),
        # 000 Alert MemoryUsageHigh: > 2GB is a warning
        ("memory_bytes", 2 * 2**30, Level.OK),
        ("memory_bytes", 2 * 2**30 + 1, Level.WARNING),
        ("gc_heartbeat_failure_ratio", 0.2, Level.WARNING),
        ("memory_ratio", 0.8, Level.INFO),
        ("memory_ratio", 0.86, Level.WARNING),
    ],
)
def test_levels_of_the_runbook_examples(metric, value, level):
    assert classify(metric, value).level == level
    assert level_of(metric, value) == level


def test_classification_text_names_the_range_and_the_operation():
    c = classify("p95_latency_ms", 25, operation="add_members")
    assert c.level == Level.OK
    assert str(c) == "25 ms is normal (10–50 ms for add_members)"


def test_a_fast_operation_in_the_normal_band_is_info():
    c = classify("p95_latency_ms", 25, operation="get_epoch")
    assert c.level == Level.INFO
    assert "expected fast (< 10 ms)" in c.text
    assert classify("p95_latency_ms", 5, operation="get_epoch").level == Level.OK
    assert classify("p95_latency_ms", 5, operation="add_members").level == Level.OK


def test_ratios_and_bytes_are_shown_in_human_units():
    assert classify("error_rate", 0.005).text == "0.5 % is abnormal (0.5–5 %)"
    assert classify("memory_bytes", 3 * 2**30).text.startswith("3 GiB is high (> 2 GiB)")
    assert classify("spawn_rate_per_minute", 5).text == "5/min is normal (1–10/min)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: classify("no_such_metric", 1), "known metrics: "),
        (lambda: classify("p95_latency_ms", 1, operation="teleport"), "known operations: "),
        (lambda: classify("active_actors", 1, operation="get_epoch"), "p95_latency_ms only"),
        (lambda: timeout_for("teleport"), "known operations: "),
        (lambda: inactivity_timeout_for(-1), "≥ 0"),
        (lambda: pool_advice(-1, 10), "active ≥ 0"),
    ],
)
def test_wrong_arguments_raise_parameter_errors(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


@pytest.mark.parametrize(
    ("active", "max_", "advice"),
    [
        (0, 10, "reduce the pool to 5"),
        (4, 10, "reduce the pool to 5"),
        (5, 10, "current setting OK"),
        (9, 10, "current setting OK"),
        (10, 10, "increase the pool to 20"),
        (19, 19, "increase the pool to 20"),
        (19, 20, "current setting OK"),
        (20, 20, "scale horizontally"),
        (30, 30, "scale horizontally"),
        (25, 30, "current setting OK"),
        (4, 4, "raise the pool to 10"),
        (3, 5, "current setting OK"),  # already at the runbook's minimum of 5
    ],
)
def test_pool_advice_follows_the_tuning_table(active, max_, advice):
    assert advice in pool_advice(active, max_)


@pytest.mark.parametrize(
    ("operation", "seconds"),
    [
        ("get_epoch", 1),
        ("increment_unread", 1),
        ("add_members", 30),
        ("send_message", 30),
        ("large_batch", 60),
        ("fast", 1),
        ("slow", 60),
    ],
)
def test_message_timeouts(operation, seconds):
    assert timeout_for(operation) == seconds


@pytest.mark.parametrize(
    ("per_hour", "timeout"),
    [
        (600, timedelta(hours=1)),
        (60, timedelta(hours=1)),  # messages every minute
        (59.9, timedelta(hours=24)),
        (1, timedelta(hours=24)),  # messages every hour
        (0.99, timedelta(days=7)),
        (1 / 24, timedelta(days=7)),  # messages every day
        (0, timedelta(days=7)),
    ],
)
def test_inactivity_timeout_by_activity(per_hour, timeout):
    assert inactivity_timeout_for(per_hour) == timeout


def test_named_numbers_from_both_runbooks():
    t = default_thresholds()
    assert t.windows.stale_conversation == timedelta(days=7)
    assert t.windows.stale_meeting == timedelta(hours=1)
    assert t.windows.mailbox_critical_escalate_after == timedelta(minutes=5)
    assert t.inactivity.cleanup_interval == timedelta(minutes=5)
    assert t.pool.default_max == 10
    assert t.pool.temporary_max == 30
    assert t.alerts["MCHighMemory"].for_duration == timedelta(minutes=10)
    assert t.alerts["MCHighCPU"].for_duration == timedelta(minutes=5)
    assert t.alerts["ActorRestartRateHigh"].threshold == 10
    responses = {level: row.response_time for level, row in t.severity.p.items()}
    assert responses == {
        "P1": timedelta(minutes=15),
        "P2": timedelta(hours=1),
        "P3": timedelta(hours=4),
        "P4": timedelta(hours=24),
    }
    assert t.severity.upgrade.p2_to_p1_after == timedelta(hours=2)
    assert t.recovery["rollout_undo"] == (timedelta(minutes=2), timedelta(minutes=3))
    assert t.remediation.scale_replicas == 5


def test_thresholds_are_read_only():
    t = default_thresholds()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.pool = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        t.metrics["active_actors"] = None  # type: ignore[index]


def test_a_user_file_overrides_one_edge_and_keeps_the_rest(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "metrics:\n  active_actors:\n    bands:\n      high: {upto: 6000}\n"
        "windows:\n  stale_meeting: 2h\n"
    )
    t = load_thresholds(path)
    assert classify("active_actors", 5500, thresholds=t).band.name == "high"
    assert classify("active_actors", 5500).band.name == "elevated"  # defaults untouched
    assert t.metrics["active_actors"].bands["high"].level == Level.WARNING  # merged, not replaced
    assert t.windows.stale_meeting == timedelta(hours=2)
    assert t.windows.stale_conversation == timedelta(days=7)
    assert load_thresholds(None) == default_thresholds()


def test_an_empty_user_file_gives_the_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_thresholds(str(path)) == default_thresholds()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("windowz: {}\n", r"unknown key thresholds\.windowz; allowed keys here: metrics, "),
        (
            "windows: {stale_meting: 2h}\n",
            r"unknown key thresholds\.windows\.stale_meting; allowed keys here: stale_conversation",
        ),
        (
            "metrics: {active_actors: {bands: {high: {upto: lots}}}}\n",
            r"thresholds\.metrics\.active_actors\.bands\.high\.upto: expected a number, got 'lots'",
        ),
        ("windows: {stale_meeting: soon}\n", r"thresholds\.windows\.stale_meeting: 'soon' is not"),
        ("pool: {default_max: 2.5}\n", r"thresholds\.pool\.default_max: expected an integer"),
        (
            "metrics: {active_actors: {bands: {high: {level: dire}}}}\n",
            r"unknown level 'dire'; use one of: ok, info, warning, critical",
        ),
        (
            "metrics: {active_actors: {bands: {high: {upto: 5}}}}\n",
            r"bands\.high\.upto=5\.0 is below the previous band's edge 1000",
        ),
        ("operations: {get_epoch: warp}\n", r"unknown class 'warp'; allowed: fast, normal, slow"),
        ("metrics: {new_metric: {unit: x}}\n", r"missing key thresholds\.metrics\.new_metric\."),
        ("- a list\n", r"must hold a mapping at the top level"),
    ],
)
def test_bad_user_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=message):
        load_thresholds(path)


def test_a_missing_user_file_says_so(tmp_path):
    with pytest.raises(ParameterError, match="cannot read thresholds file"):
        load_thresholds(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)), ("7d", timedelta(days=7))],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("5 parsecs")
