"""Row actions get their engine from the one factory, `mcops.sources.sql.connect`."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from mcops.errors import SourceUnreachable
from mcops.remediate import ResetEpoch
from mcops.remediate.sql_base import make_engine, read_only
from tests.support.ports import refusing_port


def test_actions_get_their_engine_from_the_one_factory(tmp_path):
    """Driver normalisation and error classification as for diagnostics (sources.sql)."""
    with refusing_port() as port, pytest.raises(SourceUnreachable) as err:
        ResetEpoch(f"postgres://ops:s3cret@127.0.0.1:{port}/x", "c1")
    assert err.value.state == "refused" and "postgresql+psycopg://ops:***@" in str(err.value)
    assert "s3cret" not in str(err.value)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine = make_engine(url)
    assert engine.url.query.get("mode") != "ro"  # writable, not the diagnostics' mode=ro
    with engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock from the start
        other = sqlite3.connect(tmp_path / "w.db", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with read_only(engine) as conn:  # planning takes no write lock
        conn.exec_driver_sql("SELECT * FROM t").all()
        other = sqlite3.connect(tmp_path / "w.db", timeout=0)
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        other.close()
