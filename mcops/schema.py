"""The runbooks' tables as mcops knows them: only the columns the runbooks name.

Our users point mcops at their own databases, whose schema follows the runbooks but was
not written by us. So mcops describes the five tables itself, with exactly the columns
the runbooks' SQL names (every remediation queries through these), and reads or writes
whole rows through the *real* table, reflected from the database once per engine
(`RealTables`): a backup keeps every column the real row has, in any order and of any
type, and a restore writes them all back. A column the runbooks do not require (the
writer id ``messages.server_id``) is used only where the real table has it.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mcops.errors import ActionRefused, SourceQueryError

__all__ = [
    "OPTIONAL_COLUMNS",
    "TABLES",
    "RealTables",
    "SchemaMismatch",
    "conversations",
    "meeting_controllers",
    "meetings",
    "members",
    "messages",
    "metadata",
    "real_tables",
    "require_optional",
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

OPTIONAL_COLUMNS: Mapping[str, tuple[str, ...]] = {"messages": ("server_id",)}
"""Columns some deployments have and the runbooks do not require (the writer id)."""


class SchemaMismatch(ActionRefused):
    """The real table lacks what the runbooks name: refused before any change, with the fix."""

    def __init__(self, message: str, *, table: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.table = table
        self.missing = missing


class RealTables:
    """The database's own tables, reflected on first use and checked against the runbooks.

    Reflection happens once per engine (see `real_tables`): a long-lived engine does not
    notice a later ALTER TABLE — make a new engine after changing the schema.
    """

    def __init__(self) -> None:
        self._tables: dict[str, sa.Table] = {}

    def table(self, conn: sa.Connection, name: str) -> sa.Table:
        """The real table `name`, with every column it has (raises `SchemaMismatch`)."""
        if name not in TABLES:
            raise SchemaMismatch(
                f"{name!r} is not one of the runbook tables {sorted(TABLES)}; mcops reads "
                "and writes only those",
                table=name,
            )
        if name not in self._tables:
            try:
                real = sa.Table(name, sa.MetaData(), autoload_with=conn)
            except sa.exc.NoSuchTableError:
                raise SchemaMismatch(
                    f"the database {conn.engine.url.render_as_string()} has no table "
                    f"{name!r}; fix: point database_url at the service database (the one "
                    "the runbooks query), or the right schema via its search_path",
                    table=name,
                ) from None
            missing = tuple(c.name for c in TABLES[name].c if c.name not in real.c)
            if missing:
                raise SchemaMismatch(
                    f"table {name!r} lacks the column(s) {list(missing)} that the runbooks "
                    f"name (it has {list(real.c.keys())}); fix: point database_url at the "
                    "service database, or add the columns as the runbooks describe them",
                    table=name,
                    missing=missing,
                )
            self._tables[name] = real
        return self._tables[name]

    def has(self, conn: sa.Connection, name: str, column: str) -> bool:
        """Whether the real table has `column` (for optional columns such as the writer id)."""
        return column in self.table(conn, name).c

    def row(self, conn: sa.Connection, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` ready to write into the real table: aware datetimes become naive UTC
        for a column declared without a time zone, so no session time zone shifts them."""
        table = self.table(conn, name)
        return {k: _for_column(table.c[k], v) for k, v in values.items()}

    def bind(self, conn: sa.Connection, name: str, column: str, value: Any) -> Any:
        """One value to compare with the real column `column` (see `row`)."""
        return _for_column(self.table(conn, name).c[column], value)


def _for_column(column: sa.Column[Any], value: Any) -> Any:
    kind = column.type
    if (
        isinstance(value, dt.datetime)
        and value.tzinfo is not None
        and isinstance(kind, sa.DateTime)
        and not kind.timezone
    ):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


_BY_ENGINE: weakref.WeakKeyDictionary[sa.Engine, RealTables] = weakref.WeakKeyDictionary()


def real_tables(engine: sa.Engine) -> RealTables:
    """The `RealTables` of `engine`, shared by every action on it (reflected once)."""
    if engine not in _BY_ENGINE:
        _BY_ENGINE[engine] = RealTables()
    return _BY_ENGINE[engine]


def require_optional(engine: sa.Engine, table: str, column: str) -> None:
    """Raise `SourceQueryError` when the real `table` lacks the optional `column`, so a
    check that needs it (the writers of duplicate commits need ``messages.server_id``)
    reports "not checked: <why>" instead of failing on the database's own error."""
    if column not in OPTIONAL_COLUMNS.get(table, ()):
        raise ValueError(f"{table}.{column} is not an optional column of mcops.schema")
    with engine.connect() as conn:
        if real_tables(engine).has(conn, table, column):
            return
    raise SourceQueryError(
        f"{table}.{column} is not in this database (optional: the runbooks do not "
        "require it), so this step cannot run here",
        source="database",
        target=table,
        fix=f"nothing to fix unless you keep {column} elsewhere; the other steps still ran",
    )
