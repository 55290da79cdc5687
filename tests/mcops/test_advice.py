"""Quick fixes and recovery times, in the runbooks' words and numbers."""

from __future__ import annotations

import pytest

from mcops.advice import ACTION_RECOVERY, QUICK_FIXES, expected_recovery, quick_fixes
from mcops.findings import Finding
from mcops.registry import CHECKS
from mcops.severity import assess
from mcops.thresholds import default_thresholds

# 000 Incident Response, Step 3: Symptom | Quick Fix | Time
TABLE = {
    "spawn_rate": ("restart the server", "30 s"),  # Actor spawn loop | Restart server | 30s
    "db_pool": ("increase max_connections", "1 min"),  # pool exhausted | ... | 1min
    "duplicate_epochs": ("disable actors, roll back", "2 min"),  # Epoch conflicts | 2min
    "actor_count_trend": ("restart the server", "30 s"),  # Memory leak | Restart | 30s
    "slow_queries": ("kill slow queries, add indexes", "5 min"),  # Slow queries | 5min
}


@pytest.mark.parametrize(("check", "expected"), sorted(TABLE.items()))
def test_a_firing_check_gets_the_runbooks_quick_fix(check, expected):
    fix, time = expected
    (line,) = quick_fixes([Finding.make(check, "warning", "x")])
    assert line == f"{fix} ({check}): about {time}"
    assert quick_fixes([Finding.make(check, "info", "x")]) == ()
    assert quick_fixes([Finding.not_checked(check, "no source")]) == ()


def test_one_line_per_fix_naming_every_check_that_calls_for_it():
    found = [
        Finding.make("crash_loop", "critical", "x"),
        Finding.make("spawn_rate", "warning", "x"),
    ]
    assert quick_fixes(found) == ("restart the server (crash_loop, spawn_rate): about 30 s",)


def test_the_verdict_carries_the_quick_fixes():
    verdict = assess([Finding.make("db_pool", "critical", "x")], scheme="SEV")
    assert verdict.to_dict()["quick_fixes"] == ["increase max_connections (db_pool): about 1 min"]


@pytest.mark.parametrize(
    ("action", "time"),
    [
        ("scale", "30 s–1 min"),  # 004 "Expected recovery time: 30-60 seconds"
        ("delete_pod", "30 s"),  # 004 "Expected recovery time: 30 seconds"
        ("rollout_undo", "2–3 min"),  # 004 "Expected recovery time: 2-3 minutes"
        ("rollout_restart", "2–3 min"),
        ("patch_resources", "2–3 min"),
        ("restart_local_server", "30 s"),  # 000 quick fixes: "Restart server | 30s"
        ("set_pool_size", "1 min"),  # 000 quick fixes: "Increase max_connections | 1min"
        ("add_runbook_indexes", "5 min"),  # 000 quick fixes: "Kill queries, add indexes | 5min"
        ("kill_long_queries", "5 min"),
        ("reset_epoch", None),  # not timed by the runbooks
    ],
)
def test_expected_recovery_of_an_action(action, time):
    assert expected_recovery(action) == time


def test_every_timed_action_is_pinned_above():
    pinned = {
        "scale",
        "delete_pod",
        "rollout_undo",
        "rollout_restart",
        "patch_resources",
        "restart_local_server",
        "set_pool_size",
        "add_runbook_indexes",
        "kill_long_queries",
    }
    assert set(ACTION_RECOVERY) == pinned


def test_every_recovery_time_is_read_and_every_quick_fix_declared():
    """thresholds.yaml ``recovery``: each number is used by a fix or an action."""
    used = set(ACTION_RECOVERY.values()) | set(QUICK_FIXES)
    assert set(default_thresholds().recovery) == used
    declared = {spec.quick_fix for spec in CHECKS.values() if spec.quick_fix}
    assert declared == set(QUICK_FIXES)
