"""Row actions on the service database: plan the exact rows, apply them in one transaction.

Each action describes its change as `RowChange`s (before → after of one row of one
table). The shared machinery here does the rest: fingerprint the before-rows, re-read
and lock them inside the apply transaction, refuse stale or oversized plans, back the
rows up (JSON file + ``mcops_backup_<action>`` table), write, verify that a fresh plan
is empty, and undo by putting the before-rows back exactly.

SQLAlchemy (and `mcops.sources.sql`) load when an action is built (its engine), not when
a class is imported: a notebook imports its remediations at the top and may never touch
a database.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.jsonable import canonical_hash
from mcops.remediate.audit import AuditLog
from mcops.remediate.backup import new_backup_id, write_backup_file, write_backup_rows
from mcops.remediate.base import ApplyResult, Plan, Precondition, Remediation
from mcops.schema import RealTables, real_tables
from mcops.secrets import redact_url

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["DEFAULT_MAX_ROWS", "RowChange", "SqlRowAction", "make_engine", "read_only"]

DEFAULT_MAX_ROWS = 1000


def read_only(engine: sa.Engine) -> sa.Connection:
    """A connection for planning: on SQLite it takes no write lock (deferred BEGIN)."""
    from mcops.sources.sql import DEFERRED_BEGIN

    return engine.connect().execution_options(**{DEFERRED_BEGIN: True})


def make_engine(database: str | sa.Engine) -> sa.Engine:
    """A writable engine for `database` from the one factory, `mcops.sources.sql.connect`:
    the same driver normalisation and error classification as diagnostics, and on SQLite
    BEGIN IMMEDIATE so apply holds the write lock from its re-read to its write.

    An engine handed in is used as given, except a SQLite file engine: that is re-opened
    from its URL to get the lock recipe (an in-memory database cannot be re-opened).
    """
    import sqlalchemy as sa

    from mcops.sources.sql import connect

    if isinstance(database, sa.Engine):
        url = database.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return database
        database = url.render_as_string(hide_password=False)
    return connect(database, read_only=False)


def _norm(value: Any) -> Any:
    """Compare timestamps as naive UTC: SQLite returns naive what was written aware."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class RowChange:
    """One row of one table: ``before`` None = insert, ``after`` None = delete."""

    table: str
    key: Mapping[str, Any]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    def shown(self) -> dict[str, Any]:
        """The row as a plan shows it: key, then old → new for the columns that differ."""
        out: dict[str, Any] = {"op": self.op, **self.key}
        if self.before is not None and self.after is not None:
            for col, new in self.after.items():
                if self.before.get(col) != new:
                    out[f"{col} (now)"] = self.before.get(col)
                    out[f"{col} (new)"] = new
        else:
            row = self.after if self.after is not None else self.before
            out.update({k: v for k, v in (row or {}).items() if k not in self.key})
        return out

    @property
    def op(self) -> str:
        """``insert``, ``delete`` or ``update``."""
        if self.before is None:
            return "insert"
        return "delete" if self.after is None else "update"


