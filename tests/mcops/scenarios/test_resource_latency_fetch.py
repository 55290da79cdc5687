"""resource_pressure's diagnostics 2-3 and high_latency's round trips, fetched directly.

No Kubernetes cluster can run here (no API server binaries), so the cluster is kmock, a
local API double speaking the real REST paths, driven through the real `kubernetes`
client. The round trips go to a real HTTP server and a real SQLite database.
"""

from __future__ import annotations

import math

import pytest

from mcops.checks import latency, resources
from mcops.evidence import Recorder
from mcops.findings import Level
from mcops.investigation import Investigation
from mcops.scenarios import high_latency, resource_pressure
from tests.mcops.remediate.kube_double import deployment, running_kube
from tests.mcops.scenarios.test_gc_integration_fetch import health_server

NS, NAME = "dark-tower", "meeting-controller"


def investigation(scenario: str, **params) -> Investigation:
    recorder = Recorder(
        scenario=scenario,
        parameters={"window": "1h", "namespace": NS, **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


@pytest.fixture
def cluster():
    with running_kube() as (mock, api):
        mock.objects["apps/v1/deployments", NS, NAME] = deployment(NS, NAME)
        yield mock, api


def pressure(**params) -> Investigation:
    return investigation("resource_pressure", platform="kubernetes", deployment=NAME, **params)


def test_limits_of_each_container_and_the_sidecar_without_one(cluster):
    _mock, api = cluster
    frame = resource_pressure.limits(pressure(), api_client=api)
    assert frame["container"].tolist() == [NAME, "sidecar"]
    assert frame["memory_limit"][0] == "1Gi" and frame["memory_limit"].isna()[1]
    assert frame["memory_limit_bytes"][0] == 1024**3 and frame["cpu_limit_cores"][0] == 1.0
    assert math.isnan(frame["memory_usage_bytes"][0])  # no metrics-server in the double
    found = resources.resource_limits(frame)
    assert found.level == Level.WARNING
    assert found.title == "no memory limit on sidecar: OOM protection off"


def test_limits_with_usage_from_metrics_server(cluster):
    mock, api = cluster
    mock.resources["metrics.k8s.io/v1beta1/pods"] = {}
    for i, memory in enumerate(("800Mi", "900Mi")):
        mock.objects["metrics.k8s.io/v1beta1/pods", NS, f"{NAME}-{i}"] = {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {"name": f"{NAME}-{i}", "namespace": NS},
            "timestamp": "2026-11-23T10:00:00Z",
            "containers": [{"name": NAME, "usage": {"cpu": "250m", "memory": memory}}],
        }
    frame = resource_pressure.limits(pressure(), api_client=api)
    assert frame["memory_usage_bytes"][0] == 900 * 1024**2  # the busiest pod
    found = resources.resource_limits(frame)
    # 900Mi of 1Gi is 87.9 %: above MCHighMemory's 85 %
    assert found.data[0]["memory_percent"] == 87.9
    assert f"{NAME} memory" in found.title and found.level == Level.WARNING


def test_oom_events_read_from_the_namespace(cluster):
    mock, api = cluster
    for i, (kind, reason) in enumerate([("Pod", "OOMKilling"), ("Node", "OOMKilling")]):
        mock.objects["v1/events", NS, f"e{i}"] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"e{i}", "namespace": NS},
            "involvedObject": {"kind": kind, "name": f"{NAME}-{i}"},
            "reason": reason,
            "message": "Memory cgroup out of memory: Killed process 1",
            "type": "Warning",
            "lastTimestamp": "2026-11-23T10:00:00Z",
            "count": 3,
        }
    frame = resource_pressure.oom_events(pressure(), api_client=api)
    assert list(mock)[-1].params.get("fieldSelector") == "involvedObject.kind=Pod"
    found = resources.oom_events(frame)
    assert found.level == Level.CRITICAL and found.count == 3  # the Node event is not a Pod's


def test_round_trips_time_the_service_and_the_database(tmp_path):
    database = f"sqlite:///{tmp_path / 'mc.db'}"
    import sqlalchemy as sa

    sa.create_engine(database).connect().close()  # the file exists
    with health_server() as base:
        inv = investigation("high_latency", service_url=base, database_url=database)
        frame = high_latency.round_trips(inv)
    assert frame.groupby("target")["probe"].count().to_dict() == {"database": 5, "service": 5}
    assert (frame["ms"] > 0).all() and (frame["error"] == "").all()
    found = latency.network_latency(frame, thresholds=inv.thresholds)
    assert found.level == Level.OK and "not a plausible cause" in found.title


def test_round_trips_without_sources_is_not_checked_and_a_dead_service_is_a_row():
    inv = investigation("high_latency")
    inv.check("network_latency", lambda: high_latency.round_trips(inv), latency.network_latency)
    assert not inv.findings[0].checked
    assert "service_url and database_url are empty" in inv.findings[0].title
    with health_server() as base:
        pass  # the port is closed now
    frame = high_latency.round_trips(investigation("high_latency", service_url=base))
    assert frame["target"].tolist() == ["service"] and math.isnan(frame["ms"][0])
    assert not latency.network_latency(frame).checked
