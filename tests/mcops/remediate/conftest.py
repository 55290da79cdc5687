"""Fixtures for remediation tests: a schema'd database (SQLite and PostgreSQL), seed
rows written straight through `server.store.schema`, and a full-table snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mcops.remediate import AuditLog
from server.store import schema

T0 = dt.datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    schema.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "evidence" / "audit.jsonl")


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


def insert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every service table, sorted: the 'nothing changed' oracle."""
    out = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
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
