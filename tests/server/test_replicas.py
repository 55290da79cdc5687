"""Three real replicas on one real PostgreSQL, no sticky sessions, one SIGKILLed mid-run.

Issue 14 / runbook 000 FM3 ("multiple server instances without sticky sessions" wrote
the same commit epoch twice). Writers spread addMembers and sendMessage for the same
conversations over all three replicas concurrently (`benchmarks.replicas`); one replica
is killed. With the actor system the conversations are leased to one replica at a time:
nothing duplicated, nothing acknowledged lost, every request answered or refused with a
retryable 503, and the killed replica's conversations move within a bounded time; then
the epoch_conflicts and db_consistency notebooks find nothing. The legacy path still
reproduces the incident, as the lab needs it to.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.fault_suite import FaultOutcome
from benchmarks.replicas import LEASE_SECONDS, run_replicas
from tests.notebooks.support import run_against

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_three_leased_replicas_one_killed_lose_and_duplicate_nothing(tmp_path):
    findings: dict[str, list[dict]] = {}

    def notebooks_find_nothing(db_url: str, survivors) -> None:
        for scenario in ("epoch_conflicts", "db_consistency"):
            run = run_against(scenario, tmp_path / scenario, survivors[0], f"database_url={db_url}")
            assert run.exit_code == 0, run.output
            findings[scenario] = run.summary["findings"]

    outcome: FaultOutcome = run_replicas(
        legacy=False, seconds=3 * LEASE_SECONDS, inspect=notebooks_find_nothing
    )
    assert outcome.lost == 0 and outcome.duplicates == 0, outcome
    # answered or clearly refused; only requests in flight to the killed replica are not
    assert set(outcome.statuses) <= {"200", "503", "none"}, outcome
    assert outcome.statuses.get("none", 0) <= 6, outcome  # Traffic's concurrency
    assert outcome.acknowledged > 100, outcome
    moved = re.search(r"moved in ([0-9.]+) s", outcome.note)
    assert moved, f"the killed replica's conversations were never written again: {outcome}"
    assert float(moved.group(1)) <= 2 * LEASE_SECONDS, outcome  # its leases expired, taken
    for scenario, found in findings.items():
        bad = {f["check"]: f["title"] for f in found if f["level"] in ("warning", "critical")}
        assert not bad, (scenario, bad)
        assert any(f["check"] == "duplicate_epochs" for f in found) or scenario != (
            "epoch_conflicts"
        ), found


def test_the_legacy_path_on_three_replicas_still_writes_duplicate_epochs():
    outcome = run_replicas(legacy=True, seconds=2.0)
    assert outcome.duplicates > 0, outcome  # runbook 000 FM3, reproduced for the lab
    assert outcome.lost == 0, outcome
