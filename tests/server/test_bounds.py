"""Nothing hangs: idle and half-sent connections, a locked controller row, a bad
DATABASE_URL; nothing is miscounted: unread for a member added while messages queue."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.server.helpers import metric, wait_for
from tests.support.ports import free_port
from tests.support.postgres import fresh_database
from tests.support.server_process import ADMIN_TOKEN, ServerProcess, running_server

pytestmark = pytest.mark.slow
XRPC = "/xrpc/blue.catbird.mls."
ALICE, BOB, CAROL = "did:plc:alice", "did:plc:bob", "did:plc:carol"


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mcops.db'}"


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Read until the server closes (True) or ``seconds`` pass (False); what was sent."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


# -- connections -----------------------------------------------------------------------


@pytest.fixture
def bounded_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"HTTP_REQUEST_TIMEOUT": "1", "HTTP_KEEPALIVE_TIMEOUT": "1"}
    with running_server(_sqlite(tmp_path), env=env) as srv:
        yield srv


def test_idle_half_sent_and_kept_alive_connections_are_closed(bounded_server):
    address = ("127.0.0.1", bounded_server.port)
    idle = [socket.create_connection(address) for _ in range(60)]
    half = [socket.create_connection(address) for _ in range(20)]
    for sock in half:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    kept = [socket.create_connection(address) for _ in range(5)]
    for sock in kept:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    started = time.monotonic()
    try:
        for sock in idle + kept:
            closed, _ = _closed_within(sock, 5.0)
            assert closed, "an idle connection was still open after 5 s (bound: 1 s)"
        for sock in half:
            closed, sent = _closed_within(sock, 5.0)
            assert closed and sent.startswith(b"HTTP/1.1 408"), sent
        assert time.monotonic() - started < 6.0
    finally:
        for sock in idle + half + kept:
            sock.close()
    assert httpx.get(f"{bounded_server.url}/health", timeout=5).status_code == 200


def test_a_slow_body_is_cut_off(bounded_server):
    with socket.create_connection(("127.0.0.1", bounded_server.port)) as sock:
        sock.sendall(
            b"POST /xrpc/blue.catbird.mls.sendMessage HTTP/1.1\r\nHost: x\r\n"
            b'content-type: application/json\r\ncontent-length: 100\r\n\r\n{"convo'
        )
        closed, _ = _closed_within(sock, 5.0)
        assert closed


def test_connections_beyond_the_cap_get_503_and_the_server_recovers(tmp_path):
    env = {"HTTP_MAX_CONNECTIONS": "20", "HTTP_REQUEST_TIMEOUT": "2"}
    with running_server(_sqlite(tmp_path), env=env) as srv:
        address = ("127.0.0.1", srv.port)
        held = [socket.create_connection(address) for _ in range(20)]
        try:
            time.sleep(0.3)
            with socket.create_connection(address) as extra:
                closed, sent = _closed_within(extra, 2.0)
                assert closed and sent.startswith(b"HTTP/1.1 503"), sent
            # the held ones time out (2 s), and then the server answers again
            wait_for(lambda: _status(f"{srv.url}/health") == 200, timeout=10, what="/health after")
        finally:
            for sock in held:
                sock.close()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


# -- the controller heartbeat against a locked row -------------------------------------


@pytest.mark.postgres
def test_a_locked_controller_row_makes_the_mc_not_ready_until_released():
    with (
        fresh_database() as url,
        running_server(url, env={"GC_HEARTBEAT_INTERVAL": "0.5"}) as srv,
    ):
        assert httpx.get(f"{srv.url}/ready", timeout=5).status_code == 200
        failures = metric(srv, "mc_gc_heartbeats_total", result="failure")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(
                    sa.text("SELECT * FROM meeting_controllers WHERE id = :id FOR UPDATE"),
                    {"id": "mc-local-1"},
                )
                # timeout 5 s (the floor), stale after 3 x 0.5 + 5 s: within 12 s
                wait_for(
                    lambda: (
                        _status(f"{srv.url}/ready") == 503
                        and metric(srv, "mc_gc_heartbeats_total", result="failure") > failures
                    ),
                    timeout=12,
                    what="not ready while the row is locked",
                )
                ready = httpx.get(f"{srv.url}/ready", timeout=5).json()
                assert ready["checks"]["database"] == "ok", ready
                # the row is there, it has gone late (004 Scenario 6): not "unregistered"
                assert metric(srv, "mc_gc_registered") == 1
                conn.rollback()  # releases the lock
            wait_for(
                lambda: _status(f"{srv.url}/ready") == 200 and metric(srv, "mc_gc_registered") == 1,
                timeout=8,
                what="ready again after the lock is released",
            )
        finally:
            engine.dispose()


# -- unread for a member added while messages queue ------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_member_added_while_messages_queue_counts_only_later_messages(tmp_path, backend):
    if backend == "sqlite":
        _unread_after_queued_add(_sqlite(tmp_path))
    else:
        with fresh_database() as url:
            _unread_after_queued_add(url)


def _unread_after_queued_add(db_url: str) -> None:
    with running_server(db_url) as srv:
        with srv.client(ALICE) as alice:
            alice.post(
                XRPC + "createConvo", json={"convo_id": "queued", "did_list": [BOB]}
            ).raise_for_status()
        with srv.client() as admin:
            admin.put(
                "/admin/faults",
                json={"slow_handling": {"actor_type": "conversation", "delay_ms": 300}},
            ).raise_for_status()
        asyncio.run(_three_messages_then_carol(srv))
        with srv.client() as admin:
            admin.delete("/admin/faults/slow_handling").raise_for_status()
        assert _unread(srv, CAROL) == 0  # joined after the three messages
        assert _unread(srv, BOB) == 3
        with srv.client(BOB) as bob:
            bob.post(XRPC + "sendMessage", json={"convo_id": "queued", "ciphertext": "4"})
        wait_for(lambda: _unread(srv, CAROL) == 1, timeout=5, what="carol counts message 4")
        assert _unread(srv, ALICE) == 1  # she sent the first three
        # the database agrees with memory: a reloaded actor reads the same counts
        with srv.client() as admin:
            admin.delete("/admin/actors/conversation/queued").raise_for_status()
        assert (_unread(srv, ALICE), _unread(srv, BOB), _unread(srv, CAROL)) == (1, 3, 1)


async def _three_messages_then_carol(srv: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
        sends = [
            asyncio.create_task(
                client.post(
                    XRPC + "sendMessage",
                    json={"convo_id": "queued", "ciphertext": str(n)},
                    headers=srv.user_headers(ALICE),
                )
            )
            for n in range(3)
        ]
        await asyncio.sleep(0.15)  # the sends are queued behind the slow first one
        added = await client.post(
            XRPC + "addMembers",
            json={"convo_id": "queued", "did_list": [CAROL]},
            headers=srv.user_headers(ALICE),
        )
        assert added.status_code == 200, added.text
        for response in await asyncio.gather(*sends):
            assert response.status_code == 200, response.text


def _unread(srv: ServerProcess, did: str) -> int:
    with srv.client(did) as client:
        reply = client.get(XRPC + "getUnreadCount", params={"convo_id": "queued"})
        reply.raise_for_status()
        return int(reply.json()["unread_count"])


# -- a bad DATABASE_URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("not a url", "is not a URL"),
        ("mysql://user@127.0.0.1/db", "scheme 'mysql'"),
        ("postgresql://user:pw@127.0.0.1:notaport/db", "cannot be parsed"),
        ("postgresql://postgres@127.0.0.1:1/test", "cannot connect"),
        ("postgresql://nobody:wrong@127.0.0.1:5432/test", "refused the login"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db_here", "does not exist"),
        ("sqlite:////no/such/dir/mcops.db", "cannot be opened"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(url, named):
    env = {**os.environ, "DATABASE_URL": url, "ADMIN_TOKEN": ADMIN_TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert named in lines[0] and "DATABASE_URL" in lines[0], lines[0]
    assert "wrong" not in lines[0]  # the password is masked


# -- descriptors -----------------------------------------------------------------------


def test_600_idle_sockets_do_not_starve_a_server_with_512_descriptors(tmp_path):
    """The tester's case: the server keeps answering (503 while full, then 200)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _sqlite(tmp_path),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "HTTP_REQUEST_TIMEOUT": "2",
        "LOG_FILE": str(tmp_path / "server.log"),
    }

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=low_fd_limit,
    )
    url = f"http://127.0.0.1:{port}/health"
    sockets: list[socket.socket] = []
    try:
        wait_for(lambda: _status(url) == 200, timeout=30, what="the server to start")
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(600)]
        assert _status(url) in (200, 503)  # answered either way, never a hang
        wait_for(lambda: _status(url) == 200, timeout=10, what="/health with 600 idle sockets")
        assert proc.poll() is None
    finally:
        for sock in sockets:
            sock.close()
        proc.terminate()
        proc.wait(timeout=15)
