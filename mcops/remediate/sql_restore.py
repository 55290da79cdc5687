"""Restore rows from a backup file: undo for when the ApplyResult is gone (a restarted
kernel, a different operator). It is itself a guarded action: the plan lists the rows
that differ from the backup, apply upserts exactly those, and it is audited.

The backup holds whole rows of the real table (every column, as reflected), so the
values are typed back by the real table's columns, not by mcops's runbook view."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mcops.errors import ScopeExceeded
from mcops.remediate.audit import AuditLog
from mcops.remediate.sql_base import DEFAULT_MAX_ROWS, RowChange, SqlRowAction, _norm
from mcops.schema import TABLE_NAMES, SchemaMismatch

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["RestoreBackup"]


def _typed(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """JSON values back to the real columns' types (see `mcops.jsonable`)."""
    unknown = sorted(set(row) - set(table.c.keys()))
    if unknown:
        raise SchemaMismatch(
            f"the backup's {table.name} rows have column(s) {unknown} that the table no "
            "longer has; nothing was changed — restore those rows by hand from the file",
            table=table.name,
            missing=tuple(unknown),
        )
    return {name: _value(table.c[name].type, value) for name, value in row.items()}


def _value(kind: sa.types.TypeEngine[Any], value: Any) -> Any:
    import sqlalchemy as sa

    if value is None or not isinstance(value, str):
        return value
    if isinstance(kind, sa.DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, sa.Time):
        return dt.time.fromisoformat(value)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return decimal.Decimal(value)
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, sa.Uuid) and kind.as_uuid:
        return uuid.UUID(value)
    return value


class RestoreBackup(SqlRowAction):
    """Put the rows of ``backup-<action>-<id>.json`` back exactly (upsert by primary key)."""

    name = "restore_backup"
    tables: ClassVar = TABLE_NAMES

    def __init__(
        self,
        database: str | sa.Engine,
        backup_file: str | os.PathLike[str],
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
    ) -> None:
        super().__init__(
            database, max_rows=max_rows, reason=reason, audit=audit, backup_dir=backup_dir
        )
        self.backup_file = Path(backup_file)
        doc = json.loads(self.backup_file.read_text(encoding="utf-8"))
        unknown = set(doc["tables"]) - set(TABLE_NAMES)
        if unknown:
            raise ScopeExceeded(f"backup names tables outside the schema: {sorted(unknown)}")
        self.saved: dict[str, list[dict[str, Any]]] = doc["tables"]

    @property
    def scope(self) -> str:
        return f"rows of {self.backup_file.name}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        import sqlalchemy as sa

        from mcops.schema import TABLES

        out = []
        for name, saved in self.saved.items():
            table = self._table(conn, name)
            pk = [c.name for c in TABLES[name].primary_key.columns]
            for row in (_typed(table, r) for r in saved):
                key = {k: row[k] for k in pk}
                query = sa.select(table).where(self._where(conn, name, key))
                if lock and conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                now = conn.execute(query).mappings().first()
                if now is not None and all(_norm(now[k]) == _norm(v) for k, v in row.items()):
                    continue
                out.append(RowChange(name, key, None if now is None else dict(now), row))
        return out
