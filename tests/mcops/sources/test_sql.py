"""Named runbook queries on real SQLite and PostgreSQL, seeded with known anomalies."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mcops.errors import (
    ParameterError,
    SourceAuthError,
    SourceConfigError,
    SourceQueryError,
    SourceUnreachable,
)
from mcops.secrets import redact_url
from mcops.sources import sql
from server.store import schema
from tests.support.ports import free_port

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def _commit(convo: str, epoch: int, *, at: datetime, server: str = "s1") -> dict:
    return {
        "convo_id": convo,
        "sender_did": "did:a",
        "message_type": "commit",
        "epoch": epoch,
        "seq": None,
        "ciphertext": None,
        "server_id": server,
        "created_at": at,
    }


def _app(convo: str, seq: int, *, epoch: int = 1, at: datetime = NOW) -> dict:
    return {
        "convo_id": convo,
        "sender_did": "did:a",
        "message_type": "app",
        "epoch": epoch,
        "seq": seq,
        "ciphertext": "x",
        "server_id": "s1",
        "created_at": at,
    }


def convo(cid: str, epoch: int, at: datetime | None = None) -> dict:
    at = at or ago(days=1)
    return {
        "id": cid,
        "creator_did": "did:a",
        "current_epoch": epoch,
        "created_at": at,
        "updated_at": at,
    }


def seed(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            schema.conversations.insert(),
            [
                convo("c-ok", 2),
                convo("c-dup", 2),
                convo("c-drift", 5),
                convo("c-stale", 1, ago(days=30)),
            ],
        )
        conn.execute(
            schema.messages.insert(),
            [
                _commit("c-ok", 1, at=ago(days=1)),
                _commit("c-ok", 2, at=ago(days=1)),
                # c-dup: epoch 2 committed twice by two servers, 10 minutes ago
                _commit("c-dup", 1, at=ago(days=1)),
                _commit("c-dup", 2, at=ago(minutes=10)),
                _commit("c-dup", 2, at=ago(minutes=9), server="s2"),
                # c-drift: conversation says 5, messages reach only 3
                _commit("c-drift", 3, at=ago(days=1)),
                # c-old-dup: duplicate 3 days ago (outside the 1h window)
                _commit("c-old-dup", 1, at=ago(days=3)),
                _commit("c-old-dup", 1, at=ago(days=3)),
                # app messages: c-ok 1,2,3 contiguous; c-gap 1,2,4 has a gap
                _app("c-ok", 1),
                _app("c-ok", 2),
                _app("c-ok", 3),
                _app("c-gap", 1),
                _app("c-gap", 2),
                _app("c-gap", 4),
                _commit("c-stale", 1, at=ago(days=20)),
            ],
        )
        conn.execute(
            schema.members.insert(),
            [
                {
                    "convo_id": "c-ok",
                    "member_did": "did:a",
                    "joined_at": ago(days=1),
                    "left_at": None,
                    "unread_count": 3,
                },
                {
                    "convo_id": "c-ok",
                    "member_did": "did:gone",
                    "joined_at": ago(days=1),
                    "left_at": ago(hours=2),
                    "unread_count": 7,
                },
                {
                    "convo_id": "c-ok",
                    "member_did": "did:left-clean",
                    "joined_at": ago(days=1),
                    "left_at": ago(hours=2),
                    "unread_count": 0,
                },
            ],
        )
        conn.execute(
            schema.meetings.insert(),
            [
                {
                    "meeting_id": "m-live",
                    "mc_id": "mc-1",
                    "status": "active",
                    "participant_count": 3,
                    "created_at": ago(minutes=30),
                    "updated_at": ago(minutes=1),
                },
                {
                    "meeting_id": "m-stuck",
                    "mc_id": "mc-1",
                    "status": "active",
                    "participant_count": 0,
                    "created_at": ago(hours=5),
                    "updated_at": ago(hours=3),
                },
                {
                    "meeting_id": "m-stuck2",
                    "mc_id": "mc-2",
                    "status": "active",
                    "participant_count": 0,
                    "created_at": ago(hours=6),
                    "updated_at": ago(hours=2),
                },
                {
                    "meeting_id": "m-ended",
                    "mc_id": "mc-1",
                    "status": "ended",
                    "participant_count": 0,
                    "created_at": ago(hours=9),
                    "updated_at": ago(hours=8),
                },
            ],
        )
        conn.execute(
            schema.meeting_controllers.insert(),
            [
                {
                    "id": "mc-1",
                    "region": "eu",
                    "capacity": 100,
                    "current_sessions": 2,
                    "last_heartbeat": ago(seconds=5),
                    "status": "active",
                },
                {
                    "id": "mc-2",
                    "region": "us",
                    "capacity": 100,
                    "current_sessions": 1,
                    "last_heartbeat": ago(minutes=10),
                    "status": "active",
                },
                {
                    "id": "mc-3",
                    "region": "us",
                    "capacity": 50,
                    "current_sessions": 0,
                    "last_heartbeat": None,
                    "status": "draining",
                },
            ],
        )
    engine.dispose()


@pytest.fixture
def engine(db_url):
    seed(db_url)
    eng = sql.connect(db_url)
    yield eng
    eng.dispose()


def q(engine, name, **params):
    return sql.query(engine, name, clock=clock, **params)


def records(frame, *columns):
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False)]


def test_duplicate_epochs_all_and_since(engine):
    assert records(q(engine, "duplicate_epochs"), "convo_id", "epoch", "count") == [
        ("c-dup", 2, 2),
        ("c-old-dup", 1, 2),
    ]
    recent = q(engine, "duplicate_epochs", since=ago(hours=1))
    assert records(recent, "convo_id", "epoch", "count") == [("c-dup", 2, 2)]
    assert q(engine, "duplicate_epoch_count_1h")["count"].tolist() == [1]


def test_duplicate_writers_lists_both_servers(engine):
    frame = q(engine, "duplicate_writers")
    row = frame[frame["convo_id"] == "c-dup"].iloc[0]
    assert (row["writers"], row["server_ids"]) == (2, "s1,s2")
    assert frame[frame["convo_id"] == "c-old-dup"].iloc[0]["writers"] == 1


def test_consistency_checks(engine):
    # Check 1: c-drift (5 vs 3), c-ok has commits 1,2 but app epoch 1 -> max 2 == 2 ok
    assert records(q(engine, "epoch_consistency"), "id", "current_epoch", "max_message_epoch") == [
        ("c-drift", 5, 3)
    ]
    assert records(q(engine, "sequence_gaps"), "convo_id", "message_count", "max_seq") == [
        ("c-gap", 3, 4)
    ]
    left = q(engine, "left_member_unread")
    assert records(left, "convo_id", "member_did", "unread_count") == [("c-ok", "did:gone", 7)]
    assert str(left["left_at"].dtype) == "datetime64[ns, UTC]"
    assert left["left_at"].iloc[0] == ago(hours=2)


def test_conversation_queries(engine):
    one = q(engine, "conversation", convo_id="c-drift")
    assert records(one, "id", "current_epoch") == [("c-drift", 5)]
    assert one["created_at"].iloc[0] == ago(days=1)
    assert q(engine, "conversation", convo_id="c-gap").empty
    orphan = q(engine, "conversation_orphans", convo_id="c-gap")
    assert records(orphan, "convo_id", "conversations", "members", "messages") == [
        ("c-gap", 0, 0, 3)
    ]
    missing = q(engine, "conversations_missing")
    assert records(missing, "convo_id", "messages") == [("c-gap", 3), ("c-old-dup", 2)]
    members = q(engine, "conversation_members", convo_id="c-ok")
    assert records(members, "member_did", "unread_count")[0] == ("did:a", 3)
    stale = q(engine, "stale_conversations")
    assert stale["id"].tolist() == ["c-stale"]
    assert stale["last_message_at"].iloc[0] == ago(days=20)


def test_a_pasted_id_is_bound_not_executed(engine):
    assert q(engine, "conversation", convo_id="x' OR '1'='1").empty


def test_meeting_queries(engine):
    assert q(engine, "active_meetings")["meeting_id"].tolist() == ["m-live", "m-stuck", "m-stuck2"]
    assert q(engine, "active_meetings", mc_id="mc-2")["meeting_id"].tolist() == ["m-stuck2"]
    assert q(engine, "stale_meetings")["meeting_id"].tolist() == ["m-stuck", "m-stuck2"]
    assert q(engine, "stale_meetings", mc_id="mc-1")["meeting_id"].tolist() == ["m-stuck"]
    assert q(engine, "meeting_controllers")["id"].tolist() == ["mc-1", "mc-2", "mc-3"]
    assert q(engine, "recent_heartbeats")["id"].tolist() == ["mc-1"]
    assert q(engine, "recent_heartbeats", cutoff=ago(hours=1))["id"].tolist() == ["mc-1", "mc-2"]


def test_indexes_on_both_dialects(engine):
    frame = q(engine, "indexes")
    assert "ix_messages_convo_created" in frame["index_name"].tolist()
    assert set(frame["table_name"]) <= {"messages", "members"}


def test_queries_are_read_only(engine):
    """Even a statement that writes cannot change anything through query()."""
    from mcops.sources import queries

    queries.QUERIES["sneaky_write"] = queries.NamedQuery(
        "sneaky_write", "test", "UPDATE conversations SET current_epoch = 99"
    )
    try:
        with pytest.raises(SourceQueryError, match=r"refused a write.*read-only"):
            q(engine, "sneaky_write")
    finally:
        del queries.QUERIES["sneaky_write"]
    assert 99 not in q(engine, "conversation", convo_id="c-ok")["current_epoch"].tolist()


def test_missing_table_names_it(db_url):
    if db_url.startswith("sqlite"):
        sqlite3.connect(db_url.removeprefix("sqlite:///")).close()  # the empty file
    engine = sql.connect(db_url)
    with pytest.raises(SourceQueryError, match=r"'messages' does not exist.*DATABASE_URL"):
        sql.query(engine, "duplicate_epochs")
    engine.dispose()


def test_postgres_only_queries(engine):
    if engine.dialect.name == "sqlite":
        with pytest.raises(SourceQueryError, match=r"not available on SQLite"):
            q(engine, "pg_activity_by_state")
        return
    states = q(engine, "pg_activity_by_state")
    assert list(states.columns) == ["state", "count"]
    assert q(engine, "pg_active_count")["count"].iloc[0] >= 1  # this very query
    with pytest.raises(SourceQueryError, match=r"pg_stat_statements"):
        q(engine, "slow_statements")


def test_parameter_errors(engine):
    with pytest.raises(ParameterError, match=r"needs convo_id"):
        q(engine, "conversation")
    with pytest.raises(ParameterError, match=r"not \['bogus'\]"):
        q(engine, "epoch_consistency", bogus=1)
    with pytest.raises(ParameterError, match=r"no named query"):
        q(engine, "drop_everything")


def test_statement_timeout(db_url):
    if db_url.startswith("sqlite"):
        sqlite3.connect(db_url.removeprefix("sqlite:///")).close()
    engine = sql.connect(db_url)
    from mcops.sources import queries

    queries.QUERIES["sleepy"] = queries.NamedQuery(
        "sleepy",
        "test",
        "SELECT pg_sleep(5) AS slept",
        dialects={
            "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
            "SELECT COUNT(*) AS n FROM c"
        },
    )
    try:
        with pytest.raises(SourceUnreachable, match=r"did not finish within 0.2s"):
            sql.query(engine, "sleepy", statement_timeout=0.2)
    finally:
        del queries.QUERIES["sleepy"]
        engine.dispose()


def test_connect_errors_redact_the_password(tmp_path):
    with pytest.raises(SourceConfigError, match=r"not a database URL"):
        sql.connect("nonsense")
    with pytest.raises(SourceConfigError, match=r"cannot be opened"):
        sql.connect(f"sqlite:///{tmp_path / 'missing.db'}")
    port = free_port()
    with pytest.raises(SourceUnreachable) as err:
        sql.connect(f"postgresql://ops:hunter2@127.0.0.1:{port}/catbird")
    assert "hunter2" not in str(err.value)
    assert "ops:***@127.0.0.1" in str(err.value)


@pytest.mark.postgres
def test_connect_errors_on_postgres(pg_url):
    base = pg_url.rsplit("/", 1)[0]
    with pytest.raises(SourceConfigError, match=r"does not exist.*database name"):
        sql.connect(f"{base}/no_such_db_mcops")
    host = base.split("@", 1)[1]
    with pytest.raises(SourceAuthError) as err:
        sql.connect(f"postgresql://nobody_mcops:s3cret@{host}/test")
    assert "s3cret" not in str(err.value) and "***" in str(err.value)


def test_redact_url():
    assert redact_url("postgresql://ops:s3cret@db/catbird") == "postgresql://ops:***@db/catbird"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"
    assert sql.normalise_url("postgres://u@h/d").drivername == "postgresql+psycopg"
