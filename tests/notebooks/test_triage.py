"""`mcops run triage` tells a healthy server from a faulty one, with a real Prometheus.

The server is the real process on SQLite; Prometheus is the real binary scraping it
every second; the notebook runs through the `mcops` CLI as an on-call engineer would.
"""

from __future__ import annotations

import time

import httpx
import pytest

from server.load import run_load_sync
from tests.notebooks.support import mcops_run, relaxed_latency_file
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, AUTH_SECRET, running_server

pytestmark = pytest.mark.slow

TOKEN_ENV = {"MCOPS_TEST_ADMIN_TOKEN": ADMIN_TOKEN}


def triage(server, prom_url: str, out_dir):
    thresholds = relaxed_latency_file(out_dir.parent)
    return mcops_run(
        "triage",
        out_dir,
        "-p",
        f"service_url={server.url}",
        "-p",
        f"prometheus_url={prom_url}",
        "-p",
        f"log_source=file:{server.log_file}",
        "-p",
        "admin_token=env:MCOPS_TEST_ADMIN_TOKEN",
        "-p",
        "window=10m",
        "-p",
        f"thresholds_file={thresholds}",
        env=TOKEN_ENV,
    )


def crash_a_conversation(server, convo_id: str, *, messages: int) -> None:
    """The runbook's FM1: every message to one conversation crashes its actor."""
    with server.client("did:plc:alice") as alice:
        created = alice.post(
            "/xrpc/blue.catbird.mls.createConvo",
            json={"convo_id": convo_id, "did_list": ["did:plc:bob"]},
        )
        assert created.status_code == 200, created.text
        with server.client() as admin:
            admin.put("/admin/faults", json={"crash_loop": {"convo_id": convo_id}})
        for _ in range(messages):
            alice.post(
                "/xrpc/blue.catbird.mls.sendMessage", json={"convo_id": convo_id, "ciphertext": "x"}
            )


def test_triage_classifies_a_healthy_and_then_a_faulty_server(sqlite_url, tmp_path):
    with (
        running_server(sqlite_url) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        report = run_load_sync(server.url, rate=30, duration=3, auth_secret=AUTH_SECRET)
        assert report.by_status.get("200", 0) > 0
        time.sleep(2)  # two more scrapes, so rates have samples

        healthy = triage(server, prom, tmp_path / "healthy")
        assert healthy.exit_code == 0, healthy.output
        levels = {f["check"]: f["level"] for f in healthy.summary["findings"]}
        assert {"health", "readiness", "error_logs", "key_metrics", "db_pool"} <= set(levels)
        not_ok = {f["check"]: f["title"] for f in healthy.summary["findings"] if f["level"] != "ok"}
        assert not not_ok, not_ok
        assert healthy.summary["severity"]["level"] == "SEV4"
        assert healthy.summary["sources"]["prometheus"]["state"] == "ok"

        crash_a_conversation(server, "convo-abc123", messages=8)
        faulty = triage(server, prom, tmp_path / "faulty")
        assert faulty.exit_code == 0, faulty.output
        errors = faulty.finding("error_logs")
        assert errors["level"] == "critical"
        assert any("Actor crashed" in row["pattern"] for row in errors["data"])
        severity = faulty.summary["severity"]
        assert severity["level"] == "SEV2"  # 000: high error rate, not "service down"
        assert severity["next_scenarios"][0] == "crash_loop"
        assert "mcops run crash_loop -p service_url=" in faulty.output  # the next command
        assert ADMIN_TOKEN.encode() not in faulty.evidence_bytes()


def test_triage_after_the_service_is_gone_says_so(tmp_path, sqlite_url):
    """Service down: health is critical (that is the answer), nothing else pretends."""
    with running_server(sqlite_url) as server:
        url, log = server.url, server.log_file
        with httpx.Client() as client:
            assert client.get(f"{url}/health").status_code == 200
        server.stop()
        run = mcops_run(
            "triage", tmp_path / "gone", "-p", f"service_url={url}", "-p", f"log_source=file:{log}"
        )
    assert run.exit_code == 0, run.output
    assert run.finding("health")["level"] == "critical"
    assert run.finding("readiness")["title"].startswith("not checked")
    assert run.finding("key_metrics")["title"].startswith("not checked")
    assert run.summary["severity"]["level"] == "SEV1"


def test_an_unreachable_prometheus_is_named_as_such_in_summary_json(tmp_path, sqlite_url):
    """Honest sources: a Prometheus nobody listens for is "refused", never "ok", and the
    checks it feeds say "not checked"; the run still judges what the service answered."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with running_server(sqlite_url) as server:
        run = mcops_run(
            "triage",
            tmp_path / "noprom",
            "-p",
            f"service_url={server.url}",
            "-p",
            f"prometheus_url=http://127.0.0.1:{closed}",
        )
    assert run.exit_code == 0, run.output
    sources = run.summary["sources"]
    assert sources["prometheus"]["state"] == "refused", sources
    assert "refused the connection" in sources["prometheus"]["detail"]
    assert sources["service"]["state"] == "ok"
    assert run.finding("key_metrics")["checked"] is False
    assert run.finding("health")["level"] == "ok"
