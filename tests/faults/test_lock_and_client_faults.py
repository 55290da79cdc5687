"""The fault suite's locked rows and hostile clients, short: nothing lost, nothing hangs.

Real server, real writers (`benchmarks.fault_suite`), a real second session holding the
locks (PostgreSQL ``SELECT ... FOR UPDATE``, SQLite ``BEGIN IMMEDIATE``) and real
sockets that never finish a request. Issue 12: "locked rows, slow and idle clients".
"""

from __future__ import annotations

import pytest

from benchmarks.fault_suite import (
    CLOSE_WITHIN,
    locked_rows,
    run_fault,
    slow_and_idle_clients,
)
from tests.faults.test_crash_and_database_faults import BACKENDS, assert_nothing_lost

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_wait_for_a_lock_shorter_than_the_timeouts_and_all_land(backend):
    outcome = run_fault("locked rows", backend, locked_rows(2.0), after=1.5)
    assert_nothing_lost(outcome)
    assert outcome.unanswered == 0 and outcome.acknowledged == outcome.sent, outcome
    assert outcome.slowest_answer_s >= 1.5, f"the lock held no write back: {outcome}"


@pytest.mark.postgres
def test_a_lock_longer_than_the_statement_timeout_is_answered_at_the_timeout():
    """DATABASE_STATEMENT_TIMEOUT=1: writes behind a 5 s lock are answered 503 after
    about a second each (a request may queue behind its actor's earlier ones), none
    waits for the lock to go, and writes land again once it is released."""
    outcome = run_fault(
        "locked rows",
        "postgres",
        locked_rows(3.0),
        after=1.5,
        env={"DATABASE_STATEMENT_TIMEOUT": "1"},
    )
    assert_nothing_lost(outcome)
    assert outcome.unanswered == 0, outcome
    assert outcome.statuses.get("503", 0) > 0, f"no write was refused behind the lock: {outcome}"
    assert set(outcome.statuses) <= {"200", "503"}, outcome
    assert outcome.slowest_answer_s < 4.0, f"a write waited for the lock: {outcome}"


def test_idle_and_half_sent_clients_are_closed_and_never_starve_the_writers():
    outcome = run_fault(
        "clients", "sqlite", slow_and_idle_clients(300, 30, seconds=CLOSE_WITHIN), after=1
    )
    assert_nothing_lost(outcome)
    assert outcome.note.startswith("server closed all 330"), outcome
    assert outcome.unanswered == 0 and outcome.acknowledged == outcome.sent, outcome
    assert outcome.recovered_s < 2.0, f"the writers waited for the attack: {outcome}"
