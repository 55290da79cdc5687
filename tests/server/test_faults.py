"""Each fault reproduces its runbook symptom in logs and metrics (one SQLite server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import concurrent, logs, metric, rows, wait_for
from tests.support.server_process import ServerProcess, running_server

pytestmark = pytest.mark.slow
XRPC = "/xrpc/blue.catbird.mls."
ALICE, BOB = "did:plc:alice", "did:plc:bob"
ENV = {
    "ACTOR_MAILBOX_SIZE": "4",
    "DATABASE_MAX_CONNECTIONS": "3",
    "INACTIVITY_TIMEOUT": "1",
    "CLEANUP_INTERVAL": "0.3",
    "EPOCH_CONFLICT_INTERVAL": "0.5",
    "GC_HEARTBEAT_INTERVAL": "0.2",
    "MESSAGE_TIMEOUT": "10",
}


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('faults') / 'mcops.db'}"


@pytest.fixture(scope="module")
def server(db_file: str) -> Iterator[ServerProcess]:
    with running_server(db_file, env=ENV) as srv:
        yield srv


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
        for name in client.get("/admin/faults").json():
            client.delete(f"/admin/faults/{name}")


def create(server: ServerProcess, convo_id: str) -> None:
    with server.client(ALICE) as c:
        c.post(
            XRPC + "createConvo", json={"convo_id": convo_id, "did_list": [BOB]}
        ).raise_for_status()


def test_fault_api_validates(admin):
    assert admin.put("/admin/faults", json={"nope": {}}).status_code == 422
    assert admin.put("/admin/faults", json={"slow_db": {}}).status_code == 422
    assert admin.put("/admin/faults", json={"cpu_burn": {"duty": 2}}).status_code == 422
    assert admin.put("/admin/faults", content=b"[").status_code == 400
    assert admin.delete("/admin/faults/slow_db").status_code == 404
    assert admin.put("/admin/faults", json={"no_cleanup": {}}).json() == {"no_cleanup": {}}
    assert admin.get("/admin/faults").json() == {"no_cleanup": {}}


def test_crash_loop(server, admin):
    create(server, "doomed")
    spawns = metric(server, "actor_spawns_total")
    admin.put("/admin/faults", json={"crash_loop": {"convo_id": "doomed"}}).raise_for_status()
    with server.client(ALICE) as alice:
        for _ in range(3):
            r = alice.get(XRPC + "getEpoch", params={"convo_id": "doomed"})
            assert r.status_code == 500 and r.json()["error"] == "ActorCrashed"
        admin.delete("/admin/faults/crash_loop").raise_for_status()
        wait_for(
            lambda: alice.get(XRPC + "getEpoch", params={"convo_id": "doomed"}).status_code == 200,
            what="recovery after the fault",
        )
    lines = [(line["level"], line["msg"]) for line in logs(server)]
    assert (
        lines.count(("ERROR", "Actor crashed: database transaction failed for conversation doomed"))
        == 3
    )
    assert lines.count(("INFO", "Spawning new actor for conversation doomed")) >= 3
    assert metric(server, "actor_spawns_total") >= spawns + 3
    assert metric(server, "actor_errors_total", error_type="crash") >= 3


def test_slow_db_raises_p95(server, admin):
    create(server, "sluggish")
    admin.put("/admin/faults", json={"slow_db": {"latency_ms": 80}}).raise_for_status()
    with server.client(ALICE) as alice:
        for i in range(12):
            alice.post(
                XRPC + "sendMessage", json={"convo_id": "sluggish", "ciphertext": str(i)}
            ).raise_for_status()
    assert metric(server, "actor_message_duration_p95", message_type="send_message") >= 80


def test_pool_exhaustion(server, admin):
    assert httpx.get(server.url + "/ready").status_code == 200
    admin.put("/admin/faults", json={"pool_exhaustion": {"hold": 3}}).raise_for_status()
    assert metric(server, "db_pool_connections_active") == 3
    assert metric(server, "db_pool_connections_max") == 3
    r = httpx.get(server.url + "/ready")
    assert r.status_code == 503 and r.json()["checks"]["pool"].startswith("exhausted")
    admin.delete("/admin/faults/pool_exhaustion").raise_for_status()
    assert httpx.get(server.url + "/ready").status_code == 200


def test_no_cleanup_keeps_idle_actors(server, admin):
    create(server, "lingering")
    wait_for(lambda: not _live(admin, "lingering"), what="the sweep to stop the idle actor")
    admin.put("/admin/faults", json={"no_cleanup": {}}).raise_for_status()
    with server.client(ALICE) as alice:
        alice.get(XRPC + "getEpoch", params={"convo_id": "lingering"}).raise_for_status()
    time.sleep(2.0)  # twice INACTIVITY_TIMEOUT, several CLEANUP_INTERVALs
    assert _live(admin, "lingering")
    admin.delete("/admin/faults/no_cleanup").raise_for_status()
    wait_for(lambda: not _live(admin, "lingering"), what="cleanup to resume")


def _live(admin: httpx.Client, convo_id: str) -> bool:
    listed = admin.get("/admin/actors", params={"actor_type": "conversation"}).json()
    return any(a["actor_id"] == convo_id for a in listed)


def test_meeting_panic(server, admin):
    with server.client(ALICE) as alice:
        alice.post("/meetings", json={"meeting_id": "boom"}).raise_for_status()
        conn = alice.post("/meetings/boom/join").json()["connection_id"]
        admin.put(
            "/admin/faults", json={"meeting_panic": {"meeting_id": "boom"}}
        ).raise_for_status()
        r = alice.post("/meetings/boom/messages", json={"connection_id": conn, "body": "x"})
        assert r.status_code == 500
    assert metric(server, "mc_actor_panics_total", actor_type="meeting") >= 1
    panics = [line for line in logs(server) if line["msg"].startswith("Actor panicked: ")]
    assert panics and panics[0]["msg"].endswith(" for meeting boom")
    assert panics[0]["level"] == "ERROR" and panics[0]["meeting_id"] == "boom"
    assert "Traceback" in panics[0]["backtrace"] and "on_receive" in panics[0]["backtrace"]


def test_slow_handling_fills_the_mailbox(server, admin):
    create(server, "backlog")
    dropped = metric(server, "mc_messages_dropped_total", actor_type="conversation")
    admin.put(
        "/admin/faults", json={"slow_handling": {"actor_type": "conversation", "delay_ms": 400}}
    ).raise_for_status()
    depths: list[float] = []

    def watch() -> None:
        time.sleep(0.3)
        depths.append(metric(server, "mc_actor_mailbox_depth", actor_type="conversation"))

    import threading

    watcher = threading.Thread(target=watch)
    watcher.start()
    calls = [(ALICE, "GET", XRPC + "getEpoch", {"convo_id": "backlog"})] * 12
    responses = concurrent(server, calls)
    watcher.join()
    statuses = sorted(r.status_code for r in responses)
    assert 503 in statuses and 200 in statuses, statuses
    assert all(r.json()["error"] == "MailboxFull" for r in responses if r.status_code == 503)
    assert depths and depths[0] > 0
    assert metric(server, "mc_messages_dropped_total", actor_type="conversation") >= (
        dropped + statuses.count(503)
    )
    assert metric(server, "actor_errors_total", error_type="mailbox_full") >= statuses.count(503)


def test_gc_heartbeat_failure(server, admin):
    failures = metric(server, "mc_gc_heartbeats_total", result="failure")
    admin.put("/admin/faults", json={"gc_heartbeat_failure": {"rate": 1.0}}).raise_for_status()
    wait_for(
        lambda: metric(server, "mc_gc_heartbeats_total", result="failure") >= failures + 3,
        what="failed heartbeats",
    )
    assert any(line["msg"].startswith("GC heartbeat failed") for line in logs(server))


def test_memory_pressure(server, admin):
    before = metric(server, "process_resident_memory_bytes")
    admin.put("/admin/faults", json={"memory_pressure": {"mb": 100}}).raise_for_status()
    assert metric(server, "process_resident_memory_bytes") >= before + 80 * 2**20


def test_cpu_burn(server, admin):
    before = metric(server, "process_cpu_seconds_total")
    admin.put("/admin/faults", json={"cpu_burn": {"duty": 0.9}}).raise_for_status()
    time.sleep(1.5)
    assert metric(server, "process_cpu_seconds_total") >= before + 0.3


def test_actor_system_disabled_writes_duplicate_epochs(server, admin, db_file):
    create(server, "racy")
    admin.put("/admin/faults", json={"actor_system_disabled": {}}).raise_for_status()
    assert admin.get("/admin/config").json()["actor_system_enabled"] is False
    calls = [
        (ALICE, "POST", XRPC + "addMembers", {"convo_id": "racy", "did_list": [f"did:plc:r{i}"]})
        for i in range(20)
    ]
    assert {r.status_code for r in concurrent(server, calls)} == {200}
    duplicates = rows(
        db_file,
        "SELECT epoch, COUNT(*) FROM messages WHERE convo_id = 'racy' "
        "AND message_type = 'commit' GROUP BY epoch HAVING COUNT(*) > 1",
    )
    assert duplicates, "the legacy path should race"
    msgs = [line["msg"] for line in logs(server)]
    assert msgs.count("Using legacy path for add_members") >= 20
    wait_for(
        lambda: metric(server, "actor_epoch_conflicts_1h") >= 1,
        what="actor_epoch_conflicts_1h to see the duplicates",
    )
    admin.delete("/admin/faults/actor_system_disabled").raise_for_status()
    with server.client(ALICE) as alice:
        epoch = alice.get(XRPC + "getEpoch", params={"convo_id": "racy"}).json()["epoch"]
        assert (
            alice.post(
                XRPC + "addMembers", json={"convo_id": "racy", "did_list": ["did:x"]}
            ).json()["new_epoch"]
            == epoch + 1
        )


def test_legacy_path_from_environment(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    with running_server(url, env={"ENABLE_ACTOR_SYSTEM": "false"}) as srv:
        create(srv, "old")
        with srv.client(ALICE) as alice:
            assert [
                alice.post(
                    XRPC + "sendMessage", json={"convo_id": "old", "ciphertext": "x"}
                ).json()["seq"]
                for _ in range(2)
            ] == [1, 2]
        calls = [
            (ALICE, "POST", XRPC + "addMembers", {"convo_id": "old", "did_list": [f"did:plc:o{i}"]})
            for i in range(10)
        ]
        concurrent(srv, calls)
        assert metric(srv, "actor_registry_active_actors") == 0
        with srv.client() as admin:
            assert admin.get("/admin/config").json()["enable_actor_system"] is False
    assert (
        rows(
            url,
            "SELECT COUNT(*) FROM (SELECT epoch FROM messages WHERE message_type = "
            "'commit' GROUP BY epoch HAVING COUNT(*) > 1) d",
        )[0][0]
        >= 1
    )


@pytest.mark.postgres
def test_ready_is_503_while_the_database_refuses_connections(pg_url):
    from benchmarks.fault_suite import allow_connections

    name = pg_url.rsplit("/", 1)[1]

    def set_connectable(allowed: bool) -> None:
        allow_connections(name, allowed)

    try:
        with running_server(pg_url) as srv:
            assert httpx.get(srv.url + "/ready").status_code == 200
            set_connectable(False)
            r = httpx.get(srv.url + "/ready", timeout=10)
            assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unreachable")
            assert httpx.get(srv.url + "/health").status_code == 200
            set_connectable(True)
            wait_for(
                lambda: httpx.get(srv.url + "/ready").status_code == 200,
                what="readiness after the database accepts connections again",
            )
    finally:
        set_connectable(True)
