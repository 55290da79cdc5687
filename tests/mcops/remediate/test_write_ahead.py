"""Nothing is lost (issue 12): the audit is written ahead of the change, and apply
writes exactly the rows its plan fingerprinted — on real SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from mcops.errors import ActionRefused, StalePlan
from mcops.remediate import AuditLog, ResetEpoch
from tests.mcops.remediate.conftest import snapshot
from tests.mcops.remediate.test_sql_actions import seed


@pytest.mark.parametrize("blocker", ["directory", "file_as_parent"])
def test_an_audit_that_cannot_be_written_changes_nothing(engine, tmp_path, blocker):
    seed(engine)
    if blocker == "directory":  # a directory where the audit file should be
        path = tmp_path / "audit.jsonl"
        path.mkdir()
    else:  # a file where the audit's directory should be
        (tmp_path / "evidence").write_text("not a directory")
        path = tmp_path / "evidence" / "audit.jsonl"
    action = ResetEpoch(engine, "c1", audit=AuditLog(path), backup_dir=tmp_path / "b")
    plan = action.plan()
    assert not plan.empty
    before = snapshot(engine)
    with pytest.raises(ActionRefused, match=r"nothing was changed: the audit log .* cannot be"):
        action.apply(plan)
    assert snapshot(engine) == before
    assert not (tmp_path / "b").exists()  # not even a backup was taken


def test_the_intent_is_on_disk_before_the_change(engine, audit, backups):
    seed(engine)
    seen: list[list[str]] = []
    action = ResetEpoch(engine, "c1", audit=audit, backup_dir=backups)
    write = action._write

    def spy(conn, change):  # at the moment of the write, the intent is already recorded
        seen.append([r["result"] for r in audit.records()])
        return write(conn, change)

    action._write = spy  # type: ignore[method-assign]
    plan = action.plan()
    action.apply(plan)
    assert seen == [["intent"]]
    intent, outcome = audit.records()
    assert intent["plan_hash"] == outcome["plan_hash"] == plan.plan_hash
    assert intent["before"]["count"] == 1 and outcome["result"] == "ok"


def test_a_tampered_plan_is_refused(engine, audit, backups):
    seed(engine)
    action = ResetEpoch(engine, "c1", audit=audit, backup_dir=backups)
    plan = action.plan()
    (row,) = plan.state["rows"]
    before = snapshot(engine)
    forged_after = dataclasses.replace(row, after={**row.after, "current_epoch": 99})
    forged_key = dataclasses.replace(row, key={"id": "c2"})
    for forged in (forged_after, forged_key):
        bad = dataclasses.replace(plan, state={"rows": (forged,)})
        with pytest.raises(StalePlan, match="tampered or corrupted"):
            action.apply(bad)
    assert snapshot(engine) == before
    assert [r["result"] for r in audit.records()] == ["refused", "refused"]
    assert action.apply(plan).changed == 1  # the plan as made still applies


def test_a_password_typed_into_the_reason_is_not_written(engine, audit, backups):
    seed(engine)
    reason = "INC-9 password=hunter2, see postgresql://ops:s3cret@db/x; the token is abc123"
    action = ResetEpoch(engine, "c1", audit=audit, backup_dir=backups, reason=reason)
    action.apply(action.plan())
    text = audit.path.read_text()
    assert "hunter2" not in text and "s3cret" not in text and "abc123" not in text
    assert all(r["reason"].startswith("INC-9 password=***") for r in audit.records())


class _FullDisk(AuditLog):
    """Takes the intent, then the disk fills: the outcome cannot be written."""

    def append(self, record):
        if record.result != "intent":
            raise OSError(28, "No space left on device")
        return super().append(record)


def test_an_outcome_that_cannot_be_written_is_said_and_the_intent_stands(engine, tmp_path):
    from mcops.errors import RemediationError

    seed(engine)
    audit = _FullDisk(tmp_path / "audit.jsonl")
    action = ResetEpoch(engine, "c1", audit=audit, backup_dir=tmp_path)
    with pytest.raises(RemediationError, match=r"apply ok \(1 changed\) but its outcome") as err:
        action.apply(action.plan())
    assert err.value.changed == 1 and "No space left" in str(err.value)
    (intent,) = audit.records()
    assert intent["result"] == "intent" and intent["before"]["count"] == 1
