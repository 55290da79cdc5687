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
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from mcops.errors import McopsError

__all__ = [
    "ALERTS",
    "CHECKS",
    "KINDS",
    "SCENARIOS",
    "CheckSpec",
    "Scenario",
    "UnknownCheck",
    "check_spec",
    "checks_of",
    "metric_checks",
    "routes_for",
]

Kind = Literal[
    "down",
    "panic",
    "data",
    "config",
    "crash",
    "loss",
    "registration",
    "pods",
    "saturation",
    "heartbeat",
    "memory",
    "leak",
    "cpu",
    "capacity",
    "latency",
    "errors",
    "not_ready",
    "meetings",
    "rollout",
    "hygiene",
    "overview",
    "verification",
]

#: Kinds in tie-break order (see the module docstring): causes before symptoms.
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

Runbook = Literal["000", "004"]


class UnknownCheck(McopsError, KeyError):
    """A finding names a check id the registry does not declare."""

    def __init__(self, check: str) -> None:
        self.check = check
        super().__init__(
            f"unknown check id {check!r} — fix: declare it in mcops/registry.py (CHECKS) "
            "with its scenarios, kind and routes, or use a declared id"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Scenario:
    """A scenario notebook and the runbook section it implements."""

    name: str
    runbooks: frozenset[Runbook]
    section: str


@dataclass(frozen=True)
class CheckSpec:
    """One check: where it runs, what its trouble is, where to go when it fires.

    ``metric_keys`` are the thresholds.yaml metric keys whose snapshot rows this check
    judges (triage turns each key metric into the finding of the check that owns it).
    """

    id: str
    scenarios: tuple[str, ...]
    kind: Kind
    routes: tuple[str, ...] = ()
    title: str = ""
    metric_keys: tuple[str, ...] = ()


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
)


def _checks(*specs: CheckSpec) -> Mapping[str, CheckSpec]:
    out: dict[str, CheckSpec] = {}
    for spec in specs:
        if spec.id in out:
            raise ValueError(f"check {spec.id!r} is declared twice")
        out[spec.id] = spec
    return MappingProxyType(out)


_C = CheckSpec

