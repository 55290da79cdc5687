"""Issue 4's done-when: Prometheus → Alertmanager → `mcops alerts serve` → notebook.

Everything is real and on loopback: the actor server (SQLite), Prometheus scraping it
every second with the repository's rules, Alertmanager routing every alert to the
receiver, and the receiver started as a user would (`python -m mcops.cli alerts serve`
in a subprocess). A `meeting_panic` fault makes meeting actors panic; MCActorPanic
(no `for:`) fires, and the receiver runs the actor_panics notebook in plan mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.notebooks.support import ROOT
from tests.support.alertmanager import running_alertmanager
from tests.support.ports import free_port, wait_http
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

RULES = sorted((ROOT / "deploy" / "prometheus").glob("*.rules.yml"))
TOKEN_ENV = "MCOPS_TEST_ADMIN_TOKEN"


@contextmanager
def alert_receiver(evidence: Path, *parameters: str) -> Iterator[str]:
    """`mcops alerts serve` as a subprocess on a free port; yield its base URL."""
    port = free_port()
    args = [arg for p in parameters for arg in ("-p", p)]
    log = evidence.parent / "receiver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcops.cli",
                "alerts",
                "serve",
                "--port",
                str(port),
                "--evidence",
                str(evidence),
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, TOKEN_ENV: ADMIN_TOKEN},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/health", timeout=30)
        except TimeoutError:
            raise RuntimeError(f"receiver did not start:\n{log.read_text()[-3000:]}") from None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(what: str, probe, *, timeout: float, every: float = 0.5):
    """Poll ``probe()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def panic_meeting(server, meeting_id: str, *, messages: int) -> int:
    """004 Scenario 2: a meeting whose actor panics on every message; returns the panics
    (answers 500 ActorCrashed; a message during the restart backoff may get a 503)."""
    with server.client("did:plc:alice") as alice, server.client() as admin:
        assert alice.post("/meetings", json={"meeting_id": meeting_id}).status_code == 200
        joined = alice.post(f"/meetings/{meeting_id}/join", json={})
        assert joined.status_code == 200, joined.text
        connection = joined.json()["connection_id"]
        fault = admin.put("/admin/faults", json={"meeting_panic": {"meeting_id": meeting_id}})
        assert fault.status_code == 200, fault.text
        answers = [
            alice.post(
                f"/meetings/{meeting_id}/messages",
                json={"connection_id": connection, "body": "hello"},
            )
            for _ in range(messages)
        ]
    return sum(a.status_code == 500 and a.json()["error"] == "ActorCrashed" for a in answers)


def test_an_injected_panic_becomes_an_executed_actor_panics_notebook(sqlite_url, tmp_path):
    evidence = tmp_path / "evidence"
    with running_server(sqlite_url) as server, alert_receiver(
        evidence,
        f"service_url={server.url}",
        f"log_source=file:{server.log_file}",
        f"admin_token=env:{TOKEN_ENV}",
        "window=15m",
    ) as receiver, running_alertmanager(f"{receiver}/alerts") as am, running_prometheus(
        targets=[f"127.0.0.1:{server.port}"], rule_files=RULES, alertmanager=am
    ) as prom, httpx.Client(timeout=10) as http:  # fmt: skip
        # the counter's 0 must be scraped first, or increase() has nothing to rise from
        wait_for(
            "Prometheus to scrape mc_actor_panics_total",
            lambda: http.get(
                f"{prom}/api/v1/query", params={"query": "mc_actor_panics_total"}
            ).json()["data"]["result"],
            timeout=30,
        )
        time.sleep(1.5)
        assert panic_meeting(server, "meeting-chain", messages=3) > 0
        injected = time.monotonic()
        injected_at = datetime.now(UTC)

        def finished_panic_run():
            runs = http.get(f"{receiver}/runs").json()
            done = [
                r for r in runs if r["alert"] == "MCActorPanic" and r["status"] in ("ok", "error")
            ]
            return done[0] if done else None

        run = wait_for("the MCActorPanic run to finish", finished_panic_run, timeout=120)
        seconds = time.monotonic() - injected
        assert run["status"] == "ok", run["summary"].get("error")
        assert run["scenario"] == "actor_panics"
        assert run["parameters"]["apply_remediation"] is False
        findings = {f["check"]: f for f in run["summary"]["findings"]}
        assert findings["actor_panics"]["level"] == "critical", findings["actor_panics"]
        assert findings["actor_panics"]["data"][0]["actor_type"] == "meeting"
        assert findings["panic_logs"]["level"] == "critical"
        assert findings["panic_logs"]["data"][0]["meetings"] == "meeting-chain"
        assert findings["recent_rollout"]["title"].startswith("not checked:")  # local platform
        assert run["summary"]["severity"]["level"] == "P1"
        assert run["summary"]["remediations"] == []  # nothing planned, nothing applied locally

        assert {"actor_panics.ipynb", "actor_panics.html", "summary.json"} <= set(run["files"])
        for name in ("summary.json", "actor_panics.html"):
            served = http.get(f"{receiver}/runs/{run['id']}/{name}")
            assert served.status_code == 200
            assert ADMIN_TOKEN.encode() not in served.content
        assert (evidence / run["id"] / "actor_panics.ipynb").is_file()

        # Alertmanager repeating the same alert (same fingerprint and start) is not re-run
        [fired] = [
            a
            for a in http.get(f"http://{am}/api/v2/alerts").json()
            if a["labels"]["alertname"] == "MCActorPanic"
        ]
        repeat = http.post(
            f"{receiver}/alerts",
            json={
                "version": "4",
                "status": "firing",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": fired["labels"],
                        "annotations": fired["annotations"],
                        "startsAt": fired["startsAt"],
                        "fingerprint": fired["fingerprint"],
                    }
                ],
            },
        )
        assert repeat.status_code == 200
        assert repeat.json()["queued"] == []
        runs = http.get(f"{receiver}/runs").json()
        assert [r["id"] for r in runs if r["alert"] == "MCActorPanic"] == [run["id"]]
        received = datetime.fromisoformat(run["received_at"]) - injected_at
        ran = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(
            run["received_at"]
        )
        print(
            f"fault → webhook {received.total_seconds():.1f}s, notebook run "
            f"{ran.total_seconds():.1f}s, fault → evidence {seconds:.1f}s"
        )
