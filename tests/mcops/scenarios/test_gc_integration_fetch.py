"""gc_integration's fetchers (004 Scenario 6 steps 2, 4, 6 and Option 2), called directly.

No Kubernetes cluster can run here (no API server binaries), so the cluster is kmock, a
local API double speaking the real REST paths, driven through the real `kubernetes`
client; kmock does not apply label selectors, so a `list` rule filters by the selector
the client sent. The GC's /health is a real HTTP server on a loopback port.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mcops.checks import gc_service, netpol
from mcops.errors import ActionRefused
from mcops.evidence import Recorder
from mcops.findings import Finding, Level
from mcops.investigation import Investigation
from mcops.remediate import AuditLog
from mcops.remediate.kube_restart import EscalatedRolloutRestart
from mcops.scenarios import gc_integration as fetch
from tests.mcops.remediate.kube_double import deployment, running_kube
from tests.mcops.sources.kmock_cluster import filter_pods_by_selector

NS = "dark-tower"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def investigation(**params) -> Investigation:
    recorder = Recorder(
        scenario="gc_integration",
        parameters={"window": "1h", "platform": "kubernetes", "namespace": NS, **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


def pod(name: str, app: str, *, ready: bool) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": app, "tier": "ctl"}},
        "spec": {"containers": [{"name": app, "image": f"{app}:1"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": app, "image": "x", "imageID": "x", "ready": ready, "restartCount": 0}
            ],
        },
    }


@pytest.fixture
def cluster():
    with running_kube() as (mock, api):
        filter_pods_by_selector(mock)
        mock.objects["v1/pods", NS, "gc-0"] = pod("gc-0", "global-controller", ready=False)
        mock.objects["v1/pods", NS, "gc-1"] = pod("gc-1", "global-controller", ready=False)
        mock.objects["v1/pods", NS, "mc-0"] = pod("mc-0", "meeting-controller", ready=True)
        mock.objects["apps/v1/deployments", NS, "meeting-controller"] = deployment(NS)
        mock.objects["apps/v1/deployments", NS, "global-controller"] = deployment(
            NS, "global-controller"
        )
        yield mock, api


def test_gc_pods_lists_the_gc_selector_and_no_ready_pod_is_critical(cluster):
    mock, api = cluster
    inv = investigation()
    frame = fetch.gc_pods(inv, api_client=api)
    sent = [r for r in mock if r.url.path.endswith("/pods")][-1]
    assert sent.params.get("labelSelector") == "app=global-controller"
    assert frame["name"].tolist() == ["gc-0", "gc-1"]
    found = gc_service.gc_pods(frame)
    assert found.level == Level.CRITICAL and "0 of 2" in found.title
    mock.objects["v1/pods", NS, "gc-1"] = pod("gc-1", "global-controller", ready=True)
    assert gc_service.gc_pods(fetch.gc_pods(inv, api_client=api)).level == Level.WARNING


def test_gc_pods_on_a_local_platform_is_not_checked():
    inv = investigation(platform="local")
    inv.check("gc_pods", lambda: fetch.gc_pods(inv), gc_service.gc_pods)
    [finding] = inv.findings
    assert not finding.checked and "platform is 'local'" in finding.title


DENY_EGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "meeting-controller", "namespace": NS},
    "spec": {
        "podSelector": {"matchLabels": {"app": "meeting-controller"}},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}]}],
    },
}


def test_network_policies_read_through_the_networking_api_and_judged(cluster):
    mock, api = cluster
    key = ("networking.k8s.io/v1/networkpolicies", NS)
    mock.objects[(*key, "meeting-controller")] = DENY_EGRESS
    inv = investigation(deployment="meeting-controller")
    frame = fetch.network_policies(inv, api_client=api)
    assert [r.url.path for r in mock if "networkpolicies" in r.url.path] == [
        f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
    ]
    assert frame["policy"].tolist() == ["meeting-controller"]
    assert frame["spec"][0]["policyTypes"] == ["Ingress", "Egress"]  # camelCase, as kubectl
    assert frame.attrs["mc_labels"] == {"app": "meeting-controller"}  # the pod template's
    assert frame.attrs["gc_labels"] == {"app": "global-controller", "tier": "ctl"}  # a GC pod's
    assert frame.attrs["gc_port"] == 8080
    blocked = netpol.network_policy(frame)
    assert blocked.level == Level.CRITICAL and "blocks MC → GC" in blocked.title
    allow = {
        **DENY_EGRESS,
        "metadata": {"name": "allow-gc", "namespace": NS},
        "spec": {
            **DENY_EGRESS["spec"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"tier": "ctl"}}}],
                    "ports": [{"port": 8080}],
                }
            ],
        },
    }
    mock.objects[(*key, "allow-gc")] = allow
    assert netpol.network_policy(fetch.network_policies(inv, api_client=api)).level == Level.OK


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/health" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def health_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_gc_health_gets_the_url_path_from_here():
    with health_server() as base:
        ok = fetch.gc_health(investigation(gc_url=f"{base}/health"))
        wrong_path = fetch.gc_health(investigation(gc_url=f"{base}/nope"))
    assert ok["status_code"][0] == 200 and ok["latency_ms"][0] > 0
    assert gc_service.gc_reachable(ok).level == Level.OK
    assert gc_service.gc_reachable(wrong_path).level == Level.CRITICAL  # HTTP 404
    # the server is gone now: the port refuses
    gone = investigation(gc_url=f"{base}/health")
    frame = fetch.gc_health(gone)
    assert frame["error"][0] and frame["status_code"][0] is None
    assert gc_service.gc_reachable(frame).level == Level.CRITICAL
    assert gone.recorder._sources["gc"]["state"] == "refused"


@pytest.mark.parametrize(
    ("gc_url", "why"),
    [("", "gc_url is empty"), ("global-controller:8080/health", "is not an http(s) URL")],
)
def test_gc_url_not_given_or_malformed_is_not_checked_with_the_fix(gc_url, why):
    inv = investigation(gc_url=gc_url)
    inv.check("gc_reachable", lambda: fetch.gc_health(inv), gc_service.gc_reachable)
    [finding] = inv.findings
    assert not finding.checked and why in finding.title and "fix:" in finding.title


def test_option_2_is_planned_only_when_gc_pods_fired_and_blocked_until_engaged(cluster):
    _mock, api = cluster
    quiet = investigation()
    assert fetch.remediations(quiet, api_client=api) == []
    inv = investigation()
    inv.record(Finding.make("gc_pods", Level.CRITICAL, "No GC pod ready"))
    [action] = fetch.remediations(inv, api_client=api)
    assert isinstance(action, EscalatedRolloutRestart)
    assert action.target == f"kubernetes {NS}/deployment/global-controller"
    plan = action.plan()
    assert plan.blocked and "escalate to GC Team before restarting GC" in plan.blocked_by[0]
    assert plan.changes[0]["path"] == f"spec.template.metadata.annotations.{RESTARTED_AT}"
    engaged = investigation(gc_team_engaged=True)
    engaged.record(Finding.make("gc_pods", Level.CRITICAL, "No GC pod ready"))
    [ready] = fetch.remediations(engaged, api_client=api)
    assert not ready.plan().blocked


def test_escalated_restart_refuses_until_engaged_then_applies_once(cluster, tmp_path):
    mock, api = cluster
    audit = AuditLog(tmp_path / "audit.jsonl")
    clock = lambda: dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # noqa: E731
    common = dict(team="GC Team", step="escalate to GC Team before restarting GC", fix="page")
    blocked = EscalatedRolloutRestart(
        api, NS, "global-controller", engaged=False, clock=clock, audit=audit, **common
    )
    with pytest.raises(ActionRefused, match="escalate to GC Team"):
        blocked.apply(blocked.plan())
    stored = mock.objects["apps/v1/deployments", NS, "global-controller"].raw
    assert "annotations" not in stored["spec"]["template"]["metadata"]
    action = EscalatedRolloutRestart(
        api, NS, "global-controller", engaged=True, clock=clock, audit=audit, **common
    )
    plan = action.plan()
    assert action.apply(plan).status == "applied"
    stored = mock.objects["apps/v1/deployments", NS, "global-controller"].raw
    assert stored["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == (
        "2026-11-23T10:00:00Z"
    )
    assert action.apply(plan).status == "nothing_to_do"  # idempotent per plan
    assert [r["result"] for r in audit.outcomes()] == ["refused", "ok", "ok"]
