"""ActorUnresponsive opens performance_profile, which finds the slow message type and the
missing indexes, then builds the indexes exactly once.

The real server on a real PostgreSQL (CREATE INDEX CONCURRENTLY and pg_stat_activity are
PostgreSQL's), with the `slow_db` fault adding 250 ms to every query: sendMessage, a
handful of queries, lands above the runbook's 200 ms. No Prometheus: /metrics is scraped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mcops.remediate.sql_indexes import RUNBOOK_INDEXES
from tests.notebooks.support import Run, run_against
from tests.support.server_process import ADMIN_TOKEN, CREATE, SEND, running_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NAMES = sorted(spec.name for spec in RUNBOOK_INDEXES)


def index_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {i["name"] for t in ("messages", "members") for i in inspector.get_indexes(t)}
    finally:
        engine.dispose()


def performance_profile(server, url: str, out: Path, *extra: str) -> Run:
    return run_against(
        "performance_profile", out, server, f"database_url={url}", "window=10m", *extra
    )


def test_slow_sends_and_missing_indexes_are_found_and_the_indexes_built(pg_url, tmp_path):
    with running_server(pg_url) as server:
        with server.client("did:plc:alice") as alice, server.client() as admin:
            assert alice.post(CREATE, json={"convo_id": "convo-slow"}).status_code == 200
            slow = admin.put("/admin/faults", json={"slow_db": {"latency_ms": 250}})
            assert slow.status_code == 200, slow.text
            for _ in range(4):
                sent = alice.post(SEND, json={"convo_id": "convo-slow", "ciphertext": "x"})
                assert sent.status_code == 200, sent.text
            admin.delete("/admin/faults/slow_db").raise_for_status()
        assert not index_names(pg_url) & set(NAMES)

        plan = performance_profile(server, pg_url, tmp_path / "plan")
        assert plan.exit_code == 0, plan.output
        p95 = plan.finding("p95_by_message_type")
        assert p95["level"] == "critical", p95
        critical = {r["operation"]: r["value"] for r in p95["data"] if r["level"] == "critical"}
        assert "send_message" in critical, p95["data"]  # sendMessage, IncrementUnread: > 200 ms
        assert min(critical.values()) > 200
        assert {r["operation"] for r in p95["data"]} >= {"send_message", "create_convo"}
        slow_queries = plan.finding("slow_queries")  # the runbook's pg_stat_statements query
        if slow_queries["level"] == "info":  # the extension is not installed here: said so
            assert "CREATE EXTENSION pg_stat_statements" in slow_queries["title"], slow_queries
        else:
            assert slow_queries["level"] == "ok", slow_queries
        assert plan.finding("db_pool")["level"] == "ok"
        missing = plan.finding("missing_indexes")
        assert missing["level"] == "warning" and missing["count"] == 3, missing
        assert sorted(r["index"] for r in missing["data"]) == NAMES
        planned = {r["action"]: r for r in plan.summary["remediations"]}
        assert set(planned) == {"add_runbook_indexes", "kill_long_queries"}
        indexes = planned["add_runbook_indexes"]
        assert (indexes["mode"], indexes["changes"]) == ("plan", 3)
        # ActorUnresponsive step 4, planned since p95 is critical: nothing runs that long
        assert (planned["kill_long_queries"]["mode"], planned["kill_long_queries"]["changes"]) == (
            "plan",
            0,
        )
        assert plan.finding("indexes_added")["level"] == "info"  # plan only
        assert not index_names(pg_url) & set(NAMES)
        assert plan.summary["severity"]["scheme"] == "SEV"

        applied = performance_profile(server, pg_url, tmp_path / "apply", "apply_remediation=True")
        assert applied.exit_code == 0, applied.output
        assert set(NAMES) <= index_names(pg_url)
        done = {r["action"]: r for r in applied.summary["remediations"]}
        assert (done["add_runbook_indexes"]["mode"], done["add_runbook_indexes"]["changes"]) == (
            "apply",
            3,
        )
        assert applied.finding("indexes_added")["level"] == "ok"

        again = performance_profile(server, pg_url, tmp_path / "again", "apply_remediation=True")
        assert again.exit_code == 0, again.output
        assert again.finding("missing_indexes")["level"] == "ok"
        assert all(r["changes"] == 0 for r in again.summary["remediations"]), again.summary

    for run in (plan, applied, again):
        assert ADMIN_TOKEN.encode() not in run.evidence_bytes()