class SqlRowAction(Remediation):
    """Template for row actions: subclasses only say which rows change and how."""

    tables: ClassVar[Collection[str]]
    """Allow-list of the `mcops.schema` tables this action may touch, by name."""

    def __init__(
        self,
        database: str | sa.Engine,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        reason: str = "",
        audit: AuditLog | None = None,
        backup_dir: str | None = None,
        preconditions: Sequence[Precondition] = (),
    ) -> None:
        super().__init__(reason=reason, audit=audit, preconditions=preconditions)
        self.engine = make_engine(database)
        self.real: RealTables = real_tables(self.engine)
        self.max_rows = max_rows
        self.backup_dir = backup_dir

    # -- what subclasses provide -------------------------------------------------------

    @abc.abstractmethod
    def _changes(self, conn: sa.Connection, *, lock: bool) -> list[RowChange]:
        """The rows that would change now (lock them FOR UPDATE when `lock`)."""

    @property
    @abc.abstractmethod
    def scope(self) -> str:
        """Human description of the bounded scope, e.g. ``convo_id=c1``."""

    def _notes(self, conn: sa.Connection) -> tuple[str, ...]:
        """Extra context shown with the plan (counts, warnings)."""
        return ()

    def _table(self, conn: sa.Connection, name: str) -> sa.Table:
        """The real table `name` (every column it has), checked against the runbooks."""
        if name not in self.tables:
            raise ScopeExceeded(
                f"{self.name} may touch only {sorted(self.tables)}, not {name!r}",
                action=self.name,
            )
        return self.real.table(conn, name)

    def _where(self, conn: sa.Connection, name: str, key: Mapping[str, Any]) -> Any:
        import sqlalchemy as sa

        table = self._table(conn, name)
        return sa.and_(*(table.c[k] == self.real.bind(conn, name, k, v) for k, v in key.items()))

    def _write(self, conn: sa.Connection, change: RowChange) -> int:
        """Write one planned change; returns rows affected (overridable, e.g. upserts)."""
        table = self._table(conn, change.table)
        where = self._where(conn, change.table, change.key)
        if change.before is None:
            assert change.after is not None
            # RETURNING, because psycopg 3 reports rowcount -1 for a single-row INSERT
            keys = [table.c[k] for k in change.key]
            values = self.real.row(conn, change.table, change.after)
            return len(conn.execute(table.insert().values(**values).returning(*keys)).all())
        if change.after is None:
            return conn.execute(table.delete().where(where)).rowcount
        values = {k: v for k, v in change.after.items() if change.before.get(k) != v}
        values = self.real.row(conn, change.table, values)
        return conn.execute(table.update().where(where).values(**values)).rowcount

    # -- the shared machinery ----------------------------------------------------------

    @property
    def target(self) -> str:
        return f"{redact_url(self.engine.url.render_as_string(hide_password=False))} {self.scope}"

    @staticmethod
    def _fingerprint(changes: Sequence[RowChange]) -> str:
        return canonical_hash([[c.table, c.key, c.before] for c in changes])

    def _check_scope(self, changes: Sequence[RowChange]) -> None:
        if len(changes) > self.max_rows:
            raise ScopeExceeded(
                f"{self.name} would change {len(changes)} rows ({self.scope}), more than "
                f"max_rows={self.max_rows}; narrow the scope or raise max_rows deliberately",
                action=self.name,
            )

    def _plan(self) -> Plan:
        with read_only(self.engine) as conn:
            changes = self._changes(conn, lock=False)
            notes = self._notes(conn)
            conn.rollback()
        self._check_scope(changes)
        ops = sorted({c.op for c in changes})
        summary = (
            f"{len(changes)} row(s) to {'/'.join(ops)} in "
            f"{', '.join(sorted({c.table for c in changes}))}"
            if changes
            else "nothing to do: already in the desired state"
        )
        return Plan(
            action=self.name,
            target=self.target,
            changes=tuple(c.shown() for c in changes),
            fingerprint=self._fingerprint(changes),
            summary=summary,
            notes=notes,
            state={"rows": tuple(changes)},
        )

    def _check_plan(self, plan: Plan) -> None:
        """Apply exactly what was fingerprinted: the rows stored in the plan must hash to
        its fingerprint and show as its changes, else the plan was tampered or corrupted."""
        planned = tuple(plan.state.get("rows", ()))
        if self._fingerprint(planned) != plan.fingerprint or plan.changes != tuple(
            c.shown() for c in planned
        ):
            raise StalePlan(
                f"{self.name}: the rows stored in plan {plan.plan_hash} do not match its "
                "fingerprint and shown changes (a tampered or corrupted plan); nothing was "
                "changed — make a new plan and review it",
                action=self.name,
            )

    def _apply(self, plan: Plan) -> ApplyResult:
        planned: tuple[RowChange, ...] = tuple(plan.state["rows"])
        self._check_plan(plan)  # again: _apply may be driven without apply()
        self._check_scope(planned)
        backup_id = new_backup_id()
        backup_path: str | None = None
        with self.engine.begin() as conn:
            current = self._changes(conn, lock=True)
            if not current:
                return ApplyResult(
                    plan=plan,
                    status="nothing_to_do",
                    changed=0,
                    message="already in the desired state (a second apply changes nothing)",
                )
            if self._fingerprint(current) != plan.fingerprint:
                raise StalePlan(
                    f"{self.name}: the rows changed since the plan was made "
                    f"({len(planned)} planned, {len(current)} now differ); nothing was "
                    "changed — make a new plan and review it",
                    action=self.name,
                )
            before = {
                name: [dict(c.before) for c in planned if c.table == name and c.before]
                for name in sorted({c.table for c in planned})
            }
            if any(before.values()):
                # The file first: it survives a rollback as evidence of what was there.
                backup_path = str(
                    write_backup_file(
                        action=self.name,
                        backup_id=backup_id,
                        target=self.target,
                        rows=before,
                        directory=self.backup_dir,
                    )
                )
                write_backup_rows(conn, action=self.name, backup_id=backup_id, rows=before)
            for change in planned:
                if self._write(conn, change) != 1:
                    raise StalePlan(
                        f"{self.name}: {change.op} of row {dict(change.key)} did not apply as "
                        "planned (changed concurrently); rolled back, nothing was changed",
                        action=self.name,
                    )
            left = self._changes(conn, lock=False)
            if left:
                raise VerificationFailed(
                    f"{self.name}: after writing, {len(left)} row(s) still differ "
                    f"(first: {left[0].shown()}); rolled back, nothing was changed",
                    action=self.name,
                )
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=len(planned),
            before=tuple(c.shown() for c in planned),
            after=tuple({"op": c.op, **c.key, **(c.after or {})} for c in planned),
            backup=backup_path,
            message=f"backup id {backup_id}" if backup_path else "",
            undo_state={"rows": planned, "backup_id": backup_id},
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        import sqlalchemy as sa

        done: tuple[RowChange, ...] = tuple(result.undo_state["rows"])
        with self.engine.begin() as conn:
            for change in reversed(done):
                table = self._table(conn, change.table)
                where = self._where(conn, change.table, change.key)
                query = sa.select(table).where(where)
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                now = conn.execute(query).mappings().first()
                expected = change.after
                if (now is None) != (expected is None) or (
                    now is not None
                    and expected is not None
                    and any(_norm(now[k]) != _norm(v) for k, v in expected.items())
                ):
                    raise StalePlan(
                        f"{self.name} undo: row {dict(change.key)} changed after the apply; "
                        "rolled back, nothing was restored — restore from the backup "
                        f"{result.backup} by hand",
                        action=self.name,
                    )
                if change.before is None:
                    conn.execute(table.delete().where(where))
                    continue
                before = self.real.row(conn, change.table, change.before)
                if change.after is None:
                    conn.execute(table.insert().values(**before))
                else:
                    conn.execute(table.update().where(where).values(**before))
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=len(done),
            before=result.after,
            after=result.before,
            backup=result.backup,
            message="before-rows restored exactly",
        )
