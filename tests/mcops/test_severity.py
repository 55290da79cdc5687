"""Severity in runbook 000's SEV scheme and runbook 004's P scheme, at every boundary.

Rules over a kind of check are tested with every check of that kind (from the
registry), so a check whose kind changes, or a rule that forgets a member, fails here.
Expectations come from the runbooks' words, quoted beside each test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcops.errors import ParameterError
from mcops.findings import Finding
from mcops.registry import CHECKS
from mcops.severity import SeverityContext, assess, format_duration
from mcops.thresholds import default_thresholds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def f(check, level, count=1, title="seen", meetings=None):
    return Finding.make(check, level, title, count=count, affected_meetings=meetings)


def kind(*kinds):
    return sorted(spec.id for spec in CHECKS.values() if spec.kind in kinds)


def other_than(*kinds):
    return sorted(spec.id for spec in CHECKS.values() if spec.kind not in kinds)


def at(minutes=0, hours=0, seconds=0):
    """A context whose incident started this long before NOW."""
    span = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return SeverityContext(incident_started_at=NOW - span, now=NOW)


JUDGED = other_than("overview")
MINOR = ("hygiene", "rollout")

# =========================================================================== SEV (000)
# 000 On-Call Playbook Step 1: "SEV1 (Critical): Service down, data loss, security
# breach / SEV2 (High): Partial outage, high error rate, severe degradation / SEV3
# (Medium): Degraded performance, elevated error rate / SEV4 (Low): Minor issues, warnings"


@pytest.mark.parametrize("check", kind("down"))
def test_sev1_service_down_is_every_down_check_at_critical(check):
    assert assess([f(check, "critical")], scheme="SEV").level == "SEV1"
    assert "Service down" in assess([f(check, "critical")], scheme="SEV").reason
    assert assess([f(check, "warning")], scheme="SEV").level == "SEV3"


@pytest.mark.parametrize("check", kind("loss"))
def test_sev1_data_loss_is_critical_message_loss(check):
    s = assess([f(check, "critical")], scheme="SEV")
    assert (s.level, s.reason.split(":")[0]) == ("SEV1", "Data loss")
    assert assess([f(check, "warning")], scheme="SEV").level == "SEV3"


@pytest.mark.parametrize("check", other_than("down", "loss", "overview"))
def test_sev2_any_other_critical_finding(check):
    assert assess([f(check, "critical")], scheme="SEV").level == "SEV2"


@pytest.mark.parametrize("check", other_than("overview", *MINOR))
def test_sev3_a_warning_is_degradation(check):
    assert assess([f(check, "warning")], scheme="SEV").level == "SEV3"


@pytest.mark.parametrize("check", kind(*MINOR))
def test_sev4_minor_warnings(check):
    s = assess([f(check, "warning")], scheme="SEV")
    assert (s.level, s.reason.split(":")[0]) == ("SEV4", "Minor issues")


@pytest.mark.parametrize("level", ["ok", "info"])
@pytest.mark.parametrize("check", JUDGED)
def test_sev4_below_warning(check, level):
    assert assess([f(check, level)], scheme="SEV").level == "SEV4"


def test_sev_pool_exhaustion_is_a_partial_outage_not_down():
    """/ready failing while /health answers is SEV2 ("partial outage"), not SEV1."""
    s = assess([f("readiness", "critical"), f("db_pool", "critical")], scheme="SEV")
    assert s.level == "SEV2"
    assert s.next_scenarios[0] == "mailbox_backlog"


def test_sev_escalation_follows_runbook_000():
    """000 Escalation Procedures: the CTO for SEV1 only."""
    assert "CTO" in assess([f("health", "critical")], scheme="SEV").escalation
    assert "CTO" not in assess([f("error_rate", "critical")], scheme="SEV").escalation
    assert assess([f("error_rate", "critical")], scheme="SEV").response_time is None


@pytest.mark.parametrize("check", kind("data"))
def test_sev_data_corruption_escalates_to_engineering(check):
    """000 Step 4: "Escalate to engineering team if: ... Data corruption suspected"."""
    assert "Data corruption suspected" in assess([f(check, "warning")], scheme="SEV").escalation
    assert "Data corruption" not in assess([f(check, "info")], scheme="SEV").escalation


def test_sev_security_is_sev1_and_notifies():
    s = assess([], scheme="SEV", context=SeverityContext(security_suspected=True))
    assert s.level == "SEV1"
    assert s.notify == ("Security",)
    assert "Security concern" in s.escalation
    assert assess([], scheme="SEV").notify == ()


# =========================================================================== P (004)
# 004 Severity Classification table, examples and upgrade triggers.


@pytest.mark.parametrize("check", kind("down", "pods", "registration", "loss"))
def test_p1_service_down_pods_registration_and_drops_above_1_percent(check):
    """P1: "Service down ... All pods crash-looping, Complete GC registration failure,
    >1% message drop rate" (the drop and pod judges give critical only past those)."""
    s = assess([f(check, "critical")], scheme="P")
    assert s.level == "P1"
    assert s.upgraded_from is None


