"""Conversations and meetings over real HTTP, on SQLite and PostgreSQL (one server each)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from server.load import run_load_sync
from tests.server.helpers import concurrent, logs, metric, rows, wait_for
from tests.support.server_process import AUTH_SECRET, ServerProcess, running_server

pytestmark = pytest.mark.slow
XRPC = "/xrpc/blue.catbird.mls."
ALICE, BOB, CAROL, MALLORY = (f"did:plc:{n}" for n in ("alice", "bob", "carol", "mallory"))


@pytest.fixture(scope="module")
def server(module_db_url: str) -> Iterator[ServerProcess]:
    with running_server(module_db_url, env={"MEETING_TIMEOUT": "1"}) as srv:
        yield srv


def create(server: ServerProcess, convo_id: str, *members: str) -> None:
    with server.client(ALICE) as c:
        r = c.post(XRPC + "createConvo", json={"convo_id": convo_id, "did_list": list(members)})
    assert r.status_code == 200, r.text
    assert r.json() == {"convo_id": convo_id, "epoch": 0}


def test_concurrent_add_members_get_consecutive_epochs(server, module_db_url):
    create(server, "epochs")
    calls = [
        (ALICE, "POST", XRPC + "addMembers", {"convo_id": "epochs", "did_list": [f"did:plc:m{i}"]})
        for i in range(20)
    ]
    responses = concurrent(server, calls)
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r.json()["new_epoch"] for r in responses) == list(range(1, 21))
    commits = rows(
        module_db_url,
        "SELECT epoch FROM messages WHERE convo_id = 'epochs' "
        "AND message_type = 'commit' ORDER BY epoch",
    )
    assert [e for (e,) in commits] == list(range(1, 21))
    assert rows(module_db_url, "SELECT current_epoch FROM conversations WHERE id = 'epochs'") == [
        (20,)
    ]
    assert rows(module_db_url, "SELECT COUNT(*) FROM members WHERE convo_id = 'epochs'") == [(21,)]
    messages = [line["msg"] for line in logs(server)]
    assert messages.count("Using actor system for add_members") >= 20
    assert "Members added, new epoch: 20 for conversation epochs" in messages


def test_seq_and_unread_counts(server, module_db_url):
    create(server, "chat", BOB, CAROL)
    with server.client(ALICE) as alice, server.client(BOB) as bob:
        seqs = [
            alice.post(
                XRPC + "sendMessage", json={"convo_id": "chat", "ciphertext": f"m{i}"}
            ).json()["seq"]
            for i in range(3)
        ]
        assert seqs == [1, 2, 3]
        assert (
            bob.post(XRPC + "sendMessage", json={"convo_id": "chat", "ciphertext": "hi"}).json()[
                "seq"
            ]
            == 4
        )
        assert bob.get(XRPC + "getUnreadCount", params={"convo_id": "chat"}).json() == {
            "convo_id": "chat",
            "unread_count": 3,
        }
        assert (
            alice.get(XRPC + "getUnreadCount", params={"convo_id": "chat"}).json()["unread_count"]
            == 1
        )
        assert bob.post(XRPC + "updateRead", json={"convo_id": "chat"}).json()["unread_count"] == 0
        assert (
            bob.get(XRPC + "getUnreadCount", params={"convo_id": "chat"}).json()["unread_count"]
            == 0
        )
    unread = dict(
        rows(module_db_url, "SELECT member_did, unread_count FROM members WHERE convo_id = 'chat'")
    )
    assert unread == {ALICE: 1, BOB: 0, CAROL: 4}
    seq_rows = rows(
        module_db_url,
        "SELECT seq FROM messages WHERE convo_id = 'chat' AND message_type = 'app' ORDER BY seq",
    )
    assert [s for (s,) in seq_rows] == [1, 2, 3, 4]
    with server.client(CAROL) as carol:
        assert carol.post(XRPC + "leaveConvo", json={"convo_id": "chat"}).json()["left"] is True
        assert carol.get(XRPC + "getEpoch", params={"convo_id": "chat"}).status_code == 403
    assert rows(
        module_db_url,
        "SELECT unread_count, left_at IS NOT NULL FROM members "
        "WHERE convo_id = 'chat' AND member_did = :d",
        d=CAROL,
    ) == [(0, True)]


def test_auth_and_bad_input_are_4xx(server):
    create(server, "private", BOB)
    url = server.url
    assert httpx.get(url + XRPC + "getEpoch", params={"convo_id": "private"}).status_code == 401
    bad = {"Authorization": "Bearer did:plc:alice.0000"}
    r = httpx.get(url + XRPC + "getEpoch", params={"convo_id": "private"}, headers=bad)
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    with server.client(MALLORY) as mallory:
        r = mallory.get(XRPC + "getEpoch", params={"convo_id": "private"})
        assert r.status_code == 403 and r.json()["error"] == "NotAMember"
        assert (
            mallory.post(
                XRPC + "sendMessage", json={"convo_id": "private", "ciphertext": "x"}
            ).status_code
            == 403
        )
        assert mallory.get("/admin/faults").status_code == 403
    with server.client(ALICE) as alice:
        r = alice.post(
            XRPC + "addMembers", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"] == "MalformedRequest"
        r = alice.post(XRPC + "addMembers", json={"convo_id": "private"})
        assert r.status_code == 422 and "did_list" in r.json()["message"]
        assert alice.post(XRPC + "addMembers", json=[1, 2]).status_code == 400
        assert alice.get(XRPC + "getEpoch").status_code == 422
        r = alice.get(XRPC + "getEpoch", params={"convo_id": "no-such-convo"})
        assert r.status_code == 404 and r.json()["error"] == "NotFound"
        r = alice.post(XRPC + "createConvo", json={"convo_id": "private"})
        assert r.status_code == 409
        assert alice.post(XRPC + "sendMessage", json={"convo_id": "private"}).status_code == 422
        assert (
            alice.post(
                XRPC + "addMembers", json={"convo_id": "private", "did_list": [BOB]}
            ).status_code
            == 409
        )
        assert alice.post("/meetings/nope/join", json={}).status_code == 404
    assert httpx.get(url + "/admin/config").status_code == 401


def test_meetings_relay_and_table(server, module_db_url):
    with server.client(ALICE) as alice, server.client(BOB) as bob:
        r = alice.post("/meetings", json={"meeting_id": "standup"})
        assert r.json() == {"meeting_id": "standup", "mc_id": "mc-local-1", "status": "active"}
        a = alice.post("/meetings/standup/join", json={}).json()["connection_id"]
        b = bob.post("/meetings/standup/join").json()["connection_id"]
        c = bob.post("/meetings/standup/join").json()["connection_id"]
        assert alice.post(
            "/meetings/standup/messages", json={"connection_id": a, "body": "hi"}
        ).json() == {"delivered": 2}
        assert rows(
            module_db_url,
            "SELECT status, participant_count, mc_id FROM meetings WHERE meeting_id = 'standup'",
        ) == [("active", 3, "mc-local-1")]
        assert metric(server, "mc_connections_active") == 3
        # another participant's connection cannot be used
        assert alice.post("/meetings/standup/leave", json={"connection_id": b}).status_code == 403
        assert (
            bob.post("/meetings/standup/leave", json={"connection_id": c}).json()["connections"]
            == 2
        )
        state = alice.get("/meetings/standup").json()
        assert state["status"] == "active" and state["participant_count"] == 2
        assert alice.post("/meetings/standup/end").json()["status"] == "ended"
        assert alice.post("/meetings/standup/join").status_code == 409
    assert rows(
        module_db_url, "SELECT status, participant_count FROM meetings WHERE meeting_id = 'standup'"
    ) == [("ended", 0)]


def test_meeting_without_connections_times_out(server, module_db_url):
    with server.client(ALICE) as alice:
        alice.post("/meetings", json={"meeting_id": "empty-room"}).raise_for_status()
    wait_for(
        lambda: (
            rows(module_db_url, "SELECT status FROM meetings WHERE meeting_id = 'empty-room'")
            == [("ended",)]
        ),
        timeout=10,
        what="MEETING_TIMEOUT to end the meeting",
    )


def test_controller_registration_and_heartbeats(server, module_db_url):
    (row,) = rows(module_db_url, "SELECT id, region, capacity, status FROM meeting_controllers")
    assert row == ("mc-local-1", "local", 100, "active")
    before = metric(server, "mc_gc_heartbeats_total", result="success")
    wait_for(
        lambda: metric(server, "mc_gc_heartbeats_total", result="success") >= before + 2,
        what="two more heartbeats",
    )
    assert metric(server, "mc_gc_registered") == 1
    assert metric(server, "mc_gc_heartbeat_duration_seconds_count") > 0


def test_admin_actors(server):
    create(server, "inspect", BOB)
    with server.client() as admin:
        listed = admin.get("/admin/actors", params={"actor_type": "conversation"}).json()
        assert {"actor_type": "conversation", "actor_id": "inspect"} in [
            {k: a[k] for k in ("actor_type", "actor_id")} for a in listed
        ]
        state = admin.get("/admin/actors/conversation/inspect").json()
        assert state["current_epoch"] == 0 and state["unread_counts"] == {ALICE: 0, BOB: 0}
        assert admin.delete("/admin/actors/conversation/inspect").json() == {"stopped": True}
        assert admin.get("/admin/actors/conversation/inspect").status_code == 404
        config = admin.get("/admin/config").json()
        assert config["enable_actor_system"] is True and config["database_max_connections"] == 10
        assert "admin_token" not in config and "auth_secret" not in config
        assert admin.post("/admin/gc/register").json()["registered"] is True
        stopped = admin.post("/admin/actors/stop-idle", json={"idle_seconds": 0}).json()["stopped"]
        assert stopped and all(set(s) == {"actor_type", "actor_id"} for s in stopped)
        assert admin.post("/admin/actors/stop-idle", json={"idle_seconds": "x"}).status_code == 422
    assert metric(server, "actor_registry_active_actors") == 0


def test_metrics_names(server):
    create(server, "named")
    with server.client(ALICE) as alice:
        alice.post(XRPC + "addMembers", json={"convo_id": "named", "did_list": [BOB]})
    text = httpx.get(server.url + "/metrics").text
    for name in (
        "actor_registry_active_actors",
        "actor_spawns_total",
        "actor_stops_total",
        "actor_messages_total",
        "actor_errors_total",
        "actor_message_duration_bucket",
        "actor_message_duration_p95",
        "actor_mailbox_size",
        "db_pool_connections_active",
        "db_pool_connections_idle",
        "db_pool_connections_max",
        "actor_epoch_conflicts_1h",
        "mc_actor_mailbox_depth",
        "mc_message_processing_duration_seconds_bucket",
        "mc_messages_dropped_total",
        "mc_meetings_active",
        "mc_connections_active",
        "mc_actor_panics_total",
        "mc_gc_heartbeats_total",
        "mc_gc_heartbeat_duration_seconds_bucket",
        "mc_gc_registered",
        "mc_meeting_capacity",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ):
        assert f"\n{name}" in text, name
    assert 'actor_message_duration_bucket{le="0.5",message_type="add_members"}' in text
    assert "_created" not in text


def test_load_generator(server):
    report = run_load_sync(
        server.url,
        rate=40,
        duration=1.5,
        auth_secret=AUTH_SECRET,
        conversations=3,
        meetings=1,
        seed=7,
    )
    assert report.requests >= 40
    assert report.by_status == {"200": report.requests}, report.table()
    assert {"send_message", "get_epoch", "create_convo", "join_meeting"} <= set(report.by_op)
    assert 0 < report.p50_ms <= report.p95_ms <= report.p99_ms
    assert "| send_message | 200 |" in report.table()


def test_restart_keeps_all_data(server, module_db_url):
    """Last in the module: restarts the shared server."""
    with server.client(ALICE) as alice:
        before = alice.get(XRPC + "getEpoch", params={"convo_id": "epochs"}).json()
    server.restart()
    with server.client(ALICE) as alice, server.client(BOB) as bob:
        assert alice.get(XRPC + "getEpoch", params={"convo_id": "epochs"}).json() == before
        assert (
            alice.post(
                XRPC + "sendMessage", json={"convo_id": "chat", "ciphertext": "again"}
            ).json()["seq"]
            == 5
        )
        assert (
            bob.get(XRPC + "getUnreadCount", params={"convo_id": "chat"}).json()["unread_count"]
            == 1
        )
        assert (
            alice.post(
                XRPC + "addMembers", json={"convo_id": "epochs", "did_list": ["did:plc:late"]}
            ).json()["new_epoch"]
            == 21
        )
        assert alice.get("/meetings/standup").json()["status"] == "ended"
    assert any(
        line["msg"] == "ConversationActor epochs starting at epoch 20" for line in logs(server)
    )
    # the SIGTERM of restart() shut down gracefully: actors stopped, then the engine
    messages = [line["msg"] for line in logs(server)]
    assert "Server stopped" in messages
    first_start = messages.index("Server started")
    assert (
        first_start
        < messages.index("Server stopped")
        < messages.index("Server started", first_start + 1)
    )
