"""The runbooks' diagnostic SQL, one named, parameterised statement each.

Why a registry: every statement is written once, reviewed against the runbook, and
run with bound parameters (never pasted ids). Where PostgreSQL and SQLite differ the
query has a dialect variant; time cutoffs are bound datetimes, never ``NOW() -
INTERVAL``, so the same query runs on both and tests can pin the clock. Optional
filters are fixed SQL fragments switched on by passing their parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

__all__ = ["QUERIES", "NamedQuery"]

Default = Callable[[datetime], Any]


@dataclass(frozen=True)
class NamedQuery:
    """A diagnostic statement: its SQL per dialect and the parameters it binds."""

    name: str
    source: str  # where in the runbooks it comes from
    sql: str  # generic text; ``{where}`` receives the optional filters
    required: tuple[str, ...] = ()
    optional: Mapping[str, str] = field(default_factory=dict)  # param -> " AND fragment"
    defaults: Mapping[str, Default] = field(default_factory=dict)
    dialects: Mapping[str, str] = field(default_factory=dict)  # dialect -> SQL override
    only: tuple[str, ...] = ()  # dialects it exists on; empty = all
    postprocess: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        return (*self.required, *self.defaults, *self.optional)

    def text(self, dialect: str, given: set[str]) -> str:
        sql = self.dialects.get(dialect, self.sql)
        where = "".join(fragment for p, fragment in self.optional.items() if p in given)
        return sql.replace("{where}", where)


def _ago(delta: timedelta) -> Default:
    return lambda now: now - delta


def _sorted_list(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].map(
            lambda v: ",".join(sorted(str(v).split(","))) if isinstance(v, str) else v
        )
        return frame

    return apply


_DUPLICATES = """
SELECT convo_id, epoch, COUNT(*) AS count
FROM messages
WHERE message_type = 'commit'{where}
GROUP BY convo_id, epoch
HAVING COUNT(*) > 1
ORDER BY count DESC, convo_id, epoch
"""

_PG_ONLY = ("postgresql",)

_QUERY_LIST = [
    NamedQuery(
        "duplicate_epochs",
        "000 FM3 Diagnosis / Handling Epoch Conflicts / Check 2",
        _DUPLICATES,
        optional={"since": " AND created_at > :since", "convo_id": " AND convo_id = :convo_id"},
    ),
    NamedQuery(
        "duplicate_epoch_count_1h",
        "000 Alert EpochConflictDetected",
        """
SELECT COUNT(*) AS count FROM (
    SELECT convo_id, epoch, COUNT(*) AS count
    FROM messages
    WHERE message_type = 'commit' AND created_at > :since
    GROUP BY convo_id, epoch
    HAVING COUNT(*) > 1
) AS conflicts
""",
        defaults={"since": _ago(timedelta(hours=1))},
    ),
    NamedQuery(
        "epoch_consistency",
        "000 Database Consistency Check 1",
        """
SELECT c.id, c.current_epoch, COALESCE(MAX(m.epoch), 0) AS max_message_epoch
FROM conversations c
LEFT JOIN messages m ON c.id = m.convo_id
GROUP BY c.id, c.current_epoch
HAVING c.current_epoch != COALESCE(MAX(m.epoch), 0)
ORDER BY c.id
""",
    ),
    NamedQuery(
        "sequence_gaps",
        "000 Database Consistency Check 3",
        """
SELECT convo_id, COUNT(*) AS message_count, MAX(seq) AS max_seq
FROM messages
WHERE message_type = 'app'
GROUP BY convo_id
HAVING MAX(seq) != COUNT(*)
ORDER BY convo_id
""",
    ),
    NamedQuery(
        "left_member_unread",
        "000 Database Consistency Check 4",
        """
SELECT convo_id, member_did, left_at, unread_count
FROM members
WHERE left_at IS NOT NULL
  AND unread_count > 0
