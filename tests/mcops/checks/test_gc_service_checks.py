"""GC integration (004 Scenario 6) steps 2, 4, 5 and 6: pure judges, and the P level each
finding produces against 004's Severity Classification table."""

from __future__ import annotations

import pandas as pd
import pytest

from mcops.checks import gc_service, netpol
from mcops.findings import Level
from mcops.severity import assess

MC = {"app": "meeting-controller", "pod-template-hash": "abc"}
GC = {"app": "global-controller"}


def p_level(finding) -> str:
    return assess([finding], scheme="P").level


def pods(*ready: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [f"gc-{i}" for i in range(len(ready))],
            "phase": ["Running"] * len(ready),
            "ready": list(ready),
            "restarts": [0] * len(ready),
        }
    )


# ---------------------------------------------------------------- step 2: GC pods


def test_no_ready_gc_pod_is_critical_complete_registration_failure_p1():
    # 004 Scenario 6 root cause 1 "GC Service Down ... Fix: Escalate to GC Team";
    # Severity Classification P1 "Complete GC registration failure".
    none_ready = gc_service.gc_pods(pods(False, False))
    assert none_ready.level == Level.CRITICAL and "0 of 2" in none_ready.title
    assert "Escalate to the GC Team" in none_ready.detail
    assert p_level(none_ready) == "P1"
    absent = gc_service.gc_pods(pods())
    assert absent.level == Level.CRITICAL and "No GC pod found" in absent.title


def test_one_gc_pod_ready_is_the_boundary_warning_then_ok():
    some = gc_service.gc_pods(pods(True, False))  # one ready: not a complete failure
    assert some.level == Level.WARNING and some.count == 1
    assert p_level(some) == "P2"  # "GC heartbeat intermittent"
    assert gc_service.gc_pods(pods(True, True)).level == Level.OK


# ---------------------------------------------------------------- step 4: reachability


def probe(status: int | None, error: str = "") -> pd.DataFrame:
    return pd.DataFrame(
        [{"url": "http://gc:8080/health", "status_code": status, "latency_ms": 3.0, "error": error}]
    )


@pytest.mark.parametrize(
    ("status", "level"),
    [(200, Level.OK), (299, Level.OK), (300, Level.CRITICAL), (503, Level.CRITICAL)],
)
def test_gc_health_answers_2xx_or_is_critical(status, level):
    # 004 Scenario 6 step 4: "curl -i http://global-controller...:8080/health"
    found = gc_service.gc_reachable(probe(status))
    assert found.level == level
    assert "not from inside the MC pod" in found.detail


def test_unreachable_gc_is_critical_and_p2_heartbeat():
    found = gc_service.gc_reachable(probe(None, "GET http://gc:8080/health refused"))
    assert found.level == Level.CRITICAL and "GC unreachable" in found.title
    assert p_level(found) == "P2"


# ---------------------------------------------------------------- step 5: logs


def test_gc_log_lines_at_warn_or_error_only():
    # 004 Scenario 6 step 5: grep -i "gc\|heartbeat\|register"
    logs = pd.DataFrame(
        {
            "level": ["INFO", "WARN", "ERROR", "ERROR"],
            "msg": [
                "GC heartbeat ok",
                "GC heartbeat failed: timeout",
                "Register rejected: 401",
                "Actor crashed: meeting m-1",
            ],
        }
    )
    found = gc_service.gc_log_errors(logs)
    assert found.level == Level.WARNING and found.count == 2
    assert [row["msg"] for row in found.data] == logs["msg"][1:3].tolist()
    assert p_level(found) == "P2"  # "GC heartbeat intermittent"
    assert gc_service.gc_log_errors(logs.iloc[[0, 3]]).level == Level.OK


# ---------------------------------------------------------------- step 6: NetworkPolicy


