"""Which database errors an actor meets answer 503 (away, retry) and which 500 (broken).

Real SQLite errors from real connections: a write lock held by another connection is
"away for now"; a missing table is a broken schema, not something a retry mends. The
PostgreSQL side (refused, dropped, statement timeout) runs in tests/faults/.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.failures import _unreachable


def _error(url: str, sql: str, *, hold_lock: bool = False) -> sa.exc.DBAPIError:
    path = url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    engine = sa.create_engine(url, connect_args={"timeout": 0})
    try:
        holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        if hold_lock:
            holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sa.exc.DBAPIError) as raised, engine.begin() as conn:
            conn.exec_driver_sql(sql)
        return raised.value
    finally:
        holder.close()
        engine.dispose()


def test_a_locked_sqlite_database_is_away_for_now(tmp_path: Path):
    error = _error(f"sqlite:///{tmp_path / 'db'}", "INSERT INTO t VALUES (1)", hold_lock=True)
    assert "locked" in str(error.orig)
    assert _unreachable(error)


def test_a_missing_table_is_a_broken_schema_not_an_outage(tmp_path: Path):
    error = _error(f"sqlite:///{tmp_path / 'db'}", "SELECT * FROM missing")
    assert isinstance(error, sa.exc.OperationalError)  # SQLite's class for both
    assert not _unreachable(error)


def test_a_constraint_or_a_plain_bug_is_not_an_outage(tmp_path: Path):
    error = _error(f"sqlite:///{tmp_path / 'db'}", "SELEC 1")
    assert not _unreachable(error)
    assert not _unreachable(RuntimeError("database transaction failed"))  # FM1 crash loop
