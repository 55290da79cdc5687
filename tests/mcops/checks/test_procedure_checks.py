"""Judges of runbook 004's Recovery Procedures, at their boundaries.

"004:884" is Service Restart step 1 ("Verify current state"), "004:887" step 2 ("Check
active meetings (will be affected)"), "004:892" step 3 ("zero-downtime if multiple
pods"), "004:895" step 4 ("Monitor rollout"), "004:898" step 5 ("Verify recovery"),
"004:902" step 6 ("Check logs for startup errors"), "004:906" "Rollback on failure";
"004:918"-"004:927" the Graceful Drain steps 1-4.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mcops.checks import procedure
from mcops.findings import Level
from mcops.registry import check_spec
from mcops.severity import assess


def serving(*flags: bool) -> pd.DataFrame:
    return pd.DataFrame(
        [{"target": f"pod-{i}", "serving": flag, "detail": ""} for i, flag in enumerate(flags)],
        columns=procedure.SERVING_COLUMNS,
    )


# ---------------------------------------------------------------- 004:884 step 1


@pytest.mark.parametrize(
    ("flags", "level"),
    [((True, True), Level.OK), ((True, False), Level.WARNING), ((False, False), Level.WARNING)],
)
def test_state_before_all_serving_is_ok_any_not_serving_is_said(flags, level):
    finding = procedure.serving_before(serving(*flags))
    assert finding.level == level
    assert finding.count == flags.count(False)


def test_state_before_with_nothing_listed_is_not_all_clear():
    assert procedure.serving_before(serving()).level == Level.WARNING


# ---------------------------------------------------------------- 004:887 step 2


def test_meetings_affected_zero_is_ok_one_is_said_with_the_count():
    none = procedure.meetings_impact(pd.DataFrame({"meetings_active": [0.0]}))
    assert none.level == Level.OK
    one = procedure.meetings_impact(pd.DataFrame({"meetings_active": [1.0]}))
    assert one.level == Level.INFO and one.count == one.affected_meetings == 1
    assert "single instance" in one.title


def test_several_pods_restart_one_at_a_time_004_892():
    frame = pd.DataFrame({"meetings_active": [3.0, 2.0]})  # summed over pods
    two = procedure.meetings_impact(frame, instances=2)
    assert two.count == 5 and "zero-downtime" in two.title
    assert "zero-downtime" not in procedure.meetings_impact(frame, instances=1).title


# ---------------------------------------------------------------- 004:895 step 4


def rollout(wanted: int, updated: int, ready: int, complete: bool) -> pd.DataFrame:
    row = {"wanted": wanted, "updated": updated, "ready": ready, "complete": complete}
    return pd.DataFrame([{**row, "waited_s": 12.0}])


def test_rollout_complete_is_ok():
    assert procedure.rollout_complete(rollout(3, 3, 3, True)).level == Level.OK


@pytest.mark.parametrize(("ready", "level"), [(0, Level.CRITICAL), (1, Level.WARNING)])
def test_rollout_not_complete_nothing_ready_is_critical_some_ready_a_warning(ready, level):
    finding = procedure.rollout_complete(rollout(3, 3, ready, False))
    assert finding.level == level and "roll back" in finding.title


def test_rollout_of_a_deployment_that_is_gone_is_critical():
    assert procedure.rollout_complete(pd.DataFrame()).level == Level.CRITICAL


# ---------------------------------------------------------------- 004:898 step 5


@pytest.mark.parametrize(
    ("flags", "level"),
    [((True, True), Level.OK), ((True, False), Level.WARNING), ((False, False), Level.CRITICAL)],
)
def test_ready_after_restart_at_each_edge(flags, level):
    assert procedure.ready_after(serving(*flags)).level == level


def test_ready_after_with_nothing_listed_is_critical():
    assert procedure.ready_after(serving()).level == Level.CRITICAL


# ---------------------------------------------------------------- 004:902 step 6


def logs(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"ts": pd.Timestamp(ts), "level": level, "msg": f"{level} line"} for ts, level in rows]
    )


def test_startup_errors_error_fatal_and_panic_count_warn_and_info_do_not():
    quiet = logs(("2026-11-30T10:00:01Z", "WARN"), ("2026-11-30T10:00:02Z", "INFO"))
    assert procedure.errors_after(quiet).level == Level.OK
    for bad in ("ERROR", "FATAL", "PANIC", "error"):
        finding = procedure.errors_after(logs(("2026-11-30T10:00:01Z", bad)))
        assert finding.level == Level.WARNING and finding.count == 1, bad


def test_startup_errors_before_the_restart_do_not_count():
    since = pd.Timestamp("2026-11-30T10:00:00Z")
    frame = logs(("2026-11-30T09:59:59Z", "ERROR"), ("2026-11-30T10:00:00Z", "INFO"))
    assert procedure.errors_after(frame, since=since).level == Level.OK
    at_the_edge = logs(("2026-11-30T10:00:00Z", "ERROR"))
    assert procedure.errors_after(at_the_edge, since=since).level == Level.WARNING


# ---------------------------------------------------------------- heartbeats back


def beats(registered: float, succeeded: float) -> pd.DataFrame:
    return pd.DataFrame([{"registered": registered, "succeeded": succeeded, "waited_s": 4.0}])


@pytest.mark.parametrize(
    ("registered", "succeeded", "level"),
    [(1, 1, Level.OK), (1, 0, Level.WARNING), (0, 5, Level.CRITICAL), (0, 0, Level.CRITICAL)],
)
def test_heartbeats_back_need_registration_and_one_success(registered, succeeded, level):
    assert procedure.heartbeats_back(beats(registered, succeeded)).level == level


# ---------------------------------------------------------------- 004:918-927 drain


CONTROLLERS = pd.DataFrame(
    [
        {"id": "mc-1", "status": "active", "current_sessions": 4},
        {"id": "mc-2", "status": "draining", "current_sessions": 0},
    ]
)


def test_the_mc_to_drain_must_have_a_row():
    assert procedure.controller_row(CONTROLLERS, mc_id="mc-1", check="drain_controller").level == (
        Level.OK
    )
    missing = procedure.controller_row(CONTROLLERS, mc_id="mc-9", check="drain_controller")
    assert missing.level == Level.WARNING and "mc-1, mc-2" in missing.title
    empty = procedure.controller_row(CONTROLLERS, mc_id="", check="drain_controller")
    assert empty.level == Level.WARNING and "mc_id" in empty.title


def test_status_read_back_after_the_update():
    ok = procedure.status_is(CONTROLLERS, mc_id="mc-2", status="draining", check="drain_marked")
    assert ok.level == Level.OK
    wrong = procedure.status_is(CONTROLLERS, mc_id="mc-1", status="draining", check="drain_marked")
    assert wrong.level == Level.CRITICAL
    gone = procedure.status_is(CONTROLLERS, mc_id="mc-9", status="active", check="drain_reenabled")
    assert gone.level == Level.CRITICAL and "missing" in gone.title


def waits(*left: int) -> pd.DataFrame:
    return pd.DataFrame([{"waited_s": 30.0 * i, "meetings_active": n} for i, n in enumerate(left)])


def test_drain_complete_exactly_at_zero_meetings_004_925():
    assert procedure.drain_complete(waits(3, 1, 0)).level == Level.OK
    left = procedure.drain_complete(waits(3, 2, 1))
    assert left.level == Level.WARNING and left.count == left.affected_meetings == 1
    assert "re-enable" in left.title
    assert procedure.drain_complete(pd.DataFrame()).level == Level.WARNING


# ---------------------------------------------------------------- the verdicts they make


def test_a_procedure_that_left_nothing_ready_is_p1_and_an_unfinished_drain_p3():
    down = procedure.ready_after(serving(False, False))
    assert check_spec(down.check).kind == "down"
    assert assess([down], scheme="P").level == "P1"
    stuck = procedure.rollout_complete(rollout(2, 2, 1, False))
    assert assess([stuck], scheme="P").level == "P2"  # 004:37 "Single pod failing"
    unregistered = procedure.heartbeats_back(beats(0, 0))
    assert assess([unregistered], scheme="P").level == "P1"  # "Complete GC registration failure"
    drain = procedure.drain_complete(waits(2, 1))
    assert assess([drain], scheme="P").level == "P3"
    fine = [
        procedure.ready_after(serving(True)),
        procedure.drain_complete(waits(1, 0)),
        procedure.meetings_impact(pd.DataFrame({"meetings_active": [7.0]})),
    ]
    assert assess(fine, scheme="P").level == "P4"
