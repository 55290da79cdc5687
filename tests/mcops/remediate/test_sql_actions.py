"""Row actions on real SQLite and PostgreSQL, each on the lab server's schema and on one
written from the runbooks alone: plan is read-only, apply is exact and bounded, a second
apply is a no-op, undo restores the rows exactly (every column), and every apply —
including a failed one — leaves an audit record."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mcops.errors import RemediationError, ScopeExceeded, StalePlan
from mcops.remediate import (
    AuditLog,
    ClearLeftMemberUnread,
    DeleteDuplicateCommits,
    EndStaleMeetings,
    MarkController,
    RecreateConversation,
    ResetEpoch,
    SqlRowAction,
    run_action,
)
from mcops.remediate.backup import backup_table
from mcops.schema import (
    conversations,
    meeting_controllers,
    meetings,
    members,
    messages,
)
from tests.mcops.remediate.conftest import app, at, commit, convo, insert, snapshot

Factory = Callable[[sa.Engine, AuditLog, Path], SqlRowAction]


def seed(engine: sa.Engine) -> None:
    """Two conversations with every inconsistency the runbook fixes; c1 is in scope."""
    insert(engine, conversations, [convo("c1", 1), convo("c2", 0)])
    insert(
        engine,
        messages,
        [
            commit("c1", 1, 1, id=1),
            commit("c1", 2, 5, id=10),
            commit("c1", 2, 5, id=11),
            commit("c1", 2, 6, id=12),
            app("c1", 2, 1, 7, id=13),
            commit("c2", 4, 1, id=20),
            commit("c2", 4, 2, id=21),
            commit("c-missing", 3, 1, id=30),
        ],
    )
    insert(
        engine,
        members,
        [
            {
                "convo_id": "c1",
                "member_did": "did:plc:gone",
                "joined_at": at(0),
                "left_at": at(9),
                "unread_count": 3,
            },
            {
                "convo_id": "c1",
                "member_did": "did:plc:here",
                "joined_at": at(0),
                "left_at": None,
                "unread_count": 2,
            },
            {
                "convo_id": "c2",
                "member_did": "did:plc:gone",
                "joined_at": at(0),
                "left_at": at(9),
                "unread_count": 4,
            },
        ],
    )
    insert(
        engine,
        meeting_controllers,
        [
            {
                "id": "mc1",
                "region": "eu",
                "capacity": 100,
                "current_sessions": 5,
                "last_heartbeat": at(100),
                "status": "active",
            },
            {
                "id": "mc2",
                "region": "eu",
                "capacity": 100,
                "current_sessions": 1,
                "last_heartbeat": at(100),
                "status": "active",
            },
        ],
    )
    insert(
        engine,
        meetings,
        [
            {
                "meeting_id": "m1",
                "mc_id": "mc1",
                "status": "active",
                "participant_count": 0,
                "created_at": at(0),
                "updated_at": at(10),
            },
            {
                "meeting_id": "m2",
                "mc_id": "mc1",
                "status": "active",
                "participant_count": 3,
                "created_at": at(0),
                "updated_at": at(170),
            },
            {
                "meeting_id": "m3",
                "mc_id": "mc2",
                "status": "active",
                "participant_count": 0,
                "created_at": at(0),
                "updated_at": at(10),
            },
            {
                "meeting_id": "m4",
                "mc_id": "mc1",
                "status": "ended",
                "participant_count": 0,
                "created_at": at(0),
                "updated_at": at(10),
            },
            {
                "meeting_id": "m5",
                "mc_id": "mc1",
                "status": "active",
                "participant_count": 1,
                "created_at": at(0),
                "updated_at": at(20),
            },
        ],
    )


@dataclass(frozen=True)
class Case:
    make: Factory
    changes: int
    stale_sql: str | None
    """An UPDATE run between plan and apply that must make the plan stale."""
    fail_on: tuple[str, str, str, str]
    """(table, 'UPDATE'|'DELETE'|'INSERT', key column, key literal) of the last planned row."""


def _clock() -> dt.datetime:
    return at(180)


CASES = {
    "recreate_conversation": Case(
        lambda e, a, b: RecreateConversation(e, "c-missing", clock=_clock, audit=a, backup_dir=b),
        1,
        None,
        ("conversations", "INSERT", "id", "'c-missing'"),
    ),
    "reset_epoch": Case(
        lambda e, a, b: ResetEpoch(e, "c1", audit=a, backup_dir=b),
        1,
        "UPDATE conversations SET current_epoch = 7 WHERE id = 'c1'",
        ("conversations", "UPDATE", "id", "'c1'"),
    ),
    "delete_duplicate_commits": Case(
        lambda e, a, b: DeleteDuplicateCommits(e, "c1", audit=a, backup_dir=b),
        2,
        "UPDATE messages SET seq = 99 WHERE id = 12",
        ("messages", "DELETE", "id", "12"),
    ),
    "clear_left_member_unread": Case(
        lambda e, a, b: ClearLeftMemberUnread(e, "c1", audit=a, backup_dir=b),
        1,
        "UPDATE members SET unread_count = 9 WHERE convo_id = 'c1' AND left_at IS NOT NULL",
        ("members", "UPDATE", "convo_id", "'c1'"),
    ),
    "mark_controller": Case(
        lambda e, a, b: MarkController(e, "mc1", status="draining", audit=a, backup_dir=b),
        1,
        None,  # status is all it plans on: heartbeats may move (test_mark_controller_...)
        ("meeting_controllers", "UPDATE", "id", "'mc1'"),
    ),
    "end_stale_meetings": Case(
        lambda e, a, b: EndStaleMeetings(
            e, "mc1", older_than=dt.timedelta(hours=1), clock=_clock, audit=a, backup_dir=b
        ),
        2,
        "UPDATE meetings SET participant_count = 2 WHERE meeting_id = 'm1'",
        ("meetings", "UPDATE", "meeting_id", "'m5'"),
    ),
}

cases = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


def add_failing_trigger(engine: sa.Engine, table: str, op: str, col: str, val: str) -> None:
    """A real database error on one row, part-way through the transaction."""
    row = "NEW" if op == "INSERT" else "OLD"
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE {op} ON {table} WHEN {row}.{col} = {val} "
                "BEGIN SELECT RAISE(ABORT, 'boom: injected failure'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'boom: injected failure'; END $$"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE {op} ON {table} FOR EACH ROW "
                f"WHEN ({row}.{col} = {val}) EXECUTE FUNCTION boom()"
            )


@cases
def test_plan_changes_nothing_and_lists_the_rows(case, engine, audit, backups):
    seed(engine)
    before = snapshot(engine)
    plan = case.make(engine, audit, backups).plan()
    assert len(plan.changes) == case.changes
    assert snapshot(engine) == before
    assert not audit.path.exists(), "a plan alone writes no audit record"
    assert plan.action in str(plan) and '<table class="mcops-data">' in plan._repr_html_()
    report = run_action(case.make(engine, audit, backups), apply=False)
    assert report.result is None and report.mode == "plan"
    assert snapshot(engine) == before


@cases
def test_apply_is_exact_idempotent_and_undo_restores_rows(case, engine, audit, backups):
    seed(engine)
    before = snapshot(engine)
    action = case.make(engine, audit, backups)
    plan = action.plan()
    result = action.apply(plan)
    assert result.status == "applied" and result.changed == case.changes
    changed = snapshot(engine)
    diff = {t: set(changed[t]) ^ set(before[t]) for t in before}
    touched = sum(len(v) for v in diff.values())
    # each update shows as old+new row, each insert/delete as one row; nothing else moved
    assert 0 < touched <= 2 * case.changes
    assert action.plan().empty, "a fresh plan after apply is empty"
    again = action.apply(plan)
    assert again.status == "nothing_to_do" and again.changed == 0
    assert snapshot(engine) == changed
    undone = action.undo(result)
    assert undone.status == "undone"
    assert snapshot(engine) == before, "undo restores ids, values and timestamps exactly"
    records = audit.outcomes()
    assert [(r["mode"], r["result"]) for r in records] == [
        ("apply", "ok"),
        ("apply", "ok"),
        ("undo", "ok"),
    ]
    assert records[0]["plan_hash"] == plan.plan_hash and records[0]["changed"] == case.changes


@cases
def test_failed_apply_changes_nothing_and_is_audited(case, engine, audit, backups):
    seed(engine)
    add_failing_trigger(engine, *case.fail_on)
    before = snapshot(engine)
    action = case.make(engine, audit, backups)
    with pytest.raises(RemediationError) as err:
        action.apply(action.plan())
    assert err.value.changed == 0
    assert "nothing was changed" in str(err.value).lower()
    assert snapshot(engine) == before
    (record,) = audit.outcomes()
    assert record["result"] == "failed" and "boom" in record["error"]
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
    assert f"mcops_backup_{action.name}" not in tables or not _backup_rows(engine, action.name)


def _backup_rows(engine: sa.Engine, name: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(backup_table(name))).all()


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.stale_sql])
def test_stale_plan_is_refused_and_audited(name, engine, audit, backups):
    case = CASES[name]
    seed(engine)
    action = case.make(engine, audit, backups)
    plan = action.plan()
    with engine.begin() as conn:
        conn.exec_driver_sql(case.stale_sql)
    changed_by_someone = snapshot(engine)
    with pytest.raises(StalePlan):
        action.apply(plan)
    assert snapshot(engine) == changed_by_someone
    (record,) = audit.outcomes()
    assert record["result"] == "refused" and record["mode"] == "apply"


def test_delete_duplicates_backs_up_rows_in_table_and_file(engine, audit, backups):
    seed(engine)
    action = DeleteDuplicateCommits(engine, "c1", audit=audit, backup_dir=backups)
    plan = action.plan()
    assert [c["id"] for c in plan.changes] == [11, 12], "keeps the first by created_at, id"
    result = action.apply(plan)
    with engine.connect() as conn:
        left = conn.execute(sa.select(messages.c.id).order_by(messages.c.id)).scalars().all()
    assert left == [1, 10, 13, 20, 21, 30], "c2's duplicates are outside the scope"
    saved = _backup_rows(engine, action.name)
    assert sorted(json.loads(r.row_json)["id"] for r in saved) == [11, 12]
    doc = json.loads(Path(result.backup).read_text())
    assert [r["id"] for r in doc["tables"]["messages"]] == [11, 12]
    assert Path(result.backup).parent == backups


def test_bounds_and_wildcards_are_refused(engine, audit, backups):
    seed(engine)
    with pytest.raises(ScopeExceeded, match="max_rows=1"):
        DeleteDuplicateCommits(engine, max_rows=1, audit=audit).plan()
    with pytest.raises(ScopeExceeded):
        ResetEpoch(engine, "*", audit=audit)
    with pytest.raises(ScopeExceeded):
        ResetEpoch(engine, "", audit=audit)
    with pytest.raises(ScopeExceeded, match="exactly one"):
        ResetEpoch(engine, audit=audit)
    with pytest.raises(ScopeExceeded):
        MarkController(engine, "mc1", status="deleted", audit=audit)
    # all=True is the explicit bulk form; it is still bounded
    plan = ResetEpoch(engine, all=True, audit=audit).plan()
    assert sorted(c["id"] for c in plan.changes) == ["c1", "c2"]


def test_plan_for_another_target_is_refused(engine, audit, backups):
    seed(engine)
    plan_c1 = ResetEpoch(engine, "c1", audit=audit).plan()
    before = snapshot(engine)
    with pytest.raises(StalePlan, match="not reset_epoch"):
        ResetEpoch(engine, "c2", audit=audit).apply(plan_c1)
    assert snapshot(engine) == before


def test_reset_epoch_plan_lists_current_and_new(engine, audit):
    seed(engine)
    (change,) = ResetEpoch(engine, "c1", audit=audit).plan().changes
    assert change["current_epoch (now)"] == 1 and change["current_epoch (new)"] == 2


def test_recreate_after_concurrent_insert_is_nothing_to_do(engine, audit, backups):
    seed(engine)
    action = RecreateConversation(engine, "c-missing", audit=audit, backup_dir=backups)
    plan = action.plan()
    insert(engine, conversations, [{**convo("c-missing", 3), "creator_did": "did:plc:real"}])
    result = action.apply(plan)
    assert result.status == "nothing_to_do"
    with engine.connect() as conn:
        creator = conn.execute(
            sa.select(conversations.c.creator_did).where(conversations.c.id == "c-missing")
        ).scalar_one()
    assert creator == "did:plc:real"


def test_audit_record_names_operator_reason_and_hides_password(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("MCOPS_OPERATOR", "alice")
    monkeypatch.setenv("MCOPS_AUDIT_LOG", str(tmp_path / "env-audit.jsonl"))
    seed(engine)
    action = ResetEpoch(engine, "c1", reason="INC-42 epoch drift", backup_dir=tmp_path)
    report = run_action(action, apply=True)
    assert report.mode == "apply" and report.as_summary()["changes"] == 1
    (record,) = AuditLog().outcomes()
    assert record["who"] == "alice" and record["reason"] == "INC-42 epoch drift"
    assert record["when"].endswith("+00:00")
    assert record["before"]["count"] == 1 and record["after"]["rows"][0]["current_epoch"] == 2


def test_target_redacts_password():
    engine = sa.create_engine("postgresql+psycopg://ops:s3cret@127.0.0.1:1/x")
    action = ResetEpoch(engine, "c1")  # an engine handed in is used as given, unconnected
    assert "s3cret" not in action.target and "ops:***@" in action.target


def test_restore_backup_file_when_the_result_is_gone(engine, audit, backups):
    from mcops.remediate.sql_restore import RestoreBackup

    seed(engine)
    before = snapshot(engine)
    action = DeleteDuplicateCommits(engine, "c1", audit=audit, backup_dir=backups)
    result = action.apply(action.plan())
    restore = RestoreBackup(engine, result.backup, audit=audit, backup_dir=backups)
    plan = restore.plan()
    assert sorted(c["id"] for c in plan.changes) == [11, 12]
    assert {c["op"] for c in plan.changes} == {"insert"}
    restore.apply(plan)
    assert snapshot(engine) == before, "ids, values and timestamps restored from the file"
    assert restore.plan().empty


def test_mark_controller_ignores_heartbeats_between_plan_apply_and_undo(engine, audit, backups):
    """A live MC heartbeats every few seconds: that must neither stale the plan nor be
    rolled back by the undo (found when the server heartbeated between plan and apply)."""
    seed(engine)
    action = MarkController(engine, "mc1", status="draining", audit=audit, backup_dir=backups)
    plan = action.plan()

    def heartbeat(sessions: int) -> None:
        with engine.begin() as conn:
            conn.execute(
                meeting_controllers.update()
                .where(meeting_controllers.c.id == "mc1")
                .values(current_sessions=sessions, last_heartbeat=at(200 + sessions))
            )

    heartbeat(6)
    result = action.apply(plan)
    assert result.changed == 1
    heartbeat(7)
    action.undo(result)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(meeting_controllers).where(meeting_controllers.c.id == "mc1")
        ).one()
    assert (row.status, row.current_sessions) == ("active", 7)
