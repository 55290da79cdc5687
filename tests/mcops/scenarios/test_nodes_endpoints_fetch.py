"""``kubectl top nodes`` (resource_pressure) and ``kubectl get endpoints`` (service_outage),
fetched directly on a constructed Investigation.

No Kubernetes cluster can run here (no API server binaries), so the cluster is kmock, a
local API double speaking the real REST paths, driven through the real `kubernetes`
client; kmock does not apply label selectors, so a `list` rule filters pods by the
selector the client sent.
"""

from __future__ import annotations

import math

import pytest

from mcops.checks import endpoints, nodes
from mcops.evidence import Recorder
from mcops.findings import Level
from mcops.investigation import Investigation
from mcops.scenarios import resource_pressure, service_outage
from tests.mcops.remediate.kube_double import deployment, running_kube
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector

NS, NAME = "dark-tower", "meeting-controller"
GI = 1024**3


def investigation(scenario: str, **params) -> Investigation:
    recorder = Recorder(
        scenario=scenario,
        parameters={
            "window": "1h",
            "platform": "kubernetes",
            "namespace": NS,
            "deployment": NAME,
            **params,
        },
        display=lambda bundle: None,
    )
    return Investigation(recorder)


def pod(name: str, node: str, app: str = NAME) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": app, "image": "mc:2"}]},
        "status": {"phase": "Running"},
    }


def node(name: str, *, ready: str = "True", memory_pressure: str = "False") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "conditions": [
                {"type": "Ready", "status": ready},
                {"type": "MemoryPressure", "status": memory_pressure},
                {"type": "DiskPressure", "status": "False"},
                {"type": "PIDPressure", "status": "False"},
            ],
            "allocatable": {"cpu": "4", "memory": "16Gi"},
        },
    }


@pytest.fixture
def cluster():
    with running_kube() as (mock, api):
        filter_pods_by_selector(mock)
        mock.objects["apps/v1/deployments", NS, NAME] = deployment(NS, NAME)
        mock.objects["v1/pods", NS, "mc-0"] = pod("mc-0", "node-a")
        mock.objects["v1/pods", NS, "mc-1"] = pod("mc-1", "node-a")
        mock.objects["v1/pods", NS, "mc-2"] = pod("mc-2", "node-b")
        mock.objects["v1/pods", NS, "gc-0"] = pod("gc-0", "node-c", app="global-controller")
        for name in ("node-a", "node-b", "node-c"):
            mock.objects["v1/nodes", None, name] = node(name)
        yield mock, api


# ---------------------------------------------------------------- kubectl top nodes


def test_nodes_are_those_of_the_mc_pods_and_a_not_ready_one_is_critical(cluster):
    mock, api = cluster
    mock.objects["v1/nodes", None, "node-b"] = node("node-b", ready="Unknown")
    frame = resource_pressure.nodes(investigation("resource_pressure"), api_client=api)
    assert frame["node"].tolist() == ["node-a", "node-b"]  # not the GC's node-c
    assert frame["mc_pods"].tolist() == [2, 1]
    assert frame["ready"].tolist() == [True, False]
    assert frame["memory_allocatable_bytes"][0] == 16 * GI
    assert frame["cpu_allocatable_cores"][0] == 4.0
    assert math.isnan(frame["memory_usage_bytes"][0])  # no metrics-server
    read = [r.url.path for r in mock if "/nodes/" in r.url.path]
    assert read == ["/api/v1/nodes/node-a", "/api/v1/nodes/node-b"]
    found = nodes.node_pressure(frame)
    assert found.level == Level.CRITICAL and found.title == "node node-b NotReady"


def test_node_usage_from_metrics_server_and_pressure(cluster):
    mock, api = cluster
    mock.objects["v1/nodes", None, "node-a"] = node("node-a", memory_pressure="True")
    mock.resources["metrics.k8s.io/v1beta1/nodes"] = {}
    for name, memory in (("node-a", "14Gi"), ("node-b", "4Gi")):
        mock.objects["metrics.k8s.io/v1beta1/nodes", None, name] = {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "NodeMetrics",
            "metadata": {"name": name},
            "usage": {"cpu": "1500m", "memory": memory},
        }
    frame = resource_pressure.nodes(investigation("resource_pressure"), api_client=api)
    assert frame["memory_usage_bytes"].tolist() == [14 * GI, 4 * GI]
    assert frame["cpu_usage_cores"].tolist() == [1.5, 1.5]
    found = nodes.node_pressure(frame)
    # 14 of 16 Gi is 87.5 %: above MCHighMemory's 85 %; and the kubelet says so too
    assert found.level == Level.WARNING
    assert found.title.startswith("node node-a MemoryPressure; node node-a memory")
    assert [r["memory_percent"] for r in found.data] == [87.5, 25.0]