ORDER BY convo_id, member_did
""",
    ),
    NamedQuery(
        "conversation",
        "000 FM1 Diagnosis step 3 / Inspecting Actor State",
        """
SELECT id, creator_did, current_epoch, created_at, updated_at
FROM conversations
WHERE id = :convo_id
""",
        required=("convo_id",),
    ),
    NamedQuery(
        "conversation_members",
        "000 Inspecting Actor State (unread counts)",
        """
SELECT member_did, unread_count, joined_at, left_at
FROM members
WHERE convo_id = :convo_id
ORDER BY member_did
""",
        required=("convo_id",),
    ),
    NamedQuery(
        "conversation_orphans",
        "000 FM1 Diagnosis step 3 (members / messages counts)",
        """
SELECT :convo_id AS convo_id,
       (SELECT COUNT(*) FROM conversations WHERE id = :convo_id) AS conversations,
       (SELECT COUNT(*) FROM members WHERE convo_id = :convo_id) AS members,
       (SELECT COUNT(*) FROM messages WHERE convo_id = :convo_id) AS messages
""",
        required=("convo_id",),
        dialects={
            "postgresql": """
SELECT CAST(:convo_id AS TEXT) AS convo_id,
       (SELECT COUNT(*) FROM conversations WHERE id = :convo_id) AS conversations,
       (SELECT COUNT(*) FROM members WHERE convo_id = :convo_id) AS members,
       (SELECT COUNT(*) FROM messages WHERE convo_id = :convo_id) AS messages
"""
        },
    ),
    NamedQuery(
        "conversations_missing",
        "000 FM1 'conversation doesn't exist but has messages'",
        """
SELECT m.convo_id, COUNT(*) AS messages, MIN(m.created_at) AS first_message_at,
       MAX(m.created_at) AS last_message_at
FROM messages m
WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.convo_id)
GROUP BY m.convo_id
ORDER BY m.convo_id
""",
    ),
    NamedQuery(
        "stale_conversations",
        "000 FM4 Memory Leak Mitigation step 2",
        """
SELECT c.id, c.current_epoch, c.created_at, MAX(m.created_at) AS last_message_at
FROM conversations c
JOIN messages m ON m.convo_id = c.id
GROUP BY c.id, c.current_epoch, c.created_at
HAVING MAX(m.created_at) < :cutoff
ORDER BY last_message_at, c.id
""",
        defaults={"cutoff": _ago(timedelta(days=7))},
    ),
    NamedQuery(
        "pg_activity_by_state",
        "000 FM2 Diagnosis / Database Connection Pool Exhaustion",
        """
SELECT COALESCE(state, 'unknown') AS state, COUNT(*) AS count
FROM pg_stat_activity
WHERE datname = current_database()
GROUP BY state
ORDER BY count DESC, state
""",
        only=_PG_ONLY,
    ),
    NamedQuery(
        "pg_active_count",
        "000 FM2 Diagnosis step 3",
        """
SELECT COUNT(*) AS count
FROM pg_stat_activity
WHERE state = 'active' AND datname = current_database()
""",
        only=_PG_ONLY,
    ),
    NamedQuery(
        "slow_statements",
        "000 Performance Profiling: Slow Database Queries",
        """
SELECT query, calls, mean_exec_time, max_exec_time
FROM pg_stat_statements
ORDER BY mean_exec_time DESC
LIMIT :limit
""",
        defaults={"limit": lambda _now: 10},
        only=_PG_ONLY,
    ),
    NamedQuery(
        "indexes",
        "000 FM2 Fix / Optimize Database Queries (which indexes exist)",
        """
SELECT tablename AS table_name, indexname AS index_name, indexdef AS definition
FROM pg_indexes
WHERE schemaname = current_schema() AND tablename IN ('messages', 'members')
ORDER BY table_name, index_name
""",
        dialects={
            "sqlite": """
