"""MCGCHeartbeatFailure opens gc_integration, which finds the failing heartbeats.

The real server on SQLite heartbeats every 0.2 s; the `gc_heartbeat_failure` fault (rate
1.0) makes every heartbeat fail. The server then keeps its `meeting_controllers` row
'active' and `mc_gc_registered` at 1, but `last_heartbeat` stops moving: it becomes stale
only after the runbook's 30 s, so the run lowers that age to 1 s with a thresholds file
rather than waiting. A late heartbeat on a row that is still 'active' is 004's "GC
heartbeat intermittent" (a warning, P2), not "complete GC registration failure" (P1).
"""

from __future__ import annotations

import time

import pytest

from tests.notebooks.support import mcops_run
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

TOKEN_ENV = {"MCOPS_TEST_ADMIN_TOKEN": ADMIN_TOKEN}
STALE_AFTER_1S = """\
metrics:
  gc_heartbeat_age_seconds:
    bands:
      recent: {level: ok, upto: 1}
"""


def test_failing_heartbeats_are_critical_and_the_registration_goes_late(sqlite_url, tmp_path):
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(STALE_AFTER_1S, encoding="utf-8")
    with running_server(sqlite_url, env={"GC_HEARTBEAT_INTERVAL": "0.2"}) as server:
        with server.client() as admin:
            config = admin.get("/admin/config").json()
            faulted = admin.put("/admin/faults", json={"gc_heartbeat_failure": {"rate": 1.0}})
            assert faulted.is_success, faulted.text
        time.sleep(1.5)
        args = [
            f"service_url={server.url}",
            f"database_url={sqlite_url}",
            f"log_source=file:{server.log_file}",
            "admin_token=env:MCOPS_TEST_ADMIN_TOKEN",
            f"mc_id={config['mc_id']}",
            f"thresholds_file={thresholds}",
            "window=10m",
        ]
        run = mcops_run(
            "gc_integration",
            tmp_path / "run",
            *[part for value in args for part in ("-p", value)],
            env=TOKEN_ENV,
        )

    assert run.exit_code == 0, run.output
    failures = run.finding("gc_heartbeat_failures")
    assert failures["level"] == "critical", failures
    assert "in the window" in failures["title"]  # growth between scrapes, not totals
    counts = {row["result"]: row["increase"] for row in failures["data"]}
    assert counts.get("success", 0) == 0 and counts["failure"] > 0
    registration = run.finding("registration")
    assert registration["level"] == "warning", registration
    assert "last heartbeat" in registration["title"]
    [row] = registration["data"]
    assert row["id"] == config["mc_id"] and row["status"] == "active"
    assert row["age_s"] > 1
    # step 5: the server logs each failed heartbeat at WARN ("GC heartbeat failed: ...")
    logs = run.finding("gc_log_errors")
    assert logs["level"] == "warning" and logs["count"] > 0, logs
    assert all("heartbeat" in row["msg"].lower() for row in logs["data"])
    # steps 2 and 6 read a cluster; step 4 needs gc_url, and says how to give it
    for check in ("gc_pods", "network_policy"):
        assert "platform is 'local'" in run.finding(check)["title"]
    reach = run.finding("gc_reachable")["title"]
    assert reach.startswith("not checked: gc: gc_url is empty — fix: pass -p gc_url=http")
    assert run.summary["sources"]["gc"]["state"] == "not given"
    # root cause 5: service_url is an IP literal, gc_url is empty (and the title says so)
    names = run.finding("dns_resolution")
    assert names["level"] == "ok", names
    assert "127.0.0.1: IP literal(s), no DNS needed" in names["title"]
    assert "gc_url not given" in names["title"]
    [plan] = run.summary["remediations"]
    assert plan["action"] == "reregister_controller"
    assert plan["mode"] == "plan" and plan["changes"] == 1  # forced: the row is stale
    severity = run.summary["severity"]
    assert severity["scheme"] == "P" and severity["level"] == "P2"
    assert "GC heartbeat" in severity["reason"]
    assert severity["next_scenarios"] == []  # gc_integration itself is where it routes
    assert run.summary["scenario"] == "gc_integration"
    assert ADMIN_TOKEN.encode() not in run.evidence_bytes()
