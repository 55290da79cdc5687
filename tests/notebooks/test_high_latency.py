"""MCHighLatency opens high_latency, which finds the slow actor type and rules out causes.

The real server on SQLite, scraped every second by a real Prometheus; the
`slow_handling` fault makes meeting actors take 700 ms per message, so their p95 lands
between the runbook's 500 ms (MCHighLatency) and 1 s (the severity table's P2 example
"p95 > 1s"). The run must name the meeting actors, judge them a warning (P3), and check
the other causes rather than skip them.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.notebooks.support import run_against
from tests.notebooks.test_alert_chain import wait_for
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

MESSAGES = 6


def slow_meeting(server, meeting_id: str) -> None:
    """A meeting whose actor takes 700 ms per message, sent ``MESSAGES`` messages."""
    with server.client("did:plc:alice") as alice, server.client() as admin:
        assert alice.post("/meetings", json={"meeting_id": meeting_id}).status_code == 200
        joined = alice.post(f"/meetings/{meeting_id}/join", json={})
        assert joined.status_code == 200, joined.text
        connection = joined.json()["connection_id"]
        slow = {"slow_handling": {"actor_type": "meeting", "delay_ms": 700}}
        assert admin.put("/admin/faults", json=slow).status_code == 200
        for _ in range(MESSAGES):
            sent = alice.post(
                f"/meetings/{meeting_id}/messages",
                json={"connection_id": connection, "body": "hello"},
            )
            assert sent.status_code == 200, sent.text


def test_slow_meeting_actors_are_found_and_the_other_causes_checked(sqlite_url, tmp_path):
    with (
        running_server(sqlite_url) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        wait_for(  # samples well before the fault, so the plots' time axes hold its moment
            "three scrapes by Prometheus",
            lambda: httpx.get(
                f"{prom}/api/v1/query", params={"query": "count_over_time(up[1m]) >= 3"}
            ).json()["data"]["result"],
            timeout=30,
        )
        slow_meeting(server, "meeting-slow")
        query = (
            'sum(mc_message_processing_duration_seconds_count{actor_type="meeting"}) '
            f">= {MESSAGES}"
        )
        wait_for(
            "Prometheus to scrape the slow messages",
            lambda: httpx.get(f"{prom}/api/v1/query", params={"query": query}).json()["data"][
                "result"
            ],
            timeout=30,
        )
        run = run_against(
            "high_latency",
            tmp_path / "run",
            server,
            f"prometheus_url={prom}",
            f"log_source=file:{server.log_file}",
            "window=5m",
        )

    assert run.exit_code == 0, run.output
    p95 = run.finding("p95_latency")
    assert p95["level"] == "warning", p95
    assert p95["title"].startswith("p95 of meeting actors")
    slowest = p95["data"][0]
    assert slowest["actor_type"] == "meeting" and 0.5 < slowest["p95_seconds"] <= 1.0
    assert p95["count"] == 1  # conversations and the controller are not slow
    for check in ("mailbox_depth", "cpu_usage", "gc_heartbeat_latency", "pause_logs"):
        finding = run.finding(check)
        assert not finding["title"].startswith("not checked"), finding
    assert run.finding("gc_heartbeat_latency")["level"] == "ok"
    assert run.finding("mailbox_depth")["level"] == "ok"
    # root cause 5: round trips to the local server on loopback are no plausible cause
    network = run.finding("network_latency")
    assert network["level"] == "ok" and "not a plausible cause" in network["title"], network
    assert [(row["target"], row["probes"]) for row in network["data"]] == [("service", 5)]
    assert run.summary["remediations"] == []  # local platform: scaling is Kubernetes'
    severity = run.summary["severity"]
    assert (severity["scheme"], severity["level"]) == ("P", "P3"), severity
    assert "p95_latency" in severity["reason"]
    assert ADMIN_TOKEN.encode() not in run.evidence_bytes()
    # the injected fault is a dashed line on the time axes (the server logged it)
    marked = [fig["layout"]["title"]["text"] for fig in figures(run) if fault_marked(fig)]
    assert "Mailbox depth by actor type" in marked, marked


def figures(run) -> list[dict]:
    """The plotly figures of the executed notebook, as JSON."""
    (notebook,) = run.out_dir.glob("*.ipynb")
    cells = json.loads(notebook.read_text())["cells"]
    return [
        output["data"]["application/vnd.plotly.v1+json"]
        for cell in cells
        for output in cell.get("outputs", [])
        if "application/vnd.plotly.v1+json" in output.get("data", {})
    ]


def fault_marked(fig: dict) -> bool:
    lines = [s for s in fig["layout"].get("shapes", []) if s.get("x0") == s.get("x1")]
    notes = [a.get("text") for a in fig["layout"].get("annotations", [])]
    return bool(lines) and "fault slow_handling" in notes
