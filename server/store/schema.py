"""The tables exactly as the runbooks query them.

This is a contract: mcops's diagnostic SQL and remediations are written against these
names. Deliberately absent, because the runbook's production database lacks them:
  - no foreign key from messages/members to conversations (runbook 000 FM1 has
    "conversation doesn't exist but has messages");
  - no uniqueness on (convo_id, epoch) for commits (adding it is a remediation).
`conversation_owners` is the server's own, not the runbooks': which replica owns which
conversation (server/ownership.py). All timestamps are UTC. On SQLite they are stored
as naive UTC by SQLAlchemy's DateTime; compare against bound datetime parameters,
never NOW() literals.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "conversation_owners",
    "conversations",
    "meeting_controllers",
    "meetings",
    "members",
    "messages",
    "metadata",
]

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("creator_did", String(256), nullable=False),
    Column("current_epoch", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("convo_id", String(128), primary_key=True),
    Column("member_did", String(256), primary_key=True),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("left_at", DateTime(timezone=True), nullable=True),
    Column("unread_count", Integer, nullable=False, default=0),
)

messages = Table(
    "messages",
    metadata,
    # BigInteger autoincrement on PostgreSQL; INTEGER PRIMARY KEY (rowid) on SQLite.
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("convo_id", String(128), nullable=False),
    Column("sender_did", String(256), nullable=False),
    Column("message_type", String(16), nullable=False),  # 'commit' | 'app'
    Column("epoch", Integer, nullable=False),
    Column("seq", Integer, nullable=True),  # app messages: 1, 2, 3, ... per conversation
    Column("ciphertext", Text, nullable=True),
    Column("server_id", String(128), nullable=False),  # which server instance wrote it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_messages_convo_created", "convo_id", "created_at"),
)

meetings = Table(
    "meetings",
    metadata,
    Column("meeting_id", String(128), primary_key=True),
    Column("mc_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # 'active' | 'ended'
    Column("participant_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

meeting_controllers = Table(
    "meeting_controllers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("region", String(64), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("current_sessions", Integer, nullable=False, default=0),
    Column("last_heartbeat", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),  # 'active' | 'draining'
)

conversation_owners = Table(
    "conversation_owners",
    metadata,
    Column("convo_id", String(128), primary_key=True),
    Column("owner_id", String(128), nullable=False),  # the replica's SERVER_ID
    Column("owner_url", String(256), nullable=False),  # where to forward ("" = nowhere)
    Column("token", BigInteger, nullable=False),  # fencing token, +1 at every takeover
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
