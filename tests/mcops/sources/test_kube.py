"""KubeSource and read_logs("k8s:...") against kmock, a Kubernetes API double.

kmock stands in for a cluster: the real `kubernetes` client talks HTTP to it on a
loopback port. It does not apply label selectors, so the fixture adds a `list` rule
that filters by the selector the client sent (and the tests assert it was sent).
"""

from __future__ import annotations

import kmock
import pytest

from mcops.errors import SourceQueryError, SourceUnreachable
from mcops.sources.kube import KubeSource
from mcops.sources.logs import read_logs
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector, kmock_cluster

NS = "dark-tower"


def pod(name, *, app="meeting-controller", ready=True, restarts=0, reason=None, phase="Running"):
    status = {
        "name": "mc",
        "image": "mc:1.4",
        "imageID": "x",
        "ready": ready,
        "restartCount": restarts,
        "lastState": {},
    }
    if reason:
        status["lastState"] = {
            "terminated": {"reason": reason, "exitCode": 137, "finishedAt": "2026-11-23T09:58:00Z"}
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "mc", "image": "mc:1.4"}]},
        "status": {
            "phase": phase,
            "startTime": "2026-11-23T09:00:00Z",
            "containerStatuses": [status],
        },
    }


@pytest.fixture
def cluster():
    with kmock_cluster() as (mock, api):
        filter_pods_by_selector(mock)
        mock.objects["v1/pods", NS, "mc-a"] = pod("mc-a")
        mock.objects["v1/pods", NS, "mc-b"] = pod(
            "mc-b", ready=False, restarts=4, reason="OOMKilled", phase="Running"
        )
        mock.objects["v1/pods", NS, "gc-a"] = pod("gc-a", app="global-controller")
        yield mock, api


def test_pods_with_restarts_and_oom(cluster):
    mock, api = cluster
    frame = KubeSource(api).pods(NS, "app=meeting-controller")
    assert list(mock)[-1].params.get("labelSelector") == "app=meeting-controller"
    assert frame["name"].tolist() == ["mc-a", "mc-b"]
    b = frame.set_index("name").loc["mc-b"]
    assert (bool(b["ready"]), b["restarts"], b["last_termination_reason"]) == (
        False,
        4,
        "OOMKilled",
    )
    assert frame.set_index("name").loc["mc-a", "ready"]
    assert str(frame["started_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["node"].tolist() == ["node-a", "node-a"]


def test_deployments_and_rollout_history(cluster):
    mock, api = cluster
    mock.objects["apps/v1/deployments", NS, "meeting-controller"] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "meeting-controller",
            "namespace": NS,
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "creationTimestamp": "2026-11-01T00:00:00Z",
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "meeting-controller"}},
            "template": {
                "metadata": {"labels": {"app": "meeting-controller"}},
                "spec": {"containers": [{"name": "mc", "image": "mc:1.4"}]},
            },
        },
        "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3},
    }
    for rev, image, created in [
        (2, "mc:1.3", "2026-11-20T00:00:00Z"),
        (3, "mc:1.4", "2026-11-23T09:00:00Z"),
        (1, "mc:1.2", "2026-11-10T00:00:00Z"),
    ]:
        mock.objects["apps/v1/replicasets", NS, f"mc-{rev}"] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"mc-{rev}",
                "namespace": NS,
                "creationTimestamp": created,
                "annotations": {"deployment.kubernetes.io/revision": str(rev)},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "meeting-controller",
                        "uid": "u1",
                    }
                ],
            },
            "spec": {
                "selector": {"matchLabels": {"app": "meeting-controller"}},
                "template": {"spec": {"containers": [{"name": "mc", "image": image}]}},
            },
            "status": {"replicas": 3 if rev == 3 else 0},
        }
    kube = KubeSource(api)
    deps = kube.deployments(NS)
    row = deps.iloc[0]
    assert (
        row["name"],
        row["replicas"],
        row["ready_replicas"],
        row["revision"],
        row["images"],
    ) == ("meeting-controller", 3, 2, 3, "mc:1.4")
    history = kube.rollout_history(NS, "meeting-controller")
    assert history["revision"].tolist() == [1, 2, 3]
    assert history["images"].tolist() == ["mc:1.2", "mc:1.3", "mc:1.4"]
    assert history["replicas"].tolist() == [0, 0, 3]