#: Every check. ``routes`` lists the deep-dive scenarios, best first.
CHECKS: Mapping[str, CheckSpec] = _checks(
    # ---- liveness and readiness (000 Incident Response step 2; 004 Quick Health Check)
    _C("health", ("triage", "service_outage"), "down", ("service_outage",), "Liveness (/health)"),
    _C(
        "readiness",
        ("triage", "service_outage"),
        "not_ready",
        ("service_outage",),
        "Readiness (/ready)",
    ),
    # error lines of any shape; crashes and panics are recognised by their own checks
    _C("error_logs", ("triage",), "errors", ("actor_health",), "Recent ERROR lines"),
    _C("key_metrics", ("triage",), "overview", (), "Key metrics against the runbooks' ranges"),
    # ---- 000 Monitoring Actor Health: the five key metrics
    _C(
        "active_actors",
        ("triage", "actor_health"),
        "leak",
        ("memory_leak",),
        "Active actors",
        ("active_actors",),
    ),
    _C(
        "spawn_rate",
        ("triage", "actor_health"),
        "crash",
        ("crash_loop",),
        "Actor spawn rate",
        ("spawn_rate_per_minute",),
    ),
    _C(
        "p95_latency",
        ("triage", "actor_health", "mailbox_backlog", "high_latency"),
        "latency",
        ("high_latency", "performance_profile"),
        "P95 message latency",
        ("p95_latency_ms", "mc_p95_latency_seconds"),
    ),
    _C(
        "error_rate",
        ("triage", "actor_health"),
        "errors",
        ("crash_loop", "performance_profile"),
        "Actor error rate",
        ("error_rate",),
    ),
    _C(
        "db_pool",
        ("triage", "actor_health", "mailbox_backlog", "performance_profile"),
        "saturation",
        ("mailbox_backlog", "performance_profile"),
        "DB pool connections in use",
        ("db_pool_active",),
    ),
    # ---- 000 FM1 crash loop
    _C(
        "crash_loop",
        ("triage", "crash_loop"),
        "crash",
        ("crash_loop",),
        "Actor crashes per conversation",
    ),
    _C("spawn_loop", ("crash_loop",), "crash", ("crash_loop",), "Spawn loops per conversation"),
    _C(
        "conversation_state",
        ("crash_loop",),
        "data",
        ("crash_loop", "db_consistency"),
        "The crashing conversation's rows",
    ),
    _C(
        "missing_conversation",
        ("crash_loop",),
        "data",
        ("crash_loop", "db_consistency"),
        "Messages of a conversation that does not exist",
    ),
    _C(
        "epoch_drift",
        ("crash_loop",),
        "data",
        ("crash_loop", "db_consistency"),
        "Conversation epoch behind its messages",
    ),
    # ---- 000 FM2 mailbox backlog; 004 Scenario 1
    _C(
        "mailbox_depth",
        ("triage", "mailbox_backlog", "high_latency", "resource_pressure"),
        "saturation",
        ("mailbox_backlog",),
        "Mailbox depth",
        ("actor_mailbox_size", "mc_mailbox_depth"),
    ),
    _C(
        "processing_vs_arrival",
        ("mailbox_backlog",),
        "saturation",
        ("mailbox_backlog",),
        "Processing rate against arrival rate",
    ),
    _C(
        "slow_queries",
        ("mailbox_backlog", "performance_profile"),
        "latency",
        ("performance_profile", "mailbox_backlog"),
        "Slow statements (> 100 ms)",
    ),
    _C(
        "messages_dropped",
        ("triage", "mailbox_backlog"),
        "loss",
        ("mailbox_backlog",),
        "Dropped messages",
        ("drop_rate",),
    ),
    _C(
        "pg_connections",
        ("mailbox_backlog",),
        "saturation",
        ("mailbox_backlog", "performance_profile"),
        "Active PostgreSQL connections",
    ),
    # ---- 000 FM3 epoch conflicts; Database Consistency Checks
    _C(
        "actor_system_enabled",
        ("epoch_conflicts",),
        "config",
        ("epoch_conflicts",),
        "ENABLE_ACTOR_SYSTEM",
    ),
    _C(
        "duplicate_epochs",
        ("triage", "epoch_conflicts", "db_consistency"),
        "data",
        ("epoch_conflicts", "db_consistency"),
        "Duplicate commit epochs",
        ("epoch_conflicts",),
    ),
    _C(
        "duplicate_writers",
        ("epoch_conflicts",),
        "data",
        ("epoch_conflicts",),
        "Servers that wrote the duplicates",
    ),
    _C(
        "epoch_consistency",
        ("epoch_conflicts", "db_consistency"),
        "data",
        ("db_consistency", "epoch_conflicts"),
        "Conversation epoch against its commits",
    ),
    _C("sequence_gaps", ("db_consistency",), "data", ("db_consistency",), "Message sequence gaps"),
    _C(
        "left_member_unread",
        ("db_consistency",),
        "data",
        ("db_consistency",),
        "Unread counts of members who left",
    ),
    _C("duplicates_removed", ("epoch_conflicts",), "verification", (), "Duplicates left"),
    _C("epochs_reset", ("epoch_conflicts",), "verification", (), "Epochs left out of sync"),
    _C("unique_epoch_index", ("epoch_conflicts",), "hygiene", (), "Unique commit-epoch index"),
    _C(
        "new_duplicate_epochs",
        ("epoch_conflicts",),
        "data",
        ("epoch_conflicts",),
        "New duplicates in the last 5 minutes",
    ),
    # ---- 000 FM4 memory leak
    _C(
        "actor_count_trend",
        ("memory_leak",),
        "leak",
        ("memory_leak",),
        "Active actors over the window",
    ),
    _C(
        "memory_trend",
        ("memory_leak", "resource_pressure"),
        "leak",
        ("memory_leak", "resource_pressure"),
        "Memory over the window",
    ),
    _C("stale_actors", ("memory_leak",), "hygiene", ("memory_leak",), "Idle actors past their TTL"),
    _C(
        "stale_conversations",
        ("memory_leak",),
        "hygiene",
        ("memory_leak",),
        "Conversations idle for 7 days",
    ),
    # ---- 000 Performance Profiling
    _C(
        "p95_by_message_type",
        ("performance_profile",),
        "latency",
        ("performance_profile", "high_latency"),
        "P95 latency by message type",
    ),
    _C(
        "missing_indexes",
        ("performance_profile",),
        "hygiene",
        ("performance_profile",),
        "The runbook's indexes",
    ),
    _C("indexes_added", ("performance_profile",), "verification", (), "Indexes after the change"),
    # ---- 004 Scenario 2 actor panics
    _C(
        "actor_panics",
        ("triage", "actor_panics"),
        "panic",
        ("actor_panics",),
        "Actor panics",
        ("actor_panics",),
    ),
    _C(
        "panic_logs",
        ("triage", "actor_panics"),
        "panic",
        ("actor_panics",),
        "Panics in the logs",
    ),
    _C(
        "panic_recurrence",
        ("actor_panics",),
        "panic",
        ("actor_panics",),
        "Is the panic recurring?",
    ),
    _C(
        "recent_rollout",
        ("actor_panics", "service_outage"),
        "rollout",
        ("actor_panics", "service_outage"),
        "Recent rollout",
    ),
    # ---- 004 Scenario 3 meeting lifecycle
    _C("meeting_counts", ("meeting_lifecycle",), "meetings", ("meeting_lifecycle",), "Meetings"),
    _C(
        "meeting_activity",
        ("meeting_lifecycle",),
        "meetings",
        ("meeting_lifecycle",),
        "Message processing per meeting",
    ),
    _C(
        "meeting_errors",
        ("meeting_lifecycle",),
        "meetings",
        ("meeting_lifecycle",),
        "Meeting errors in the logs",
    ),
    _C(
        "connection_errors",
        ("meeting_lifecycle",),
        "meetings",
        ("meeting_lifecycle",),
        "Connection errors in the logs",
    ),
    _C(
        "gc_mc_mismatch",
        ("meeting_lifecycle",),
        "meetings",
        ("meeting_lifecycle", "gc_integration"),
        "GC and MC disagree on meetings",
    ),
    _C(
        "stale_meetings",
        ("meeting_lifecycle",),
        "meetings",
        ("meeting_lifecycle",),
        "Meetings idle for 1 hour",
    ),
    _C("stale_meetings_ended", ("meeting_lifecycle",), "verification", (), "Stale meetings left"),
    # ---- 004 Scenario 4 complete service outage
    _C(
        "pods_not_ready",
        ("service_outage",),
        "pods",
        ("service_outage",),
        "Pods or process not ready",
    ),
    _C("restarts", ("service_outage",), "pods", ("service_outage",), "Restarts"),
    _C(
        "oom_killed",
        ("service_outage",),
        "memory",
        ("service_outage", "resource_pressure"),
        "OOMKilled containers",
    ),
    _C(
        "config_refs",
        ("service_outage",),
        "config",
        ("service_outage",),
        "Referenced Secrets and ConfigMaps",
    ),
    _C(
        "database_reachable",
        ("service_outage",),
        "down",
        ("service_outage",),
        "Database reachable",
    ),
    _C(
        "last_logs",
        ("service_outage",),
        "errors",
        ("service_outage",),
        "Last log lines before the crash",
    ),
    # ---- 004 Scenario 5 high latency
    _C(
        "gc_heartbeat_latency",
        ("high_latency",),
        "heartbeat",
        ("gc_integration", "high_latency"),
        "GC heartbeat latency",
    ),
    _C("pause_logs", ("high_latency",), "latency", ("high_latency",), "Pauses in the logs"),
    # ---- 004 Scenario 6 GC integration
    _C(
        "gc_heartbeat_failures",
        ("triage", "gc_integration"),
        "heartbeat",
        ("gc_integration",),
        "GC heartbeat failures",
        ("gc_heartbeat_failure_ratio",),
    ),
    _C(
        "registration",
        ("triage", "gc_integration"),
        "registration",
        ("gc_integration",),
        "MC registration in the GC",
        ("gc_registered",),
    ),
    # ---- 004 Scenario 7 resource pressure
    _C(
        "memory_usage",
        ("triage", "resource_pressure"),
        "memory",
        ("memory_leak", "resource_pressure"),
        "Memory",
        ("memory_bytes", "memory_ratio"),
    ),
    _C(
        "cpu_usage",
        ("triage", "high_latency", "resource_pressure"),
        "cpu",
        ("resource_pressure", "high_latency"),
        "CPU",
        ("cpu_ratio",),
    ),
    _C(
        "capacity",
        ("triage", "resource_pressure"),
        "capacity",
        ("resource_pressure",),
        "Meetings against capacity",
        ("capacity_ratio",),
    ),
)

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
