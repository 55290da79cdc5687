"""``mcops remediate``: plan by default, --apply applies and audits (real SQLite)."""

from __future__ import annotations

import argparse
import json

import pytest
import sqlalchemy as sa

from mcops.errors import ParameterError
from mcops.remediate.cli import add_subcommand, build_action
from server.store import schema
from tests.mcops.remediate.conftest import commit, convo, insert, snapshot


def parse(argv):
    parser = argparse.ArgumentParser()
    add_subcommand(parser.add_subparsers(dest="command"))
    return parser.parse_args(["remediate", *argv])


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine)
    insert(engine, schema.conversations, [convo("c1", 0)])
    insert(engine, schema.messages, [commit("c1", 4, 1, id=1)])
    yield url, engine
    engine.dispose()


def test_plan_by_default_then_apply(db, tmp_path, capsys, monkeypatch):
    url, engine = db
    monkeypatch.setenv("DB_FOR_TEST", url)
    audit = tmp_path / "audit.jsonl"
    common = [
        "reset_epoch",
        "--target",
        "convo_id=c1",
        "--database-url",
        "env:DB_FOR_TEST",
        "--audit-log",
        str(audit),
        "--backup-dir",
        str(tmp_path),
        "--reason",
        "INC-1",
    ]
    before = snapshot(engine)
    args = parse(common)
    assert args.handler(args) == 0
    assert "plan only" in capsys.readouterr().out
    assert snapshot(engine) == before and not audit.exists()
    args = parse([*common, "--apply"])
    assert args.handler(args) == 0
    assert "APPLIED reset_epoch" in capsys.readouterr().out
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.conversations.c.current_epoch)).scalar_one() == 4
    intent, record = [json.loads(x) for x in audit.read_text().splitlines()]
    assert intent["result"] == "intent" and intent["before"]["count"] == 1
    assert record["reason"] == "INC-1" and record["result"] == "ok"


def test_targets_are_typed_and_checked(db):
    url, _ = db
    action = build_action(
        parse(
            [
                "end_stale_meetings",
                "--target",
                "mc_id=mc1",
                "--target",
                "older_than=2h",
                "--database-url",
                url,
            ]
        )
    )
    assert action.older_than.total_seconds() == 7200
    action = build_action(
        parse(
            [
                "patch_resources",
                "--kube-host",
                "http://127.0.0.1:1",
                "--target",
                "namespace=n",
                "--target",
                "deployment=d",
                "--target",
                "container=c",
                "--target",
                "limits.memory=2Gi",
            ]
        )
    )
    assert action.limits == {"memory": "2Gi"}
    with pytest.raises(ParameterError, match="unexpected keyword"):
        build_action(parse(["reset_epoch", "--target", "convoid=c1", "--database-url", url]))
    with pytest.raises(ParameterError, match="--database-url"):
        build_action(parse(["reset_epoch", "--target", "convo_id=c1"]))


def test_every_kubernetes_action_of_the_runbooks_is_reachable_from_the_cli():
    """Option 4 of 004 Scenario 1 and 000 Memory Leak Mitigation step 5, typed targets."""
    kube = ["--kube-host", "http://127.0.0.1:1", "--target", "namespace=n"]
    sized = build_action(
        parse(
            [
                "set_configmap_value",
                *kube,
                "--target",
                "configmap=mc-config",
                "--target",
                "key=ACTOR_MAILBOX_SIZE",
                "--target",
                "value=2000",
            ]
        )
    )
    assert (sized.name, sized.key) == ("set_configmap_value", "ACTOR_MAILBOX_SIZE")
    daily = build_action(
        parse(
            [
                "schedule_daily_restart",
                *kube,
                "--target",
                "deployment=mc",
                "--target",
                "schedule=0 4 * * *",
            ]
        )
    )
    assert daily.name == "schedule_daily_restart"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["nope"], "no remediation 'nope'"),
        (["reset_epoch", "--target", "convo_id"], "must be KEY=VALUE"),
        (["reset_epoch", "--target", "convo_id=c1", "--target", "max_rows=lots"], "an int"),
        (["end_stale_meetings", "--target", "older_than=soon"], "not a duration"),
        (["reset_epoch", "--target", "convo_id=c1"], "needs --database-url"),
        (["reset_epoch", "--target", "convoid=c1", "--database-url", "{db}"], "unexpected"),
        (["reset_epoch", "--target", "convo_id=c1", "--database-url", "nonsense"], "not a"),
        (["reset_epoch", "--target", "convo_id=c1", "--database-url", "env:MCOPS_UNSET_X"], "env"),
        (
            ["reset_epoch", "--target", "convo_id=c1", "--database-url", "{pg}"],
            "127.0.0.1:1",
        ),
        (
            [
                "scale",
                "--kube-host",
                "http://127.0.0.1:1",
                "--target",
                "namespace=n",
                "--target",
                "deployment=d",
                "--target",
                "replicas=3",
            ],
            "refused",
        ),
    ],
)
def test_every_bad_input_is_one_line_and_exit_2(db, capsys, argv, expected):
    from mcops.cli import main

    url, _ = db
    pg = "postgresql://ops:s3cret@127.0.0.1:1/catbird"
    argv = [a.replace("{db}", url).replace("{pg}", pg) for a in argv]
    assert main(["remediate", *argv]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("mcops remediate: "), err
    assert expected in lines[0] and "Traceback" not in err and "s3cret" not in err


def test_a_password_on_the_command_line_is_warned_about(db, capsys):
    from mcops.cli import main

    main(["remediate", "nope", "--database-url", "postgresql://ops:s3cret@h/db"])
    err = capsys.readouterr().err
    assert "warning: --database-url carries a secret" in err and "env:DATABASE_URL" in err
    assert "s3cret" not in err
