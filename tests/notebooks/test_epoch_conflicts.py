"""`mcops run epoch_conflicts`: real duplicates from the real server, planned, applied, idempotent.

The server runs with the ``actor_system_disabled`` fault, so concurrent addMembers race
on the legacy path and write duplicate commit epochs for real; the notebook then runs
through the `mcops` CLI on the same database: plan (nothing may change; the data fixes
are shown but blocked, step 1 comes first), apply while the actor system is still off
(refused before any change, audited), then — fault cleared — apply (duplicates gone,
epochs consistent, unique index, backup and audit in the evidence), and apply again
(nothing left to do). On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.notebooks.support import Run, mcops_run
from tests.server.helpers import concurrent
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

PASSWORD = "Epoch-s3cret-pw"
TOKEN_ENV = {"MCOPS_TEST_ADMIN_TOKEN": ADMIN_TOKEN}
XRPC = "/xrpc/blue.catbird.mls."
ALICE = "did:plc:alice"
ADDS = 10
INDEX = "uq_messages_convo_epoch_commit"
FAULT = "actor_system_disabled"
STEP_1 = "runbook 000 Handling Epoch Conflicts step 1 (verify ENABLE_ACTOR_SYSTEM=true)"
DATA_FIXES = ("delete_duplicate_commits", "reset_epoch", "add_unique_commit_epoch_index")

DUPLICATES = (
    "SELECT convo_id, epoch, COUNT(*) FROM messages WHERE message_type = 'commit' "
    "GROUP BY convo_id, epoch HAVING COUNT(*) > 1 ORDER BY convo_id, epoch"
)
# runbook 000 Check 1, written out here so the test does not trust mcops' own query
DRIFT = (
    "SELECT c.id, c.current_epoch, COALESCE(MAX(m.epoch), 0) FROM conversations c "
    "LEFT JOIN messages m ON c.id = m.convo_id GROUP BY c.id, c.current_epoch "
    "HAVING c.current_epoch != COALESCE(MAX(m.epoch), 0) ORDER BY c.id"
)


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def snapshot(url: str) -> dict[str, object]:
    """What the notebook may change: duplicates, every message id, every epoch, indexes."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                "duplicates": [tuple(r) for r in conn.execute(sa.text(DUPLICATES))],
                "drift": [tuple(r) for r in conn.execute(sa.text(DRIFT))],
                "message_ids": [r[0] for r in conn.execute(sa.text("SELECT id FROM messages"))],
                "epochs": sorted(
                    tuple(r)
                    for r in conn.execute(sa.text("SELECT id, current_epoch FROM conversations"))
                ),
                "indexes": sorted(
                    (i["name"], bool(i["unique"]), tuple(i["column_names"]))
                    for i in sa.inspect(conn).get_indexes("messages")
                ),
            }
    finally:
        engine.dispose()


def with_password(url: str) -> str:
    """The same PostgreSQL database with a password in the URL (trust auth ignores it)."""
    return url.replace("postgres@", f"postgres:{PASSWORD}@").replace(
        "postgresql+psycopg://", "postgresql://"
    )


def race_add_members(server, convo_id: str) -> None:
    """The runbook's FM3 for real: concurrent addMembers on the unserialised legacy path."""
    with server.client(ALICE) as alice:
        created = alice.post(
            XRPC + "createConvo", json={"convo_id": convo_id, "did_list": ["did:plc:bob"]}
        )
        assert created.status_code == 200, created.text
    calls = [
        (ALICE, "POST", XRPC + "addMembers", {"convo_id": convo_id, "did_list": [f"did:r{i}"]})
        for i in range(ADDS)
    ]
    assert {r.status_code for r in concurrent(server, calls)} == {200}


def fall_behind(server, url: str, convo_id: str) -> None:
    """A conversation whose stored epoch is behind its commits, as after restoring an old
    conversations backup: two real commits, then current_epoch set back to 0."""
    with server.client(ALICE) as alice:
        alice.post(XRPC + "createConvo", json={"convo_id": convo_id}).raise_for_status()
        for did in ("did:plc:x", "did:plc:y"):
            alice.post(
                XRPC + "addMembers", json={"convo_id": convo_id, "did_list": [did]}
            ).raise_for_status()
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE conversations SET current_epoch = 0 WHERE id = :id"), {"id": convo_id}
        )
    engine.dispose()