SELECT tbl_name AS table_name, name AS index_name, sql AS definition
FROM sqlite_master
WHERE type = 'index' AND tbl_name IN ('messages', 'members')
ORDER BY table_name, index_name
"""
        },
    ),
    NamedQuery(
        "duplicate_writers",
        "000 FM3 root cause: which server instances wrote the duplicate commits",
        """
SELECT convo_id, epoch, COUNT(*) AS count, COUNT(DISTINCT server_id) AS writers,
       string_agg(DISTINCT server_id, ',' ORDER BY server_id) AS server_ids
FROM messages
WHERE message_type = 'commit'{where}
GROUP BY convo_id, epoch
HAVING COUNT(*) > 1
ORDER BY count DESC, convo_id, epoch
""",
        optional={"since": " AND created_at > :since"},
        dialects={
            "sqlite": """
SELECT convo_id, epoch, COUNT(*) AS count, COUNT(DISTINCT server_id) AS writers,
       group_concat(DISTINCT server_id) AS server_ids
FROM messages
WHERE message_type = 'commit'{where}
GROUP BY convo_id, epoch
HAVING COUNT(*) > 1
ORDER BY count DESC, convo_id, epoch
"""
        },
        postprocess=_sorted_list("server_ids"),
    ),
    NamedQuery(
        "replication_role",
        "000 FM3 cause: database replication lag (is this server a standby?)",
        "SELECT pg_is_in_recovery() AS standby",
        only=_PG_ONLY,
    ),
    NamedQuery(
        "replica_lag",
        "000 FM3 cause: database replication lag, on a primary (one row per replica)",
        """
SELECT application_name AS replica, state,
       EXTRACT(EPOCH FROM replay_lag)::float8 AS lag_seconds
FROM pg_stat_replication
ORDER BY application_name
""",
        only=_PG_ONLY,
    ),
    NamedQuery(
        "standby_lag",
        "000 FM3 cause: database replication lag, on a standby (0 when all WAL is replayed)",
        """
SELECT 'this standby' AS replica, 'streaming' AS state,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
       END AS lag_seconds
""",
        only=_PG_ONLY,
    ),
    NamedQuery(
        "active_meetings",
        "004 Scenario 3 Diagnosis (active meetings in the GC database)",
        """
SELECT meeting_id, mc_id, status, participant_count, created_at
FROM meetings
WHERE status = 'active'{where}
ORDER BY created_at DESC, meeting_id
LIMIT :limit
""",
        defaults={"limit": lambda _now: 10},
        optional={"mc_id": " AND mc_id = :mc_id"},
    ),
    NamedQuery(
        "stale_meetings",
        "004 Scenario 3 Remediation (active meetings not updated for an hour)",
        """
SELECT meeting_id, mc_id, status, participant_count, created_at, updated_at
FROM meetings
WHERE status = 'active' AND updated_at < :cutoff{where}
ORDER BY updated_at, meeting_id
""",
        defaults={"cutoff": _ago(timedelta(hours=1))},
        optional={"mc_id": " AND mc_id = :mc_id"},
    ),
    NamedQuery(
        "meeting_controllers",
        "004 Scenario 6 Diagnosis (MC registration in the GC)",
        """
SELECT id, region, capacity, current_sessions, last_heartbeat, status
FROM meeting_controllers
ORDER BY (last_heartbeat IS NULL), last_heartbeat DESC, id
LIMIT :limit
""",
        defaults={"limit": lambda _now: 10},
    ),
    NamedQuery(
        "recent_heartbeats",
        "004 Scenario 6 Validation (heartbeats in the last 30 seconds)",
        """
SELECT id, last_heartbeat, status
FROM meeting_controllers
WHERE last_heartbeat > :cutoff
ORDER BY last_heartbeat DESC, id
""",
        defaults={"cutoff": _ago(timedelta(seconds=30))},
    ),
]

#: name -> query; the only statements ``sql.query`` will run.
QUERIES: dict[str, NamedQuery] = {q.name: q for q in _QUERY_LIST}
