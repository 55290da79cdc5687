"""Runbook 004 Scenario 7 (Resource Pressure): what to read, from where, the fixes to plan.

Memory, CPU and meetings, each over its limit, as the metrics backend measures them
(`mcops.sources.metrics`): with Prometheus its recording rules over the pods; without
it, the ratio of two gauges at each scrape of ``/metrics`` (a local server exports
``MEMORY_LIMIT_BYTES`` as ``mc_memory_limit_bytes``). The judges in
`mcops.checks.resources` and `mcops.checks.latency` only see the ratios.

Diagnostics 2 and 3 read the cluster (``platform=kubernetes``): the deployment's
container limits, with ``kubectl top``'s usage beside them when metrics-server answers,
and the namespace's Pod events. ``kubectl top nodes`` (Diagnostic Commands) reads the
nodes the MC pods run on: their conditions, allocatable, and usage from metrics-server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.nodes import NODE_COLUMNS, PRESSURES
from mcops.errors import SourceError
from mcops.findings import Level
from mcops.scenarios._kube import (
    deployment_of,
    kube_source,
    namespace_of,
    read_deployment,
    selector,
)
from mcops.scenarios._shared import (
    cpu_ratio,
    deployment,
    focus_mc_id,
    kube_api,
    meeting_gauges,
    namespace,
    on_kubernetes,
)

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action
    from mcops.sources.kube import KubeSource

__all__ = [
    "LIMIT_COLUMNS",
    "capacity",
    "cpu",
    "focus_mc_id",
    "limits",
    "meeting_load",
    "memory",
    "nodes",
    "oom_events",
    "remediations",
]

LIMIT_COLUMNS = [
    "container", "cpu_request", "cpu_limit", "memory_request", "memory_limit",
    "cpu_limit_cores", "memory_limit_bytes", "cpu_usage_cores", "memory_usage_bytes",
]  # fmt: skip

_PRESSURE_CHECKS = ("memory_usage", "cpu_usage", "capacity")


def _pods(inv: Investigation) -> str:
    return f"{deployment(inv) or 'meeting-controller'}-.*"


def memory(inv: Investigation) -> pd.DataFrame:
    """Steps 1, 4: memory in use over its limit, over the window."""
    return inv.metrics.measure("memory_ratio", pod_regex=_pods(inv))


def cpu(inv: Investigation) -> pd.DataFrame:
    """Step 2: CPU used over the limit (Kubernetes) or over one core (a local server)."""
    return cpu_ratio(inv)


def capacity(inv: Investigation) -> pd.DataFrame:
    """Step 6: active meetings over the MC's capacity, over the window."""
    return inv.metrics.measure("capacity_ratio")


def _quantity(value: object) -> float:
    from kubernetes.utils import parse_quantity

    return float(parse_quantity(value)) if value else float("nan")


