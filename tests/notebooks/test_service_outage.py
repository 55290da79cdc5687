"""`mcops run service_outage` (runbook 004 Scenario 4) for real, through the CLI.

Locally against the real server process: healthy, then stopped (the service gone), which
is when this notebook is opened — it must still run, say "critical", and leave evidence.
On Kubernetes against kmock, an API double, with every pod crash-looping after OOMKills.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import httpx
import kmock
import pytest
import yaml

from tests.mcops.remediate.kube_double import deployment, replica_set, running_kube
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector
from tests.notebooks.support import Run, mcops_run, run_against
from tests.notebooks.test_alert_chain import wait_for
from tests.support.prometheus import running_prometheus
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

NS, NAME = "dark-tower", "meeting-controller"
KUBE_CHECKS = (
    "pods_not_ready",
    "restarts",
    "oom_killed",
    "recent_rollout",
    "config_refs",
    "service_endpoints",
)


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


def crash_looping_pod(
    name: str,
    *,
    restarts: int,
    reason: str = "OOMKilled",
    exit_code: int = 137,
    image: str = "mc:3",
    revision: int = 3,
) -> dict:
    """A pod as the API shows it in CrashLoopBackOff after its container was OOMKilled
    (or, with `reason`/`exit_code`, terminated otherwise: ``Error``, exit 1)."""
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
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{NAME}-h{revision}",
                    "uid": f"rs-{revision}",
                }
            ],
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": NAME, "image": image}]},
        "status": {
            "phase": "Running",
            "startTime": "2026-11-23T09:00:00Z",
            "containerStatuses": [
                {
                    "name": NAME,
                    "image": image,
                    "imageID": "x",
                    "ready": False,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {
                        "terminated": {
                            "reason": reason,
                            "exitCode": exit_code,
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
        mock.objects["v1/services", NS, NAME] = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {"selector": {"app": NAME}, "ports": [{"port": 8080}]},
        }
        mock.objects["v1/endpoints", NS, NAME] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NS},
            "subsets": [{"notReadyAddresses": [{"ip": f"10.0.0.{i}"} for i in (1, 2)]}],
        }
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
    endpoints = run.finding("service_endpoints")  # kubectl get endpoints: both not ready
    assert endpoints["level"] == "critical", endpoints
    assert "the Service has no ready endpoints: traffic reaches no pod" in endpoints["title"]
    assert run.summary["severity"]["level"] == "P1"
    assert run.summary["sources"]["kubernetes"]["state"] == "ok"
    plans = {r["action"]: r for r in run.summary["remediations"]}
    assert set(plans) == {"patch_resources"}  # OOMKilled → Option 4, planned only
    assert all(r["mode"] == "plan" for r in plans.values())
    assert b"c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du" not in run.evidence_bytes()


def waiting_pod(name: str, *, reason: str, message: str, image: str, revision: int) -> dict:
    """A pod whose container never started: it waits with `reason` (ImagePullBackOff,
    CreateContainerConfigError...), no restarts, no previous container."""
    pod = crash_looping_pod(name, restarts=0, image=image, revision=revision)
    status = pod["status"]["containerStatuses"][0]
    status["state"] = {"waiting": {"reason": reason, "message": message}}
    del status["lastState"]
    return pod


def run_outage(config: Path, out: Path, *extra: str) -> Run:
    return mcops_run(
        "service_outage",
        out,
        *("-p", "platform=kubernetes", "-p", f"namespace={NS}", "-p", f"deployment={NAME}"),
        *("-p", "window=1h", "-p", "until=2026-11-23T10:00:00Z", *extra),
        env={"KUBECONFIG": str(config)},
    )


def test_service_outage_on_kubernetes_bad_rollout_and_image_pull_failure(tmp_path):
    """No Kubernetes cluster can run here (no API server binaries), so this runs against
    kmock, a local API double speaking the real REST paths, driven through the real
    `kubernetes` client that the notebook loads from a kubeconfig pointing at it.

    Revision 4 rolled out 20 minutes before `until`: two of its pods exit 1 (Error) and
    crash-loop, the third cannot pull its image (ImagePullBackOff). Root cause 1, Bad
    Deployment: the rollout undo to revision 3 is planned (a dry run), nothing changes."""
    with running_kube() as (mock, api):
        filter_pods_by_selector(mock)
        dep = deployment(NS, NAME, revision=4, image="mc:4")
        mock.objects["apps/v1/deployments", NS, NAME] = dep
        for revision, image, created in ((3, "mc:3", "2026-11-20T12:00:00Z"),
                                         (4, "mc:4", "2026-11-23T09:40:00Z")):  # fmt: skip
            rs = replica_set(dep, revision=revision, image=image)
            rs["metadata"]["creationTimestamp"] = created
            mock.objects["apps/v1/replicasets", NS, rs["metadata"]["name"]] = rs
        for name in ("meeting-controller-a", "meeting-controller-b"):
            mock.objects["v1/pods", NS, name] = crash_looping_pod(
                name, restarts=6, reason="Error", exit_code=1, image="mc:4", revision=4
            )
        mock.objects["v1/pods", NS, "meeting-controller-c"] = waiting_pod(
            "meeting-controller-c",
            reason="ImagePullBackOff",
            message='Back-off pulling image "mc:4"',
            image="mc:4",
            revision=4,
        )
        mock["get", kmock.resource("v1/pods"), kmock.subresource("log")] << kmock.text(
            '2026-11-23T09:57:59.000000000Z {"ts":"2026-11-23T09:57:59Z","level":"ERROR",'
            '"msg":"config error: unknown field actor_pool_size"}\n'
        )
        run = run_outage(
            kubeconfig(api.configuration.host, tmp_path / "kubeconfig"), tmp_path / "o"
        )
        dry_runs = [r for r in mock if r.method.value == "PATCH"]
        stored = dict(mock.objects["apps/v1/deployments", NS, NAME].raw)

    assert run.exit_code == 0, run.output
    found = levels(run)
    rollout = run.finding("recent_rollout")
    assert rollout["level"] == "warning" and "revision 4" in rollout["title"]
    down = run.finding("pods_not_ready")
    assert down["level"] == "critical"
    assert "0 of 3 ready (CrashLoopBackOff, ImagePullBackOff)" in down["title"]
    assert "ImagePullBackOff: the image cannot be pulled" in down["detail"]
    assert {r["pod"]: r["waiting_reason"] for r in down["data"]}["meeting-controller-c"] == (
        "ImagePullBackOff"
    )
    assert {(r["pod"], r["last_reason"]) for r in down["data"] if r["last_reason"]} == {
        ("meeting-controller-a", "Error"),
        ("meeting-controller-b", "Error"),
    }
    assert found["oom_killed"] == "ok"  # exit 1 is not an OOM: no memory limit is planned
    assert "unknown field" in run.finding("last_logs")["title"]
    assert found["config_refs"] == "ok"
    # no Service in this cluster: nothing routes to the pods
    assert run.finding("service_endpoints")["title"].startswith(f"Service {NS}/{NAME} not found")
    plans = {r["action"]: r for r in run.summary["remediations"]}
    assert set(plans) == {"rollout_undo"}  # Option 1 only: no reschedule of a bad image
    assert plans["rollout_undo"]["mode"] == "plan" and plans["rollout_undo"]["changes"] >= 1
    assert [r.params for r in dry_runs] == [{"dryRun": "All"}]  # planned, not applied
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "mc:4"
    assert run.summary["severity"]["level"] == "P1"


TOKEN = "gc-token-value-never-shown"
CONFIG_VALUE = "actor-pool-size-42-never-shown"


def test_service_outage_on_kubernetes_missing_secret_key_restored_from_previous_revision(
    tmp_path,
):
    """No Kubernetes cluster can run here (no API server binaries), so this runs against
    kmock, a local API double speaking the real REST paths, driven through the real
    `kubernetes` client that the notebook loads from a kubeconfig pointing at it.

    Revision 5 (days old) reads GC_TOKEN from mc-service-secrets, which lost its gc-token
    key; revision 4 read it from mc-secrets-v2, still there. The ConfigMap was deleted; a
    `kubectl get -o yaml` copy is in config_backup_dir. Pods wait in
    CreateContainerConfigError. Option 3 is planned for both, values never in the evidence.
    """
    from tests.mcops.remediate.test_kube_config_restore import kube

    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "mc-service-config.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "mc-service-config", "namespace": NS, "uid": "old"},
                "data": {"actor_pool_size": CONFIG_VALUE},
            }
        )
    )

    def template(dep: dict, secret: str) -> None:
        spec = dep["spec"]["template"]["spec"]
        spec["containers"][0]["env"] = [
            {
                "name": "GC_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "gc-token"}},
            }
        ]
        spec["volumes"] = [{"name": "config", "configMap": {"name": "mc-service-config"}}]

    def secret(name: str, data: dict[str, str]) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": NS, "resourceVersion": "3"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }

    with kube() as (mock, api):
        filter_pods_by_selector(mock)
        dep = deployment(NS, NAME, revision=5, image="mc:5")
        template(dep, "mc-service-secrets")
        mock.objects["apps/v1/deployments", NS, NAME] = dep
        for revision, name in ((4, "mc-secrets-v2"), (5, "mc-service-secrets")):
            rs = replica_set(dep, revision=revision, image=f"mc:{revision}")
            rs["spec"]["template"]["spec"] = copy.deepcopy(dep["spec"]["template"]["spec"])
            template(rs, name)
            rs["metadata"]["creationTimestamp"] = f"2026-11-{15 + revision}T12:00:00Z"
            mock.objects["apps/v1/replicasets", NS, rs["metadata"]["name"]] = rs
        mock.objects["v1/secrets", NS, "mc-service-secrets"] = secret(
            "mc-service-secrets", {"tls.crt": "cert"}
        )
        mock.objects["v1/secrets", NS, "mc-secrets-v2"] = secret(
            "mc-secrets-v2", {"gc-token": TOKEN, "tls.crt": "cert"}
        )
        for name in ("meeting-controller-a", "meeting-controller-b"):
            mock.objects["v1/pods", NS, name] = waiting_pod(
                name,
                reason="CreateContainerConfigError",
                message="couldn't find key gc-token in Secret dark-tower/mc-service-secrets",
                image="mc:5",
                revision=5,
            )
        mock.objects["v1/events", NS, "e1"] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": "meeting-controller-a"},
            "reason": "Failed",
            "message": "Error: couldn't find key gc-token in Secret dark-tower/mc-service-secrets",
            "type": "Warning",
            "lastTimestamp": "2026-11-23T09:59:00Z",
            "count": 40,
        }
        mock["get", kmock.resource("v1/pods"), kmock.subresource("log")] << kmock.text("")
        run = run_outage(
            kubeconfig(api.configuration.host, tmp_path / "kubeconfig"),
            tmp_path / "o",
            *("-p", f"config_backup_dir={backups}"),
        )
        writes = [r for r in mock if r.method.value in {"POST", "PATCH"}]
        after = dict(mock.objects["v1/secrets", NS, "mc-service-secrets"].raw)
        try:
            created = not mock.objects["v1/configmaps", NS, "mc-service-config"].deleted
        except KeyError:
            created = False

    assert run.exit_code == 0, run.output
    missing = run.finding("config_refs")
    assert missing["level"] == "critical"
    assert missing["title"] == (
        "Missing: ConfigMap mc-service-config, Secret mc-service-secrets (key gc-token)"
    )
    assert {(r["kind"], r["name"], r["key"]) for r in missing["data"]} == {
        ("Secret", "mc-service-secrets", "gc-token"),
        ("ConfigMap", "mc-service-config", ""),
    }
    down = run.finding("pods_not_ready")
    assert down["level"] == "critical" and "CreateContainerConfigError" in down["title"]
    assert "see config_refs; Option 3" in down["detail"]
    assert levels(run)["recent_rollout"] == "ok"  # revision 5 is days old
    plans = run.summary["remediations"]
    assert [(p["action"], p["mode"], p["changes"]) for p in plans] == [
        ("restore_config_object", "plan", 1),  # gc-token only; tls.crt is never overwritten
        ("restore_config_object", "plan", 1),  # the ConfigMap, whole, from the backup file
    ]
    notebook = (run.out_dir / "service_outage.ipynb").read_text()
    assert "mc-secrets-v2" in notebook and "mc-service-config.yaml" in notebook
    assert sorted(r.params.get("dryRun") for r in writes) == ["All", "All"]  # plans only
    assert after["data"] == {"tls.crt": base64.b64encode(b"cert").decode()}
    assert not created
    evidence = run.evidence_bytes()
    for value in (TOKEN, CONFIG_VALUE):
        assert value.encode() not in evidence
        assert base64.b64encode(value.encode()) not in evidence
