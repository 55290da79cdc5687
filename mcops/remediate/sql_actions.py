"""Runbook 000's database fixes as guarded row actions (Handling Actor Crashes step 3,
Handling Epoch Conflicts steps 2–3, Database Consistency Check 4).

Conditions use only the columns the runbooks name (`mcops.schema`); the rows themselves
are read whole from the real table, so backups and undo keep every column.

SQLAlchemy loads with an action's engine, the tables at its first plan: not at import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from mcops.errors import ScopeExceeded
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import Precondition, require_id
from mcops.remediate.sql_base import DEFAULT_MAX_ROWS, RowChange, SqlRowAction
from mcops.utc import now

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "ClearLeftMemberUnread",
    "DeleteDuplicateCommits",
    "RecreateConversation",
    "ResetEpoch",
]

UNKNOWN_CREATOR = "did:plc:unknown"


def _locked(query: sa.Select[Any], conn: sa.Connection, lock: bool) -> sa.Select[Any]:
    # SQLite has no row locks; BEGIN IMMEDIATE (see make_engine) holds the database.
    return query.with_for_update() if lock and conn.dialect.name == "postgresql" else query


def _one_or_all(convo_id: str | None, all_: bool) -> str | None:
    if all_ == (convo_id is not None):
        raise ScopeExceeded("give exactly one of convo_id=... or all=True (bounded by max_rows)")
    return None if all_ else require_id("convo_id", convo_id)


class RecreateConversation(SqlRowAction):
    """Insert a missing conversation row (creator unknown, epoch 0) so its actor can start."""

    name = "recreate_conversation"
    tables: ClassVar = ("conversations",)

    def __init__(
        self,
        database: str | sa.Engine,
        convo_id: str,
        *,
        clock: Callable[[], dt.datetime] = now,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
    ) -> None:
        super().__init__(
            database, max_rows=max_rows, reason=reason, audit=audit, backup_dir=backup_dir
        )
        self.convo_id = require_id("convo_id", convo_id)
        self.clock = clock

    @property
    def scope(self) -> str:
        return f"conversations id={self.convo_id}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        from mcops.schema import conversations

        self._table(conn, "conversations")  # the real table has what the runbook names
        exists = conn.execute(
            sa.select(conversations.c.id).where(conversations.c.id == self.convo_id)
        ).first()
        if exists:
            return []
        now = self.clock()
        row = {
            "id": self.convo_id,
            "creator_did": UNKNOWN_CREATOR,
            "current_epoch": 0,
            "created_at": now,
            "updated_at": now,
        }
        return [RowChange("conversations", {"id": self.convo_id}, None, row)]

    def _notes(self, conn: sa.Connection) -> tuple[str, ...]:
        import sqlalchemy as sa

        from mcops.schema import messages

        n = conn.execute(
            sa.select(sa.func.count()).where(messages.c.convo_id == self.convo_id)
        ).scalar_one()
        note = f"{n} message(s) exist for {self.convo_id}"
        if n == 0:
            note += " — the runbook recreates only conversations that have messages"
        return (note, "follow with ResetEpoch to align current_epoch with the messages")

    def _write(self, conn: sa.Connection, change: RowChange) -> int:
        # INSERT ... ON CONFLICT (id) DO NOTHING, as the runbook writes it: 0 rows → stale.
        from sqlalchemy.dialects import postgresql, sqlite

        assert change.after is not None
        table = self._table(conn, "conversations")
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(**self.real.row(conn, "conversations", change.after))
        stmt = stmt.on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        return len(conn.execute(stmt).all())  # rowcount is -1 here on psycopg 3


class _OneOrAllConversations(SqlRowAction):
    """An action on one conversation's rows, or on all of them only with ``all=True``."""

    scope_table: ClassVar[str] = ""
    scope_column: ClassVar[str] = "convo_id"

    def __init__(
        self,
        database: str | sa.Engine,
        convo_id: str | None = None,
        *,
        all: bool = False,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
        preconditions: Sequence[Precondition] = (),
    ) -> None:
        super().__init__(
            database,
            max_rows=max_rows,
            reason=reason,
            audit=audit,
            backup_dir=backup_dir,
            preconditions=preconditions,
        )
        self.convo_id = _one_or_all(convo_id, all)

    @property
    def scope(self) -> str:
        if self.convo_id:
            return f"{self.scope_table} {self.scope_column}={self.convo_id}"
        return f"{self.scope_table} (all)"