def test_nodes_on_a_local_platform_are_not_checked():
    inv = investigation("resource_pressure", platform="local")
    inv.check("node_pressure", lambda: resource_pressure.nodes(inv), nodes.node_pressure)
    [finding] = inv.findings
    assert not finding.checked
    assert finding.title.startswith("not checked: kubernetes: platform is 'local'")


# ---------------------------------------------------------------- kubectl get endpoints


def service() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"selector": {"app": NAME}, "ports": [{"port": 8080}]},
    }


def address(i: int) -> dict:
    return {
        "ip": f"10.0.0.{i}",
        "nodeName": "node-a",
        "targetRef": {"kind": "Pod", "name": f"mc-{i}"},
    }


def test_endpoints_ready_and_not_ready_addresses(cluster):
    mock, api = cluster
    mock.objects["v1/services", NS, NAME] = service()
    mock.objects["v1/endpoints", NS, NAME] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NS},
        "subsets": [{"addresses": [address(0)], "notReadyAddresses": [address(1), address(2)]}],
    }
    frame = service_outage.endpoints(investigation("service_outage"), api_client=api)
    assert frame[["address", "ready", "pod"]].values.tolist() == [
        ["10.0.0.0", True, "mc-0"],
        ["10.0.0.1", False, "mc-1"],
        ["10.0.0.2", False, "mc-2"],
    ]
    assert frame.attrs == {"service": f"{NS}/{NAME}", "found": True}
    assert f"/api/v1/namespaces/{NS}/endpoints/{NAME}" in [r.url.path for r in mock]
    found = endpoints.service_endpoints(frame)
    assert found.level == Level.WARNING and "2 of 3 endpoints not ready" in found.title
    # every pod out of rotation: traffic reaches no pod
    mock.objects["v1/endpoints", NS, NAME] = {
        **mock.objects["v1/endpoints", NS, NAME].raw,
        "subsets": [{"notReadyAddresses": [address(0)]}],
    }
    frame = service_outage.endpoints(investigation("service_outage"), api_client=api)
    found = endpoints.service_endpoints(frame)
    assert found.level == Level.CRITICAL and "no ready endpoints" in found.title


def test_endpoint_slices_when_no_endpoints_object(cluster):
    mock, api = cluster
    mock.objects["v1/services", NS, NAME] = service()
    mock.objects["discovery.k8s.io/v1/endpointslices", NS, f"{NAME}-x1"] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{NAME}-x1",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": NAME},
        },
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.0.0.5"], "conditions": {"ready": True}, "nodeName": "node-a"},
            {"addresses": ["10.0.0.6"], "conditions": {"ready": False}},
        ],
    }
    mock.objects["discovery.k8s.io/v1/endpointslices", NS, "other-x1"] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "other-x1",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": "other"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.9.9.9"]}],
    }
    frame = service_outage.endpoints(investigation("service_outage"), api_client=api)
    sent = [r for r in mock if "endpointslices" in r.url.path][-1]
    assert sent.params.get("labelSelector") == f"kubernetes.io/service-name={NAME}"
    assert frame[["address", "ready", "source"]].values.tolist() == [
        ["10.0.0.5", True, "endpointslice"],
        ["10.0.0.6", False, "endpointslice"],
    ]
    assert endpoints.service_endpoints(frame).level == Level.WARNING


def test_a_missing_service_is_a_finding_not_a_source_failure(cluster):
    _mock, api = cluster
    inv = investigation("service_outage")
    inv.check(
        "service_endpoints",
        lambda: service_outage.endpoints(inv, api_client=api),
        endpoints.service_endpoints,
    )
    [finding] = inv.findings
    assert finding.checked and finding.level == Level.CRITICAL
    assert finding.title.startswith(f"Service {NS}/{NAME} not found")
    assert inv.recorder._sources["kubernetes"]["state"] == "ok"


def test_endpoints_on_a_local_platform_are_not_checked():
    inv = investigation("service_outage", platform="local")
    inv.check(
        "service_endpoints", lambda: service_outage.endpoints(inv), endpoints.service_endpoints
    )
    [finding] = inv.findings
    assert not finding.checked
    assert finding.title.startswith("not checked: kubernetes: platform is 'local'")
