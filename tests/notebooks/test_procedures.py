"""Runbook 004's Recovery Procedures as users run them: `mcops run service_restart` and
`mcops run graceful_drain`, each step a finding.

Locally through the lab (`mcops lab up`, a real server process on SQLite): planned first
(nothing restarts), then the server is killed with SIGKILL and restarted through the
procedure (`restart_command='mcops lab restart'`), then drained while its meetings end
and re-enabled. On Kubernetes against kmock, a restart whose rollout never completes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time

import httpx
import pytest

from mcops.lab import Lab
from server.auth import user_token
from tests.mcops.remediate.kube_double import deployment, replica_set, running_kube
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector
from tests.notebooks.support import mcops_run
from tests.notebooks.test_service_outage import NAME, NS, crash_looping_pod, kubeconfig

pytestmark = pytest.mark.slow

AFTER = ("rollout_complete", "ready_after_restart", "startup_errors", "heartbeats_after_restart")


def levels(run) -> dict[str, str]:
    return {f["check"]: f["level"] for f in run.summary["findings"]}


def params(**values: object) -> list[str]:
    return [part for k, v in values.items() for part in ("-p", f"{k}={v}")]


def controller_status(database: str, mc_id: str) -> str | None:
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        row = conn.execute(
            "SELECT status FROM meeting_controllers WHERE id = ?", (mc_id,)
        ).fetchone()
    return row[0] if row else None


class Meetings:
    """Meetings with one connection each, opened and ended over the real HTTP API."""

    def __init__(self, lab: Lab, ids: tuple[str, ...]) -> None:
        state = lab.state()
        self.url = state.server_url
        self.secret = (lab.root / "auth-secret").read_text().strip()
        self.ids = ids

    def _headers(self, meeting: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {user_token(f'did:plc:{meeting}', self.secret)}"}

    def open(self) -> None:
        for meeting in self.ids:
            headers = self._headers(meeting)
            created = httpx.post(
                f"{self.url}/meetings", json={"meeting_id": meeting}, headers=headers
            )
            assert created.status_code == 200, created.text
            joined = httpx.post(f"{self.url}/meetings/{meeting}/join", json={}, headers=headers)
            assert joined.status_code == 200, joined.text

    def end(self) -> None:
        for meeting in self.ids:
            httpx.post(
                f"{self.url}/meetings/{meeting}/end", json={}, headers=self._headers(meeting)
            )


def test_restart_and_drain_the_local_lab_through_the_procedures(tmp_path):
    lab = Lab(tmp_path / "lab")
    state = lab.up(with_prometheus=False)
    try:
        restart_command = f"{sys.executable} -m mcops.cli lab --root {lab.root} restart"
        common = params(
            service_url=state.server_url,
            database_url=state.database_url,
            log_source=f"file:{state.log_file}",
            rollout_timeout="30s",
        )
        meetings = Meetings(lab, ("standup", "retro"))
        meetings.open()

        # 1. the default plans: nothing restarts, steps 4-6 say why they did not run
        planned = mcops_run(
            "service_restart",
            tmp_path / "plan",
            *common,
            "-p",
            f"restart_command={restart_command}",
        )
        assert planned.exit_code == 0, planned.output
        found = levels(planned)
        assert found["restart_state_before"] == "ok"
        impact = planned.finding("restart_impact")
        assert impact["count"] == 2 and "single instance" in impact["title"]
        for check in AFTER:
            assert planned.finding(check)["title"].startswith(
                "not checked: the restart was planned"
            )
        assert planned.finding("rollback_path")["checked"] is False
        (plan,) = planned.summary["remediations"]
        assert plan["action"] == "restart_by_command" and plan["mode"] == "plan"
        assert lab.state().server_pid == state.server_pid  # still the same process

        # 2. the server dies (SIGKILL); the procedure restarts it and verifies each step
        os.kill(state.server_pid, signal.SIGKILL)
        time.sleep(0.3)
        restarted = mcops_run(
            "service_restart",
            tmp_path / "apply",
            *common,
            *("-p", f"restart_command={restart_command}", "-p", "apply_remediation=True"),
        )
        assert restarted.exit_code == 0, restarted.output
        found = levels(restarted)
        before = restarted.finding("restart_state_before")
        assert before["level"] == "warning" and "recovery attempt" in before["title"]
        assert restarted.finding("restart_impact")["checked"] is False  # nothing to scrape
        assert {check: found[check] for check in AFTER} == dict.fromkeys(AFTER, "ok")
        assert found["rollback_path"] == "ok"
        (applied,) = restarted.summary["remediations"]
        assert applied["mode"] == "apply" and applied["changes"] == 1
        new_pid = lab.state().server_pid
        assert new_pid != state.server_pid
        assert httpx.get(f"{state.server_url}/ready").status_code == 200
        audit = [
            json.loads(line)
            for line in (restarted.out_dir / "audit.jsonl").read_text().splitlines()
        ]
        assert any(
            r["action"] == "restart_by_command" and r["mode"] == "apply" and r["result"] == "ok"
            for r in audit
        )

        # 3. drain: marked in the controller table, then waited for while the meetings end
        meetings = Meetings(lab, ("planning", "review"))  # the first two live on in the table
        meetings.open()
        drain_params = params(
            service_url=state.server_url,
            database_url=state.database_url,
            mc_id="mc-local-1",
            poll_interval="1s",
            drain_timeout="60s",
            apply_remediation=True,
        )

        def end_meetings_once_draining() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if controller_status(state.database_url, "mc-local-1") == "draining":
                    time.sleep(2)  # let the procedure read them active at least once
                    meetings.end()
                    return
                time.sleep(0.2)

        ender = threading.Thread(target=end_meetings_once_draining, daemon=True)
        ender.start()
        drained = mcops_run("graceful_drain", tmp_path / "drain", *drain_params)
        ender.join(timeout=5)
        assert drained.exit_code == 0, drained.output
        found = levels(drained)
        assert found["drain_controller"] == found["drain_marked"] == "ok"
        complete = drained.finding("drain_complete")
        assert complete["level"] == "ok" and "2 → 0" in complete["title"], complete
        assert "proceed with maintenance" in complete["title"]
        later = drained.finding("drain_reenabled")
        assert (
            later["title"]
            == "not checked: after maintenance, run again with reenable=True (step 4)"
        )
        assert controller_status(state.database_url, "mc-local-1") == "draining"
        assert drained.summary["severity"]["level"] == "P4"

        # 4. after maintenance: reenable=True marks it active again (step 4 only)
        back = mcops_run(
            "graceful_drain", tmp_path / "reenable", *drain_params, "-p", "reenable=True"
        )
        assert back.exit_code == 0, back.output
        assert back.finding("drain_reenabled")["level"] == "ok"
        assert "drain_complete" not in levels(back)
        assert controller_status(state.database_url, "mc-local-1") == "active"
    finally:
        lab.down()


def test_a_restart_whose_rollout_never_completes_plans_the_rollback(tmp_path):
    """No Kubernetes cluster can run here (no API server binaries), so this runs against
    kmock, a local API double speaking the real REST paths, driven through the real
    `kubernetes` client the notebook loads from a kubeconfig pointing at it. The restart
    is applied (the pod template's restartedAt annotation), the new pods crash-loop, and
    the procedure must stop at its timeout and plan `rollout undo`."""
    with running_kube() as (mock, api):
        filter_pods_by_selector(mock)
        dep = deployment(NS, NAME, replicas=2, revision=3, image="mc:3")
        dep["status"] = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 0}
        mock.objects["apps/v1/deployments", NS, NAME] = dep
        for revision, image in ((2, "mc:2"), (3, "mc:3")):
            rs = replica_set(dep, revision=revision, image=image)
            mock.objects["apps/v1/replicasets", NS, rs["metadata"]["name"]] = rs
        for name in ("meeting-controller-a", "meeting-controller-b"):
            mock.objects["v1/pods", NS, name] = crash_looping_pod(name, restarts=2)
        config = kubeconfig(api.configuration.host, tmp_path / "kubeconfig")
        run = mcops_run(
            "service_restart",
            tmp_path / "k8s",
            *params(platform="kubernetes", namespace=NS, deployment=NAME),
            *params(apply_remediation=True, rollout_timeout="3s"),
            env={"KUBECONFIG": str(config)},
        )
        patches = [r for r in mock if r.method == "PATCH" and r.url.path.endswith(f"/{NAME}")]
        stamped = dict(mock.objects["apps/v1/deployments", NS, NAME].raw)["spec"]["template"][
            "metadata"
        ]

    assert run.exit_code == 0, run.output
    found = levels(run)
    assert found["restart_state_before"] == "warning"  # 0 of 2 ready before
    assert run.finding("restart_impact")["checked"] is False  # no service_url to scrape
    assert patches and "kubectl.kubernetes.io/restartedAt" in stamped.get("annotations", {}), (
        run.summary["remediations"],
        [p.params for p in patches],
    )
    rollout = run.finding("rollout_complete")
    assert rollout["level"] == "critical" and "not complete" in rollout["title"]
    assert found["ready_after_restart"] == "critical"
    assert found["heartbeats_after_restart"] == "info"  # no service_url: not checked
    rollback = run.finding("rollback_path")
    assert rollback["level"] == "warning" and "rollout_complete" in rollback["title"]
    assert f"mcops remediate rollout_undo --target namespace={NS}" in rollback["title"]
    actions = {r["action"]: r["mode"] for r in run.summary["remediations"]}
    assert actions["rollout_restart"] == "apply"
    assert actions["rollout_undo"] == "plan"  # a rollback waits for a person, even in apply
    assert run.summary["severity"]["level"] == "P1"  # nothing ready: the service is down
