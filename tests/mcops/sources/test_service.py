"""ServiceSource against a real HTTP server on a loopback port (http.server in a thread).

The handler imitates the server's documented contract (server/README.md): /health,
/ready (503 with failing checks), /admin/* behind a bearer token.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mcops.errors import SourceAuthError, SourceConfigError, SourceQueryError, SourceUnreachable
from mcops.sources.service import ServiceSource
from tests.support.ports import free_port, refusing_port

TOKEN = "admin-token-for-tests"
ACTORS = [
    {
        "actor_type": "conversation",
        "actor_id": "c1",
        "mailbox_depth": 3,
        "idle_seconds": 1.5,
        "restarts": 0,
    },
    {
        "actor_type": "meeting",
        "actor_id": "m/1",
        "mailbox_depth": 40,
        "idle_seconds": 0.1,
        "restarts": 2,
    },
]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/health":
            return self.reply(200, {"status": "ok"})
        if url.path == "/ready":
            return self.reply(503, {"status": "not ready", "checks": {"database": "down"}})
        if not url.path.startswith("/admin/"):
            return self.reply(404, {"error": "NotFound", "message": "no such path"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(401, {"error": "Unauthorized", "message": "admin token required"})
        if url.path == "/admin/config":
            return self.reply(200, {"enable_actor_system": True, "database_max_connections": 10})
        if url.path == "/admin/actors":
            kind = parse_qs(url.query).get("actor_type", [None])[0]
            return self.reply(200, [a for a in ACTORS if kind in (None, a["actor_type"])])
        if url.path == "/admin/actors/meeting/m%2F1":
            return self.reply(200, {"meeting_id": "m/1", "connections": ["k1"], "epoch": 3})
        return self.reply(404, {"error": "NotFound", "message": "unknown actor"})


@pytest.fixture
def service_url():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_health_reports_each_endpoint(service_url):
    with ServiceSource(service_url) as svc:
        frame = svc.health()
    assert frame[["endpoint", "status_code", "ok"]].values.tolist() == [
        ["/health", 200, True],
        ["/ready", 503, False],
    ]
    assert frame.loc[1, "body"]["checks"] == {"database": "down"}
    assert (frame["latency_ms"] > 0).all()


def test_admin_views(service_url):
    with ServiceSource(service_url, admin_token=TOKEN) as svc:
        actors = svc.actors()
        assert actors["actor_id"].tolist() == ["c1", "m/1"]
        assert svc.actors("meeting")["mailbox_depth"].tolist() == [40]
        assert svc.actor_state("meeting", "m/1")["connections"] == ["k1"]
        assert svc.config()["enable_actor_system"] is True
        with pytest.raises(SourceQueryError, match=r"404.*unknown actor"):
            svc.actor_state("meeting", "nope")


def test_admin_without_or_with_wrong_token(service_url):
    with ServiceSource(service_url) as svc, pytest.raises(SourceAuthError, match=r"admin_token"):
        svc.config()
    with (
        ServiceSource(service_url, admin_token="wrong") as svc,
        pytest.raises(SourceAuthError, match=r"401"),
    ):
        svc.actors()


def test_unreachable_and_bad_url():
    with (
        refusing_port() as port,
        ServiceSource(f"http://127.0.0.1:{port}") as svc,
        pytest.raises(SourceUnreachable, match=r"refused the connection.*fix: check service_url"),
    ):
        svc.health()
    with pytest.raises(SourceConfigError, match=r"not an http"):
        ServiceSource("localhost:8080")


@pytest.mark.slow
def test_against_the_real_actor_server(tmp_path):
    """The real server (server/, as a child process): health, admin views, scrape, logs."""
    from mcops.sources import histogram_quantile, read_logs, scrape
    from tests.support.server_process import ADMIN_TOKEN, running_server

    with running_server(f"sqlite:///{tmp_path / 's.db'}", workdir=tmp_path / "srv") as srv:
        with srv.client("did:plc:alice") as user:
            convo = user.post(
                "/xrpc/blue.catbird.mls.createConvo", json={"did_list": ["did:plc:bob"]}
            ).json()["convo_id"]
            for _ in range(3):
                user.post(
                    "/xrpc/blue.catbird.mls.sendMessage",
                    json={"convo_id": convo, "ciphertext": "x"},
                ).raise_for_status()
        with ServiceSource(srv.url, admin_token=ADMIN_TOKEN) as svc:
            assert svc.health()["ok"].tolist() == [True, True]
            actors = svc.actors("conversation")
            assert convo in actors["actor_id"].tolist()
            state = svc.actor_state("conversation", convo)
            assert state["unread_counts"]["did:plc:bob"] == 3
            assert "enable_actor_system" in svc.config()
        frame = scrape(srv.url)
        p95 = histogram_quantile(0.95, frame, by=["message_type"])
        assert "send_message" in p95["message_type"].tolist()
        assert (p95["value"] > 0).all()
        logs = read_logs(f"file:{srv.log_file}")
        spawned = logs[logs["msg"].str.startswith("Spawning new actor", na=False)]
        assert spawned["conversation_ref"].tolist() == [convo]
        assert logs.attrs["malformed"] == 0