@pytest.mark.parametrize("check", kind("latency", "saturation"))
def test_p2_critical_latency_and_mailbox(check):
    """P2: "High latency (p95 > 1s), Mailbox depth critical (>500)"."""
    assert assess([f(check, "critical")], scheme="P").level == "P2"
    assert assess([f(check, "warning")], scheme="P").level == "P3"  # warning-level: P3


@pytest.mark.parametrize("check", kind("pods", "not_ready"))
def test_p2_single_pod_failing(check):
    """P2: "Single pod failing"."""
    s = assess([f(check, "warning")], scheme="P")
    assert (s.level, s.reason.split(":")[0]) == ("P2", "Single pod failing")


def test_p2_not_ready_but_alive_is_not_down():
    s = assess([f("readiness", "critical")], scheme="P")
    assert s.level == "P2"


@pytest.mark.parametrize("check", kind("heartbeat", "registration"))
def test_p2_gc_heartbeat_intermittent(check):
    """P2: "GC heartbeat intermittent"."""
    s = assess([f(check, "warning")], scheme="P")
    assert (s.level, s.reason.split(":")[0]) == ("P2", "GC heartbeat intermittent or failing")
    assert "GC Team" in s.escalation


@pytest.mark.parametrize("check", kind("loss"))
def test_p2_any_drop_escalates(check):
    """004 Scenario 1: "If messages being dropped, escalate immediately"; P1 only > 1 %."""
    s = assess([f(check, "warning")], scheme="P")
    assert s.level == "P2"
    assert "escalate to the Service Owner immediately" in s.escalation


@pytest.mark.parametrize(
    "check", other_than("overview", "down", "pods", "registration", "loss", "panic")
)
def test_p2_any_other_critical(check):
    assert assess([f(check, "critical")], scheme="P").level == "P2"


@pytest.mark.parametrize(
    "check",
    other_than(
        "overview", "pods", "not_ready", "heartbeat", "registration", "loss", "panic", *MINOR
    ),
)
def test_p3_warnings_with_a_workaround(check):
    """P3: "Warning-level mailbox depth, Single meeting stuck, ... High CPU (non-critical)"."""
    s = assess([f(check, "warning")], scheme="P")
    assert (s.level, s.reason.split(":")[0]) == ("P3", "Warnings with a workaround")


@pytest.mark.parametrize("check", kind(*MINOR))
def test_p4_non_critical_warnings(check):
    """P4: "Log noise, Cosmetic dashboard issues, Non-critical warnings"."""
    assert assess([f(check, "warning")], scheme="P").level == "P4"


@pytest.mark.parametrize("check", ["key_metrics", "p95_latency", "mailbox_depth"])
def test_p3_metrics_unavailable(check):
    """P3: "Metrics unavailable" — only when no metric check ran at all."""
    alone = assess([Finding.not_checked(check, "prometheus unreachable")], scheme="P")
    assert (alone.level, alone.reason.split(":")[0]) == ("P3", "Metrics unavailable")
    ran = [Finding.not_checked(check, "no prometheus"), f("mailbox_depth", "ok")]
    if check != "mailbox_depth":
        assert assess(ran, scheme="P").level == "P4"


def test_a_mc_p95_of_0_6_s_is_not_p2():
    """The p95 judge calls 0.5–1 s a warning (MCHighLatency); P2's example is p95 > 1 s."""
    from mcops.classify import classify

    verdict = classify("mc_p95_latency_seconds", 0.6)
    s = assess([f("p95_latency", str(verdict.level))], scheme="P")
    assert s.level == "P3"
    assert (
        assess(
            [f("p95_latency", str(classify("mc_p95_latency_seconds", 1.01).level))], scheme="P"
        ).level
        == "P2"
    )


