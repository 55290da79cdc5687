"""The checks of runbook 004 (MC Service Incident Response), each declared once."""

from __future__ import annotations

from mcops.registry._spec import CheckSpec as _C

__all__ = ["CHECKS_004"]

CHECKS_004: tuple[_C, ...] = (
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
    # Network Debugging ``kubectl get endpoints``: no ready endpoint is every pod out of
    # rotation ("All pods crash-looping", P1); some not ready, "Single pod failing" (P2).
    _C(
        "service_endpoints",
        ("service_outage",),
        "pods",
        ("service_outage",),
        "Service endpoints",
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
    # root cause 5: a slow network is a warning (P3); the latency itself is p95_latency's
    _C(
        "network_latency",
        ("high_latency",),
        "latency",
        ("high_latency",),
        "Network round trips to the service and database",
    ),
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
    # No ready GC pod, or a NetworkPolicy that blocks MC → GC: no MC can register, the
    # table's "Complete GC registration failure" (P1) when critical.
    _C("gc_pods", ("gc_integration",), "registration", ("gc_integration",), "GC pods"),
    _C(
        "network_policy",
        ("gc_integration",),
        "registration",
        ("gc_integration",),
        "NetworkPolicy MC → GC",
    ),
    # The GC not answering here, GC errors in the MC's logs: heartbeats failing (P2).
    _C(
        "gc_reachable",
        ("gc_integration",),
        "heartbeat",
        ("gc_integration",),
        "GC health reachable",
    ),
    _C(
        "gc_log_errors",
        ("gc_integration",),
        "heartbeat",
        ("gc_integration",),
        "GC errors in the MC logs",
    ),
    # Root cause 5, DNS: resolved from here like gc_reachable, so heartbeats failing (P2),
    # not a proven registration failure of every MC.
    _C(
        "dns_resolution",
        ("gc_integration",),
        "heartbeat",
        ("gc_integration",),
        "DNS resolution of the service and GC names",
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
    _C(
        "resource_limits",
        ("resource_pressure",),
        "memory",
        ("resource_pressure",),
        "Container resource limits",
    ),
    # an OOM kill restarts a pod: "Single pod failing" (P2) through a critical finding
    _C(
        "oom_events",
        ("resource_pressure",),
        "memory",
        ("resource_pressure", "service_outage"),
        "OOMKilled events",
    ),
    # ``kubectl top nodes``: a NotReady node under MC pods is critical (P2 through the
    # table's "Critical findings" row), node pressure a warning (P3, workaround exists).
    _C(
        "node_pressure",
        ("resource_pressure",),
        "memory",
        ("resource_pressure",),
        "Nodes of the MC pods",
    ),
)
