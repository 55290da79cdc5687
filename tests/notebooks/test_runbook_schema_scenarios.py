"""Every scenario that reads SQL runs on a database written from the runbooks alone.

The database (`tests.support.runbook_schema`: extra columns, another column order, no
writer id, TEXT ids, naive timestamps) holds a conversation, a meeting and a meeting
controller; no server runs, so service and metrics checks are "not checked" by design.
What must hold: the run completes, and no SQL-backed check is "not checked" because of
the schema — the only database reasons allowed are the ones a real database may lack
by nature (PostgreSQL-only statistics views on SQLite, pg_stat_statements not loaded,
the optional writer id).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mcops.runner import ScenarioRun, run_many
from tests.support.postgres import fresh_database
from tests.support.runbook_schema import create_runbook_schema, insert_rows

pytestmark = pytest.mark.slow

AT = datetime.now(UTC).replace(microsecond=0, tzinfo=None) - timedelta(minutes=5)

#: Scenarios whose notebook queries the runbook tables (db_consistency and epoch_conflicts
#: are covered with their findings in test_runbook_schema_diagnostics.py).
SQL_SCENARIOS = (
    "crash_loop",
    "mailbox_backlog",
    "memory_leak",
    "performance_profile",
    "meeting_lifecycle",
    "gc_integration",
    "service_outage",
)

#: Why a database-backed check may honestly be "not checked" on a database we did not make.
ALLOWED = re.compile(
    r"pg_stat_statements|not available on SQLite|PostgreSQL's statistics views|server_id",
    re.IGNORECASE,
)


def seed(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        create_runbook_schema(engine)
        insert_rows(
            engine,
            "conversations",
            [
                {"id": "c1", "creator_did": "did:plc:a", "current_epoch": 1}
                | {"created_at": AT, "updated_at": AT}
            ],
        )
        insert_rows(
            engine,
            "messages",
            [
                {"id": 1, "convo_id": "c1", "message_type": "commit", "epoch": 1, "seq": None}
                | {"created_at": AT},
                {"id": 2, "convo_id": "c1", "message_type": "app", "epoch": 1, "seq": 1}
                | {"created_at": AT},
            ],
        )
        insert_rows(
            engine,
            "members",
            [{"convo_id": "c1", "member_did": "did:plc:a", "left_at": None, "unread_count": 0}],
        )
        insert_rows(
            engine,
            "meeting_controllers",
            [
                {
                    "id": "mc-1",
                    "region": "eu",
                    "capacity": 100,
                    "current_sessions": 1,
                    "last_heartbeat": AT,
                    "status": "active",
                }
            ],
        )
        insert_rows(
            engine,
            "meetings",
            [
                {
                    "meeting_id": "m-1",
                    "mc_id": "mc-1",
                    "status": "active",
                    "participant_count": 2,
                    "created_at": AT,
                    "updated_at": AT,
                }
            ],
        )
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def summaries(request, tmp_path_factory) -> Iterator[dict[str, dict]]:
    """Every SQL scenario run once per dialect, in this process (real kernels, imports
    paid once): scenario → (its summary, its exit code)."""
    folder = tmp_path_factory.mktemp(f"runbook-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'runbook.db'}"
        else:
            url = stack.enter_context(fresh_database())
        seed(url)
        runs = [
            ScenarioRun(name, {"database_url": url, "mc_id": "mc-1"}, folder / name)
            for name in SQL_SCENARIOS
        ]
        results = run_many(runs, progress=False)
        yield {r.scenario: {"summary": r.summary, "exit_code": r.exit_code} for r in results}


@pytest.mark.parametrize("scenario", SQL_SCENARIOS)
def test_scenario_runs_on_the_runbook_schema(scenario, summaries):
    run = summaries[scenario]
    summary = run["summary"]
    if run["exit_code"] == 2:  # DESIGN: nothing could run is an error naming the sources,
        # which on SQLite is honest for a scenario whose SQL reads PostgreSQL's views only
        assert summary["error"]["message"].startswith("no check of scenario"), summary
    else:
        assert run["exit_code"] == 0, summary.get("error")
    database = [
        f
        for f in summary["findings"]
        if not f["checked"] and re.search(r"not checked: (sql|database)\b", f["title"])
    ]
    schema_trouble = [f for f in database if not ALLOWED.search(f["title"])]
    assert schema_trouble == [], schema_trouble
    assert summary["sources"].get("database", {}).get("state") == "ok", summary["sources"]
