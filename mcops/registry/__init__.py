"""The check registry: the one place a check, a scenario and an alert are declared.

A check id is written here once, with the scenarios it belongs to, the kind of trouble
it signals and the scenarios to open when it fires. Severity's rules (`mcops.severity`)
read the kind; triage's routing reads ``routes``; the recorder refuses a finding whose
check is not declared, so a notebook cannot invent or silently rename an id; tests and
docs enumerate this table instead of keeping their own.

Kinds, in the order that decides which scenario comes first when findings tie on level
(a cause before the symptom it produces: an exhausted pool before "not ready"):

    down          the service does not answer at all            (SEV1 / P1)
    panic         an actor panicked                              (004: any panic → P1)
    data          data corruption (duplicate epochs, drift)     (000: escalate)
    config        a runbook precondition is off (actor system)
    crash         actors crash and respawn
    loss          messages dropped                               (004: > 1 % → P1)
    registration  the MC is not registered with the GC          (004: complete failure → P1)
    pods          pods or processes failing, restarting, OOM    (004: single pod → P2)
    saturation    pool, mailbox or backlog                       (004: mailbox > 500 → P2)
    heartbeat     GC heartbeats failing or late                  (004: intermittent → P2)
    memory        memory against its limit or the 2 GB alert
    leak          actors or memory growing without bound
    cpu           CPU against its limit                          (004: high CPU → P3)
    capacity      meetings against the MC's capacity
    latency       p95 processing time                            (004: p95 > 1 s → P2)
    errors        error rates and error log lines
    not_ready     alive but not ready: a symptom, ranked after its causes
    meetings      stale or mismatched meetings (counted in meetings: P3 → P2)
    rollout       a recent rollout (context for a panic or crash)
    hygiene       minor: indexes, stale idle actors, info
    overview      a summary of other findings (key_metrics): never judged on its own
    verification  the state after a remediation
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mcops.registry._recovery_004 import CHECKS_RECOVERY
from mcops.registry._runbook_000 import CHECKS_000
from mcops.registry._runbook_004 import CHECKS_004
from mcops.registry._spec import KINDS, CheckSpec, Kind, Scenario, UnknownCheck

__all__ = [
    "ALERTS",
    "CHECKS",
    "KINDS",
    "SCENARIOS",
    "CheckSpec",
    "Kind",
    "Scenario",
    "UnknownCheck",
    "check_spec",
    "checks_of",
    "metric_checks",
    "routes_for",
]


def _scenarios(*rows: tuple[str, str, str]) -> Mapping[str, Scenario]:
    out = {}
    for name, runbooks, section in rows:
        out[name] = Scenario(name, frozenset(runbooks.split("+")), section)  # type: ignore[arg-type]
    return MappingProxyType(out)


#: Every scenario notebook, with its runbook section (the README's table follows this).
SCENARIOS: Mapping[str, Scenario] = _scenarios(
    ("triage", "000+004", "000 Incident Response step 2; 004 Quick Health Check"),
    ("actor_health", "000", "000 Monitoring Actor Health"),
    ("crash_loop", "000", "000 Failure Mode 1; Handling Actor Crashes"),
    ("mailbox_backlog", "000+004", "000 Failure Mode 2; Clearing Mailbox Backlog; 004 Scenario 1"),
    ("epoch_conflicts", "000", "000 Failure Mode 3; Handling Epoch Conflicts"),
    ("memory_leak", "000", "000 Failure Mode 4; Memory Leak Mitigation"),
    ("db_consistency", "000", "000 Database Consistency Checks 1-4"),
    ("performance_profile", "000", "000 Performance Profiling; Identifying Bottlenecks"),
    ("actor_panics", "004", "004 Scenario 2: Actor Panics"),
    ("meeting_lifecycle", "004", "004 Scenario 3: Meeting Lifecycle Issues"),
    ("service_outage", "004", "004 Scenario 4: Complete Service Outage"),
    ("high_latency", "004", "004 Scenario 5: High Latency"),
    ("gc_integration", "004", "004 Scenario 6: GC Integration Failures"),
    ("resource_pressure", "004", "004 Scenario 7: Resource Pressure"),
    ("service_restart", "004", "004 Recovery Procedures: Service Restart Procedure"),
    ("graceful_drain", "004", "004 Recovery Procedures: Graceful Drain Procedure"),
    # a tool, not an investigation: drafts the postmortem from the others' evidence
    ("postmortem", "000+004", "000 Post-Incident Review; 004 Postmortem Template"),
)


def _checks(*specs: CheckSpec) -> Mapping[str, CheckSpec]:
    out: dict[str, CheckSpec] = {}
    for spec in specs:
        if spec.id in out:
            raise ValueError(f"check {spec.id!r} is declared twice")
        out[spec.id] = spec
    return MappingProxyType(out)


#: Every check, runbook 000's (with triage's), runbook 004's, then its procedures'.
CHECKS: Mapping[str, CheckSpec] = _checks(*CHECKS_000, *CHECKS_004, *CHECKS_RECOVERY)


#: The notebook each Prometheus alert (deploy/prometheus/alerts.rules.yml) opens.
ALERTS: Mapping[str, str] = MappingProxyType(
    {
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
)


def check_spec(check: str) -> CheckSpec:
    """The declaration of ``check``; UnknownCheck (with the fix) when there is none."""
    try:
        return CHECKS[check]
    except KeyError:
        raise UnknownCheck(check) from None


def checks_of(scenario: str) -> tuple[CheckSpec, ...]:
    """The checks declared for ``scenario``, in registry order."""
    return tuple(spec for spec in CHECKS.values() if scenario in spec.scenarios)


def metric_checks() -> Mapping[str, str]:
    """thresholds.yaml metric key → the check id that judges it."""
    return {key: spec.id for spec in CHECKS.values() for key in spec.metric_keys}


def routes_for(check: str, *, runbook: str | None = None) -> tuple[str, ...]:
    """Where to go when ``check`` fires; ``runbook``'s own scenarios first (none dropped)."""
    routes = check_spec(check).routes
    if runbook is None:
        return routes
    own = tuple(s for s in routes if runbook in SCENARIOS[s].runbooks)
    return own + tuple(s for s in routes if s not in own)
