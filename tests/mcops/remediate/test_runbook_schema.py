"""mcops's own view of the runbook tables (`mcops.schema`) on databases it did not create:
backups keep the columns the runbooks never name and restores write them back; an
optional column is used only where it exists; a table lacking what the runbooks name is
refused before any change, with the fix."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from mcops.errors import SourceQueryError
from mcops.remediate import ClearLeftMemberUnread, DeleteDuplicateCommits, RestoreBackup
from mcops.remediate.backup import backup_table
from mcops.schema import (
    OPTIONAL_COLUMNS,
    TABLES,
    SchemaMismatch,
    real_tables,
    require_optional,
)
from server.store import schema as lab_schema
from tests.mcops.remediate.conftest import at, commit, convo, insert, snapshot
from tests.support.runbook_schema import EXTRA_COLUMNS, create_runbook_schema

RUNBOOK_COLUMNS = {
    "conversations": {"id", "creator_did", "current_epoch", "created_at", "updated_at"},
    "members": {"convo_id", "member_did", "left_at", "unread_count"},
    "messages": {"id", "convo_id", "message_type", "epoch", "seq", "created_at"},
    "meetings": {"meeting_id", "mc_id", "status", "participant_count", "created_at", "updated_at"},
    "meeting_controllers": {
        "id",
        "region",
        "capacity",
        "current_sessions",
        "last_heartbeat",
        "status",
    },
}


def seed(engine: sa.Engine) -> None:
    insert(engine, "conversations", [convo("c1", 2)])
    insert(
        engine,
        "messages",
        [commit("c1", 1, 1, id=1), commit("c1", 2, 5, id=10), commit("c1", 2, 6, id=11)],
    )
    insert(
        engine,
        "members",
        [
            {
                "convo_id": "c1",
                "member_did": "did:plc:gone",
                "joined_at": at(0),
                "left_at": at(9),
                "unread_count": 3,
            }
        ],
    )


def test_mcops_names_only_the_runbook_columns_and_the_lab_has_them_all():
    assert {name: set(t.c.keys()) for name, t in TABLES.items()} == RUNBOOK_COLUMNS
    for name, table in TABLES.items():
        lab = lab_schema.metadata.tables[name]
        assert set(table.c.keys()) <= set(lab.c.keys()), f"the lab's {name} lacks a column"


@pytest.fixture
def runbook_engine(db_url):
    engine = sa.create_engine(db_url)
    create_runbook_schema(engine)
    yield engine
    engine.dispose()


def test_backup_keeps_the_extra_columns_and_restore_writes_them_back(
    runbook_engine, audit, backups
):
    engine = runbook_engine
    seed(engine)
    before = snapshot(engine)
    action = DeleteDuplicateCommits(engine, "c1", audit=audit, backup_dir=backups)
    result = action.apply(action.plan())
    assert result.changed == 1

    (row,) = json.loads(Path(result.backup).read_text())["tables"]["messages"]
    assert set(EXTRA_COLUMNS["messages"]) <= set(row), "the file keeps every real column"
    assert "server_id" not in row, "nor invents one the table lacks"
    assert (row["id"], row["client_ref"]) == (11, "ref-11")
    assert base64.b64decode(row["payload"]) == b"bytes 11"
    with engine.connect() as conn:
        (saved,) = conn.execute(sa.select(backup_table(action.name))).all()
    assert json.loads(saved.row_json)["client_ref"] == "ref-11", "and so does the table copy"

    restore = RestoreBackup(engine, result.backup, audit=audit, backup_dir=backups)
    restore.apply(restore.plan())
    assert snapshot(engine) == before, "client_ref and payload written back exactly"
    assert restore.plan().empty


def test_undo_of_an_update_restores_the_extra_columns(runbook_engine, audit, backups):
    engine = runbook_engine
    seed(engine)
    before = snapshot(engine)
    action = ClearLeftMemberUnread(engine, "c1", audit=audit, backup_dir=backups)
    result = action.apply(action.plan())
    (row,) = json.loads(Path(result.backup).read_text())["tables"]["members"]
    assert row["role"] == "role-did:plc:gone"
    action.undo(result)
    assert snapshot(engine) == before


def test_optional_writer_id_is_known_per_table(engine, schema_kind):
    assert "server_id" in OPTIONAL_COLUMNS["messages"]
    with engine.connect() as conn:
        assert real_tables(engine).has(conn, "messages", "server_id") is (schema_kind == "server")


def test_a_table_lacking_a_runbook_column_is_refused_with_the_fix(db_url, audit, backups):
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE messages (id INTEGER PRIMARY KEY, convo_id TEXT, "
                "message_type TEXT, created_at TIMESTAMP, seq INTEGER)"
            )
        action = DeleteDuplicateCommits(engine, "c1", audit=audit, backup_dir=backups)
        with pytest.raises(SchemaMismatch, match=r"lacks the column\(s\) \['epoch'\]") as err:
            action.plan()
        assert "fix:" in str(err.value) and err.value.missing == ("epoch",)
        with pytest.raises(SchemaMismatch, match="no table 'members'"):
            ClearLeftMemberUnread(engine, all=True, audit=audit).plan()
    finally:
        engine.dispose()


def test_require_optional_says_not_checked_where_the_column_is_absent(engine, schema_kind):
    if schema_kind == "server":
        require_optional(engine, "messages", "server_id")  # present: no complaint
        return
    with pytest.raises(SourceQueryError, match=r"messages\.server_id is not in this database"):
        require_optional(engine, "messages", "server_id")
    with pytest.raises(ValueError, match="not an optional column"):
        require_optional(engine, "messages", "epoch")
