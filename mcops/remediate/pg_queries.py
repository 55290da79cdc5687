"""Kill long-running database queries (runbook 000: Alert ActorUnresponsive remediation
step 4, the quick-fix "Slow queries | Kill queries, add indexes", Clearing Mailbox
Backlog and Performance). PostgreSQL only: SQLite has no other backends to signal.

The plan lists each query by pid, user, text and age; its fingerprint is pid +
``query_start``, so a pid that has since started a *new* query is never killed (the
plan is stale). Apply is gentle first: ``pg_cancel_backend`` for each planned query,
then, after `grace`, ``pg_terminate_backend`` only for those still running the same
query. Each signal is sent by a statement that re-checks the fingerprint itself.

The statements are plain strings, made SQLAlchemy text when sent: SQLAlchemy loads with
the action's engine, not when the class is imported.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.jsonable import canonical_hash
from mcops.remediate.admin_actions import not_reversible
from mcops.remediate.audit import AuditLog, AuditRecord
from mcops.remediate.base import ActionRefused, ApplyResult, Plan, Remediation
from mcops.remediate.sql_base import make_engine
from mcops.secrets import redact_text, redact_url

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["KillLongQueries"]

QUERY_CHARS = 200  # query text shown per planned query
_POLL = 0.1  # seconds between checks while waiting for a signalled query to stop

_ACTIVE = (
    "SELECT pid, usename, datname, left(query, :chars) AS query, query_start, "
    "EXTRACT(EPOCH FROM (clock_timestamp() - query_start))::float8 AS age_s "
    "FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend' AND query_start IS NOT NULL "
)
_CANDIDATES = (
    _ACTIVE + "AND datname = coalesce(:datname, current_database()) "
    "AND query_start < clock_timestamp() - make_interval(secs => :secs) "
    "ORDER BY query_start, pid"
)
_BY_PID = _ACTIVE + "AND pid IN :pids"
# The signal re-checks the fingerprint in the same statement: no window for a pid that
# finished the planned query and started another one.
_SIGNAL = (
    "SELECT pid, {fn}(pid) AS sent FROM pg_stat_activity "
    "WHERE pid = :pid AND query_start = :query_start AND state = 'active'"
)

Key = tuple[int, dt.datetime]


class KillLongQueries(Remediation):
    """Cancel, then terminate, the active queries older than `older_than` (bounded).

    The runbook's slow-query threshold is 100 ms, but that is for *finding* slow
    queries; killing one rolls back its work, so the default age is 30 s — raise it
    for batch jobs, never lower it to the diagnostic threshold.
    """

    name = "kill_long_queries"
    not_changed_on_failure = "queries signalled before the error are listed in the audit log"

    def __init__(
        self,
        database: str | sa.Engine,
        *,
        older_than: dt.timedelta = dt.timedelta(seconds=30),
        datname: str | None = None,
        max_queries: int = 5,
        grace: dt.timedelta = dt.timedelta(seconds=5),
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        if older_than <= dt.timedelta(0) or grace < dt.timedelta(0):
            raise ScopeExceeded(
                f"older_than must be > 0 and grace >= 0 (got {older_than}, {grace}); a zero "
                "age would kill every running query",
                action=self.name,
            )
        self.engine = make_engine(database)
        self.older_than = older_than
        self.datname = datname
        self.max_queries = max_queries
        self.grace = grace

    @property
    def target(self) -> str:
        url = redact_url(self.engine.url.render_as_string(hide_password=False))
        db = self.datname or "the current database"
        return f"{url} queries in {db} active > {self.older_than.total_seconds():g}s"

    # -- reading pg_stat_activity ------------------------------------------------------

    def _refuse_sqlite(self) -> None:
        if self.engine.dialect.name != "postgresql":
            raise ActionRefused(
                f"{self.name} needs PostgreSQL (pg_stat_activity, pg_cancel_backend); this "
                f"is {self.engine.dialect.name}, where no other backend runs queries — fix: "
                "find the slow statement in the service logs, or point the action at the "
                "PostgreSQL DATABASE_URL",
                action=self.name,
            )

    def _autocommit(self) -> sa.Connection:
        # pg_stat_activity is a per-transaction snapshot: each statement needs its own
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def _row(row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "pid": row["pid"],
            "usename": row["usename"],
            "datname": row["datname"],
            "query": redact_text(str(row["query"] or ""))[:QUERY_CHARS],
            "age_s": round(float(row["age_s"]), 1),
            "query_start": row["query_start"],
        }

    def _read(self, conn: sa.Connection) -> list[dict[str, Any]]:
        """Active client queries older than `older_than` in the chosen database."""
        import sqlalchemy as sa

        params = {
            "chars": QUERY_CHARS,
            "datname": self.datname,
            "secs": self.older_than.total_seconds(),
        }
        return [self._row(r) for r in conn.execute(sa.text(_CANDIDATES), params).mappings()]

    def _active(self, conn: sa.Connection, pids: Iterable[int]) -> dict[int, dt.datetime]:
        """pid → query_start of the given pids that are active now."""
        import sqlalchemy as sa

        pids = sorted(set(pids))
        if not pids:
            return {}
        by_pid = sa.text(_BY_PID).bindparams(sa.bindparam("pids", expanding=True))
        rows = conn.execute(by_pid, {"chars": QUERY_CHARS, "pids": pids}).mappings()
        return {r["pid"]: r["query_start"] for r in rows}

    def _still(self, conn: sa.Connection, keys: Sequence[Key]) -> list[Key]:
        """The planned (pid, query_start) that are still running that same query."""
        now = self._active(conn, (pid for pid, _ in keys))
        return [(pid, qs) for pid, qs in keys if now.get(pid) == qs]

    def _wait(self, conn: sa.Connection, keys: Sequence[Key]) -> list[Key]:
        """Poll up to `grace` for `keys` to leave 'active'; returns those that did not."""
        deadline = time.monotonic() + self.grace.total_seconds()
        left = self._still(conn, keys)
        while left and time.monotonic() < deadline:
            time.sleep(_POLL)
            left = self._still(conn, left)
        return left

    @staticmethod
    def _fingerprint(keys: Sequence[Key]) -> str:
        return canonical_hash([[pid, qs.isoformat()] for pid, qs in keys])

    # -- plan / apply ------------------------------------------------------------------

    def _plan(self) -> Plan:
        self._refuse_sqlite()
        with self._autocommit() as conn:
            rows = self._read(conn)
        if len(rows) > self.max_queries:
            raise ScopeExceeded(
                f"{len(rows)} queries active longer than {self.older_than.total_seconds():g}s "
                f"exceed max_queries={self.max_queries}; look at them first (pg_stat_activity), "
                "then raise older_than or max_queries deliberately",
                action=self.name,
            )
        keys = [(r["pid"], r["query_start"]) for r in rows]
        return Plan(
            action=self.name,
            target=self.target,
            changes=tuple(rows),
            fingerprint=self._fingerprint(keys),
            summary=f"cancel {len(rows)} long-running query(ies), terminate if still running "
            f"after {self.grace.total_seconds():g}s"
            if rows
            else "nothing to do: no query runs that long",
            reversible=False,
            notes=(
                *not_reversible(
                    "a cancelled query's transaction is rolled back; its client must run it again"
                ),
                "no backup: nothing stored is changed (only the queries' own uncommitted "
                "work is rolled back)",
            ),
            state={"keys": tuple(keys)},
        )

    def _intent(self, plan: Plan, step: str, keys: Sequence[Key]) -> None:
        """Write-ahead: the signal about to be sent is on disk before it is sent."""
        self.audit.append(
            AuditRecord(
                action=self.name,
                target=self.target,
                mode="apply",
                result="intent",
                plan_hash=plan.plan_hash,
                reason=self.reason,
                before={"step": step, "queries": [[p, q.isoformat()] for p, q in keys]},
            )
        )

    def _signal(self, conn: sa.Connection, fn: str, keys: Sequence[Key]) -> list[Key]:
        import sqlalchemy as sa

        sql = sa.text(_SIGNAL.format(fn=fn))
        sent = []
        for pid, qs in keys:
            if conn.execute(sql, {"pid": pid, "query_start": qs}).first() is not None:
                sent.append((pid, qs))
        return sent

    def _apply(self, plan: Plan) -> ApplyResult:
        self._refuse_sqlite()
        planned: list[Key] = list(plan.state["keys"])
        if len(planned) > self.max_queries:
            raise ScopeExceeded(
                f"plan has {len(planned)} queries, more than max_queries={self.max_queries}",
                action=self.name,
            )
        with self._autocommit() as conn:
            now = self._active(conn, (pid for pid, _ in planned))
            moved = [(pid, now[pid]) for pid, qs in planned if pid in now and now[pid] != qs]
            if moved:
                raise StalePlan(
                    f"{self.name}: pid {moved[0][0]} now runs a different query (started "
                    f"{moved[0][1].isoformat()}) than the plan reviewed; nothing was killed "
                    "— make a new plan and review it",
                    action=self.name,
                )
            todo = [(pid, qs) for pid, qs in planned if now.get(pid) == qs]
            if not todo:
                return ApplyResult(
                    plan=plan,
                    status="nothing_to_do",
                    changed=0,
                    message="no planned query is still running (a second apply changes nothing)",
                )
            self._intent(plan, "pg_cancel_backend", todo)
            cancelled = self._signal(conn, "pg_cancel_backend", todo)
            left = self._wait(conn, todo)
            terminated: list[Key] = []
            if left:
                self._intent(plan, "pg_terminate_backend", left)
                terminated = self._signal(conn, "pg_terminate_backend", left)
                left = self._wait(conn, left)
            if left:
                raise VerificationFailed(
                    f"{self.name}: {len(left)} planned query(ies) still active after cancel "
                    f"and terminate (first pid {left[0][0]}); check pg_stat_activity and "
                    "the backend's wait_event",
                    action=self.name,
                    changed=len(cancelled),
                )
        done = {pid: "terminated" for pid, _ in terminated}
        done.update({pid: "cancelled" for pid, _ in cancelled if pid not in done})
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=len(done),
            before=tuple(c for c in plan.changes if c["pid"] in done),
            after=tuple(
                {"pid": pid, "query_start": qs, "step": done.get(pid, "ended")} for pid, qs in todo
            ),
            message=f"{len(cancelled)} cancelled, {len(terminated)} terminated",
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        raise NotImplementedError  # the base class refuses: the plan is not reversible
