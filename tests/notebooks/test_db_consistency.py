"""`mcops run db_consistency` reports exactly the seeded anomalies, on real databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from server.store import schema
from tests.notebooks.support import mcops_run

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "Sup3r-s3cret-pw"


def seed(url: str, *, anomalies: bool) -> None:
    """A consistent conversation, plus (optionally) one anomaly for each runbook check."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    schema.metadata.create_all(engine)
    at = NOW - timedelta(minutes=5)

    def convo(cid: str, epoch: int) -> dict:
        return {
            "id": cid,
            "creator_did": "did:plc:a",
            "current_epoch": epoch,
            "created_at": at,
            "updated_at": at,
        }

    def msg(cid: str, kind: str, epoch: int, seq: int | None = None) -> dict:
        return {
            "convo_id": cid,
            "sender_did": "did:plc:a",
            "message_type": kind,
            "epoch": epoch,
            "seq": seq,
            "server_id": "s1",
            "created_at": at,
        }

    convos = [convo("good", 2)]
    messages = [
        msg("good", "commit", 1),
        msg("good", "commit", 2),
        msg("good", "app", 2, 1),
        msg("good", "app", 2, 2),
    ]
    members = [
        {
            "convo_id": "good",
            "member_did": "did:plc:b",
            "joined_at": at,
            "left_at": None,
            "unread_count": 2,
        }
    ]
    if anomalies:
        convos += [convo("dup", 2), convo("drift", 7), convo("gappy", 1)]
        messages += [
            msg("dup", "commit", 1),
            msg("dup", "commit", 2),
            msg("dup", "commit", 2),
            msg("drift", "commit", 1),
            msg("drift", "commit", 2),
            msg("drift", "commit", 3),
            msg("gappy", "commit", 1),
            msg("gappy", "app", 1, 1),
            msg("gappy", "app", 1, 2),
            msg("gappy", "app", 1, 4),
        ]
        members += [
            {
                "convo_id": "dup",
                "member_did": "did:plc:gone",
                "joined_at": at,
                "left_at": at,
                "unread_count": 5,
            }
        ]
    with engine.begin() as conn:
        conn.execute(schema.conversations.insert(), convos)
        conn.execute(schema.messages.insert(), messages)
        conn.execute(schema.members.insert(), members)
    engine.dispose()


def with_password(url: str) -> str:
    """The same database with a password in the URL (trust auth ignores it)."""
    return url.replace("postgres@", f"postgres:{PASSWORD}@").replace(
        "postgresql+psycopg://", "postgresql://"
    )


@pytest.mark.postgres
def test_reports_exactly_the_seeded_anomalies_and_never_the_password(pg_url, tmp_path):
    seed(pg_url, anomalies=True)
    run = mcops_run(
        "db_consistency",
        tmp_path / "ev",
        "-p",
        f"database_url={with_password(pg_url)}",
        "--fail-on",
        "critical",
    )
    assert run.exit_code == 1, run.output  # a critical finding with --fail-on critical

    dup = run.finding("duplicate_epochs")
    assert dup["level"] == "critical"
    assert [(r["convo_id"], r["epoch"], r["count"]) for r in dup["data"]] == [("dup", 2, 2)]
    drift = run.finding("epoch_consistency")
    assert [(r["id"], r["current_epoch"], r["max_message_epoch"]) for r in drift["data"]] == [
        ("drift", 7, 3)
    ]
    gaps = run.finding("sequence_gaps")
    assert [(r["convo_id"], r["message_count"], r["max_seq"]) for r in gaps["data"]] == [
        ("gappy", 3, 4)
    ]
    left = run.finding("left_member_unread")
    assert [(r["convo_id"], r["member_did"]) for r in left["data"]] == [("dup", "did:plc:gone")]

    summary = run.summary
    assert summary["status"] == "ok"
    assert summary["severity"]["scheme"] == "SEV"
    assert "epoch_conflicts" in summary["severity"]["next_scenarios"]
    assert summary["parameters"]["database_url"].startswith("postgresql://postgres:***@")
    assert PASSWORD.encode() not in run.evidence_bytes()
    assert PASSWORD not in run.output


@pytest.mark.postgres
def test_clean_database_reports_nothing(pg_url, tmp_path):
    seed(pg_url, anomalies=False)
    run = mcops_run(
        "db_consistency", tmp_path / "ev", "-p", f"database_url={pg_url}", "--fail-on", "warning"
    )
    assert run.exit_code == 0, run.output
    levels = {f["check"]: (f["level"], f["count"]) for f in run.summary["findings"]}
    assert levels == {
        "epoch_consistency": ("ok", 0),
        "duplicate_epochs": ("ok", 0),
        "sequence_gaps": ("ok", 0),
        "left_member_unread": ("ok", 0),
    }


def test_embedded_sqlite_default_works_too(sqlite_url, tmp_path):
    seed(sqlite_url, anomalies=True)
    run = mcops_run("db_consistency", tmp_path / "ev", "-p", f"database_url={sqlite_url}")
    assert run.exit_code == 0, run.output
    assert run.finding("duplicate_epochs")["count"] == 1
    assert (tmp_path / "ev" / "db_consistency.html").stat().st_size > 100_000


def test_unreachable_database_is_exit_2_with_a_readable_error(tmp_path):
    url = f"postgresql://ops:{PASSWORD}@127.0.0.1:1/catbird"
    run = mcops_run("db_consistency", tmp_path / "ev", "-p", f"database_url={url}")
    assert run.exit_code == 2, run.output
    summary = run.summary
    assert summary["status"] == "error"
    message = summary["error"]["message"]
    assert "database" in message and "fix" in message.lower(), message
    assert "Traceback" not in message
    assert summary["sources"]["database"]["state"] == "refused"  # port 1: what happened
    assert all(f["level"] == "info" for f in summary["findings"])
    assert PASSWORD.encode() not in run.evidence_bytes()
