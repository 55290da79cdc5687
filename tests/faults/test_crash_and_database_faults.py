"""The fault suite's process and database faults, short: nothing acknowledged is lost.

The real server under real writers (`benchmarks.fault_suite`), on SQLite and on the
local PostgreSQL; after each fault the database is read back. Issue 12: "kill -9
mid-load on both databases, database down and back ... data lost (0), time to recover".
The README's figures come from the same code run longer (`python -m benchmarks.fault_suite`).
"""

from __future__ import annotations

import pytest

from benchmarks.fault_suite import CLIENT_TIMEOUT, FaultOutcome, database_down, kill9, run_fault

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def assert_nothing_lost(outcome: FaultOutcome) -> None:
    assert outcome.lost == 0, outcome
    assert outcome.duplicates == 0, outcome
    assert outcome.recovered_s is not None, f"no write acknowledged after the fault: {outcome}"
    assert outcome.slowest_answer_s < CLIENT_TIMEOUT, outcome


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_load_loses_no_acknowledged_write(backend):
    outcome = run_fault("kill -9", backend, kill9(down=0.5), after=2)
    assert_nothing_lost(outcome)
    # the fault was real: requests went unanswered while the process was gone ...
    assert outcome.unanswered > 0, outcome
    # ... and writes were acknowledged both before the kill and after the restart
    assert outcome.acknowledged > outcome.statuses.get("200", 0) / 2 > 0, outcome


@pytest.mark.postgres
def test_database_down_and_back_answers_503_then_recovers():
    outcome = run_fault("database down", "postgres", database_down(2.0), after=2)
    assert_nothing_lost(outcome)
    # the server answered while PostgreSQL refused it: 503s, no hang, no dropped connection
    assert outcome.statuses.get("503", 0) > 0, outcome
    assert outcome.unanswered == 0, outcome
    assert set(outcome.statuses) <= {"200", "503"}, outcome
