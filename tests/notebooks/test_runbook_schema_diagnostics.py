"""The diagnostics on a database nobody here created: `mcops run db_consistency` and
`mcops run epoch_conflicts` against tables written from the runbooks alone
(`tests.support.runbook_schema`: extra columns, another order, no writer id, TEXT ids,
naive timestamps), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.notebooks.support import mcops_run
from tests.support.runbook_schema import create_runbook_schema, insert_rows

pytestmark = pytest.mark.slow

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def _message(id: int, cid: str, kind: str, epoch: int, seq: int | None = None) -> dict[str, Any]:
    return {"id": id, "convo_id": cid, "message_type": kind, "epoch": epoch, "seq": seq}


def seed(url: str) -> None:
    """A consistent conversation and one with a duplicate commit at epoch 2 and a left
    member still counting unread messages."""
    engine = sa.create_engine(url)
    try:
        create_runbook_schema(engine)
        insert_rows(
            engine,
            "conversations",
            [
                {"id": cid, "creator_did": "did:plc:a", "current_epoch": 2}
                | {"created_at": AT, "updated_at": AT}
                for cid in ("good", "dup")
            ],
        )
        rows = [
            _message(1, "good", "commit", 1),
            _message(2, "good", "commit", 2),
            _message(3, "good", "app", 2, 1),
            _message(4, "dup", "commit", 1),
            _message(5, "dup", "commit", 2),
            _message(6, "dup", "commit", 2),
        ]
        insert_rows(engine, "messages", [{**r, "created_at": AT} for r in rows])
        insert_rows(
            engine,
            "members",
            [{"convo_id": "dup", "member_did": "did:plc:gone", "left_at": AT, "unread_count": 4}],
        )
    finally:
        engine.dispose()


def test_db_consistency_on_the_runbook_schema(db_url, tmp_path):
    seed(db_url)
    run = mcops_run("db_consistency", tmp_path / "ev", "-p", f"database_url={db_url}")
    assert run.exit_code == 0, run.output
    assert run.summary["status"] == "ok"
    dup = run.finding("duplicate_epochs")
    assert dup["level"] == "critical"
    assert [(r["convo_id"], r["epoch"], r["count"]) for r in dup["data"]] == [("dup", 2, 2)]
    assert run.finding("epoch_consistency")["count"] == 0
    assert run.finding("sequence_gaps")["count"] == 0
    left = run.finding("left_member_unread")
    assert [(r["convo_id"], r["member_did"]) for r in left["data"]] == [("dup", "did:plc:gone")]
    assert all(f["checked"] for f in run.summary["findings"]), run.summary["findings"]


def test_epoch_conflicts_plans_the_fix_without_a_writer_id(db_url, tmp_path):
    """No ``messages.server_id`` here: the writers step is "not checked", never an error,
    and the runbook's main remediation is still planned on the real table."""
    seed(db_url)
    run = mcops_run("epoch_conflicts", tmp_path / "ev", "-p", f"database_url={db_url}")
    assert run.exit_code == 0, run.output
    summary = run.summary
    assert summary["status"] == "ok"
    assert run.finding("duplicate_epochs")["count"] == 1
    writers = run.finding("duplicate_writers")
    assert writers["level"] == "info" and writers["checked"] is False, writers
    planned = {r["action"]: r for r in summary["remediations"]}
    assert planned, summary["remediations"]
    assert all("error" not in r for r in summary["remediations"]), summary["remediations"]
