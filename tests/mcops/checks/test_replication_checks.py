"""Runbook 000 FM3 cause "Database replication lag (if using replicas)": the judge at its
boundary, and the fetch against the real PostgreSQL (a primary without replicas, the
cluster we have) and SQLite (no replication at all)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

from mcops.checks.replication import replication_lag
from mcops.evidence import Recorder
from mcops.findings import Level
from mcops.investigation import Investigation
from mcops.scenarios.epoch_conflicts import replication


def replicas(*lags: float | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "replica": [f"r{i}" for i in range(len(lags))],
            "state": "streaming",
            "lag_seconds": lags,
        }
    )


def test_no_replica_is_not_a_cause():
    finding = replication_lag(replicas())
    assert finding.level == Level.OK and finding.title == "no replicas: not a cause"


@pytest.mark.parametrize(
    ("lag", "level"),
    [(0.999, Level.OK), (1.0, Level.OK), (1.001, Level.WARNING), (None, Level.OK)],
)
def test_the_default_one_second_is_the_edge(lag, level):
    # "Database replication lag (if using replicas)": the runbook gives no number; mcops
    # says 1 s (thresholds.yaml replication_lag_seconds). NULL replay_lag: caught up.
    finding = replication_lag(replicas(0.1, lag))
    assert finding.level == level
    if level == Level.WARNING:
        assert finding.count == 1 and finding.data[0]["replica"] == "r1"
        assert "r1" in finding.title


@contextmanager
def investigation(database_url: str) -> Iterator[Investigation]:
    recorder = Recorder(
        scenario="epoch_conflicts",
        parameters={"window": "1h", "database_url": database_url},
        display=lambda bundle: None,
    )
    inv = Investigation(recorder)
    try:
        yield inv
    finally:
        inv.database.dispose()


@pytest.mark.postgres
def test_a_primary_without_replicas_on_the_real_postgresql(pg_url):
    with investigation(pg_url) as inv:
        frame = inv.check("replication_lag", lambda: replication(inv), replication_lag)
        assert list(frame.columns) == ["replica", "state", "lag_seconds"] and frame.empty
        (finding,) = inv.findings
        assert finding.checked and finding.title == "no replicas: not a cause"
        assert bool(inv.sql("replication_role")["standby"].iloc[0]) is False
        # the standby's query runs on a primary too: no WAL received, so NULL, not "0 s"
        standby = inv.sql("standby_lag")
        assert list(standby.columns) == ["replica", "state", "lag_seconds"]


def test_sqlite_has_no_replication(sqlite_url):
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()  # the file exists
    with investigation(sqlite_url) as inv:
        inv.check("replication_lag", lambda: replication(inv), replication_lag)
        (finding,) = inv.findings
    assert not finding.checked
    assert finding.title.startswith("not checked: database: SQLite has no replication")
