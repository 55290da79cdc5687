"""Restore rows from a backup file: undo for when the ApplyResult is gone (a restarted
kernel, a different operator). It is itself a guarded action: the plan lists the rows
that differ from the backup, apply upserts exactly those, and it is audited."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from mcops.errors import ScopeExceeded
from mcops.remediate.audit import AuditLog
from mcops.remediate.sql_base import DEFAULT_MAX_ROWS, RowChange, SqlRowAction, _norm
from server.store import schema

__all__ = ["RestoreBackup"]

_TABLES = {t.name: t for t in schema.metadata.sorted_tables}


def _typed(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """JSON values back to column types (timestamps were written as ISO 8601)."""
    out = {}
    for name, value in row.items():
        column = table.c[name]
        if value is not None and isinstance(column.type, sa.DateTime):
            value = dt.datetime.fromisoformat(value)
        out[name] = value
    return out


class RestoreBackup(SqlRowAction):
    """Put the rows of ``backup-<action>-<id>.json`` back exactly (upsert by primary key)."""

    name = "restore_backup"
    tables: ClassVar = _TABLES

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
        unknown = set(doc["tables"]) - set(_TABLES)
        if unknown:
            raise ScopeExceeded(f"backup names tables outside the schema: {sorted(unknown)}")
        self.rows = {
            name: [_typed(_TABLES[name], r) for r in rows] for name, rows in doc["tables"].items()
        }

    @property
    def scope(self) -> str:
        return f"rows of {self.backup_file.name}"

    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        out = []
        for name, rows in self.rows.items():
            table = _TABLES[name]
            pk = [c.name for c in table.primary_key.columns]
            for row in rows:
                key = {k: row[k] for k in pk}
                query = sa.select(table).where(*(table.c[k] == v for k, v in key.items()))
                if lock and conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                now = conn.execute(query).mappings().first()
                if now is not None and all(_norm(now[k]) == _norm(v) for k, v in row.items()):
                    continue
                out.append(RowChange(name, key, None if now is None else dict(now), row))
        return out
