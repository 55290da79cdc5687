"""Runbook 004's controller-database fixes: drain/undrain an MC, end its stale meetings.

SQLAlchemy loads with an action's engine, the tables at its first plan: not at import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from mcops.errors import ScopeExceeded
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import require_id
from mcops.remediate.sql_base import DEFAULT_MAX_ROWS, RowChange, SqlRowAction
from mcops.utc import now

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["EndStaleMeetings", "MarkController"]

CONTROLLER_STATUSES = ("active", "draining")


class MarkController(SqlRowAction):
    """UPDATE meeting_controllers SET status=... (Graceful Drain; Scenario 7 Option 4)."""

    name = "mark_controller"
    tables: ClassVar = ("meeting_controllers",)

    def __init__(
        self,
        database: str | sa.Engine,
        mc_id: str,
        *,
        status: str = "draining",
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
    ) -> None:
        super().__init__(database, max_rows=1, reason=reason, audit=audit, backup_dir=backup_dir)
        self.mc_id = require_id("mc_id", mc_id)
        if status not in CONTROLLER_STATUSES:
            raise ScopeExceeded(f"status must be one of {CONTROLLER_STATUSES}, got {status!r}")
        self.status = status

    @property
    def scope(self) -> str:
        return f"meeting_controllers id={self.mc_id} status→{self.status}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        # Only id and status: a live MC heartbeats into its row every few seconds, and a
        # plan (or an undo) must not go stale, nor roll back last_heartbeat, because of it.
        import sqlalchemy as sa

        real = self._table(conn, "meeting_controllers")
        query = sa.select(real.c.id, real.c.status).where(
            real.c.id == self.mc_id, real.c.status != self.status
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return [
            RowChange(
                "meeting_controllers", {"id": row["id"]}, dict(row), {**row, "status": self.status}
            )
            for row in conn.execute(query).mappings()
        ]

    def _notes(self, conn: sa.Connection) -> tuple[str, ...]:
        import sqlalchemy as sa

        from mcops.schema import meeting_controllers

        found = conn.execute(
            sa.select(sa.func.count()).where(meeting_controllers.c.id == self.mc_id)
        ).scalar_one()
        return () if found else (f"no meeting controller {self.mc_id!r} in the table",)


class EndStaleMeetings(SqlRowAction):
    """UPDATE meetings SET status='ended' for one MC's active meetings idle past a cutoff."""

    name = "end_stale_meetings"
    tables: ClassVar = ("meetings",)

    def __init__(
        self,
        database: str | sa.Engine,
        mc_id: str,
        *,
        older_than: dt.timedelta = dt.timedelta(hours=1),
        clock: Callable[[], dt.datetime] = now,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
    ) -> None:
        super().__init__(
            database, max_rows=max_rows, reason=reason, audit=audit, backup_dir=backup_dir
        )
        self.mc_id = require_id("mc_id", mc_id)
        if older_than <= dt.timedelta(0):
            raise ScopeExceeded(f"older_than must be positive, got {older_than}")
        self.older_than = older_than
        self.clock = clock
        # Fixed at construction so plan and apply select against the same cutoff.
        self.cutoff = clock() - older_than

    @property
    def scope(self) -> str:
        return f"meetings mc_id={self.mc_id} active, updated_at < {self.cutoff.isoformat()}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        real = self._table(conn, "meetings")
        query = (
            sa.select(real)
            .where(
                real.c.mc_id == self.mc_id,
                real.c.status == "active",
                real.c.updated_at < self.real.bind(conn, "meetings", "updated_at", self.cutoff),
            )
            .order_by(real.c.meeting_id)
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return [
            RowChange(
                "meetings", {"meeting_id": row["meeting_id"]}, dict(row), {**row, "status": "ended"}
            )
            for row in conn.execute(query).mappings()
        ]