def test_events_filtered_by_kind(cluster):
    mock, api = cluster
    for i, (kind, reason) in enumerate(
        [("Pod", "OOMKilling"), ("Deployment", "ScalingReplicaSet"), ("Pod", "BackOff")]
    ):
        mock.objects["v1/events", NS, f"e{i}"] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"e{i}", "namespace": NS},
            "involvedObject": {"kind": kind, "name": f"obj{i}"},
            "reason": reason,
            "message": f"{reason} happened",
            "type": "Warning",
            "lastTimestamp": f"2026-11-23T09:0{i}:00Z",
            "count": 2,
        }
    frame = KubeSource(api).events(NS, involved_kind="Pod")
    assert list(mock)[-1].params.get("fieldSelector") == "involvedObject.kind=Pod"
    assert frame["reason"].tolist() == ["OOMKilling", "BackOff"]
    assert KubeSource(api).events(NS)["reason"].tolist() == [
        "OOMKilling",
        "ScalingReplicaSet",
        "BackOff",
    ]


def test_pod_metrics_absent_and_present(cluster):
    mock, api = cluster
    kube = KubeSource(api)
    with pytest.raises(SourceQueryError, match=r"metrics-server not installed"):
        kube.pod_metrics(NS)
    mock.resources["metrics.k8s.io/v1beta1/pods"] = {}
    mock.objects["metrics.k8s.io/v1beta1/pods", NS, "mc-a"] = {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": "mc-a", "namespace": NS},
        "timestamp": "2026-11-23T10:00:00Z",
        "containers": [{"name": "mc", "usage": {"cpu": "250m", "memory": "512Mi"}}],
    }
    frame = kube.pod_metrics(NS)
    assert frame[["pod", "cpu_cores", "memory_bytes"]].values.tolist() == [
        ["mc-a", 0.25, 512 * 1024 * 1024]
    ]


LOG = (
    '2026-11-23T10:00:01.000000000Z {"ts":"2026-11-23T10:00:01Z","level":"ERROR",'
    '"msg":"Actor panicked: boom for meeting m-1","meeting_id":"m-1","backtrace":"x"}\n'
    "2026-11-23T10:00:02.000000000Z thread 'main' panicked at src/actor.rs:42\n"
)


def test_read_logs_k8s_previous_container(cluster):
    mock, api = cluster
    mock["get", kmock.resource("v1/pods"), kmock.subresource("log")] << kmock.text(LOG)
    frame = read_logs(f"k8s:{NS}/app=meeting-controller", previous=True, tail=100, api_client=api)
    log_requests = [r for r in mock if r.url.path.endswith("/log")]
    assert sorted(r.url.path.split("/")[-2] for r in log_requests) == ["mc-a", "mc-b"]
    assert all(
        r.params.get("previous") == "true" and r.params.get("tailLines") == "100"
        for r in log_requests
    )
    assert len(frame) == 4 and set(frame["pod"]) == {"mc-a", "mc-b"}
    assert frame["meeting_ref"].dropna().unique().tolist() == ["m-1"]
    # the plain panic line takes its time from the API's timestamp prefix
    plain = frame[frame["raw"].str.startswith("thread")]
    assert not plain["malformed"].any()
    assert str(plain["ts"].iloc[0]) == "2026-11-23 10:00:02+00:00"


def test_unreachable_api():
    from kubernetes import client

    from tests.support.ports import free_port

    config = client.Configuration(host=f"http://127.0.0.1:{free_port()}")
    config.retries = 0
    with client.ApiClient(config) as api, pytest.raises(SourceUnreachable, match=r"did not answer"):
        KubeSource(api).pods(NS, "app=x")