def epoch_conflicts(server, url: str, out: Path, *extra: str) -> Run:
    return mcops_run(
        "epoch_conflicts",
        out,
        "-p",
        f"service_url={server.url}",
        "-p",
        f"database_url={url}",
        "-p",
        f"log_source=file:{server.log_file}",
        "-p",
        "admin_token=env:MCOPS_TEST_ADMIN_TOKEN",
        *extra,
        env=TOKEN_ENV,
    )


def remediations(run: Run) -> dict[str, dict]:
    return {r["action"]: r for r in run.summary["remediations"]}


def audit_of(run: Run, *, intents: bool = False) -> list[dict]:
    """The audit's outcomes (with ``intents``: only the write-ahead records before them)."""
    path = run.out_dir / "audit.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if (r["result"] == "intent") is intents]


def set_fault(server, *, on: bool) -> None:
    """Runbook 000 step 1's state on the real server: the fault turns the actor system off."""
    with server.client() as admin:
        if on:
            admin.put("/admin/faults", json={FAULT: {}}).raise_for_status()
        else:
            admin.delete(f"/admin/faults/{FAULT}").raise_for_status()
        assert admin.get("/admin/config").json()["actor_system_enabled"] is (not on)


def test_plan_then_apply_then_nothing_left(db_url, tmp_path):
    url = with_password(db_url) if db_url.startswith("postgresql") else db_url
    with running_server(db_url) as server:
        set_fault(server, on=True)
        race_add_members(server, "convo-race")
        fall_behind(server, db_url, "convo-behind")
        before = snapshot(db_url)
        assert before["duplicates"], "the legacy path should have raced"
        extra_rows = sum(n - 1 for _, _, n in before["duplicates"])

        # (a) plan: the findings say what is wrong, the plans what would change; no change
        plan = epoch_conflicts(server, url, tmp_path / "plan")
        assert plan.exit_code == 0, plan.output
        assert snapshot(db_url) == before
        enabled = plan.finding("actor_system_enabled")
        assert enabled["level"] == "critical", enabled
        assert {r["signal"]: r["enabled"] for r in enabled["data"]}["actor_system_enabled"] is False
        dup = plan.finding("duplicate_epochs")
        assert dup["level"] == "critical"
        rows = [(r["convo_id"], r["epoch"], r["count"]) for r in dup["data"]]
        assert sorted(rows) == [tuple(d) for d in before["duplicates"]]
        assert [n for *_, n in rows] == sorted((n for *_, n in rows), reverse=True)  # worst first
        assert "last 1h" in dup["title"]
        # the legacy path's last writer may also leave convo-race behind its newest commit
        assert ("convo-behind", 0, 2) in before["drift"]
        drift = plan.finding("epoch_consistency")
        assert [
            (r["id"], r["current_epoch"], r["max_message_epoch"]) for r in drift["data"]
        ] == before["drift"]
        writers = plan.finding("duplicate_writers")
        assert writers["level"] == "info"  # one server instance wrote them all
        assert {r["server_ids"] for r in writers["data"]} == {f"test-{server.port}"}
        # FM3 cause 3, replication lag: our PostgreSQL is a primary without replicas
        lag = plan.finding("replication_lag")
        if db_url.startswith("postgresql"):
            assert (lag["level"], lag["title"]) == ("ok", "no replicas: not a cause"), lag
        else:
            assert lag["title"].startswith("not checked: database: SQLite has no replication")
        assert plan.finding("duplicates_removed")["level"] == "info"  # plan only
        assert plan.finding("new_duplicate_epochs")["level"] == "critical"
        planned = remediations(plan)
        assert {a: (r["mode"], r["changes"]) for a, r in planned.items()} == {
            "delete_duplicate_commits": ("plan", extra_rows),
            "reset_epoch": ("plan", len(before["drift"])),
            "add_unique_commit_epoch_index": ("plan", 1),
            "stop_stale_actors": ("plan", 0),  # the legacy path spawns no actors
        }
        assert plan.summary["severity"]["level"] == "SEV2"
        assert not (tmp_path / "plan" / "audit.jsonl").exists()
        # the data fixes wait for step 1: shown, but blocked by it; the actor restart is not
        for action in DATA_FIXES:
            (blocker,) = planned[action]["blocked_by"]
            assert blocker.startswith(f"{STEP_1} comes first, and it still fails"), blocker
            assert "fault actor_system_disabled is active" in blocker and "fix: " in blocker
        assert "blocked_by" not in planned["stop_stale_actors"]
        shown = (tmp_path / "plan" / "epoch_conflicts.html").read_text()
        assert f"{STEP_1} comes first" in shown and "Blocked:" in shown

        # (b) apply while the actor system is still off: refused, named, audited, no change
        refused = epoch_conflicts(server, url, tmp_path / "refused", "-p", "apply_remediation=True")
        assert refused.exit_code == 2, refused.output
        assert snapshot(db_url) == before
        assert refused.summary["status"] == "error"
        assert STEP_1 in refused.summary["error"]["message"]
        (dedupe,) = refused.summary["remediations"]  # the run stops at the first refusal
        assert (dedupe["action"], dedupe["mode"], dedupe["changes"]) == (
            "DeleteDuplicateCommits",
            "apply",
            0,
        )
        assert dedupe["error"].startswith("delete_duplicate_commits refused, nothing was changed")
        assert STEP_1 in dedupe["error"] and "set ENABLE_ACTOR_SYSTEM=true" in dedupe["error"]
        assert [(r["action"], r["result"]) for r in audit_of(refused)] == [
            ("delete_duplicate_commits", "refused")
        ]
        assert not list((tmp_path / "refused").glob("backup-*"))

        # (c) step 1 done (fault cleared): apply exactly the plan, backed up, audited, verified
        set_fault(server, on=False)
        applied = epoch_conflicts(server, url, tmp_path / "apply", "-p", "apply_remediation=True")
        assert applied.exit_code == 0, applied.output
        after = snapshot(db_url)
        assert after["duplicates"] == []
        assert len(after["message_ids"]) == len(before["message_ids"]) - extra_rows
        assert ("convo-behind", 2) in after["epochs"]
        assert (INDEX, True, ("convo_id", "epoch")) in after["indexes"]
        done = remediations(applied)
        assert done["delete_duplicate_commits"]["mode"] == "apply"
        assert done["delete_duplicate_commits"]["changes"] == extra_rows
        assert done["add_unique_commit_epoch_index"] == {
            **done["add_unique_commit_epoch_index"],
            "mode": "apply",
            "changes": 1,
        }
        assert after["drift"] == []
        assert (done["reset_epoch"]["mode"], done["reset_epoch"]["changes"]) == (
            "apply",
            len(before["drift"]),
        )
        backup = Path(done["delete_duplicate_commits"]["backup"])
        assert backup.parent == tmp_path / "apply" and backup.exists()
        saved = json.loads(backup.read_text())["tables"]["messages"]
        assert len(saved) == extra_rows
        assert {r["convo_id"] for r in saved} == {"convo-race"}
        reset_backup = json.loads(Path(done["reset_epoch"]["backup"]).read_text())
        assert sorted(
            (r["id"], r["current_epoch"]) for r in reset_backup["tables"]["conversations"]
        ) == [(convo, epoch) for convo, epoch, _ in before["drift"]]
        assert not any("blocked_by" in r for r in applied.summary["remediations"])
        assert {(r["action"], r["result"]) for r in audit_of(applied)} == {
            ("delete_duplicate_commits", "ok"),
            ("reset_epoch", "ok"),
            ("add_unique_commit_epoch_index", "ok"),
        }
        # write-ahead: each change's intent was recorded before it
        assert {r["action"] for r in audit_of(applied, intents=True)} == {
            r["action"] for r in audit_of(applied)
        }
        for check in ("duplicates_removed", "epochs_reset", "unique_epoch_index"):
            assert applied.finding(check)["level"] == "ok", applied.finding(check)
        assert applied.finding("new_duplicate_epochs")["level"] == "ok"

        # (d) apply again: nothing left to do, nothing changes
        again = epoch_conflicts(server, url, tmp_path / "again", "-p", "apply_remediation=True")
        assert again.exit_code == 0, again.output
        assert snapshot(db_url) == after
        assert {(r["mode"], r["changes"]) for r in again.summary["remediations"]} == {("apply", 0)}
        assert not (tmp_path / "again" / "audit.jsonl").exists()

        if db_url.startswith("sqlite"):  # once: without a database, step 1 still answers
            blind = epoch_conflicts(server, "", tmp_path / "blind", "-p", "apply_remediation=True")
            assert blind.exit_code == 0, blind.output
            assert blind.finding("actor_system_enabled")["level"] == "critical"
            assert blind.finding("duplicate_epochs")["title"].startswith("not checked")
            # no database, no database actions; the admin API one still plans
            assert [r["action"] for r in blind.summary["remediations"]] == ["stop_stale_actors"]
            assert "database_url is empty" in blind.summary["sources"]["database"]["detail"]

    for run in (plan, refused, applied, again):
        assert PASSWORD.encode() not in run.evidence_bytes()
        assert ADMIN_TOKEN.encode() not in run.evidence_bytes()
        assert PASSWORD not in run.output