# --------------------------------------------------------------------------- upgrades


@pytest.mark.parametrize("check", kind("panic"))
@pytest.mark.parametrize("level", ["warning", "critical"])
def test_any_actor_panic_is_p1(check, level):
    """Upgrade trigger: "Any actor panic detected -> Upgrade to P1"."""
    s = assess([f("mailbox_depth", "warning"), f(check, level)], scheme="P")
    assert s.level == "P1"
    assert s.upgraded_from == ("P3" if level == "warning" else "P2")  # critical alone is P2
    assert "actor panic detected" in s.reason
    assert "page immediately" in s.escalation
    assert s.next_scenarios[0] == "actor_panics"


@pytest.mark.parametrize("check", kind("panic"))
def test_a_panic_check_that_found_nothing_does_not_upgrade(check):
    assert assess([f(check, "info")], scheme="P").level == "P4"
    assert assess([f(check, "ok", count=0)], scheme="P").level == "P4"


@pytest.mark.parametrize(
    ("meetings", "level"),
    [(None, "P3"), (0, "P3"), (1, "P3"), (2, "P2"), (5, "P2")],
)
def test_p3_affecting_multiple_meetings_becomes_p2(meetings, level):
    """Upgrade trigger: "P3 affects multiple meetings -> Upgrade to P2" (2 is multiple)."""
    s = assess([f("stale_meetings", "warning", count=9, meetings=meetings)], scheme="P")
    assert s.level == level
    if level == "P2":
        assert s.upgraded_from == "P3"
        assert f"P3 affects {meetings} meetings → P2" in s.reason


def test_two_log_lines_from_one_meeting_are_one_meeting():
    s = assess([f("connection_errors", "warning", count=2, meetings=1)], scheme="P")
    assert s.level == "P3"


def test_meetings_of_a_check_that_is_not_firing_do_not_count():
    findings = [f("cpu_usage", "warning"), f("stale_meetings", "ok", meetings=4)]
    assert assess(findings, scheme="P").level == "P3"


@pytest.mark.parametrize(("meetings", "level"), [(1, "P3"), (2, "P2")])
def test_affected_meetings_may_come_from_the_context(meetings, level):
    ctx = SeverityContext(affected_meetings=meetings)
    assert assess([f("cpu_usage", "warning")], scheme="P", context=ctx).level == level


def test_multiple_meetings_only_upgrade_p3():
    s = assess([f("recent_rollout", "warning", meetings=3)], scheme="P")
    assert s.level == "P4"


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [
        (timedelta(hours=1, minutes=59), "P2"),
        (timedelta(hours=2), "P2"),  # "persists for > 2 hours": exactly 2 h is not yet
        (timedelta(hours=2, seconds=1), "P1"),
    ],
)
def test_p2_persisting_more_than_two_hours_becomes_p1(elapsed, level):
    """Upgrade trigger: "P2 persists for > 2 hours -> Upgrade to P1"."""
    ctx = SeverityContext(incident_started_at=NOW - elapsed, now=NOW)
    s = assess([f("p95_latency", "critical")], scheme="P", context=ctx)
    assert s.level == level
    if level == "P1":
        assert s.upgraded_from == "P2"
        assert "P2 persisted for 2 h → P1" in s.reason
        assert s.response_time == timedelta(minutes=15)


def test_only_p2_is_upgraded_by_time():
    assert assess([f("cpu_usage", "warning")], scheme="P", context=at(hours=9)).level == "P3"


def test_p2_persistence_needs_a_start_time():
    s = assess([f("p95_latency", "critical")], scheme="P", context=SeverityContext(now=NOW))
    assert s.level == "P2"
    assert "Incident start unknown" in s.escalation


def test_upgrades_chain_p3_to_p2_to_p1():
    s = assess([f("stale_meetings", "warning", meetings=4)], scheme="P", context=at(hours=3))
    assert s.level == "P1"
    assert s.upgraded_from == "P3"
    assert len(s.triggers) == 2


def test_suspected_security_breach_is_p1_and_notifies_security():
    """Upgrade trigger: "Any security breach suspected -> Upgrade to P1 + notify Security"."""
    ctx = SeverityContext(security_suspected=True)
    s = assess([f("cpu_usage", "warning")], scheme="P", context=ctx)
    assert s.level == "P1"
    assert s.notify == ("Security Team",)
    assert "Notify the Security Team immediately" in s.escalation
    assert s.upgraded_from == "P3"
    assert assess([f("cpu_usage", "warning")], scheme="P").notify == ()


