"""Judges of runbook 004 Scenario 4 (Complete Service Outage), at their boundaries.

Each test names the runbook 004 line it comes from ("004:36" is the P1 row of the
severity table, "All pods crash-looping"; "004:37" the P2 row, "Single pod failing").
"""

from __future__ import annotations

import pandas as pd
import pytest

from mcops.checks import outage
from mcops.findings import Level

SINCE = pd.Timestamp("2026-11-23T09:00:00Z")


def pods(*rows: dict) -> pd.DataFrame:
    base = {
        "pod": "mc-a",
        "phase": "Running",
        "ready": True,
        "restarts": 0,
        "waiting_reason": None,
        "last_reason": None,
        "last_exit_code": None,
        "last_finished_at": pd.NaT,
        "container": "meeting-controller",
    }
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=list(base))
    frame["last_finished_at"] = pd.to_datetime(frame["last_finished_at"], utc=True)
    return frame


CRASHING = {"ready": False, "restarts": 7, "waiting_reason": "CrashLoopBackOff"}


# ---------------------------------------------------------------- pods_not_ready


def test_pods_not_ready_all_ready_is_ok():
    # 004:383 "No healthy pods in `kubectl get pods`" is the outage; all ready is not
    finding = outage.pods_not_ready(pods({"pod": "mc-a"}, {"pod": "mc-b"}))
    assert (finding.level, finding.count) == (Level.OK, 0)


def test_pods_not_ready_one_of_two_is_a_single_pod_failing():
    # 004:37 P2 "Single pod failing"
    finding = outage.pods_not_ready(pods({"pod": "mc-a"}, {"pod": "mc-b", **CRASHING}))
    assert finding.level == Level.WARNING
    assert finding.title.startswith("Single pod failing: 1 of 2 not ready (CrashLoopBackOff)")
    assert [row["pod"] for row in finding.data] == ["mc-b"]


def test_pods_not_ready_none_ready_is_all_pods_down():
    # 004:382-383 "All MC pods in CrashLoopBackOff or Pending"; 004:36 P1 "Service down"
    finding = outage.pods_not_ready(
        pods({"pod": "mc-a", **CRASHING}, {"pod": "mc-b", "ready": False, "phase": "Pending"})
    )
    assert finding.level == Level.CRITICAL
    assert "All pods down: 0 of 2 ready (CrashLoopBackOff, Pending)" in finding.title
    assert finding.count == 2


def test_pods_not_ready_no_pod_at_all_is_down():
    # 004:383 "No healthy pods": a selector matching nothing serves nothing
    finding = outage.pods_not_ready(pods().iloc[0:0], check="pods_not_ready")
    assert finding.level == Level.CRITICAL and "no pod matches" in finding.title


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull"])
def test_pods_not_ready_names_an_image_pull_failure_and_what_to_do(reason):
    # 004 root cause 1 "Bad Deployment": a new image that cannot be pulled leaves no logs
    finding = outage.pods_not_ready(
        pods({"pod": "mc-a", **CRASHING}, {"pod": "mc-b", "ready": False, "waiting_reason": reason})
    )
    assert finding.level == Level.CRITICAL
    assert f"0 of 2 ready (CrashLoopBackOff, {reason})" in finding.title
    assert f"{reason}: the image cannot be pulled" in finding.detail
    assert "CreateContainerConfigError" not in finding.detail


def test_pods_not_ready_points_a_config_error_at_config_refs_and_only_when_seen():
    # 004 root causes 4-5 "Missing Secret" / "Missing ConfigMap"
    config = {"ready": False, "waiting_reason": "CreateContainerConfigError"}
    finding = outage.pods_not_ready(pods({"pod": "mc-a"}, {"pod": "mc-b", **config}))
    assert finding.level == Level.WARNING and "config_refs" in finding.detail
    plain = outage.pods_not_ready(pods({"pod": "mc-a"}, {"pod": "mc-b", **CRASHING}))
    assert "config_refs" not in plain.detail and "image" not in plain.detail


def test_pods_not_ready_takes_the_check_id():
    assert outage.pods_not_ready(pods({}), check="other").check == "other"


# ---------------------------------------------------------------- restarts


def test_restarts_none_is_ok():
    # 004:377 alert MCPodRestartingFrequently: nothing restarted
    assert outage.restarts(pods({}, {"pod": "mc-b"}), since=SINCE).level == Level.OK


def test_restarts_before_the_window_do_not_count():
    # 004:377 MCPodRestartingFrequently counts restarts in its window, not since creation
    old = {"restarts": 9, "last_finished_at": "2026-11-23T08:00:00Z"}
    assert outage.restarts(pods(old), since=SINCE).level == Level.OK


