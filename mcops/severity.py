"""Turn findings into one incident severity, in either runbook's scheme.

``SEV`` (SEV1–SEV4) is runbook 000's on-call playbook; ``P`` (P1–P4) is runbook 004's
classification table with its upgrade triggers. Both read the same Findings, so a
scenario notebook can report whichever scheme its runbook uses.

The check → scenario and alert → scenario tables live here, once: ``next_scenarios``
tells the engineer which notebook to open next, and the alert receiver uses
``ALERT_SCENARIOS`` to pick the notebook an alert should run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from mcops.errors import ParameterError
from mcops.findings import Finding, Level
from mcops.thresholds import Thresholds, default_thresholds

__all__ = [
    "ALERT_SCENARIOS",
    "CHECK_SCENARIOS",
    "SCENARIO_RUNBOOKS",
    "Severity",
    "SeverityContext",
    "assess",
    "scenarios_for",
]

Scheme = Literal["SEV", "P"]

#: Which runbook each scenario notebook implements (DESIGN.md's scenario table).
SCENARIO_RUNBOOKS: Mapping[str, frozenset[str]] = {
    "triage": frozenset({"000", "004"}),
    "actor_health": frozenset({"000"}),
    "crash_loop": frozenset({"000"}),
    "mailbox_backlog": frozenset({"000", "004"}),
    "epoch_conflicts": frozenset({"000"}),
    "memory_leak": frozenset({"000"}),
    "db_consistency": frozenset({"000"}),
    "performance_profile": frozenset({"000"}),
    "actor_panics": frozenset({"004"}),
    "meeting_lifecycle": frozenset({"004"}),
    "service_outage": frozenset({"004"}),
    "high_latency": frozenset({"004"}),
    "gc_integration": frozenset({"004"}),
    "resource_pressure": frozenset({"004"}),
}

#: Where to dig next when a check is not ok: the deep-dive scenarios, best first.
CHECK_SCENARIOS: Mapping[str, tuple[str, ...]] = {
    # triage
    "health": ("service_outage",),
    "readiness": ("service_outage",),
    "error_logs": ("crash_loop", "actor_panics"),
    "key_metrics": ("actor_health",),
    # actor_health
    "active_actors": ("memory_leak",),
    "spawn_rate": ("crash_loop",),
    "p95_latency": ("performance_profile", "high_latency"),
    "error_rate": ("crash_loop", "performance_profile"),
    "db_pool": ("mailbox_backlog", "performance_profile"),
    # crash_loop
    "crash_loop": ("crash_loop",),
    "spawn_loop": ("crash_loop",),
    "missing_conversation": ("crash_loop", "db_consistency"),
    "epoch_drift": ("crash_loop", "db_consistency"),
    # mailbox_backlog
    "mailbox_depth": ("mailbox_backlog",),
    "processing_vs_arrival": ("mailbox_backlog",),
    "slow_queries": ("performance_profile", "mailbox_backlog"),
    "messages_dropped": ("mailbox_backlog",),
    # epoch_conflicts, db_consistency
    "actor_system_enabled": ("epoch_conflicts",),
    "duplicate_epochs": ("epoch_conflicts", "db_consistency"),
    "epoch_consistency": ("db_consistency", "epoch_conflicts"),
    "sequence_gaps": ("db_consistency",),
    "left_member_unread": ("db_consistency",),
    # memory_leak
    "actor_count_trend": ("memory_leak",),
    "memory_trend": ("memory_leak", "resource_pressure"),
    "stale_actors": ("memory_leak",),
    # performance_profile
    "p95_by_message_type": ("performance_profile",),
    "missing_indexes": ("performance_profile",),
    # runbook 004
    "actor_panics": ("actor_panics",),
    "panic_logs": ("actor_panics",),
    "panic_recurrence": ("actor_panics",),
    "recent_rollout": ("actor_panics", "service_outage"),
    "stale_meetings": ("meeting_lifecycle",),
    "gc_mc_mismatch": ("meeting_lifecycle", "gc_integration"),
    "connection_errors": ("meeting_lifecycle",),
    "pods_not_ready": ("service_outage",),
    "restarts": ("service_outage",),
    "oom_killed": ("service_outage", "resource_pressure"),
    "cpu_usage": ("resource_pressure", "high_latency"),
    "memory_usage": ("resource_pressure", "memory_leak"),
    "capacity": ("resource_pressure",),
    "gc_heartbeat_failures": ("gc_integration",),
    "registration": ("gc_integration",),
}

#: The notebook each Prometheus alert (deploy/prometheus/alerts.rules.yml) should run.
ALERT_SCENARIOS: Mapping[str, str] = {
    "ActorRestartRateHigh": "crash_loop",
    "ActorMailboxBacklog": "mailbox_backlog",
    "EpochConflictDetected": "epoch_conflicts",
    "ActorUnresponsive": "performance_profile",
    "MemoryUsageHigh": "memory_leak",
    "ActorErrorRateHigh": "actor_health",
    "MCHighMailboxDepthWarning": "mailbox_backlog",
    "MCHighMailboxDepthCritical": "mailbox_backlog",
    "MCActorPanic": "actor_panics",
    "MCMeetingStale": "meeting_lifecycle",
    "MCLowConnectionCount": "meeting_lifecycle",
    "MCDown": "service_outage",
    "MCPodRestartingFrequently": "service_outage",
    "MCHighLatency": "high_latency",
    "MCGCHeartbeatFailure": "gc_integration",
    "MCGCHeartbeatWarning": "gc_integration",
    "MCHighMemory": "resource_pressure",
    "MCHighCPU": "resource_pressure",
    "MCCapacityWarning": "resource_pressure",
}

# Checks whose critical finding means the service is down (SEV1; P1 "all pods").
_OUTAGE = frozenset({"health", "readiness", "pods_not_ready"})
# Checks that indicate data corruption: 000 says escalate to engineering when suspected.
_DATA = frozenset(
    {
        "duplicate_epochs",
        "epoch_consistency",
        "sequence_gaps",
        "left_member_unread",
        "missing_conversation",
        "epoch_drift",
    }
)
# Checks whose warnings are hygiene, not degradation (SEV4 "minor issues, warnings").
_HYGIENE = frozenset({"stale_actors", "missing_indexes", "recent_rollout", "error_logs"})
# Checks whose count is a number of meetings (P3 "affects multiple meetings" → P2).
_MEETING_SCOPED = frozenset({"stale_meetings", "gc_mc_mismatch", "connection_errors"})
# Checks that set P1 on their own: their scenario comes first among equal levels.
# Evidence of an actor panic, from metrics or from logs (004: any panic → P1).
_PANICS = frozenset({"actor_panics", "panic_logs", "panic_recurrence"})
_URGENT = _PANICS | {"messages_dropped", "registration"} | _OUTAGE
# Sources of "Metrics unavailable" (P3) when they could not be checked.
_METRICS = frozenset({"key_metrics", "p95_latency", "mailbox_depth"})


@dataclass(frozen=True)
class SeverityContext:
    """What the findings alone cannot say. ``now`` defaults to the current UTC time."""

    incident_started_at: datetime | None = None
    now: datetime | None = None
    affected_meetings: int | None = None
    security_suspected: bool = False


@dataclass(frozen=True)
class Severity:
    """The incident's severity, why, and what to do about it."""

    scheme: Scheme
    level: str
    reason: str
    next_scenarios: tuple[str, ...] = ()
    response_time: timedelta | None = None
    escalation: str = ""
    notify: tuple[str, ...] = ()
    upgraded_from: str | None = None
    triggers: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The summary.json shape (``scheme``, ``level``, ``reason`` first)."""
        return {
            "scheme": self.scheme,
            "level": self.level,
            "reason": self.reason,
            "next_scenarios": list(self.next_scenarios),
            "response_time_seconds": (
                None if self.response_time is None else self.response_time.total_seconds()
            ),
            "escalation": self.escalation,
            "notify": list(self.notify),
            "upgraded_from": self.upgraded_from,
        }


def scenarios_for(check: str, *, scheme: Scheme | None = None) -> tuple[str, ...]:
    """The scenarios to open next for ``check``, preferring the scheme's runbook."""
    candidates = CHECK_SCENARIOS.get(check, ())
    if scheme is None:
        return candidates
    runbook = "000" if scheme == "SEV" else "004"
    preferred = tuple(s for s in candidates if runbook in SCENARIO_RUNBOOKS.get(s, ()))
    return preferred or candidates