def policies(*specs: dict, gc_port: int = 8080) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"policy": [f"p{i}" for i in range(len(specs))], "spec": list(specs)},
        columns=["policy", "spec"],
    )
    frame.attrs.update(mc_labels=MC, gc_labels=GC, namespace="dark-tower", gc_port=gc_port)
    return frame


MC_EGRESS = {
    "podSelector": {"matchLabels": {"app": "meeting-controller"}},
    "policyTypes": ["Egress"],
}


def egress(*rules: dict) -> dict:
    return {**MC_EGRESS, "egress": list(rules)}


def to_gc(port: int | str | None = 8080, **extra) -> dict:
    rule: dict = {"to": [{"podSelector": {"matchLabels": GC}}]}
    if port is not None:
        rule["ports"] = [{"protocol": "TCP", "port": port, **extra}]
    return rule


def test_no_policy_or_no_egress_policy_leaves_egress_open():
    assert netpol.network_policy(policies()).level == Level.OK
    ingress_only = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}
    found = netpol.network_policy(policies(ingress_only))
    assert found.level == Level.OK and "not restricted" in found.title
    other_pods = {**egress(), "podSelector": {"matchLabels": {"app": "other"}}}
    assert netpol.network_policy(policies(other_pods)).level == Level.OK


def test_egress_deny_all_blocks_mc_to_gc_critical_p1_infrastructure_team():
    # 004 Scenario 6 root cause 2 "NetworkPolicy blocking MC -> GC"; Option 3 "Ensure
    # egress to global-controller:8080 is allowed"; Escalation "NetworkPolicy issues ->
    # Infrastructure Team".
    found = netpol.network_policy(policies(egress()))
    assert found.level == Level.CRITICAL
    assert found.title.startswith("NetworkPolicy blocks MC → GC")
    assert "Infrastructure Team" in found.detail and "plans no change" in found.detail
    assert "policyTypes" in found.data[0]["yaml"]
    assert p_level(found) == "P1"


@pytest.mark.parametrize(
    ("rule", "level"),
    [
        (to_gc(8080), Level.OK),
        (to_gc(8079), Level.CRITICAL),  # the port next to it does not count
        (to_gc(8000, endPort=8080), Level.OK),  # a range ending at 8080
        (to_gc(8000, endPort=8079), Level.CRITICAL),
        (to_gc(None), Level.OK),  # no ports: every port
        (to_gc("http"), Level.WARNING),  # a named port: cannot tell from the spec
        ({"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}, Level.CRITICAL),
        ({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}, Level.WARNING),
        ({"ports": [{"port": 8080, "protocol": "UDP"}]}, Level.CRITICAL),
        ({}, Level.OK),  # an empty rule allows all egress
    ],
)
def test_egress_rules_at_the_port_boundary(rule, level):
    assert netpol.network_policy(policies(egress(rule))).level == level


def test_namespace_selectors_and_a_second_policy_that_allows():
    by_name = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dark-tower"}},
                "podSelector": {"matchLabels": GC},
            }
        ]
    }
    assert netpol.network_policy(policies(egress(by_name))).level == Level.OK
    elsewhere = {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "x"}}}]
    }
    assert netpol.network_policy(policies(egress(elsewhere))).level == Level.CRITICAL
    # egress rules add up across the policies that select the MC
    found = netpol.network_policy(policies(egress(), egress(to_gc(8080))))
    assert found.level == Level.OK
    assert [row["allows_gc"] for row in found.data] == ["no", "yes"]


def test_the_gc_port_comes_from_the_frame():
    assert netpol.network_policy(policies(egress(to_gc(9090)), gc_port=9090)).level == Level.OK


def test_selectors_follow_kubernetes_match_expressions():
    labels = {"app": "meeting-controller", "tier": "rt"}
    assert netpol.selects({}, labels)
    assert netpol.selects(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["rt"]}]}, labels
    )
    assert not netpol.selects(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["rt"]}]}, labels
    )
    assert not netpol.selects({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    assert netpol.selects(
        {"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels
    )
