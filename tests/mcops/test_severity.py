"""Severity in runbook 000's SEV scheme and runbook 004's P scheme, with upgrade triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcops.errors import ParameterError
from mcops.findings import Finding
from mcops.severity import (
    ALERT_SCENARIOS,
    CHECK_SCENARIOS,
    SCENARIO_RUNBOOKS,
    SeverityContext,
    assess,
    scenarios_for,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def f(check, level, count=1, title="seen"):
    return Finding.make(check, level, title, count=count)


# --------------------------------------------------------------------------- SEV (000)


@pytest.mark.parametrize(
    ("findings", "level", "reason"),
    [
        ([f("health", "critical")], "SEV1", "Service down"),
        ([f("readiness", "critical"), f("db_pool", "warning")], "SEV1", "Service down"),
        ([f("messages_dropped", "critical")], "SEV1", "Data loss"),
        ([f("duplicate_epochs", "critical", 2)], "SEV2", "Critical findings: duplicate_epochs"),
        ([f("error_rate", "critical")], "SEV2", "Critical findings"),
        ([f("spawn_rate", "warning")], "SEV3", "Degraded: spawn_rate"),
        ([f("p95_latency", "warning"), f("stale_actors", "warning")], "SEV3", "Degraded"),
        ([f("stale_actors", "warning")], "SEV4", "Minor issues: stale_actors"),
        ([f("active_actors", "info"), f("db_pool", "ok")], "SEV4", "No check found a problem"),
        ([], "SEV4", "No check found a problem"),
    ],
)
def test_sev_levels(findings, level, reason):
    s = assess(findings, scheme="SEV")
    assert (s.scheme, s.level) == ("SEV", level)
    assert reason in s.reason
    assert s.response_time is None  # runbook 000 gives no response times


def test_sev_escalation_follows_runbook_000():
    assert "CTO" in assess([f("health", "critical")], scheme="SEV").escalation
    assert "CTO" not in assess([f("error_rate", "critical")], scheme="SEV").escalation
    corrupt = assess([f("duplicate_epochs", "critical")], scheme="SEV")
    assert "Data corruption suspected" in corrupt.escalation
    assert corrupt.next_scenarios == ("epoch_conflicts", "db_consistency")


def test_sev_security_is_sev1_and_notifies():
    s = assess([], scheme="SEV", context=SeverityContext(security_suspected=True))
    assert s.level == "SEV1"
    assert s.notify == ("Security",)
    assert "Security concern" in s.escalation


def test_unchecked_findings_do_not_raise_severity():
    s = assess([Finding.not_checked("health", "service_url not given")], scheme="SEV")
    assert s.level == "SEV4"


# --------------------------------------------------------------------------- P (004)


@pytest.mark.parametrize(
    ("findings", "level", "reason"),
    [
        ([f("pods_not_ready", "critical")], "P1", "Service down"),
        ([f("restarts", "critical")], "P1", "Service down"),
        ([f("registration", "critical")], "P1", "Complete GC registration failure"),
        ([f("messages_dropped", "critical")], "P1", "drop rate above 1 %"),
        ([f("p95_latency", "critical")], "P2", "High latency"),
        ([f("mailbox_depth", "critical")], "P2", "Mailbox depth critical"),
        ([f("restarts", "warning")], "P2", "Single pod failing"),
        ([f("oom_killed", "warning")], "P2", "Single pod failing"),
        ([f("gc_heartbeat_failures", "warning")], "P2", "GC heartbeat intermittent"),
        ([f("mailbox_depth", "warning")], "P3", "Warnings with a workaround: mailbox_depth"),
        ([f("cpu_usage", "warning")], "P3", "cpu_usage"),
        ([f("stale_meetings", "warning", count=1)], "P3", "stale_meetings"),
        (
            [Finding.not_checked("key_metrics", "prometheus unreachable")],
            "P3",
            "Metrics unavailable",
        ),
        ([f("recent_rollout", "warning")], "P4", "Minor warnings"),
        ([f("capacity", "ok")], "P4", "No check found a problem"),
    ],
)
def test_p_levels_from_the_table_examples(findings, level, reason):
    s = assess(findings, scheme="P", context=SeverityContext(now=NOW))
    assert (s.scheme, s.level) == ("P", level)
    assert reason in s.reason
    assert s.upgraded_from is None


@pytest.mark.parametrize(
    ("level", "response", "escalation"),
    [
        ("P1", timedelta(minutes=15), "escalate to Engineering Lead after 30 min"),
        ("P2", timedelta(hours=1), "escalate to Service Owner after 2 hours"),
        ("P3", timedelta(hours=4), "escalate if not resolved in 8 hours"),
        ("P4", timedelta(hours=24), "review in next on-call handoff"),
    ],
)
def test_p_response_time_and_escalation(level, response, escalation):
    example = {
        "P1": [f("pods_not_ready", "critical")],
        "P2": [f("mailbox_depth", "critical")],
        "P3": [f("mailbox_depth", "warning")],
        "P4": [],
    }[level]
    s = assess(example, scheme="P")
    assert s.level == level
    assert s.response_time == response
    assert escalation in s.escalation


def test_metrics_unavailable_only_when_no_metric_check_ran():
    findings = [Finding.not_checked("key_metrics", "no prometheus"), f("mailbox_depth", "ok")]
    assert assess(findings, scheme="P").level == "P4"


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [
        (timedelta(hours=1, minutes=59), "P2"),
        (timedelta(hours=2), "P2"),  # "persists for > 2 hours": exactly 2 h is not yet
        (timedelta(hours=2, seconds=1), "P1"),
    ],
)
def test_p2_persisting_more_than_two_hours_becomes_p1(elapsed, level):
    ctx = SeverityContext(incident_started_at=NOW - elapsed, now=NOW)
    s = assess([f("p95_latency", "critical")], scheme="P", context=ctx)
    assert s.level == level
    if level == "P1":
        assert s.upgraded_from == "P2"
        assert "P2 persisted for 2 h 0 min → P1" in s.reason
        assert s.response_time == timedelta(minutes=15)


def test_p2_persistence_needs_a_start_time():
    s = assess([f("p95_latency", "critical")], scheme="P", context=SeverityContext(now=NOW))
    assert s.level == "P2"


@pytest.mark.parametrize(
    ("findings", "meetings", "level"),
    [
        ([f("stale_meetings", "warning", count=1)], None, "P3"),  # single meeting stuck
        ([f("stale_meetings", "warning", count=2)], None, "P2"),  # multiple meetings
        ([f("cpu_usage", "warning")], 3, "P2"),
        ([f("cpu_usage", "warning")], 1, "P3"),
    ],
)
def test_p3_affecting_multiple_meetings_becomes_p2(findings, meetings, level):
    s = assess(findings, scheme="P", context=SeverityContext(affected_meetings=meetings))
    assert s.level == level
    if level == "P2":
        assert s.upgraded_from == "P3"
        assert "meetings → P2" in s.reason


def test_upgrades_chain_p3_to_p2_to_p1():
    ctx = SeverityContext(incident_started_at=NOW - timedelta(hours=3), now=NOW)
    s = assess([f("stale_meetings", "warning", count=4)], scheme="P", context=ctx)
    assert s.level == "P1"
    assert s.upgraded_from == "P3"
    assert len(s.triggers) == 2


@pytest.mark.parametrize("panic_level", ["warning", "critical"])
def test_any_actor_panic_is_p1(panic_level):
    s = assess([f("mailbox_depth", "warning"), f("actor_panics", panic_level)], scheme="P")
    assert s.level == "P1"
    assert s.upgraded_from in ("P2", "P3")
    assert "actor panic detected → P1" in s.reason
    assert "page immediately" in s.escalation
    assert s.next_scenarios[0] == "actor_panics"


def test_a_panic_check_that_found_nothing_does_not_upgrade():
    s = assess([f("actor_panics", "ok", count=0)], scheme="P")
    assert s.level == "P4"


def test_suspected_security_breach_is_p1_and_notifies_security():
    ctx = SeverityContext(security_suspected=True)
    s = assess([f("cpu_usage", "warning")], scheme="P", context=ctx)
    assert s.level == "P1"
    assert s.notify == ("Security Team",)
    assert "Notify the Security Team immediately" in s.escalation
    assert s.upgraded_from == "P3"


def test_p_escalation_lines_of_the_scenarios():
    s = assess([f("mailbox_depth", "critical"), f("messages_dropped", "warning")], scheme="P")
    assert "above 500 for more than 5 minutes" in s.escalation
    assert "escalate to the Service Owner immediately" in s.escalation
    gc = assess([f("gc_heartbeat_failures", "critical")], scheme="P")
    assert "GC Team" in gc.escalation


# --------------------------------------------------------------------------- scenarios


def test_next_scenarios_prefer_the_schemes_runbook():
    latency = [f("p95_latency", "critical")]
    assert assess(latency, scheme="SEV").next_scenarios == ("performance_profile",)
    assert assess(latency, scheme="P").next_scenarios == ("high_latency",)
    assert scenarios_for("p95_latency") == ("performance_profile", "high_latency")


def test_next_scenarios_worst_first_without_duplicates():
    findings = [
        f("stale_actors", "warning"),
        f("spawn_rate", "critical"),
        f("crash_loop", "critical"),
        f("db_pool", "ok"),
    ]
    assert assess(findings, scheme="SEV").next_scenarios == ("crash_loop", "memory_leak")


def test_scenario_tables_name_only_real_scenarios():
    known = set(SCENARIO_RUNBOOKS)
    assert set(ALERT_SCENARIOS.values()) <= known
    for scenarios in CHECK_SCENARIOS.values():
        assert set(scenarios) <= known


def test_every_check_id_of_the_design_has_a_scenario():
    design_checks = [
        "health",
        "readiness",
        "error_logs",
        "key_metrics",
        "active_actors",
        "spawn_rate",
        "p95_latency",
        "error_rate",
        "db_pool",
        "crash_loop",
        "spawn_loop",
        "missing_conversation",
        "epoch_drift",
        "mailbox_depth",
        "processing_vs_arrival",
        "slow_queries",
        "messages_dropped",
        "actor_system_enabled",
        "duplicate_epochs",
        "epoch_consistency",
        "actor_count_trend",
        "memory_trend",
        "stale_actors",
        "sequence_gaps",
        "left_member_unread",
        "p95_by_message_type",
        "missing_indexes",
        "actor_panics",
        "recent_rollout",
        "stale_meetings",
        "gc_mc_mismatch",
        "connection_errors",
        "pods_not_ready",
        "restarts",
        "oom_killed",
        "cpu_usage",
        "gc_heartbeat_failures",
        "registration",
        "memory_usage",
        "capacity",
    ]
    assert set(design_checks) <= set(CHECK_SCENARIOS)


def test_to_dict_has_the_summary_json_shape():
    d = assess([f("mailbox_depth", "critical")], scheme="P").to_dict()
    assert list(d)[:3] == ["scheme", "level", "reason"]
    assert d["level"] == "P2"
    assert d["response_time_seconds"] == 3600
    assert d["next_scenarios"] == ["mailbox_backlog"]


def test_unknown_scheme_is_a_parameter_error():
    with pytest.raises(ParameterError, match="use 'SEV' or 'P'"):
        assess([], scheme="S")  # type: ignore[arg-type]


def test_context_may_be_a_dict_with_naive_times():
    ctx = {
        "incident_started_at": datetime(2026, 11, 23, 9, 0),
        "now": datetime(2026, 11, 23, 12, 0),
    }
    assert assess([f("p95_latency", "critical")], scheme="P", context=ctx).level == "P1"


def test_unknown_context_keys_are_named():
    with pytest.raises(ParameterError, match="unknown severity context key 'started'"):
        assess([], scheme="P", context={"started": NOW})


def test_panics_seen_only_in_the_logs_still_make_p1():
    """004: any actor panic → P1, whether the counter or the log shows it."""
    from mcops.findings import Finding
    from mcops.severity import assess

    found = [Finding.make("panic_logs", "critical", "2 panics in the logs")]
    result = assess(found, scheme="P")
    assert result.level == "P1"
    assert "actor_panics" in result.next_scenarios
