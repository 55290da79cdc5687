"""Index actions on real SQLite and PostgreSQL (CONCURRENTLY outside a transaction on
PostgreSQL, INVALID leftovers rebuilt), and the unique commit-epoch index that refuses
while duplicates exist."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mcops.errors import RemediationError, StalePlan
from mcops.remediate import ActionRefused
from mcops.remediate.sql_indexes import (
    RUNBOOK_INDEXES,
    AddRunbookIndexes,
    AddUniqueCommitEpochIndex,
)
from mcops.schema import messages
from tests.mcops.remediate.conftest import commit, insert, snapshot

NAMES = {s.name for s in RUNBOOK_INDEXES}


def index_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        return {i["name"] for t in ("messages", "members") for i in insp.get_indexes(t)}


def test_runbook_indexes_plan_apply_idempotent_undo(engine, audit):
    insert(engine, messages, [commit("c1", 1, 1, id=1)])
    rows_before = snapshot(engine)
    action = AddRunbookIndexes(engine, audit=audit)
    plan = action.plan()
    assert {c["index"] for c in plan.changes} == NAMES and not (index_names(engine) & NAMES)
    if engine.dialect.name == "postgresql":
        assert all("CONCURRENTLY" in c["will"] for c in plan.changes)
    result = action.apply(plan)
    assert result.changed == 3 and index_names(engine) >= NAMES
    assert action.plan().empty
    assert action.apply(plan).status == "nothing_to_do"
    action.undo(result)
    assert not (index_names(engine) & NAMES)
    assert snapshot(engine) == rows_before
    assert [r["result"] for r in audit.outcomes()] == ["ok", "ok", "ok"]


def test_only_missing_indexes_are_planned_and_a_stale_plan_is_refused(engine, audit):
    action = AddRunbookIndexes(engine, audit=audit)
    plan = action.plan()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE INDEX idx_members_convo_active ON members (convo_id) WHERE left_at IS NULL"
        )
    with pytest.raises(StalePlan):
        action.apply(plan)
    assert index_names(engine) & NAMES == {"idx_members_convo_active"}
    fresh = action.plan()
    assert {c["index"] for c in fresh.changes} == NAMES - {"idx_members_convo_active"}
    result = action.apply(fresh)
    action.undo(result)
    assert index_names(engine) & NAMES == {"idx_members_convo_active"}, "undo drops only its own"


def test_failed_build_is_audited_and_says_what_was_built(engine, audit):
    # A table squatting on the third index's name: a real DDL failure part-way.
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE idx_messages_convo_seq (x INTEGER)")
    action = AddRunbookIndexes(engine, audit=audit)
    with pytest.raises(RemediationError) as err:
        action.apply(action.plan())
    (record,) = audit.outcomes()
    assert record["result"] == "failed" and "idx_messages_convo_seq" in record["error"]
    if engine.dialect.name == "postgresql":
        # CONCURRENTLY cannot roll back: the two built before the error stay, and it says so
        assert err.value.changed == 2 and "Built and kept" in str(err.value)
        assert index_names(engine) & NAMES == {
            "idx_messages_convo_epoch",
            "idx_members_convo_active",
        }
    else:
        assert err.value.changed == 0 and not (index_names(engine) & NAMES)


@pytest.mark.postgres
def test_invalid_leftover_is_dropped_and_rebuilt(pg_url, audit):
    from server.store import schema

    engine = sa.create_engine(pg_url)
    try:
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(RUNBOOK_INDEXES[0].create_sql(concurrently=False))
            conn.exec_driver_sql(
                "UPDATE pg_index SET indisvalid = false "
                "WHERE indexrelid = 'idx_messages_convo_epoch'::regclass"
            )
        action = AddRunbookIndexes(engine, audit=audit)
        plan = action.plan()
        (first,) = [c for c in plan.changes if c["index"] == "idx_messages_convo_epoch"]
        assert first["now"] == "invalid" and "drop invalid leftover" in first["will"]
        action.apply(plan)
        with engine.connect() as conn:
            valid = conn.exec_driver_sql(
                "SELECT indisvalid FROM pg_index "
                "WHERE indexrelid = 'idx_messages_convo_epoch'::regclass"
            ).scalar_one()
        assert valid is True
    finally:
        engine.dispose()


def test_unique_index_refuses_while_duplicates_exist(engine, audit):
    insert(engine, messages, [commit("c1", 2, 1, id=1), commit("c1", 2, 2, id=2)])
    action = AddUniqueCommitEpochIndex(engine, audit=audit)
    plan = action.plan()
    assert "DeleteDuplicateCommits" in plan.refusal and "Refused" in plan._repr_html_()
    with pytest.raises(ActionRefused, match="delete duplicates first"):
        action.apply(plan)
    assert audit.outcomes()[-1]["result"] == "refused"
    assert "uq_messages_convo_epoch_commit" not in index_names(engine)


def test_unique_index_then_duplicates_are_impossible_and_undo_drops_it(engine, audit):
    insert(engine, messages, [commit("c1", 1, 1, id=1), commit("c1", 2, 2, id=2)])
    action = AddUniqueCommitEpochIndex(engine, audit=audit)
    result = action.apply(action.plan())
    assert result.changed == 1
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, messages, [commit("c1", 2, 3, id=3)])
    insert(engine, messages, [{**commit("c1", 2, 3, id=4), "message_type": "app", "seq": 1}])
    action.undo(result)
    insert(engine, messages, [commit("c1", 2, 3, id=5)])  # allowed again after undo