class ResetEpoch(_OneOrAllConversations):
    """current_epoch := COALESCE(MAX(messages.epoch), 0), only for rows that differ."""

    name = "reset_epoch"
    tables: ClassVar = ("conversations",)

    scope_table = "conversations"
    scope_column = "id"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        from mcops.schema import messages

        convos = self._table(conn, "conversations")
        max_epoch = (
            sa.select(sa.func.coalesce(sa.func.max(messages.c.epoch), 0))
            .where(messages.c.convo_id == convos.c.id)
            .scalar_subquery()
        )
        query = sa.select(convos, max_epoch.label("mcops_new_epoch")).where(
            convos.c.current_epoch != max_epoch
        )
        if self.convo_id is not None:
            query = query.where(convos.c.id == self.convo_id)
        query = query.order_by(convos.c.id)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update(of=convos)
        out = []
        for row in conn.execute(query).mappings():
            before = {c.name: row[c] for c in convos.c}
            after = {**before, "current_epoch": row["mcops_new_epoch"]}
            out.append(RowChange("conversations", {"id": row["id"]}, before, after))
        return out


class DeleteDuplicateCommits(SqlRowAction):
    """Keep the first commit per (convo_id, epoch) by created_at then id; delete the rest."""

    name = "delete_duplicate_commits"
    tables: ClassVar = ("messages",)

    def __init__(
        self,
        database: str | sa.Engine,
        convo_id: str | None = None,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
        preconditions: Sequence[Precondition] = (),
    ) -> None:
        super().__init__(
            database,
            max_rows=max_rows,
            reason=reason,
            audit=audit,
            backup_dir=backup_dir,
            preconditions=preconditions,
        )
        # None means every conversation, as the runbook's DELETE does; max_rows bounds it.
        self.convo_id = None if convo_id is None else require_id("convo_id", convo_id)

    @property
    def scope(self) -> str:
        where = f"convo_id={self.convo_id}" if self.convo_id else "all conversations"
        return f"messages commits {where}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        from mcops.schema import messages

        rn = (
            sa.func.row_number()
            .over(
                partition_by=(messages.c.convo_id, messages.c.epoch),
                order_by=(messages.c.created_at, messages.c.id),
            )
            .label("rn")
        )
        ranked = sa.select(messages.c.id, rn).where(messages.c.message_type == "commit")
        if self.convo_id is not None:
            ranked = ranked.where(messages.c.convo_id == self.convo_id)
        sub = ranked.subquery()
        doomed = sa.select(sub.c.id).where(sub.c.rn > 1)
        real = self._table(conn, "messages")
        query = _locked(
            sa.select(real).where(real.c.id.in_(doomed)).order_by(real.c.id), conn, lock
        )
        return [
            RowChange("messages", {"id": row["id"]}, dict(row), None)
            for row in conn.execute(query).mappings()
        ]

    def _notes(self, conn: sa.Connection) -> tuple[str, ...]:
        return ("then run ResetEpoch and restart the server (runbook 000 steps 3–4)",)


class ClearLeftMemberUnread(_OneOrAllConversations):
    """Members who left keep no unread count: unread_count := 0 where left_at IS NOT NULL."""

    name = "clear_left_member_unread"
    tables: ClassVar = ("members",)

    scope_table = "members"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        real = self._table(conn, "members")
        query = sa.select(real).where(real.c.left_at.is_not(None), real.c.unread_count > 0)
        if self.convo_id is not None:
            query = query.where(real.c.convo_id == self.convo_id)
        query = _locked(query.order_by(real.c.convo_id, real.c.member_did), conn, lock)
        return [
            RowChange(
                "members",
                {"convo_id": row["convo_id"], "member_did": row["member_did"]},
                dict(row),
                {**row, "unread_count": 0},
            )
            for row in conn.execute(query).mappings()
        ]
