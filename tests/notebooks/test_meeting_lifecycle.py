"""MCMeetingStale / MCLowConnectionCount open meeting_lifecycle, which finds what is wrong.

The real server on SQLite hosts four meetings: one with a participant
connected, one nobody joined, and two the MC lost (their actors stopped through the
admin API, as after an MC restart) whose rows the GC still calls active, last updated
two hours ago. The notebook runs through the `mcops` CLI in plan mode, then applies
Option 3 (end stale meetings in the GC), then applies again. EndStaleMeetings itself is
tested on PostgreSQL too, in tests/mcops/remediate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.notebooks.support import Run, run_against
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

LOST = ("meeting-lost-1", "meeting-lost-2")


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def statuses(url: str) -> dict[str, str]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT meeting_id, status FROM meetings"))
            return {meeting: status for meeting, status in rows}
    finally:
        engine.dispose()


def lose_meetings(server, url: str) -> None:
    """The MC forgets two meetings (actors stopped); the GC rows stay active, 2 h old."""
    with server.client() as admin:
        for meeting in LOST:
            stopped = admin.delete(f"/admin/actors/meeting/{meeting}")
            assert stopped.status_code == 200, stopped.text
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE meetings SET updated_at = :at WHERE meeting_id IN (:a, :b)"),
            {"at": datetime.now(UTC) - timedelta(hours=2), "a": LOST[0], "b": LOST[1]},
        )
    engine.dispose()


def meeting_lifecycle(server, url: str, out: Path, *extra: str) -> Run:
    return run_against(
        "meeting_lifecycle",
        out,
        server,
        f"database_url={url}",
        f"log_source=file:{server.log_file}",
        "window=15m",
        *extra,
    )


def test_lost_meetings_are_found_planned_and_ended(sqlite_url, tmp_path):
    db_url = sqlite_url
    with running_server(db_url) as server:
        with server.client("did:plc:alice") as alice:
            for meeting in ("meeting-live", "meeting-empty", *LOST):
                created = alice.post("/meetings", json={"meeting_id": meeting})
                assert created.status_code == 200, created.text
            joined = alice.post("/meetings/meeting-live/join", json={})
            assert joined.status_code == 200, joined.text
        lose_meetings(server, db_url)
        with server.client() as admin:
            mc_id = admin.get("/admin/config").json()["mc_id"]

        plan = meeting_lifecycle(server, db_url, tmp_path / "plan", "meeting_id=meeting-empty")
        assert plan.exit_code == 0, plan.output
        assert statuses(db_url) == dict.fromkeys(["meeting-live", "meeting-empty", *LOST], "active")

        counts = plan.finding("meeting_counts")
        assert counts["level"] == "warning", counts  # 2 live meetings, 1 connection
        assert counts["data"][0] == {"meetings_active": 2.0, "connections_active": 1.0}
        mismatch = plan.finding("gc_mc_mismatch")
        assert mismatch["level"] == "warning", mismatch
        assert sorted(r["meeting_id"] for r in mismatch["data"]) == list(LOST)
        assert mc_id in mismatch["title"]
        stale = plan.finding("stale_meetings")
        assert stale["level"] == "warning" and stale["count"] == 2, stale
        assert all(110 < r["idle_minutes"] < 130 for r in stale["data"])
        assert plan.finding("meeting_activity")["level"] == "info"  # a 15m window
        assert plan.finding("connection_errors")["level"] == "ok"
        assert plan.finding("meeting_errors")["level"] == "ok"
        planned = {r["action"]: (r["mode"], r["changes"]) for r in plan.summary["remediations"]}
        assert planned == {"end_stale_meetings": ("plan", 2), "end_meeting": ("plan", 1)}
        assert plan.finding("stale_meetings_ended")["level"] == "info"  # plan only
        severity = plan.summary["severity"]
        assert (severity["scheme"], severity["level"]) == ("P", "P2"), severity
        assert "2 meetings" in severity["reason"]
        assert not (tmp_path / "plan" / "audit.jsonl").exists()

        applied = meeting_lifecycle(server, db_url, tmp_path / "apply", "apply_remediation=True")
        assert applied.exit_code == 0, applied.output
        assert statuses(db_url) == {
            "meeting-live": "active",
            "meeting-empty": "active",
            LOST[0]: "ended",
            LOST[1]: "ended",
        }
        [done] = applied.summary["remediations"]
        assert (done["action"], done["mode"], done["changes"]) == ("end_stale_meetings", "apply", 2)
        backup = json.loads(Path(done["backup"]).read_text())["tables"]["meetings"]
        assert sorted((r["meeting_id"], r["status"]) for r in backup) == [
            (m, "active") for m in LOST
        ]
        audit = (tmp_path / "apply" / "audit.jsonl").read_text().splitlines()
        assert [json.loads(line)["result"] for line in audit] == ["intent", "ok"]  # write-ahead
        assert applied.finding("stale_meetings_ended")["level"] == "ok"

        again = meeting_lifecycle(server, db_url, tmp_path / "again", "apply_remediation=True")
        assert again.exit_code == 0, again.output
        assert [(r["mode"], r["changes"]) for r in again.summary["remediations"]] == [("apply", 0)]
        assert again.finding("stale_meetings")["level"] == "ok"
        assert again.finding("gc_mc_mismatch")["level"] == "ok"

    for run in (plan, applied, again):
        assert ADMIN_TOKEN.encode() not in run.evidence_bytes()