def assess(
    findings: Iterable[Finding],
    *,
    scheme: Scheme,
    context: SeverityContext | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Severity:
    """Classify the findings of one investigation into ``scheme``'s levels.

    ``context`` may be a SeverityContext or a plain dict with the same keys (handy in a
    notebook). Naive datetimes are taken as UTC.
    """
    if scheme not in ("SEV", "P"):
        raise ParameterError(f"unknown severity scheme {scheme!r}; use 'SEV' or 'P'", name="scheme")
    ctx = _context(context)
    t = thresholds or default_thresholds()
    found = list(findings)
    checked = [f for f in found if f.checked]
    nexts = _next_scenarios(checked, scheme)
    if scheme == "SEV":
        return _sev(checked, ctx, t, nexts)
    return _p(found, checked, ctx, t, nexts)


# --------------------------------------------------------------------------- SEV (000)


def _sev(
    checked: Sequence[Finding], ctx: SeverityContext, t: Thresholds, nexts: tuple[str, ...]
) -> Severity:
    critical = [f for f in checked if f.level == Level.CRITICAL]
    warnings = [f for f in checked if f.level == Level.WARNING]
    data = [f for f in checked if f.check in _DATA and f.level >= Level.WARNING]
    if ctx.security_suspected:
        level, reason = "SEV1", "A security breach is suspected."
    elif outage := [f for f in critical if f.check in _OUTAGE]:
        level, reason = "SEV1", f"Service down: {_titles(outage)}."
    elif lost := [f for f in critical if f.check == "messages_dropped"]:
        level, reason = "SEV1", f"Data loss: {_titles(lost)}."
    elif critical:
        level, reason = "SEV2", f"Critical findings: {_titles(critical)}."
    elif degraded := [f for f in warnings if f.check not in _HYGIENE]:
        level, reason = "SEV3", f"Degraded: {_titles(degraded)}."
    elif warnings:
        level, reason = "SEV4", f"Minor issues: {_titles(warnings)}."
    else:
        level, reason = "SEV4", "No check found a problem."
    escalation = t.severity.sev[level].escalation
    notes = []
    if data:
        notes.append("Data corruption suspected: escalate to the engineering team now.")
    if ctx.security_suspected:
        notes.append("Security concern: escalate to the engineering team now.")
    return Severity(
        scheme="SEV",
        level=level,
        reason=reason,
        next_scenarios=nexts,
        response_time=None,
        escalation=" ".join([escalation, *notes]),
        notify=("Security",) if ctx.security_suspected else (),
    )


# --------------------------------------------------------------------------- P (004)


def _p(
    found: Sequence[Finding],
    checked: Sequence[Finding],
    ctx: SeverityContext,
    t: Thresholds,
    nexts: tuple[str, ...],
) -> Severity:
    level, reason = _p_base(found, checked)
    triggers: list[str] = []
    base = level
    meetings = _affected_meetings(checked, ctx)
    if level == "P3" and meetings >= t.severity.upgrade.multiple_meetings:
        level = "P2"
        triggers.append(f"P3 affects {meetings} meetings → P2")
    if level == "P2" and ctx.incident_started_at is not None:
        now = ctx.now or datetime.now(UTC)
        persisted = now - ctx.incident_started_at
        if persisted > t.severity.upgrade.p2_to_p1_after:
            level = "P1"
            triggers.append(f"P2 persisted for {_duration(persisted)} → P1")
    if any(f.check in _PANICS and f.level >= Level.WARNING for f in checked):
        if level != "P1":
            triggers.append("actor panic detected → P1")
        level = "P1"
    notify: tuple[str, ...] = ()
    if ctx.security_suspected:
        level = "P1"
        triggers.append("security breach suspected → P1, notify the Security Team")
        notify = ("Security Team",)
    row = t.severity.p[level]
    if triggers:
        reason = f"{reason.rstrip('.')}; upgraded: {'; '.join(triggers)}."
    extra = _p_escalation_notes(checked, ctx)
    return Severity(
        scheme="P",
        level=level,
        reason=reason,
        next_scenarios=nexts,
        response_time=row.response_time,
        escalation=" ".join([row.escalation + ".", *extra]),
        notify=notify,
        upgraded_from=base if base != level else None,
        triggers=tuple(triggers),
    )


def _p_base(found: Sequence[Finding], checked: Sequence[Finding]) -> tuple[str, str]:
    """004's table, examples turned into rules, worst first."""

    def pick(checks: Iterable[str], minimum: Level) -> list[Finding]:
        wanted = set(checks)
        return [f for f in checked if f.check in wanted and f.level >= minimum]

    if hit := pick(_OUTAGE | {"restarts"}, Level.CRITICAL):
        return "P1", f"Service down: {_titles(hit)}."
    if hit := pick({"registration"}, Level.CRITICAL):
        return "P1", f"Complete GC registration failure: {_titles(hit)}."
    if hit := pick({"messages_dropped"}, Level.CRITICAL):
        return "P1", f"Message drop rate above 1 %: {_titles(hit)}."
    p2_rules = (
        ({"p95_latency", "p95_by_message_type"}, Level.CRITICAL, "High latency"),
        ({"mailbox_depth"}, Level.CRITICAL, "Mailbox depth critical"),
        ({"pods_not_ready", "restarts", "oom_killed"}, Level.WARNING, "Single pod failing"),
        ({"gc_heartbeat_failures", "registration"}, Level.WARNING, "GC heartbeat intermittent"),
    )
    for checks, minimum, what in p2_rules:
        if hit := pick(checks, minimum):
            return "P2", f"{what}: {_titles(hit)}."
    if hit := [f for f in checked if f.level == Level.CRITICAL]:
        return "P2", f"Critical findings: {_titles(hit)}."
    if hit := [f for f in checked if f.level == Level.WARNING and f.check not in _HYGIENE]:
        return "P3", f"Warnings with a workaround: {_titles(hit)}."
    unavailable = [f for f in found if not f.checked and f.check in _METRICS]
    if unavailable and not any(f.checked and f.check in _METRICS for f in found):
        return "P3", f"Metrics unavailable: {_titles(unavailable)}."
    if hit := [f for f in checked if f.level == Level.WARNING]:
        return "P4", f"Minor warnings: {_titles(hit)}."
    return "P4", "No check found a problem."


def _affected_meetings(checked: Sequence[Finding], ctx: SeverityContext) -> int:
    if ctx.affected_meetings is not None:
        return ctx.affected_meetings
    counts = [f.count for f in checked if f.check in _MEETING_SCOPED and f.level >= Level.WARNING]
    return max(counts, default=0)


def _p_escalation_notes(checked: Sequence[Finding], ctx: SeverityContext) -> list[str]:
    """004's per-scenario escalation lines that the findings make relevant."""
    notes = []
    by_check = {f.check: f for f in checked if f.level >= Level.WARNING}
    if "messages_dropped" in by_check:
        notes.append("Messages are being dropped: escalate to the Service Owner immediately.")
    if (f := by_check.get("mailbox_depth")) and f.level == Level.CRITICAL:
        notes.append(
            "If the mailbox stays above 500 for more than 5 minutes, escalate to the Service Owner."
        )
    if by_check.keys() & _PANICS:
        notes.append("Any actor panic is critical: page immediately; escalate to the MC Team.")
    if by_check.keys() & {"gc_heartbeat_failures", "registration", "gc_mc_mismatch"}:
        notes.append("Engage the GC Team (#gc-oncall).")
    if ctx.security_suspected:
        notes.append("Notify the Security Team immediately (#security-incidents).")
    return notes


# --------------------------------------------------------------------------- helpers


def _context(context: SeverityContext | Mapping[str, Any] | None) -> SeverityContext:
    if context is None:
        return SeverityContext()
    if not isinstance(context, SeverityContext):
        allowed = [f.name for f in fields(SeverityContext)]
        unknown = [key for key in context if key not in allowed]
        if unknown:
            raise ParameterError(
                f"unknown severity context key {unknown[0]!r}; allowed: {', '.join(allowed)}",
                name="context",
            )
        context = SeverityContext(**context)
    return replace(
        context,
        incident_started_at=_utc(context.incident_started_at),
        now=_utc(context.now),
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _next_scenarios(checked: Sequence[Finding], scheme: Scheme) -> tuple[str, ...]:
    ordered = sorted(
        (f for f in checked if f.level >= Level.WARNING),
        key=lambda f: (-int(f.level), f.check not in _URGENT),
    )
    seen: dict[str, None] = {}
    for f in ordered:
        for scenario in scenarios_for(f.check, scheme=scheme):
            seen.setdefault(scenario, None)
    return tuple(seen)


def _titles(findings: Sequence[Finding], limit: int = 3) -> str:
    parts = [f"{f.check} ({f.title})" if f.title else f.check for f in findings[:limit]]
    more = len(findings) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min"