def limits(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 2: each container's requests and limits (``LIMIT_COLUMNS``), with the
    highest usage over its pods from metrics-server (NaN when it does not answer)."""
    kube = kube_source(inv, api_client=api_client)
    ns = namespace_of(inv)
    dep = read_deployment(kube, ns, deployment_of(inv))
    spec = dep.get("spec", {})
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    try:
        usage = kube.pod_metrics(ns, selector).groupby("container")[["cpu_cores", "memory_bytes"]]
        peak = usage.max()
    except SourceError:  # no metrics-server: limits alone (the finding says usage unknown)
        peak = pd.DataFrame(columns=["cpu_cores", "memory_bytes"])
    rows = []
    for container in spec.get("template", {}).get("spec", {}).get("containers") or []:
        name = container.get("name")
        res = container.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        used = peak.loc[name] if name in peak.index else {}
        rows.append(
            {
                "container": name,
                "cpu_request": req.get("cpu"),
                "cpu_limit": lim.get("cpu"),
                "memory_request": req.get("memory"),
                "memory_limit": lim.get("memory"),
                "cpu_limit_cores": _quantity(lim.get("cpu")),
                "memory_limit_bytes": _quantity(lim.get("memory")),
                "cpu_usage_cores": float(used.get("cpu_cores", float("nan"))),
                "memory_usage_bytes": float(used.get("memory_bytes", float("nan"))),
            }
        )
    return pd.DataFrame(rows, columns=LIMIT_COLUMNS)


def oom_events(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 3: ``kubectl get events --field-selector involvedObject.kind=Pod``."""
    return kube_source(inv, api_client=api_client).events(namespace_of(inv), involved_kind="Pod")


def _node_usage(kube: KubeSource) -> dict[str, dict[str, float]]:
    """``kubectl top nodes``: node → cpu_usage_cores, memory_usage_bytes; {} without
    metrics-server (a 404), so the finding says usage is unknown rather than failing."""
    try:
        listing = kube._send(
            "list node metrics",
            lambda: kube.custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes"),
        )
    except SourceError:
        return {}
    out: dict[str, dict[str, float]] = {}
    for item in listing.get("items") or []:
        usage = item.get("usage") or {}
        out[item["metadata"]["name"]] = {
            "cpu_usage_cores": _quantity(usage.get("cpu")),
            "memory_usage_bytes": _quantity(usage.get("memory")),
        }
    return out


def nodes(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """``kubectl top nodes`` for the nodes the MC pods run on (``NODE_COLUMNS``): each
    node's Ready and pressure conditions, allocatable, and usage (NaN without
    metrics-server). ``ready`` is True only for a Ready condition that is "True"."""
    kube = kube_source(inv, api_client=api_client)
    ns = namespace_of(inv)
    placed: dict[str, int] = {}
    for pod in kube._list_pods(ns, selector(inv, kube)):
        if node := (pod.spec.node_name if pod.spec else None):
            placed[node] = placed.get(node, 0) + 1
    usage = _node_usage(kube) if placed else {}
    rows: list[dict[str, object]] = []
    for name, count in sorted(placed.items()):
        read = kube._call(f"read node {name}", lambda n=name: kube.core.read_node(n))
        status = read.status
        conditions = {c.type: c.status for c in (status.conditions or [])} if status else {}
        allocatable = (status.allocatable if status else None) or {}
        used = usage.get(name, {})
        rows.append(
            {
                "node": name,
                "mc_pods": count,
                "ready": conditions.get("Ready") == "True",
                **{col: conditions.get(kind) == "True" for kind, col in PRESSURES.items()},
                "cpu_allocatable_cores": _quantity(allocatable.get("cpu")),
                "memory_allocatable_bytes": _quantity(allocatable.get("memory")),
                "cpu_usage_cores": used.get("cpu_usage_cores", float("nan")),
                "memory_usage_bytes": used.get("memory_usage_bytes", float("nan")),
            }
        )
    return pd.DataFrame(rows, columns=NODE_COLUMNS)


def meeting_load(inv: Investigation) -> pd.DataFrame:
    """Step 6's gauges for the plot; empty when no metrics source answers (the capacity
    finding already says why)."""
    try:
        return meeting_gauges(inv)
    except SourceError:
        return pd.DataFrame(columns=["timestamp", "metric", "value"])


def remediations(
    inv: Investigation, *, mc_id: str, api_client: ApiClient | None = None
) -> list[Action]:
    """Option 4 (mark the MC draining in the GC) anywhere; Options 1 and 3 on Kubernetes.

    Planned only when memory, CPU or capacity is under pressure. Option 2 (raise the
    limits) changes the pod spec for good and is a capacity decision: shown, not planned.
    """
    from mcops.remediate import MarkController, RolloutRestart, Scale

    pressed = [
        f.check
        for f in inv.findings
        if f.check in _PRESSURE_CHECKS and f.checked and f.level >= Level.WARNING
    ]
    if not pressed:
        return []
    reason = f"runbook 004 Scenario 7: {', '.join(pressed)} under pressure"
    actions: list[Action] = []
    name = deployment(inv)
    if on_kubernetes(inv) and name:
        api, ns = kube_api(api_client), namespace(inv)
        # Option 1, ``kubectl scale --replicas=5``: the thresholds' remediation.scale_replicas
        replicas = inv.thresholds.remediation.scale_replicas
        actions.append(Scale(api, ns, name, replicas=replicas, reason=reason))
        if "memory_usage" in pressed:
            actions.append(RolloutRestart(api, ns, name, reason=reason))
    db = inv.database_for_actions()
    if db and mc_id:
        actions.append(MarkController(db, mc_id, status="draining", reason=reason))
    return actions
