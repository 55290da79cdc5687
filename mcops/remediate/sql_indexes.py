"""Runbook 000's indexes (Clearing Mailbox Backlog step 4, Database Optimization) and,
beyond the runbook, a UNIQUE commit-epoch index that makes duplicate epochs impossible.

PostgreSQL builds them with CREATE INDEX CONCURRENTLY — no write lock on a busy table —
which cannot run inside a transaction, so it uses an AUTOCOMMIT connection and first
drops an INVALID leftover of an earlier interrupted build (pg_index.indisvalid).
SQLite builds them in one transaction. Undo drops exactly the indexes this apply built.

The index specs are plain data and SQLAlchemy loads with an action's engine, so a notebook
may import `RUNBOOK_INDEXES` or the actions at its top without loading SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mcops.errors import RemediationError, StalePlan, VerificationFailed
from mcops.jsonable import canonical_hash
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ActionRefused, ApplyResult, Plan, Precondition, Remediation
from mcops.remediate.sql_base import make_engine, read_only
from mcops.secrets import redact_url

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "RUNBOOK_INDEXES",
    "UNIQUE_COMMIT_EPOCH",
    "AddRunbookIndexes",
    "AddUniqueCommitEpochIndex",
    "IndexSpec",
]


@dataclass(frozen=True)
class IndexSpec:
    """One index from an allow-list (DDL cannot bind identifiers, so none come from input)."""

    name: str
    table: str
    columns: tuple[str, ...]
    where: str
    unique: bool = False

    def create_sql(self, *, concurrently: bool) -> str:
        """The CREATE statement, exactly as the runbook writes it."""
        unique = "UNIQUE " if self.unique else ""
        conc = "CONCURRENTLY " if concurrently else ""
        return (
            f"CREATE {unique}INDEX {conc}IF NOT EXISTS {self.name} "
            f"ON {self.table} ({', '.join(self.columns)}) WHERE {self.where}"
        )

    def drop_sql(self, *, concurrently: bool) -> str:
        """The DROP statement for undo and for INVALID leftovers."""
        return f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS {self.name}"


RUNBOOK_INDEXES = (
    IndexSpec(
        "idx_messages_convo_epoch", "messages", ("convo_id", "epoch"), "message_type = 'commit'"
    ),
    IndexSpec("idx_members_convo_active", "members", ("convo_id",), "left_at IS NULL"),
    IndexSpec("idx_messages_convo_seq", "messages", ("convo_id", "seq"), "message_type = 'app'"),
)
UNIQUE_COMMIT_EPOCH = IndexSpec(
    "uq_messages_convo_epoch_commit",
    "messages",
    ("convo_id", "epoch"),
    "message_type = 'commit'",
    unique=True,
)

_PG_STATE = (
    "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN :names"
)
_SQLITE_STATE = "SELECT name, 1 AS valid FROM sqlite_master WHERE type = 'index' AND name IN :names"


class IndexAction(Remediation):
    """Template: build the missing or INVALID indexes of `specs`, drop them on undo."""

    specs: ClassVar[tuple[IndexSpec, ...]]
    not_changed_on_failure = "indexes built before the error are listed in the audit record"

    def __init__(
        self,
        database: str | sa.Engine,
        *,
        reason: str = "",
        audit: AuditLog | None = None,
        preconditions: Sequence[Precondition] = (),
    ) -> None:
        super().__init__(reason=reason, audit=audit, preconditions=preconditions)
        self.engine = make_engine(database)

    @property
    def target(self) -> str:
        url = redact_url(self.engine.url.render_as_string(hide_password=False))
        return f"{url} indexes {','.join(s.name for s in self.specs)}"

    @property
    def _pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _states(self, conn: sa.Connection) -> dict[str, str]:
        import sqlalchemy as sa

        query = sa.text(_PG_STATE if self._pg else _SQLITE_STATE).bindparams(
            sa.bindparam("names", expanding=True)
        )
        found = {
            row.name: ("valid" if row.valid else "invalid")
            for row in conn.execute(query, {"names": [s.name for s in self.specs]})
        }
        return {s.name: found.get(s.name, "missing") for s in self.specs}

    def _blocker(self, conn: sa.Connection) -> str | None:
        """Why the indexes must not be built now (None: nothing blocks)."""
        return None

    def _todo(self, states: Mapping[str, str]) -> list[IndexSpec]:
        return [s for s in self.specs if states[s.name] != "valid"]

    def _plan(self) -> Plan:
        with read_only(self.engine) as conn:
            states = self._states(conn)
            refusal = self._blocker(conn)
            conn.rollback()
        todo = self._todo(states)
        changes = tuple(
            {
                "index": s.name,
                "now": states[s.name],
                "will": ("drop invalid leftover, then " if states[s.name] == "invalid" else "")
                + s.create_sql(concurrently=self._pg),
            }
            for s in todo
        )
        return Plan(
            action=self.name,
            target=self.target,
            changes=changes,
            fingerprint=canonical_hash(states),
            summary=f"{len(todo)} index(es) to build" if todo else "nothing to do: all present",
            refusal=refusal if todo else None,
            notes=("undo drops the indexes this apply builds",),
            state={"states": states},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        with read_only(self.engine) as conn:
            states = self._states(conn)
            blocker = self._blocker(conn)
            conn.rollback()
        todo = self._todo(states)
        if not todo:
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message="every index is already present and valid",
            )
        if canonical_hash(states) != plan.fingerprint:
            raise StalePlan(
                f"{self.name}: index states changed since the plan ({states}); nothing was "
                "changed — make a new plan",
                action=self.name,
            )
        if blocker:
            raise ActionRefused(f"{self.name} refused: {blocker}", action=self.name)
        built = self._build_pg(todo) if self._pg else self._build_sqlite(todo)
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=len(built),
            before=tuple({"index": s.name, "state": states[s.name]} for s in todo),
            after=tuple({"index": name, "state": "valid"} for name in built),
            undo_state={"built": tuple(built)},
        )

    def _build_pg(self, todo: Sequence[IndexSpec]) -> list[str]:
        built: list[str] = []
        auto = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with auto as conn:
            for spec in todo:
                try:
                    # a leftover INVALID index would make IF NOT EXISTS skip silently
                    if self._states(conn)[spec.name] == "invalid":
                        conn.exec_driver_sql(spec.drop_sql(concurrently=True))
                    conn.exec_driver_sql(spec.create_sql(concurrently=True))
                    if self._states(conn)[spec.name] != "valid":
                        raise VerificationFailed(
                            f"{spec.name} is not a valid index after CREATE (a table or other "
                            "relation may already use the name)",
                            action=self.name,
                        )
                except Exception as err:
                    if self._states(conn)[spec.name] == "invalid":
                        conn.exec_driver_sql(spec.drop_sql(concurrently=True))
                    rest = [s.name for s in todo if s.name not in built]
                    raise RemediationError(
                        f"{self.name} failed building {spec.name}: {err}. Built and kept: "
                        f"{built or 'none'}; not built: {rest}. Undo the built ones with "
                        "undo() on a new apply result, or DROP INDEX CONCURRENTLY by hand.",
                        action=self.name,
                        changed=len(built),
                    ) from err
                built.append(spec.name)
        return built

    def _build_sqlite(self, todo: Sequence[IndexSpec]) -> list[str]:
        with self.engine.begin() as conn:
            for spec in todo:
                conn.exec_driver_sql(spec.create_sql(concurrently=False))
            states = self._states(conn)
            missing = [s.name for s in todo if states[s.name] != "valid"]
            if missing:
                raise VerificationFailed(
                    f"{self.name}: {missing} not present after CREATE; rolled back, nothing "
                    "was changed",
                    action=self.name,
                )
        return [s.name for s in todo]

    def _undo(self, result: ApplyResult) -> ApplyResult:
        built = [s for s in self.specs if s.name in result.undo_state["built"]]
        if self._pg:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                for spec in built:
                    c.exec_driver_sql(spec.drop_sql(concurrently=True))
        else:
            with self.engine.begin() as c:
                for spec in built:
                    c.exec_driver_sql(spec.drop_sql(concurrently=False))
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=len(built),
            before=result.after,
            after=result.before,
            message="built indexes dropped",
        )


class AddRunbookIndexes(IndexAction):
    """The three indexes the runbook names for epoch, active-member and seq lookups."""

    name = "add_runbook_indexes"
    specs = RUNBOOK_INDEXES


class AddUniqueCommitEpochIndex(IndexAction):
    """UNIQUE (convo_id, epoch) for commits: duplicate epochs become impossible."""

    name = "add_unique_commit_epoch_index"
    specs = (UNIQUE_COMMIT_EPOCH,)

    def _blocker(self, conn: sa.Connection) -> str | None:
        import sqlalchemy as sa

        from mcops.schema import messages

        dup = (
            sa.select(messages.c.convo_id, messages.c.epoch)
            .where(messages.c.message_type == "commit")
            .group_by(messages.c.convo_id, messages.c.epoch)
            .having(sa.func.count() > 1)
            .subquery()
        )
        groups = conn.execute(sa.select(sa.func.count()).select_from(dup)).scalar_one()
        if not groups:
            return None
        return (
            f"{groups} (convo_id, epoch) commit group(s) have duplicates; delete duplicates "
            "first (DeleteDuplicateCommits), then plan this again"
        )
