"""``kubectl top nodes`` (004 Diagnostic Commands, Resource Utilization), judged.

Runbook 004 Scenario 7: "If infrastructure resource constraints, escalate to
Infrastructure Team". The severity table: "P2 ... Single pod failing" (a NotReady node
takes its MC pods with it), "P3 ... High CPU (non-critical)" (pressure, a workaround).
"""

import math

import pandas as pd
import pytest

from mcops.checks import nodes
from mcops.findings import Level
from mcops.severity import assess

GI = 1024**3


def node(
    name: str = "node-a",
    *,
    ready: bool = True,
    memory_pressure: bool = False,
    disk_pressure: bool = False,
    pid_pressure: bool = False,
    cpu_used: float = math.nan,
    memory_used: float = math.nan,
) -> dict:
    return {
        "node": name,
        "mc_pods": 2,
        "ready": ready,
        "memory_pressure": memory_pressure,
        "disk_pressure": disk_pressure,
        "pid_pressure": pid_pressure,
        "cpu_allocatable_cores": 4.0,
        "memory_allocatable_bytes": 16 * GI,
        "cpu_usage_cores": cpu_used,
        "memory_usage_bytes": memory_used,
    }


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=nodes.NODE_COLUMNS)


def p_level(finding) -> str:
    return assess([finding], scheme="P").level


def test_ready_nodes_without_pressure_are_ok_and_say_usage_is_unknown():
    found = nodes.node_pressure(frame(node("a"), node("b")))
    assert found.level == Level.OK
    assert (
        found.title == "2 node(s) of the MC pods Ready, no pressure (usage unknown: no "
        "metrics-server answer)"
    )
    assert [r["memory_percent"] for r in found.data] == [None, None]


def test_a_not_ready_node_is_critical_and_p2():
    found = nodes.node_pressure(frame(node("a"), node("b", ready=False)))
    assert found.level == Level.CRITICAL and found.title == "node b NotReady"
    assert "Infrastructure Team" in found.detail
    assert p_level(found) == "P2"


@pytest.mark.parametrize("condition", ["memory_pressure", "disk_pressure", "pid_pressure"])
def test_each_pressure_condition_is_a_warning_and_p3(condition):
    found = nodes.node_pressure(frame(node("a", **{condition: True})))
    kind = {v: k for k, v in nodes.PRESSURES.items()}[condition]
    assert found.level == Level.WARNING and found.title == f"node a {kind}"
    assert found.data[0]["pressure"] == kind
    assert p_level(found) == "P3"


@pytest.mark.parametrize(
    ("memory_share", "level"),
    [(0.69, Level.OK), (0.85, Level.INFO), (0.851, Level.WARNING)],
)
def test_node_memory_against_allocatable_uses_the_85_percent_edge(memory_share, level):
    found = nodes.node_pressure(frame(node(memory_used=memory_share * 16 * GI)))
    assert found.level == level
    assert found.data[0]["memory_percent"] == round(100 * memory_share, 1)


@pytest.mark.parametrize(("cores", "level"), [(3.2, Level.INFO), (3.21, Level.WARNING)])
def test_node_cpu_against_allocatable_uses_the_80_percent_edge(cores, level):
    found = nodes.node_pressure(frame(node(cpu_used=cores)))
    assert found.level == level
    if level == Level.WARNING:
        assert "node node-a cpu" in found.title and "of allocatable" in found.title


def test_no_node_is_not_checked():
    found = nodes.node_pressure(frame())
    assert not found.checked and "no MC pod is scheduled" in found.title
