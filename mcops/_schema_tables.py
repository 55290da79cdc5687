"""The SQLAlchemy tables of `mcops.schema`, built when a table is first asked for.

Use them as `mcops.schema.messages` etc.: `mcops.schema` loads this module on first use
(PEP 562), because building the tables needs SQLAlchemy, which a notebook that touches
no database never loads.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

__all__ = [
    "TABLES",
    "conversations",
    "meeting_controllers",
    "meetings",
    "members",
    "messages",
    "metadata",
]

metadata = sa.MetaData()
"""mcops's own metadata: never ``create_all`` it on a user's database."""

# 000 Handling Actor Crashes (diagnosis, step 3), Database Consistency Check 1
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("creator_did", sa.String),
    sa.Column("current_epoch", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

# 000 Debugging (unread counts), Database Consistency Check 4, Database Optimization
members = sa.Table(
    "members",
    metadata,
    sa.Column("convo_id", sa.String, primary_key=True),
    sa.Column("member_did", sa.String, primary_key=True),
    sa.Column("left_at", sa.DateTime(timezone=True)),
    sa.Column("unread_count", sa.Integer),
)

# 000 FM3 / Handling Epoch Conflicts (the DELETE by id), Consistency Checks 1–3
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("convo_id", sa.String),
    sa.Column("message_type", sa.String),
    sa.Column("epoch", sa.Integer),
    sa.Column("seq", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

# 004 Scenario 3 (GC's view of meetings, Option 3)
meetings = sa.Table(
    "meetings",
    metadata,
    sa.Column("meeting_id", sa.String, primary_key=True),
    sa.Column("mc_id", sa.String),
    sa.Column("status", sa.String),
    sa.Column("participant_count", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

# 004 Scenario 6 (registration), Scenario 7 Option 4 and Graceful Drain
meeting_controllers = sa.Table(
    "meeting_controllers",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("region", sa.String),
    sa.Column("capacity", sa.Integer),
    sa.Column("current_sessions", sa.Integer),
    sa.Column("last_heartbeat", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String),
)

TABLES: Mapping[str, sa.Table] = {t.name: t for t in metadata.sorted_tables}
"""The allow-list of tables mcops reads and writes, by name."""
