"""`mcops run service_outage` (runbook 004 Scenario 4) for real, through the CLI.

Locally against the real server process: healthy, then stopped (the service gone), which
is when this notebook is opened — it must still run, say "critical", and leave evidence.
On Kubernetes against kmock, an API double, with every pod crash-looping after OOMKills.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import kmock
import pytest
import yaml

from tests.mcops.remediate.kube_double import deployment, replica_set, running_kube
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector
from tests.notebooks.support import mcops_run, run_against
from tests.notebooks.test_alert_chain import wait_for
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

NS, NAME = "dark-tower", "meeting-controller"
KUBE_CHECKS = ("pods_not_ready", "restarts", "oom_killed", "recent_rollout", "config_refs")


def levels(run) -> dict[str, str]:
    return {f["check"]: f["level"] for f in run.summary["findings"]}


def test_service_outage_local_healthy_then_gone(sqlite_url, tmp_path):
    with (
        running_server(sqlite_url) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        params = (
            f"log_source=file:{server.log_file}",
            f"database_url={sqlite_url}",
            f"prometheus_url={prom}",
            "window=15m",
        )
        healthy = run_against("service_outage", tmp_path / "healthy", server, *params)
        assert healthy.exit_code == 0, healthy.output
        found = levels(healthy)
        assert "critical" not in found.values(), healthy.summary["findings"]
        assert found["health"] == found["readiness"] == "ok"
        assert found["database_reachable"] == "ok"
        assert found["last_logs"] in {"ok", "warning"}
        for check in KUBE_CHECKS:  # platform=local: said so, not "all clear"
            assert healthy.finding(check)["title"].startswith("not checked: kubernetes")
        assert healthy.summary["remediations"] == []
        assert healthy.summary["sources"]["prometheus"]["state"] == "ok"

        with httpx.Client() as client:
            assert client.get(f"{server.url}/health").status_code == 200
            server.stop()
            wait_for(
                "Prometheus to see the server down",
                lambda: client.get(f"{prom}/api/v1/query", params={"query": "up == 0"}).json()[
                    "data"
                ]["result"],
                timeout=30,
            )
        gone = run_against("service_outage", tmp_path / "gone", server, *params)

    # investigating after the service is gone is normal: the run is ok, the verdict is not
    assert gone.exit_code == 0, gone.output
    assert gone.summary["status"] == "ok"
    health = gone.finding("health")
    assert health["level"] == "critical" and "unreachable" in health["title"].lower()
    assert gone.finding("readiness")["title"].startswith("not checked")
    assert not gone.finding("last_logs")["title"].startswith("not checked")  # the log remains
    assert gone.finding("database_reachable")["level"] == "ok"
    assert gone.summary["severity"]["level"] == "P1"
    assert gone.summary["sources"]["prometheus"]["state"] == "ok"  # when it went down
    assert (gone.out_dir / "service_outage.ipynb").exists()
    assert (gone.out_dir / "service_outage.html").exists()
    assert ADMIN_TOKEN.encode() not in gone.evidence_bytes()


def crash_looping_pod(name: str, *, restarts: int) -> dict:
    """A pod as the API shows it in CrashLoopBackOff after its container was OOMKilled."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            "labels": {"app": NAME},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{NAME}-h3", "uid": "rs-3"}
            ],
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": NAME, "image": "mc:3"}]},
        "status": {
            "phase": "Running",
            "startTime": "2026-11-23T09:00:00Z",
            "containerStatuses": [
                {
                    "name": NAME,
                    "image": "mc:3",
                    "imageID": "x",
                    "ready": False,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {
                        "terminated": {
                            "reason": "OOMKilled",
                            "exitCode": 137,
                            "finishedAt": "2026-11-23T09:58:00Z",
                        }
                    },
                }
            ],
        },
    }


PREVIOUS_LOG = (
    '2026-11-23T09:57:58.000000000Z {"ts":"2026-11-23T09:57:58Z","level":"INFO",'
    '"msg":"Spawning meeting actors"}\n'
    '2026-11-23T09:57:59.000000000Z {"ts":"2026-11-23T09:57:59Z","level":"ERROR",'
    '"msg":"memory allocation of 2147483648 bytes failed"}\n'
)