# --------------------------------------------------------------------- response and escalation


# The table's Response Time column: "15 minutes", "1 hour", "4 hours", "24 hours".
RESPONSE = {
    "P1": timedelta(minutes=15),
    "P2": timedelta(hours=1),
    "P3": timedelta(hours=4),
    "P4": timedelta(hours=24),
}
EXAMPLE = {
    "P1": [f("pods_not_ready", "critical")],
    "P2": [f("mailbox_depth", "critical")],
    "P3": [f("mailbox_depth", "warning")],
    "P4": [],
}


@pytest.mark.parametrize(
    ("level", "escalation"),
    [
        ("P1", "escalate to Engineering Lead after 30 min"),
        ("P2", "escalate to Service Owner after 2 hours"),
        ("P3", "escalate if not resolved in 8 hours"),
        ("P4", "review in next on-call handoff"),
    ],
)
def test_p_response_time_and_escalation(level, escalation):
    s = assess(EXAMPLE[level], scheme="P")
    assert s.level == level
    assert s.response_time == RESPONSE[level]
    assert escalation in s.escalation
    assert s.to_dict()["response_time"] == format_duration(RESPONSE[level])


def test_the_runbook_numbers_are_the_defaults():
    up = default_thresholds().severity.upgrade
    assert (up.p2_to_p1_after, up.p2_page_after, up.multiple_meetings) == (
        timedelta(hours=2),
        timedelta(minutes=15),
        2,
    )
    # Escalation column: "after 30 min", "after 2 hours", "in 8 hours", next handoff
    after = {lvl: row.escalate_after for lvl, row in default_thresholds().severity.p.items()}
    assert after == {
        "P1": timedelta(minutes=30),
        "P2": timedelta(hours=2),
        "P3": timedelta(hours=8),
        "P4": timedelta(hours=24),
    }


@pytest.mark.parametrize(
    ("elapsed", "paged"), [(timedelta(minutes=15), False), (timedelta(minutes=15, seconds=1), True)]
)
def test_p2_pages_when_it_persists_past_15_minutes(elapsed, paged):
    """P2 Escalation: "Page if persists > 15 min"."""
    s = assess(EXAMPLE["P2"], scheme="P", context=at(seconds=int(elapsed.total_seconds())))
    assert ("page now" in s.escalation) is paged


@pytest.mark.parametrize(
    ("level", "after"),
    [("P1", timedelta(minutes=30)), ("P3", timedelta(hours=8)), ("P4", timedelta(hours=24))],
)
def test_escalate_now_once_past_the_escalation_time(level, after):
    on_time = assess(EXAMPLE[level], scheme="P", context=at(seconds=int(after.total_seconds())))
    late = assess(EXAMPLE[level], scheme="P", context=at(seconds=int(after.total_seconds()) + 1))
    assert on_time.level == late.level == level
    assert "escalate now" not in on_time.escalation
    assert "escalate now" in late.escalation


@pytest.mark.parametrize(
    ("level", "paged"), [("P1", True), ("P2", True), ("P3", False), ("P4", False)]
)
def test_pages_are_acknowledged_within_5_minutes(level, paged):
    """004 Initial Response 1: "Acknowledge alert within 5 minutes" (P1 and P2 page)."""
    s = assess(EXAMPLE[level], scheme="P")
    assert ("Acknowledge the page within 5 min" in s.escalation) is paged


def test_p_escalation_lines_of_the_scenarios():
    s = assess([f("mailbox_depth", "critical"), f("messages_dropped", "warning")], scheme="P")
    assert "above 500 for more than 5 min," in s.escalation  # Scenario 1 Escalation
    assert "above 500" not in assess([f("mailbox_depth", "warning")], scheme="P").escalation
    assert "GC Team" in assess([f("gc_mc_mismatch", "warning")], scheme="P").escalation


# =========================================================================== routing
# The words: epoch conflicts → epoch_conflicts, db_consistency; panics →
# actor_panics (both schemes); p95 → high_latency, performance_profile; pool or backlog →
# mailbox_backlog; down or not ready → service_outage; heartbeats → gc_integration;
# memory → memory_leak, resource_pressure.

