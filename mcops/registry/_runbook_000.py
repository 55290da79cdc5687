"""The checks of runbook 000 (Actor System Operations), triage's among them."""

from __future__ import annotations

from mcops.registry._spec import CheckSpec as _C

__all__ = ["CHECKS_000"]

CHECKS_000: tuple[_C, ...] = (
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
)
