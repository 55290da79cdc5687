"""Copies of the rows an action deletes or overwrites, taken before it touches them.

Two copies, so that either survives the loss of the other: a JSON file in the evidence
directory (written first, before any row is changed, and kept when the transaction
rolls back) and a table ``mcops_backup_<action>`` in the same database (written inside
the transaction, so it exists exactly when the change does).

SQLAlchemy loads when a backup table is first needed, not at import.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcops.jsonable import dumps
from mcops.utc import now

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["backup_dir", "backup_table", "new_backup_id", "write_backup_file", "write_backup_rows"]

EVIDENCE_ENV = "MCOPS_EVIDENCE_DIR"
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def new_backup_id() -> str:
    """A sortable, unique id: UTC time plus a random suffix."""
    stamp = now().strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def backup_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Explicit directory, else ``$MCOPS_EVIDENCE_DIR``, else ``./mcops-backups``."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(EVIDENCE_ENV):
        return Path(os.environ[EVIDENCE_ENV])
    return Path("mcops-backups")


def write_backup_file(
    *,
    action: str,
    backup_id: str,
    target: str,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    directory: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``backup-<action>-<id>.json`` ({table: [rows]}) and return its path."""
    folder = backup_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"backup-{action}-{backup_id}.json"
    doc = {"action": action, "backup_id": backup_id, "target": target, "tables": rows}
    path.write_text(dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def backup_table(action: str) -> sa.Table:
    """The generic backup table of one action (rows stored as JSON, one per row)."""
    import sqlalchemy as sa

    if not _SAFE_NAME.match(action):
        raise ValueError(f"action name {action!r} is not a safe table suffix")
    return sa.Table(
        f"mcops_backup_{action}",
        sa.MetaData(),
        sa.Column("backup_id", sa.String(64), nullable=False, index=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_table", sa.String(64), nullable=False),
        sa.Column("row_json", sa.Text, nullable=False),
    )


def write_backup_rows(
    conn: sa.Connection,
    *,
    action: str,
    backup_id: str,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
) -> int:
    """Create the backup table if missing and insert the rows; returns how many."""
    table = backup_table(action)
    table.create(conn, checkfirst=True)
    taken_at = now()
    payload = [
        {"backup_id": backup_id, "taken_at": taken_at, "source_table": name, "row_json": dumps(row)}
        for name, table_rows in rows.items()
        for row in table_rows
    ]
    if payload:
        conn.execute(table.insert(), payload)
    return len(payload)