@pytest.mark.parametrize(
    ("count", "looping"),
    [(3, False), (4, True)],  # thresholds.yaml MCPodRestartingFrequently: > 3 in 15m
)
def test_restarts_threshold_boundary_on_every_pod(count, looping):
    # 004:36 P1 "All pods crash-looping" vs 004:37 P2 "Single pod failing"
    recent = {"restarts": count, "last_finished_at": "2026-11-23T09:30:00Z"}
    finding = outage.restarts(pods(recent, {**recent, "pod": "mc-b"}), since=SINCE, threshold=3)
    assert finding.level == (Level.CRITICAL if looping else Level.WARNING)
    assert all(row["crash_looping"] is looping for row in finding.data)


def test_restarts_crash_loop_back_off_everywhere_is_critical():
    # 004:382 "All MC pods in CrashLoopBackOff"; 004:36 P1 "All pods crash-looping"
    finding = outage.restarts(pods(CRASHING, {**CRASHING, "pod": "mc-b"}), since=SINCE)
    assert finding.level == Level.CRITICAL
    assert finding.title == "All pods crash-looping: 2 pods, 14 restarts"


def test_restarts_one_pod_crash_looping_is_a_single_pod_failing():
    # 004:37 P2 "Single pod failing"
    finding = outage.restarts(pods({}, {**CRASHING, "pod": "mc-b"}), since=SINCE)
    assert finding.level == Level.WARNING
    assert finding.title.startswith("Single pod failing: 1 of 2 pods restarted (1 pod crash")


# ---------------------------------------------------------------- oom_killed


def test_oom_killed_none_is_ok():
    # 004:420 "Pod events show OOMKilled": no such reason, no such event
    assert outage.oom_killed(pods({"last_reason": "Error"})).level == Level.OK


def test_oom_killed_in_one_container_status_is_critical():
    # 004:419 root cause 2 "Out of Memory: Pods OOMKilled due to memory limits"
    finding = outage.oom_killed(pods({}, {"pod": "mc-b", "last_reason": "OOMKilled"}))
    assert finding.level == Level.CRITICAL
    assert finding.data == (
        {"pod": "mc-b", "container": "meeting-controller", "source": "pod status"},
    )


def test_oom_killed_from_events_only_once_per_pod():
    # 004:420 "Pod events show OOMKilled" (the status may have moved on)
    events = pd.DataFrame(
        [
            {
                "reason": "OOMKilling",
                "message": "Memory cgroup out of memory",
                "object_name": "mc-c",
            },
            {"reason": "BackOff", "message": "Back-off restarting", "object_name": "mc-a"},
        ]
    )
    finding = outage.oom_killed(pods({"pod": "mc-c", "last_reason": "OOMKilled"}), events=events)
    assert finding.count == 1 and finding.data[0]["source"] == "pod status"
    finding = outage.oom_killed(pods({"pod": "mc-a"}), events=events)
    assert (finding.level, finding.data[0]["pod"]) == (Level.CRITICAL, "mc-c")


# ---------------------------------------------------------------- last_logs


def logs(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"ts": pd.Timestamp(ts), "level": level, "msg": msg} for ts, level, msg in rows]
    )


def test_last_logs_without_errors_is_ok():
    # 004:397 `kubectl logs --previous --tail=100`: nothing alarming in them
    finding = outage.last_logs(logs(("2026-11-23T09:59:00Z", "INFO", "started")))
    assert finding.level == Level.OK


def test_last_logs_no_lines_is_info_not_all_clear():
    # 004:397: an empty log says nothing either way
    assert outage.last_logs(logs()).level == Level.INFO


def test_last_logs_error_lines_only_within_the_tail():
    # 004:397 `--tail=100`: an error 2 lines back is outside --tail=1
    frame = logs(
        ("2026-11-23T09:59:00Z", "ERROR", "Failed to register with GC: connection refused"),
        ("2026-11-23T09:59:01Z", "INFO", "shutting down"),
    )
    assert outage.last_logs(frame, tail=1).level == Level.OK
    finding = outage.last_logs(frame, tail=2)
    assert finding.level == Level.WARNING
    assert "newest: Failed to register with GC" in finding.title


def test_last_logs_plain_lines_use_the_runbooks_grep():
    # 004:827 `grep -E "error|panic|fatal"` for lines without a level
    frame = logs(("2026-11-23T09:59:00Z", "", "thread 'main' panicked at src/actor.rs:42"))
    assert outage.last_logs(frame).level == Level.WARNING


