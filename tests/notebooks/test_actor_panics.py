"""`mcops run actor_panics` on a real server: quiet first, then with meeting actors panicking.

The quiet run reads /metrics directly (no Prometheus); the faulty run asks a real
Prometheus scraping the server every second, as an engineer with Prometheus would.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.notebooks.support import mcops_run
from tests.notebooks.test_alert_chain import panic_meeting, wait_for
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

TOKEN_ENV = {"MCOPS_TEST_ADMIN_TOKEN": ADMIN_TOKEN}


def actor_panics(server, out_dir, *extra: str):
    return mcops_run(
        "actor_panics",
        out_dir,
        "-p",
        f"service_url={server.url}",
        "-p",
        f"log_source=file:{server.log_file}",
        "-p",
        "admin_token=env:MCOPS_TEST_ADMIN_TOKEN",
        "-p",
        "window=15m",
        *extra,
        env=TOKEN_ENV,
    )


def meeting_panics_counter(server) -> float:
    counter = httpx.get(f"{server.url}/metrics").text
    [value] = [
        float(line.split()[-1])
        for line in counter.splitlines()
        if line.startswith('mc_actor_panics_total{actor_type="meeting"}')
    ]
    return value


def settled_meeting_panics(server) -> float:
    """The meeting panic counter once it has stopped moving (a crash in flight lands)."""
    previous = meeting_panics_counter(server)
    for _ in range(20):
        time.sleep(0.5)
        current = meeting_panics_counter(server)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"the meeting panic counter kept moving (now {previous})")


def test_actor_panics_quiet_then_panicking(sqlite_url, tmp_path):
    with (
        running_server(sqlite_url) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        quiet = actor_panics(server, tmp_path / "quiet")
        assert quiet.exit_code == 0, quiet.output
        levels = {f["check"]: f["level"] for f in quiet.summary["findings"]}
        assert levels == {
            "actor_panics": "ok",
            "panic_logs": "ok",
            "panic_recurrence": "ok",
            "recent_rollout": "info",  # not checked: local platform
        }, quiet.summary["findings"]
        assert quiet.summary["severity"]["level"] == "P4"
        assert quiet.summary["sources"]["metrics"]["state"] == "ok"

        with httpx.Client(timeout=10) as http:
            wait_for(
                "Prometheus to scrape the panic counter",
                lambda: http.get(
                    f"{prom}/api/v1/query", params={"query": "mc_actor_panics_total"}
                ).json()["data"]["result"],
                timeout=30,
            )
        panicked = panic_meeting(server, "meeting-77", messages=4)
        assert panicked > 0
        # stop the fault, or the periodic meeting-timeout check keeps panicking the actor
        # and the counter moves on after the notebook has read the logs
        with server.client() as admin:
            assert admin.delete("/admin/faults/meeting_panic").status_code == 200
        meeting_panics = settled_meeting_panics(server)
        wait_for(
            "Prometheus to see the panics",
            lambda: httpx.get(
                f"{prom}/api/v1/query",
                params={"query": "sum(increase(mc_actor_panics_total[5m])) > 0"},
            ).json()["data"]["result"],
            timeout=30,
        )
        faulty = actor_panics(server, tmp_path / "faulty", "-p", f"prometheus_url={prom}")
        assert faulty.exit_code == 0, faulty.output
        counts = faulty.finding("actor_panics")
        assert counts["level"] == "critical"
        assert "in the last 15m" in counts["title"]
        assert [row["actor_type"] for row in counts["data"]] == ["meeting"]
        logs = faulty.finding("panic_logs")
        assert logs["level"] == "critical"
        assert meeting_panics == settled_meeting_panics(server)
        assert logs["count"] == meeting_panics >= panicked  # the logs agree with the counter
        assert logs["data"][0]["meetings"] == "meeting-77"
        assert logs["data"][0]["likely_cause"] == "invariant violation"
        assert "Traceback" in logs["data"][0]["backtrace"]
        assert faulty.finding("panic_recurrence")["level"] == "critical"
        assert faulty.finding("recent_rollout")["title"].startswith("not checked: kubernetes")
        assert faulty.summary["severity"]["level"] == "P1"
        assert faulty.summary["sources"]["prometheus"]["state"] == "ok"
        assert faulty.summary["remediations"] == []
        assert ADMIN_TOKEN.encode() not in faulty.evidence_bytes()
