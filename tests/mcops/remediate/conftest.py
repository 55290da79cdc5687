"""Fixtures for remediation tests: a schema'd database — the lab server's schema and one
written from the runbooks alone (`tests.support.runbook_schema`), each on SQLite and on
PostgreSQL — seed rows written straight into the real tables, and a full-table snapshot
(every column the real table has)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mcops.remediate import AuditLog
from server.store import schema
from tests.support.runbook_schema import create_runbook_schema, insert_rows, real_table

T0 = dt.datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


SERVICE_TABLES = ("conversations", "members", "messages", "meetings", "meeting_controllers")


@pytest.fixture(params=["server", "runbook"], ids=["server-schema", "runbook-schema"])
def schema_kind(request: pytest.FixtureRequest) -> str:
    """Which schema the service tables follow: the lab server's, or the runbooks' alone."""
    return str(request.param)


def create_schema(engine: sa.Engine, kind: str) -> None:
    """Create the service tables of `kind` ("server" or "runbook") on `engine`."""
    if kind == "server":
        schema.metadata.create_all(engine)
    else:
        create_runbook_schema(engine)


@pytest.fixture
def engine(db_url: str, schema_kind: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    create_schema(eng, schema_kind)
    yield eng
    eng.dispose()


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "evidence" / "audit.jsonl")


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


def insert(engine: sa.Engine, table: sa.Table | str, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` into the real table named like `table`, fitted to its schema."""
    insert_rows(engine, table if isinstance(table, str) else table.name, rows)


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every service table with every column, sorted: the 'nothing
    changed' oracle (extra columns included, so a lossy undo shows)."""
    out = {}
    with engine.connect() as conn:
        for name in SERVICE_TABLES:
            rows = conn.execute(sa.select(real_table(engine, name))).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def commit(convo: str, epoch: int, minute: int, *, id: int, server: str = "s1") -> dict[str, Any]:
    return {
        "id": id,
        "convo_id": convo,
        "sender_did": "did:plc:a",
        "message_type": "commit",
        "epoch": epoch,
        "seq": None,
        "ciphertext": None,
        "server_id": server,
        "created_at": at(minute),
    }


def app(convo: str, epoch: int, seq: int, minute: int, *, id: int) -> dict[str, Any]:
    return {
        "id": id,
        "convo_id": convo,
        "sender_did": "did:plc:a",
        "message_type": "app",
        "epoch": epoch,
        "seq": seq,
        "ciphertext": "x",
        "server_id": "s1",
        "created_at": at(minute),
    }


def convo(cid: str, epoch: int) -> dict[str, Any]:
    return {
        "id": cid,
        "creator_did": "did:plc:a",
        "current_epoch": epoch,
        "created_at": at(0),
        "updated_at": at(1),
    }