ROUTES = [
    ("duplicate_epochs", {"epoch_conflicts", "db_consistency"}),
    ("actor_panics", {"actor_panics"}),
    ("panic_logs", {"actor_panics"}),
    ("p95_latency", {"high_latency", "performance_profile"}),
    ("db_pool", {"mailbox_backlog"}),
    ("mailbox_depth", {"mailbox_backlog"}),
    ("health", {"service_outage"}),
    ("readiness", {"service_outage"}),
    ("gc_heartbeat_failures", {"gc_integration"}),
    ("memory_usage", {"memory_leak", "resource_pressure"}),
]


@pytest.mark.parametrize("scheme", ["SEV", "P"])
@pytest.mark.parametrize(("check", "expected"), ROUTES)
def test_routes_from_what_is_wrong(check, expected, scheme):
    nexts = assess([f(check, "critical")], scheme=scheme).next_scenarios
    assert expected <= set(nexts)
    assert nexts[0] in expected


def test_next_scenarios_prefer_the_schemes_runbook():
    latency = [f("p95_latency", "critical")]
    assert assess(latency, scheme="SEV").next_scenarios[0] == "performance_profile"
    assert assess(latency, scheme="P").next_scenarios[0] == "high_latency"


@pytest.mark.parametrize("scheme", ["SEV", "P"])
@pytest.mark.parametrize(
    ("findings", "first"),
    [
        # a cause before the symptom it produces
        ([f("readiness", "critical"), f("db_pool", "critical")], "mailbox_backlog"),
        ([f("error_logs", "critical"), f("actor_panics", "critical")], "actor_panics"),
        ([f("error_logs", "critical"), f("duplicate_epochs", "critical")], "epoch_conflicts"),
        # worst level first
        ([f("actor_panics", "warning"), f("health", "critical")], "service_outage"),
    ],
)
def test_the_first_suggestion_is_the_cause(findings, first, scheme):
    assert assess(findings, scheme=scheme).next_scenarios[0] == first


def test_next_scenarios_worst_first_without_duplicates():
    findings = [
        f("stale_actors", "warning"),
        f("spawn_rate", "critical"),
        f("crash_loop", "critical"),
        f("db_pool", "ok"),
    ]
    assert assess(findings, scheme="SEV").next_scenarios == ("crash_loop", "memory_leak")


def test_overview_findings_neither_judge_nor_route():
    s = assess([f("key_metrics", "critical")], scheme="P")
    assert (s.level, s.next_scenarios) == ("P4", ())


def test_unchecked_findings_do_not_raise_severity():
    s = assess([Finding.not_checked("health", "service_url not given")], scheme="SEV")
    assert s.level == "SEV4"


# =========================================================================== shapes


def test_to_dict_has_the_summary_json_shape():
    d = assess([f("mailbox_depth", "critical")], scheme="P").to_dict()
    assert list(d)[:3] == ["scheme", "level", "reason"]
    assert d["level"] == "P2"
    assert d["response_time_seconds"] == 3600
    assert d["response_time"] == "1 h"
    assert d["next_scenarios"] == ["mailbox_backlog"]
    assert "escalation" in d and "triggers" in d


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


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(minutes=15), "15 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(seconds=59), "0 min"),
    ],
)
def test_format_duration(span, text):
    assert format_duration(span) == text


@pytest.mark.parametrize("check", kind("verification"))
def test_sev_a_fix_that_did_not_work_escalates(check):
    """000 Step 4: "Escalate to engineering team if: Quick fixes don't work"."""
    note = "A fix did not work"
    assert note in assess([f(check, "critical")], scheme="SEV").escalation
    assert note not in assess([f(check, "warning")], scheme="SEV").escalation


def _with_quick_fix(has: bool) -> str:
    return next(
        spec.id
        for spec in CHECKS.values()
        if bool(spec.quick_fix) is has and spec.kind not in ("hygiene", "rollout", "overview")
    )


@pytest.mark.parametrize("level", ["warning", "critical"])
def test_sev_no_matching_quick_fix_means_an_unclear_root_cause(level):
    """000 Step 4: "Escalate to engineering team if: ... Unclear root cause": the quick-fix
    table (000 Step 3) matches nothing that was found."""
    note = "root cause stays unclear"
    assert note in assess([f(_with_quick_fix(False), level)], scheme="SEV").escalation
    assert note not in assess([f(_with_quick_fix(True), level)], scheme="SEV").escalation
    assert note not in assess([], scheme="SEV").escalation  # SEV4: nothing to escalate