def test_last_logs_tail_is_per_pod():
    # 004:397 `-l app=...  --previous --tail=100` reads the tail of every pod
    frame = logs(
        ("2026-11-23T09:58:00Z", "ERROR", "actor system failed to start"),
        ("2026-11-23T09:59:00Z", "INFO", "ok"),
    ).assign(pod=["mc-a", "mc-b"])
    finding = outage.last_logs(frame, tail=1)
    assert finding.level == Level.WARNING and finding.data[0]["pod"] == "mc-a"


# ---------------------------------------------------------------- recent_rollout


def history(*created: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "revision": list(range(1, len(created) + 1)),
            "images": [f"mc:{i}" for i in range(1, len(created) + 1)],
            "created": pd.to_datetime(list(created), utc=True),
        }
    )


def test_recent_rollout_before_the_window_is_ok():
    # 004:410 `kubectl rollout history`: nothing new
    finding = outage.recent_rollout(history("2026-11-20T00:00:00Z"), since=SINCE)
    assert finding.level == Level.OK and "latest revision 1" in finding.title


def test_recent_rollout_at_the_window_start_is_the_suspect():
    # 004:415 root cause 1 "Bad Deployment: Recent deployment introduced crash" → roll back
    finding = outage.recent_rollout(
        history("2026-11-20T00:00:00Z", "2026-11-23T09:00:00Z"), since=SINCE
    )
    assert finding.level == Level.WARNING
    assert finding.title.startswith("Bad Deployment? revision 2") and "roll back" in finding.title


def test_recent_rollout_empty_history_is_ok():
    # 004:410: a deployment never rolled out has nothing to roll back to
    assert outage.recent_rollout(history(), since=SINCE).level == Level.OK


# ---------------------------------------------------------------- config_refs


def refs(*rows: dict) -> pd.DataFrame:
    base = {
        "kind": "Secret",
        "name": "mc-service-secrets",
        "key": "",
        "used_by": "volume tls",
        "optional": False,
        "present": True,
        "key_present": None,
    }
    return pd.DataFrame([{**base, **row} for row in rows], columns=list(base))


def test_config_refs_all_present_is_ok():
    # 004:428/432 `kubectl get secret/configmap` find them
    frame = refs({}, {"kind": "ConfigMap", "name": "mc-service-config"})
    assert outage.config_refs(frame).level == Level.OK


def test_config_refs_missing_secret_is_critical():
    # 004:427 root cause 4 "Missing Secret: TLS certs or other secrets missing"
    finding = outage.config_refs(refs({"present": False}))
    assert (finding.level, finding.title) == (Level.CRITICAL, "Missing: Secret mc-service-secrets")


def test_config_refs_missing_key_is_critical_and_optional_is_not():
    # 004:431 root cause 5 "Missing ConfigMap": a required key gone is as bad
    frame = refs(
        {"kind": "ConfigMap", "name": "mc-service-config", "key": "mailbox", "key_present": False},
        {"name": "extra", "optional": True, "present": False},
    )
    finding = outage.config_refs(frame)
    assert finding.level == Level.CRITICAL
    assert finding.title == "Missing: ConfigMap mc-service-config (key mailbox)"
    assert finding.count == 1


def test_config_refs_nothing_referenced_is_ok():
    # 004:427-433: nothing to be missing
    assert outage.config_refs(refs().iloc[0:0]).level == Level.OK


# ---------------------------------------------------------------- database_reachable


def test_database_reachable_boundaries():
    # 004:435 root cause 6 "Actor System Initialization Failure": its store must answer
    up = pd.DataFrame([{"reachable": True, "latency_ms": 3.0, "error": ""}])
    down = pd.DataFrame([{"reachable": False, "latency_ms": None, "error": "refused"}])
    assert outage.database_reachable(up).level == Level.OK
    finding = outage.database_reachable(down)
    assert (finding.level, finding.detail) == (Level.CRITICAL, "refused")
    assert not outage.database_reachable(pd.DataFrame()).checked


# ---------------------------------------------------------------- down_periods


def test_down_periods_from_up():
    # 004:377 MCDown: `up == 0`; when it went down and when it came back
    stamps = pd.date_range("2026-11-23T09:00:00Z", periods=5, freq="1min")
    up = pd.DataFrame({"timestamp": stamps, "value": [1, 0, 0, 1, 0], "instance": "mc:8080"})
    periods = outage.down_periods(up)
    assert periods["down_from"].tolist() == [stamps[1], stamps[4]]
    assert periods["down_until"].iloc[0] == stamps[3] and pd.isna(periods["down_until"].iloc[1])
    assert outage.down_periods(pd.DataFrame()).empty