def kubeconfig(url: str, path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kmock", "cluster": {"server": url}}],
                "users": [{"name": "kmock", "user": {}}],
                "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
                "current-context": "kmock",
            }
        )
    )
    return path


def test_service_outage_on_kubernetes_all_pods_crash_looping(tmp_path):
    """No Kubernetes cluster can run here (no API server binaries), so this runs against
    kmock, a local API double speaking the real REST paths, driven through the real
    `kubernetes` client that the notebook loads from a kubeconfig pointing at it."""
    with running_kube() as (mock, api):
        filter_pods_by_selector(mock)
        dep = deployment(NS, NAME, revision=3, image="mc:3")
        template = dep["spec"]["template"]["spec"]
        template["containers"][0]["env"] = [
            {
                "name": "GC_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "mc-service-secrets", "key": "gc-token"}},
            }
        ]
        template["volumes"] = [{"name": "config", "configMap": {"name": "mc-service-config"}}]
        mock.objects["apps/v1/deployments", NS, NAME] = dep
        for revision, image in ((2, "mc:2"), (3, "mc:3")):
            rs = replica_set(dep, revision=revision, image=image)
            rs["metadata"]["creationTimestamp"] = f"2026-11-{18 + revision}T12:00:00Z"
            mock.objects["apps/v1/replicasets", NS, rs["metadata"]["name"]] = rs
        for name in ("meeting-controller-a", "meeting-controller-b"):
            mock.objects["v1/pods", NS, name] = crash_looping_pod(name, restarts=7)
        mock.objects["v1/secrets", NS, "mc-service-secrets"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "mc-service-secrets", "namespace": NS},
            "data": {"gc-token": "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"},
        }
        mock.objects["v1/events", NS, "e1"] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": "meeting-controller-a"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container",
            "type": "Warning",
            "lastTimestamp": "2026-11-23T09:59:00Z",
            "count": 12,
        }
        mock["get", kmock.resource("v1/pods"), kmock.subresource("log")] << kmock.text(PREVIOUS_LOG)
        config = kubeconfig(api.configuration.host, tmp_path / "kubeconfig")
        run = mcops_run(
            "service_outage",
            tmp_path / "k8s",
            *("-p", "platform=kubernetes", "-p", f"namespace={NS}", "-p", f"deployment={NAME}"),
            *("-p", "window=1h", "-p", "until=2026-11-23T10:00:00Z"),
            env={"KUBECONFIG": str(config)},
        )
        log_requests = [r for r in mock if r.url.path.endswith("/log")]

    assert run.exit_code == 0, run.output
    assert run.summary["status"] == "ok"
    found = levels(run)
    assert found["pods_not_ready"] == "critical"
    assert "All pods down: 0 of 2 ready" in run.finding("pods_not_ready")["title"]
    restarts = run.finding("restarts")
    assert restarts["level"] == "critical" and "All pods crash-looping" in restarts["title"]
    oom = run.finding("oom_killed")
    assert oom["level"] == "critical"
    assert {row["pod"] for row in oom["data"]} == {"meeting-controller-a", "meeting-controller-b"}
    assert found["last_logs"] == "warning"
    assert "memory allocation" in run.finding("last_logs")["title"]
    assert {r.params.get("previous") for r in log_requests} == {"true"}
    assert found["recent_rollout"] == "ok"  # revision 3 is older than the window
    missing = run.finding("config_refs")
    assert missing["level"] == "critical"
    assert [(r["kind"], r["name"]) for r in missing["data"]] == [("ConfigMap", "mc-service-config")]
    assert run.finding("health")["title"].startswith("not checked")  # no service_url
    assert run.summary["severity"]["level"] == "P1"
    assert run.summary["sources"]["kubernetes"]["state"] == "ok"
    plans = {r["action"]: r for r in run.summary["remediations"]}
    assert set(plans) == {"patch_resources"}  # OOMKilled → Option 4, planned only
    assert all(r["mode"] == "plan" for r in plans.values())
    assert b"c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du" not in run.evidence_bytes()
