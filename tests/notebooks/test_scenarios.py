"""Each runbook 000 alert opens a notebook that finds the injected fault, on the real server.

The server is the real process on SQLite with the fault injected through its admin API;
each notebook runs once through the `mcops` CLI, and the assertions read summary.json.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.notebooks.support import mcops_run
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, CREATE, SEND, running_server

pytestmark = pytest.mark.slow

TOKEN_ENV = {"MCOPS_TEST_ADMIN_TOKEN": ADMIN_TOKEN}


def common(server, *extra: str) -> list[str]:
    args = [
        f"service_url={server.url}",
        "admin_token=env:MCOPS_TEST_ADMIN_TOKEN",
        f"log_source=file:{server.log_file}",
        *extra,
    ]
    return [part for value in args for part in ("-p", value)]


def test_crash_loop_finds_the_crashing_conversation(sqlite_url, tmp_path):
    convo = "convo-abc123"
    with running_server(sqlite_url) as server:
        with server.client("did:plc:alice") as alice:
            assert alice.post(CREATE, json={"convo_id": "convo-fine"}).status_code == 200
            created = alice.post(CREATE, json={"convo_id": convo, "did_list": ["did:plc:bob"]})
            assert created.status_code == 200, created.text
            with server.client() as admin:
                admin.put("/admin/faults", json={"crash_loop": {"convo_id": convo}})
            statuses = {
                alice.post(SEND, json={"convo_id": convo, "ciphertext": "x"}).status_code
                for _ in range(8)
            }
            assert statuses == {500}
            assert alice.post(SEND, json={"convo_id": "convo-fine", "ciphertext": "x"}).is_success

        run = mcops_run(
            "crash_loop",
            tmp_path / "crash",
            *common(server, f"database_url={sqlite_url}", "window=10m"),
            env=TOKEN_ENV,
        )

    assert run.exit_code == 0, run.output
    loop = run.finding("crash_loop")
    assert loop["level"] == "critical"
    assert loop["data"][0]["convo_id"] == convo
    assert loop["data"][0]["pattern"] == "crash loop"
    assert [r["convo_id"] for r in loop["data"]] == [convo]
    spawn = run.finding("spawn_loop")
    assert spawn["level"] == "critical"
    assert [r["convo_id"] for r in spawn["data"]] == [convo]
    # the database state is fine: the fault is in the transaction, not the rows
    assert run.finding("conversation_state")["level"] == "ok"
    assert convo in run.finding("conversation_state")["title"]
    assert run.finding("missing_conversation")["level"] == "ok"
    assert run.finding("epoch_drift")["level"] == "ok"
    plans = {r["action"]: r for r in run.summary["remediations"]}
    assert set(plans) >= {"recreate_conversation", "reset_epoch", "stop_stale_actors"}
    assert all(r["mode"] == "plan" for r in plans.values())
    assert plans["recreate_conversation"]["changes"] == 0  # the row exists
    assert run.summary["severity"]["level"] in {"SEV1", "SEV2"}
    assert ADMIN_TOKEN.encode() not in run.evidence_bytes()


def flood(server, convo: str, *, messages: int) -> set[int]:
    """Concurrent sends to one slow conversation: its tiny mailbox overflows."""
    statuses: set[int] = set()
    headers = server.user_headers("did:plc:alice")

    def send() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            statuses.add(client.post(SEND, json={"convo_id": convo, "ciphertext": "x"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_mailbox_backlog_finds_dropped_messages(sqlite_url, tmp_path):
    env = {"ACTOR_MAILBOX_SIZE": "2"}
    with (
        running_server(sqlite_url, env=env) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        with server.client("did:plc:alice") as alice:
            assert alice.post(CREATE, json={"convo_id": "busy"}).status_code == 200
        with server.client() as admin:
            slow = {"slow_handling": {"actor_type": "conversation", "delay_ms": 300}}
            assert admin.put("/admin/faults", json=slow).status_code == 200
        statuses = flood(server, "busy", messages=16)
        assert 503 in statuses, statuses
        time.sleep(2.5)  # Prometheus scrapes the drops

        run = mcops_run(
            "mailbox_backlog",
            tmp_path / "backlog",
            *common(server, f"prometheus_url={prom}", f"database_url={sqlite_url}", "window=5m"),
            env=TOKEN_ENV,
        )

    assert run.exit_code == 0, run.output
    dropped = run.finding("messages_dropped")
    assert dropped["level"] == "critical"
    assert [r["actor_type"] for r in dropped["data"]] == ["conversation"]
    assert dropped["data"][0]["increase"] >= 1
    depth = run.finding("mailbox_depth")
    assert not depth["title"].startswith("not checked"), depth
    assert {r["actor_type"] for r in depth["data"]} >= {"conversation"}
    assert not run.finding("processing_vs_arrival")["title"].startswith("not checked")
    assert run.finding("db_pool")["level"] == "ok"
    # pg_stat_* views do not exist on SQLite: said so, not "all clear"
    assert run.finding("slow_queries")["title"].startswith("not checked")
    assert [r["action"] for r in run.summary["remediations"]] == ["add_runbook_indexes"]
    assert run.summary["severity"]["level"] in {"SEV1", "SEV2"}
    assert "mailbox_backlog" not in run.summary["severity"]["next_scenarios"]  # not itself


class ConversationLeak(threading.Thread):
    """Creates a conversation every ``every`` seconds until stopped: actors pile up."""

    def __init__(self, server, *, every: float) -> None:
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.created: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with self.server.client("did:plc:alice") as alice:
            while not self.halt.is_set():
                convo = f"leak-{len(self.created):03d}"
                if alice.post(CREATE, json={"convo_id": convo}).status_code == 200:
                    self.created.append(convo)
                self.halt.wait(self.every)


def test_memory_leak_sees_actors_pile_up_without_cleanup(sqlite_url, tmp_path):
    env = {"INACTIVITY_TIMEOUT": "1", "CLEANUP_INTERVAL": "1", "FAULTS": '{"no_cleanup": {}}'}
    with (
        running_server(sqlite_url, env=env) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        leak = ConversationLeak(server, every=0.25)
        leak.start()
        try:
            time.sleep(4)  # a few scrapes of a growing registry
            run = mcops_run(
                "memory_leak",
                tmp_path / "leak",
                *common(server, f"prometheus_url={prom}", f"database_url={sqlite_url}"),
                "-p",
                "window=20s",
                env=TOKEN_ENV,
            )
        finally:
            leak.halt.set()
            leak.join()

    assert run.exit_code == 0, run.output
    trend = run.finding("actor_count_trend")
    assert trend["level"] in {"warning", "critical"}, trend
    assert trend["data"][0]["slope_per_hour"] > 0
    assert not run.finding("memory_trend")["title"].startswith("not checked")
    stale = run.finding("stale_actors")
    assert stale["level"] == "warning", stale
    stale_ids = {r["actor_id"] for r in stale["data"]}
    assert stale_ids and stale_ids <= set(leak.created)
    assert run.finding("stale_conversations")["level"] == "ok"  # none is 7 days old
    (plan,) = run.summary["remediations"]
    assert plan["action"] == "stop_stale_actors" and plan["mode"] == "plan"
    assert plan["changes"] >= len(stale_ids) - 1 >= 1  # planned after the check, a moment later
