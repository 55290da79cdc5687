"""Fast tests of the server's pure parts, and the store against real databases."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta

import pytest

from server import logs
from server.auth import is_admin, user_token, verify_user_token
from server.config import Settings, SettingsError
from server.errors import Conflict, Invalid
from server.faults import validate_fault
from server.metrics import P95Window
from server.store.engine import async_url, create_engine, create_tables, pool_stats
from server.store.repository import Store, utcnow


def test_settings_from_env_and_public_view():
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://ops:hunter2@db/catbird",
            "ENABLE_ACTOR_SYSTEM": "false",
            "DATABASE_MAX_CONNECTIONS": "30",
            "LOG_LEVEL": "WARNING",
            "ADMIN_TOKEN": "adm",
            "FAULTS": '{"no_cleanup": {}}',
        }
    )
    assert (s.enable_actor_system, s.database_max_connections, s.log_level) == (False, 30, "warn")
    assert s.faults == {"no_cleanup": {}} and not s.admin_token_generated
    public = s.public()
    assert public["database_url"] == "postgresql://ops:***@db/catbird"
    assert "hunter2" not in json.dumps(public) and "adm" not in json.dumps(public)
    assert Settings.from_env({}).admin_token_generated


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_MAX_CONNECTIONS": "ten"},
        {"ENABLE_ACTOR_SYSTEM": "maybe"},
        {"LOG_LEVEL": "loud"},
        {"FAULTS": "[1]"},
        {"MESSAGE_TIMEOUT": "-1"},
    ],
)
def test_settings_errors_name_the_variable(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


def test_tokens():
    token = user_token("did:web:example.com", "s")
    assert verify_user_token(token, "s") == "did:web:example.com"
    assert verify_user_token(token, "other") is None
    assert verify_user_token("did:plc:a", "s") is None
    assert is_admin("adm", "adm") and not is_admin("adm2", "adm")


def test_async_url():
    assert async_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    with pytest.raises(ValueError, match="DATABASE_URL"):
        async_url("not a url")


def test_p95_window_forgets_old_samples():
    now = [0.0]
    window = P95Window(seconds=60, clock=lambda: now[0])
    for ms in range(1, 101):
        window.add("get_epoch", float(ms))
    assert window.p95() == {"get_epoch": 95.0}
    now[0] = 61.0
    window.add("get_epoch", 2.0)
    assert window.p95() == {"get_epoch": 2.0}


def test_fault_validation():
    assert validate_fault("slow_db", {"latency_ms": 5}) == {"latency_ms": 5.0}
    with pytest.raises(Invalid, match="unknown fault"):
        validate_fault("meteor", {})
    with pytest.raises(Invalid, match="rate"):
        validate_fault("gc_heartbeat_failure", {"rate": 1.5})
    with pytest.raises(Invalid, match="needs 'convo_id'"):
        validate_fault("crash_loop", {})


def test_log_lines_are_json_with_ids():
    out = io.StringIO()
    logs.configure(level="debug", stream=out)
    try:
        logs.get_logger("conversation").debug("Members added", convo_id="c1")
        logs.get_logger("conversation").trace("hidden at debug")
    finally:
        logs.configure(level="info", stream=io.StringIO())
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "DEBUG" and record["target"] == "conversation"
    assert record["msg"] == "Members added" and record["convo_id"] == "c1"
    assert record["ts"].endswith("+00:00")


def test_store_on_both_databases(db_url):
    async def scenario() -> None:
        engine = create_engine(db_url, max_connections=2)
        try:
            await create_tables(engine)
            store = Store(engine, server_id="t")
            await store.create_conversation("c", creator="a", member_dids=["b"])
            with pytest.raises(Conflict):
                await store.create_conversation("c", creator="a", member_dids=[])
            # two commits at the same epoch: what the legacy race writes
            await store.commit_add_members("c", sender="a", dids=["x"], epoch=1)
            await store.commit_add_members("c", sender="a", dids=["y"], epoch=1)
            assert await store.epoch_conflicts(since=utcnow() - timedelta(hours=1)) == 1
            assert await store.epoch_conflicts(since=utcnow() + timedelta(minutes=1)) == 0
            await store.insert_app_message("c", sender="a", epoch=1, seq=1, ciphertext="z")
            await store.increment_unread("c", sender="a")
            snap = await store.load_conversation("c")
            assert snap is not None
            assert (snap.current_epoch, snap.max_seq) == (1, 1)
            assert snap.unread == {"a": 0, "b": 1, "x": 1, "y": 1}
            await store.leave("c", did="b")
            assert await store.unread_count("c", did="b") is None
            await store.register_controller("mc", region="r", capacity=5, sessions=0)
            await store.register_controller("mc", region="r", capacity=5, sessions=1)
            assert await store.heartbeat("mc", sessions=2)
            assert not await store.heartbeat("other", sessions=0)
            stats = pool_stats(engine, max_connections=2)
            assert stats.active == 0 and stats.max == 2
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_cli_token(capsys):
    from server.__main__ import main

    assert main(["token", "did:plc:alice", "--auth-secret", "s"]) == 0
    assert capsys.readouterr().out.strip() == user_token("did:plc:alice", "s")
