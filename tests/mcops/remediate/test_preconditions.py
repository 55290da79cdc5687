"""Remediations follow the runbook's order: an action whose earlier step still fails (or
cannot be verified) plans what it would change, says it is blocked and by which step,
and refuses to apply — audited, before any change. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from mcops.checks.epochs import actor_system_signals, read_signals
from mcops.errors import SourceUnreachable
from mcops.remediate import (
    ActionRefused,
    AddUniqueCommitEpochIndex,
    DeleteDuplicateCommits,
    Precondition,
    ResetEpoch,
    run_action,
)
from mcops.remediate.preconditions import (
    ACTOR_SYSTEM_STEP,
    actor_system_enabled,
    actor_system_from_signals,
)
from mcops.schema import conversations, messages
from tests.mcops.remediate.conftest import commit, convo, insert, snapshot

STEP_1 = "runbook 000 Handling Epoch Conflicts step 1"
OFF = actor_system_enabled(False, why="/admin/config: ENABLE_ACTOR_SYSTEM=false")
UNKNOWN = actor_system_enabled(None, why="/admin/config could not be read: refused")
ON = actor_system_enabled(True, why="/admin/config: ENABLE_ACTOR_SYSTEM=true")


def seed(engine: sa.Engine) -> None:
    """c1 has a duplicate commit at epoch 2 (id 11) and a stored epoch behind it."""
    insert(engine, conversations, [convo("c1", 1)])
    insert(
        engine,
        messages,
        [commit("c1", 1, 1, id=1), commit("c1", 2, 5, id=10), commit("c1", 2, 6, id=11)],
    )


def test_step_holds_and_apply_proceeds(engine, audit, backups):
    seed(engine)
    action = DeleteDuplicateCommits(engine, audit=audit, backup_dir=backups, preconditions=[ON])
    plan = action.plan()
    assert not plan.blocked and "BLOCKED" not in str(plan)
    result = action.apply(plan)
    assert result.changed == 1
    with engine.connect() as conn:
        left = conn.execute(sa.select(messages.c.id).order_by(messages.c.id)).scalars().all()
    assert left == [1, 10], "the later duplicate is gone"
    assert [r["result"] for r in audit.outcomes()] == ["ok"]


@pytest.mark.parametrize(
    ("step", "state"),
    [(OFF, "still fails"), (UNKNOWN, "could not be verified")],
    ids=["off", "unknown"],
)
def test_step_fails_or_is_unknown_plan_shows_block_apply_refuses(
    step, state, engine, audit, backups
):
    seed(engine)
    action = DeleteDuplicateCommits(engine, audit=audit, backup_dir=backups, preconditions=[step])
    plan = action.plan()
    # the plan still shows exactly what would change, and that it is blocked, by which step
    assert [c["id"] for c in plan.changes] == [11] and not plan.empty
    (blocker,) = plan.blocked_by
    assert blocker.startswith(f"{ACTOR_SYSTEM_STEP} comes first, and it {state}")
    assert step.why in blocker and "fix: set ENABLE_ACTOR_SYSTEM=true" in blocker
    assert f"BLOCKED: {blocker}" in str(plan)
    assert "<b>Blocked:</b>" in plan._repr_html_()
    before = snapshot(engine)

    with pytest.raises(ActionRefused) as err:
        action.apply(plan)
    message = str(err.value)
    assert STEP_1 in message and state in message and "fix:" in message
    assert "nothing was changed" in message
    assert snapshot(engine) == before
    assert not list(backups.glob("backup-*")), "refused before any backup was taken"
    (record,) = audit.outcomes()
    assert (record["mode"], record["result"], record["changed"]) == ("apply", "refused", 0)
    assert STEP_1 in record["error"] and record["plan_hash"] == plan.plan_hash


def test_every_failing_step_is_named_and_all_must_hold(engine, audit):
    seed(engine)
    other = Precondition(step="step 0 (page the owner)", holds=True)
    later = Precondition(step="step 2 (take a snapshot)", holds=False, fix="take it")
    action = ResetEpoch(engine, all=True, audit=audit, preconditions=[other, OFF, later])
    plan = action.plan()
    assert len(plan.blocked_by) == 2
    assert (
        plan.blocked_by[1]
        == "step 2 (take a snapshot) comes first, and it still fails — fix: take it"
    )
    with pytest.raises(ActionRefused, match="step 2") as err:
        action.apply(plan)
    assert STEP_1 in str(err.value)


def test_reset_epoch_all_and_unique_index_wait_for_step_1(engine, audit, backups):
    seed(engine)
    before = snapshot(engine)
    for action in (
        ResetEpoch(engine, all=True, audit=audit, preconditions=[OFF]),
        AddUniqueCommitEpochIndex(engine, audit=audit, preconditions=[UNKNOWN]),
    ):
        plan = action.plan()
        assert plan.changes and plan.blocked
        with pytest.raises(ActionRefused, match=STEP_1):
            action.apply(plan)
    assert snapshot(engine) == before
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("messages")}
    assert "uq_messages_convo_epoch_commit" not in indexes
    assert [(r["action"], r["result"]) for r in audit.outcomes()] == [
        ("reset_epoch", "refused"),
        ("add_unique_commit_epoch_index", "refused"),
    ]
    # once step 1 holds, the same plan goes through
    action = ResetEpoch(engine, all=True, audit=audit, backup_dir=backups, preconditions=[ON])
    assert action.apply(action.plan()).changed == 1


def test_run_action_plans_a_blocked_action_and_refuses_to_apply_it(engine, audit):
    seed(engine)
    action = DeleteDuplicateCommits(engine, audit=audit, preconditions=[OFF])
    report = run_action(action, apply=False)
    assert report.as_summary() == {
        "action": "delete_duplicate_commits",
        "mode": "plan",
        "changes": 1,
        "backup": None,
        "blocked_by": list(report.plan.blocked_by),
    }
    html = report._repr_html_()
    assert "comes first" in html and "refuses" in html and "set <code>apply" not in html
    assert not audit.path.exists(), "planning a blocked action audits nothing"
    with pytest.raises(ActionRefused, match=STEP_1):
        run_action(action, apply=True)


def test_holds_must_be_a_bool_or_none():
    with pytest.raises(TypeError, match="bool"):
        Precondition(step="s", holds="yes")  # type: ignore[arg-type]
    assert Precondition(step="s", holds=True).blocker is None
    assert Precondition(step="step 2 (snapshot)", holds=False).blocker == (
        "step 2 (snapshot) comes first, and it still fails — fix: complete that step, then "
        "plan again"
    )
    assert actor_system_enabled(None).blocker.endswith(
        "could not be verified (nobody read the server's setting) — fix: set "
        "ENABLE_ACTOR_SYSTEM=true (and clear the actor_system_disabled fault), restart the "
        "server, check /admin/config says actor_system_enabled=true, then plan again"
    )


# -- step 1 from the notebook's own evidence (mcops.checks.epochs) ---------------------

LEGACY_LOGS = pd.DataFrame({"msg": ["Using legacy path for add_members"], "ts": ["t1"]})


def test_from_signals_reads_the_servers_setting_now():
    on = {"enable_actor_system": True, "actor_system_enabled": True, "faults": {}}
    faulted = {
        "enable_actor_system": True,
        "actor_system_enabled": False,
        "faults": {"actor_system_disabled": {}},
    }
    # the setting now decides; legacy lines from earlier in the window do not
    step = actor_system_from_signals(actor_system_signals(on, LEGACY_LOGS))
    assert step.holds is True and "ENABLE_ACTOR_SYSTEM=true" in step.why
    step = actor_system_from_signals(actor_system_signals(faulted, None))
    assert step.holds is False and "fault actor_system_disabled is active" in step.why
    step = actor_system_from_signals(actor_system_signals({"faults": {}}, None))
    assert step.holds is None and "does not say" in step.why


def test_from_signals_without_the_admin_config_could_not_be_verified():
    def refused() -> dict:
        raise SourceUnreachable("connection refused", source="service")

    frame = read_signals(config=refused, logs=lambda: LEGACY_LOGS)
    step = actor_system_from_signals(frame)
    assert step.holds is None
    assert step.why.startswith("/admin/config could not be read: connection refused")
    # the notebook's check could read neither source: inv.check gives an empty frame
    assert actor_system_from_signals(pd.DataFrame()).holds is None
