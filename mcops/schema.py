"""The runbooks' tables as mcops knows them: only the columns the runbooks name.

Our users point mcops at their own databases, whose schema follows the runbooks but was
not written by us. So mcops describes the five tables itself, with exactly the columns
the runbooks' SQL names (every remediation queries through these), and reads or writes
whole rows through the *real* table, reflected from the database once per engine
(`RealTables`): a backup keeps every column the real row has, in any order and of any
type, and a restore writes them all back. A column the runbooks do not require (the
writer id ``messages.server_id``) is used only where the real table has it.

The tables themselves (`metadata`, `TABLES`, `conversations`, ...) are SQLAlchemy objects
defined in `mcops._schema_tables` and load on first use (PEP 562): importing this module,
`SchemaMismatch` or `require_optional` does not load SQLAlchemy (0.16 s), so a notebook
that touches no database never pays for it.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcops.errors import ActionRefused, SourceQueryError
from mcops.lazy import lazy_attributes

if TYPE_CHECKING:
    import sqlalchemy as sa

    from mcops._schema_tables import (
        TABLES,
        conversations,
        meeting_controllers,
        meetings,
        members,
        messages,
        metadata,
    )

__all__ = [
    "OPTIONAL_COLUMNS",
    "TABLES",
    "TABLE_NAMES",
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

TABLE_NAMES = ("conversations", "meeting_controllers", "meetings", "members", "messages")
"""The names of `TABLES`, known without SQLAlchemy (an action's allow-list is by name)."""

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
        import sqlalchemy as sa

        from mcops._schema_tables import TABLES

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
    import sqlalchemy as sa

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


#: The SQLAlchemy objects (each table under its own name), built by `mcops._schema_tables`
#: when one is first asked for.
_WHERE = dict.fromkeys(("TABLES", "metadata", *TABLE_NAMES), "mcops._schema_tables")

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
