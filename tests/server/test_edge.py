"""Hostile input at the HTTP edge: a 4xx, no SQL in any body, and a server that stays well.

Issue 12: each case an adversarial tester found answers what server/README.md "Limits"
promises, and afterwards /health answers and the panic counters stand still.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from server.auth import user_token
from server.config import Settings, SettingsError
from server.faults import FaultNotApplied, Faults
from tests.server.helpers import SQL_WORDS, crashes, logs, wait_for
from tests.support.server_process import AUTH_SECRET, ServerProcess, running_server

pytestmark = [
    pytest.mark.slow,
    # aiosqlite's worker thread may hand back a result after an in-process app's event
    # loop closed at teardown ("Event loop is closed"): the test's server is gone by then,
    # and pytest would report it against whichever test runs next
    pytest.mark.filterwarnings(
        "ignore:Exception in thread.*_connection_worker_thread"
        ":pytest.PytestUnhandledThreadExceptionWarning"
    ),
]
XRPC = "/xrpc/blue.catbird.mls."
ALICE, BOB = "did:plc:alice", "did:plc:bob"
MAX_BODY = 256 * 1024
ENV = {
    "DATABASE_MAX_CONNECTIONS": "3",
    "MESSAGE_TIMEOUT": "10",
    "POOL_TIMEOUT": "1",
    "MAX_BODY_BYTES": str(MAX_BODY),
    "MAX_DID_LIST": "100",
    "MEETING_INBOX_BYTES": "100000",
}


@pytest.fixture(scope="module")
def server(module_db_url: str) -> Iterator[ServerProcess]:
    """On SQLite and on PostgreSQL, which is the one that refuses a NUL byte."""
    with running_server(module_db_url, env=ENV) as srv:
        with srv.client(ALICE) as alice:
            alice.post(
                XRPC + "createConvo", json={"convo_id": "edge", "did_list": [BOB]}
            ).raise_for_status()
        yield srv


@pytest.fixture
def alice(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client(ALICE) as client:
        yield client


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
        for name in client.get("/admin/faults").json():
            client.delete(f"/admin/faults/{name}")


def refused(response: httpx.Response, status: int) -> dict:
    """Assert the status and that the body is our JSON error with no SQL in it."""
    assert response.status_code == status, response.text[:500]
    assert not any(word in response.text for word in SQL_WORDS), response.text[:500]
    body = response.json()
    assert set(body) >= {"error", "message"}
    return body


def still_well(server: ServerProcess, before: float) -> None:
    """Healthy, and no crash counter moves while nothing is sent."""
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    assert crashes(server) == before
    time.sleep(0.5)
    assert crashes(server) == before


def test_nul_and_over_long_ids_are_422_and_never_reach_an_actor(server, alice):
    before = crashes(server)
    for _ in range(20):
        refused(alice.get(XRPC + "getEpoch", params={"convo_id": "a\x00b"}), 422)
    refused(alice.post(XRPC + "createConvo", json={"convo_id": "nul\x00id"}), 422)
    refused(alice.post(XRPC + "sendMessage", json={"convo_id": "x\x01", "ciphertext": "c"}), 422)
    refused(alice.post(XRPC + "createConvo", json={"convo_id": "c" * 129}), 422)
    lone_surrogate = b'{"convo_id": "\\ud800"}'
    refused(alice.post(XRPC + "createConvo", content=lone_surrogate), 422)
    refused(alice.post("/meetings", json={"meeting_id": "m\x00"}), 422)
    refused(alice.post("/meetings/m%00/join"), 422)
    refused(alice.get("/meetings/" + "m" * 129), 422)
    with server.client() as admin:
        listed = admin.get("/admin/actors").json()
    assert not any("\x00" in a["actor_id"] for a in listed)
    still_well(server, before)


def test_bodies_beyond_max_body_bytes_are_413_and_not_stored(server, alice):
    before = crashes(server)
    big = "x" * (MAX_BODY + 1)
    r = alice.post(XRPC + "sendMessage", json={"convo_id": "edge", "ciphertext": big})
    refused(r, 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"convo_id": "edge", "ciphertext": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"y" * 1024
        yield b'"}'

    refused(alice.post(XRPC + "sendMessage", content=chunks()), 413)
    with httpx.Client(base_url=server.url, headers=server.user_headers(BOB)) as bob:
        unread = bob.get(XRPC + "getUnreadCount", params={"convo_id": "edge"}).json()
    assert unread["unread_count"] == 0  # nothing was stored
    still_well(server, before)


def test_a_declared_50_mb_body_is_refused_before_it_is_sent(server):
    """The answer comes from Content-Length alone: the server reads none of it."""
    parts = urlsplit(server.url)
    token = user_token(ALICE, AUTH_SECRET)
    head = (
        f"POST {XRPC}sendMessage HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode() + b'{"convo_id": "edge", "ciphertext": "')
        reply = sock.recv(65536).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]


def test_did_list_length_and_did_shape_are_bounded(server, alice):
    before = crashes(server)
    many = [f"did:plc:m{i}" for i in range(101)]
    body = refused(
        alice.post(XRPC + "addMembers", json={"convo_id": "edge", "did_list": many}), 422
    )
    assert "at most 100" in body["message"]
    for bad in ("d" * 300, "did:plc:" + "x" * 300, "did:plc:bad did", "did:plc:\x00", 7):
        refused(alice.post(XRPC + "addMembers", json={"convo_id": "edge", "did_list": [bad]}), 422)
    r = alice.post(XRPC + "addMembers", json={"convo_id": "edge", "did_list": many[:100]})
    assert r.status_code == 200
    long_did = "did:plc:" + "x" * 300
    with httpx.Client(base_url=server.url, headers=server.user_headers(long_did)) as caller:
        refused(caller.post(XRPC + "createConvo", json={}), 401)
    still_well(server, before)


def test_non_ascii_and_malformed_tokens_are_401(server):
    before = crashes(server)
    for value in (
        "Bearer did:plc:\u00e9.abc".encode("latin-1"),
        "Bearer \u00ff\u00fe".encode("latin-1"),
        b"Bearer .",
        b"Bearer did:plc:alice.",
        b"Bearer \xc3\xa9\xc3\xa9",
    ):
        headers = {"Authorization": value}
        refused(httpx.get(server.url + XRPC + "getEpoch?convo_id=edge", headers=headers), 401)
        refused(httpx.get(server.url + "/admin/config", headers=headers), 401)
    still_well(server, before)


def test_deeply_nested_json_is_400_before_the_parser_recurses(server, alice):
    before = crashes(server)
    deep = b'{"convo_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    body = refused(alice.post(XRPC + "createConvo", content=deep), 400)
    assert "deeper than" in body["message"]
    refused(alice.post(XRPC + "createConvo", content=b"[" * 100_000), 400)
    # brackets inside strings are not nesting
    r = alice.post(XRPC + "sendMessage", json={"convo_id": "edge", "ciphertext": "[" * 1000})
    assert r.status_code == 200
    still_well(server, before)


def test_meeting_relay_inbox_is_bounded_in_bytes(server, alice):
    before = crashes(server)
    alice.post("/meetings", json={"meeting_id": "relay"}).raise_for_status()
    sender = alice.post("/meetings/relay/join").json()["connection_id"]
    for _ in range(2):
        alice.post("/meetings/relay/join").raise_for_status()
    payload = "z" * 30_000
    for _ in range(10):
        r = alice.post("/meetings/relay/messages", json={"connection_id": sender, "body": payload})
        assert r.status_code == 200
    state = alice.get("/meetings/relay").json()
    assert 0 < state["queued_bytes"] <= 100_000
    assert state["dropped"] > 0
    too_big = "z" * 120_000  # under MAX_BODY_BYTES, over the whole inbox
    refused(
        alice.post("/meetings/relay/messages", json={"connection_id": sender, "body": too_big}),
        413,
    )
    still_well(server, before)


@pytest.mark.parametrize(
    "raw",
    [
        '{"slow_db": {"latency_ms": NaN}}',
        '{"slow_db": {"latency_ms": Infinity}}',
        '{"slow_db": {"latency_ms": 1e400}}',
        '{"gc_heartbeat_failure": {"rate": -Infinity}}',
        '{"memory_pressure": {"mb": 100000000}}',
        '{"memory_pressure": {"mb": ' + "9" * 400 + "}}",
        '{"pool_exhaustion": {"hold": -1}}',
        '{"crash_loop": {"convo_id": "a\\u0000b"}}',
        '{"slow_handling": {"actor_type": "conversation", "delay_ms": NaN}}',
    ],
)
def test_fault_parameters_must_be_finite_and_bounded(server, admin, raw):
    before = crashes(server)
    headers = {"Content-Type": "application/json"}
    refused(admin.put("/admin/faults", content=raw.encode(), headers=headers), 422)
    assert admin.get("/admin/faults").json() == {}
    assert admin.get("/admin/config").status_code == 200
    still_well(server, before)


def test_a_500_carries_a_correlation_id_and_no_exception_text(server, alice, admin):
    alice.post(XRPC + "createConvo", json={"convo_id": "doomed"}).raise_for_status()
    admin.put("/admin/faults", json={"crash_loop": {"convo_id": "doomed"}}).raise_for_status()
    r = alice.get(XRPC + "getEpoch", params={"convo_id": "doomed"})
    body = refused(r, 500)
    assert body["error"] == "ActorCrashed"
    assert "database transaction failed" not in r.text
    assert r.headers["X-Correlation-Id"] == body["correlation_id"]
    admin.delete("/admin/faults/crash_loop").raise_for_status()
    wait_for(
        lambda: any(line.get("correlation_id") == body["correlation_id"] for line in logs(server)),
        what="the log line of the 500",
    )
    line = next(
        line for line in logs(server) if line.get("correlation_id") == body["correlation_id"]
    )
    assert "database transaction failed" in line["backtrace"]


def test_pool_exhaustion_answers_503_with_retry_after_quickly(server, alice, admin):
    before = crashes(server)
    admin.put("/admin/faults", json={"pool_exhaustion": {"hold": 3}}).raise_for_status()
    started = time.monotonic()
    r = alice.post(XRPC + "sendMessage", json={"convo_id": "edge", "ciphertext": "waits"})
    elapsed = time.monotonic() - started
    body = refused(r, 503)
    assert body["error"] == "Unavailable" and r.headers["Retry-After"].isdigit()
    assert elapsed < 5, f"took {elapsed:.1f}s; POOL_TIMEOUT is 1s"
    r = alice.post(XRPC + "createConvo", json={"convo_id": "while-exhausted"})
    refused(r, 503)
    admin.delete("/admin/faults/pool_exhaustion").raise_for_status()
    r = alice.post(XRPC + "sendMessage", json={"convo_id": "edge", "ciphertext": "after"})
    assert r.status_code == 200
    still_well(server, before)


def test_an_actor_whose_start_keeps_failing_gives_up(tmp_path):
    """A stored state that cannot be loaded: a few restarts, one report, then quiet."""
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    with (
        running_server(url, env={"ACTOR_START_ATTEMPTS": "3"}) as srv,
        srv.client(ALICE) as alice,
        srv.client() as admin,
    ):
        alice.post(XRPC + "createConvo", json={"convo_id": "lost"}).raise_for_status()
        admin.delete("/admin/actors/conversation/lost").raise_for_status()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE conversations RENAME TO conversations_gone")
        engine.dispose()
        r = alice.get(XRPC + "getEpoch", params={"convo_id": "lost"})
        body = refused(r, 500)
        assert "correlation_id" in body and "conversations" not in r.text
        wait_for(
            lambda: any(line["msg"].startswith("Actor gave up") for line in logs(srv)),
            what="the give-up report",
        )
        settled = crashes(srv)
        assert settled == 3
        time.sleep(1.0)
        assert crashes(srv) == settled
        assert httpx.get(srv.url + "/health").status_code == 200
        assert not any(a["actor_id"] == "lost" for a in admin.get("/admin/actors").json())


def test_fault_whose_side_effect_fails_is_not_left_active():
    """Faults on an engine that cannot connect: pool_exhaustion fails and is rolled back."""

    async def go() -> None:
        engine = create_async_engine("sqlite+aiosqlite:////nonexistent-dir/x.db")
        faults = Faults(engine=engine, max_connections=2)
        with pytest.raises(FaultNotApplied) as raised:
            await faults.set_many({"pool_exhaustion": {"hold": 2}})
        assert raised.value.http_status == 503
        assert faults.active() == {}
        await engine.dispose()

    asyncio.run(go())


def test_settings_refuse_limits_the_schema_cannot_hold():
    with pytest.raises(SettingsError, match="MAX_ID_LENGTH"):
        Settings.from_env({"MAX_ID_LENGTH": "500"})
    with pytest.raises(SettingsError, match="POOL_TIMEOUT"):
        Settings.from_env({"MESSAGE_TIMEOUT": "5", "POOL_TIMEOUT": "5"})
    with pytest.raises(SettingsError, match="finite"):
        Settings.from_env({"MESSAGE_TIMEOUT": "nan"})
    assert Settings.from_env({"MESSAGE_TIMEOUT": "4"}).pool_timeout == 2.0
    assert json.dumps(Settings().public())  # every limit is shown by /admin/config


@pytest.mark.parametrize("raw", [b'{"idle_seconds": NaN}', b'{"idle_seconds": -Infinity}'])
def test_stop_idle_needs_a_finite_number(server, admin, raw):
    headers = {"Content-Type": "application/json"}
    refused(admin.post("/admin/actors/stop-idle", content=raw, headers=headers), 422)


def test_faults_from_the_environment_are_checked_like_the_api():
    with pytest.raises(SettingsError, match="finite"):
        Settings.from_env({"FAULTS": '{"slow_db": {"latency_ms": NaN}}'})
    assert Settings.from_env({"FAULTS": '{"slow_db": {"latency_ms": 5}}'}).faults == {
        "slow_db": {"latency_ms": 5.0}
    }
