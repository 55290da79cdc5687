"""KillLongQueries on the real PostgreSQL: a sleeping query on its own connection is
planned with its pid and age, cancelled (its client sees QueryCanceled), verified gone;
young queries, oversized plans, stale pids and SQLite are refused or left alone."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from mcops.errors import ScopeExceeded, StalePlan
from mcops.remediate import ActionRefused, AuditLog, KillLongQueries
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.postgres

OLD = dt.timedelta(seconds=1)


class Sleeper:
    """One client connection running queries in a background thread; always ended."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        self.pid = self.conn.info.backend_pid
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def start(self, sql: str) -> None:
        """Run `sql` in the background and wait until PostgreSQL shows it active."""
        self.error = None

        def run() -> None:
            try:
                self.conn.execute(sql)
            except BaseException as err:  # recorded for the test to assert on
                self.error = err

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while self.state() != ("active", sql):
            assert time.monotonic() < deadline, f"{sql} never became active"
            time.sleep(0.02)

    def state(self) -> tuple[str, str] | None:
        with self.admin.connect() as conn:
            row = conn.execute(
                sa.text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": self.pid},
            ).first()
        return None if row is None else (row.state, row.query)

    def join(self, timeout: float = 5) -> BaseException | None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the query did not end"
        return self.error

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": self.pid})
        if self.thread is not None:
            self.thread.join(5)
        self.conn.close()
        self.admin.dispose()


@pytest.fixture
def pg() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def sleepers(pg: str) -> Iterator[list[Sleeper]]:
    made: list[Sleeper] = []
    yield made
    for s in made:
        s.close()


@pytest.fixture
def actions() -> Iterator[list[KillLongQueries]]:
    """Actions made by a test; their engines are disposed (no pooled connection leaks)."""
    made: list[KillLongQueries] = []
    yield made
    for a in made:
        a.engine.dispose()


def kill(made: list[KillLongQueries], url: str, **kwargs: Any) -> KillLongQueries:
    made.append(KillLongQueries(url, **kwargs))
    return made[-1]


def sleeper(url: str, made: list[Sleeper], sql: str) -> Sleeper:
    s = Sleeper(url)
    made.append(s)
    s.start(sql)
    return s


def test_plan_lists_old_queries_only_then_cancel_verify_idempotent(pg, sleepers, actions, audit):
    old = sleeper(pg, sleepers, "SELECT pg_sleep(60)")
    time.sleep(OLD.total_seconds() + 0.3)
    young = sleeper(pg, sleepers, "SELECT pg_sleep(0.1) FROM generate_series(1, 50)")
    action = kill(actions, pg, older_than=OLD, audit=audit, reason="test")
    plan = action.plan()
    assert [c["pid"] for c in plan.changes] == [old.pid]
    (change,) = plan.changes
    assert change["query"] == "SELECT pg_sleep(60)" and change["age_s"] > OLD.total_seconds()
    assert isinstance(change["query_start"], dt.datetime) and change["usename"] == "postgres"
    assert not plan.reversible and any("no backup" in n for n in plan.notes)
    assert young.pid not in {c["pid"] for c in plan.changes}
    assert f'"pid": {old.pid}' in str(plan) and "pg_sleep(60)" in plan._repr_html_()

    result = action.apply(plan)
    assert result.status == "applied" and result.changed == 1
    assert result.after[0]["step"] == "cancelled"
    assert isinstance(old.join(), psycopg.errors.QueryCanceled)
    assert young.state()[0] == "active"  # not planned, not touched
    assert action.plan().empty
    again = action.apply(plan)
    assert again.status == "nothing_to_do" and again.changed == 0
    results = [(r["result"], r["before"].get("step")) for r in audit.records()]
    assert results == [
        ("intent", None),  # the write-ahead record of the apply itself
        ("intent", "pg_cancel_backend"),
        ("ok", None),
        ("intent", None),
        ("ok", None),
    ]


def test_terminate_when_cancel_is_ignored(pg, sleepers, actions, audit):
    # a backend blocked in an uninterruptible way is simulated by ignoring the cancel:
    # the query catches it in PL/pgSQL and keeps sleeping
    sql = (
        "DO $$ BEGIN PERFORM pg_sleep(60); EXCEPTION WHEN query_canceled THEN "
        "PERFORM pg_sleep(60); END $$"
    )
    s = sleeper(pg, sleepers, sql)
    time.sleep(OLD.total_seconds() + 0.3)
    action = kill(actions, pg, older_than=OLD, grace=dt.timedelta(seconds=0.5), audit=audit)
    result = action.apply(action.plan())
    assert result.after[0]["step"] == "terminated"
    assert isinstance(s.join(), psycopg.OperationalError)
    steps = [r["before"].get("step") for r in audit.records() if r["before"].get("step")]
    assert steps == ["pg_cancel_backend", "pg_terminate_backend"]


def test_more_than_max_queries_is_refused_at_plan(pg, sleepers, actions, audit):
    s = sleeper(pg, sleepers, "SELECT pg_sleep(60)")
    time.sleep(OLD.total_seconds() + 0.3)
    with pytest.raises(ScopeExceeded, match=r"1 queries .* max_queries=0"):
        kill(actions, pg, older_than=OLD, max_queries=0, audit=audit).plan()
    assert s.state()[0] == "active"


def test_pid_running_a_new_query_is_stale_not_killed(pg, sleepers, actions, audit):
    s = sleeper(pg, sleepers, "SELECT pg_sleep(60)")
    time.sleep(OLD.total_seconds() + 0.3)
    action = kill(actions, pg, older_than=OLD, audit=audit)
    plan = action.plan()
    assert [c["pid"] for c in plan.changes] == [s.pid]
    with s.admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_cancel_backend(:pid)"), {"pid": s.pid})
    assert isinstance(s.join(), psycopg.errors.QueryCanceled)
    s.start("SELECT pg_sleep(60)")  # same pid, same text, new query_start
    with pytest.raises(StalePlan, match="different query"):
        action.apply(plan)
    assert s.state() == ("active", "SELECT pg_sleep(60)")
    assert [r["result"] for r in audit.records()] == ["intent", "refused"]


def test_sqlite_is_refused_at_plan(tmp_path, actions):
    url = f"sqlite:///{tmp_path / 'mcops.db'}"
    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(ActionRefused, match=r"needs PostgreSQL.*fix"):
        kill(actions, url, audit=audit).plan()
