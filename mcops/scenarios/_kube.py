"""The cluster a scenario reads on ``platform=kubernetes``: the client, and where to look.

The client's state reaches summary.json at its first call (`Investigation.record_source`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcops.errors import SourceConfigError, SourceError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.sources.kube import KubeSource

__all__ = ["deployment_of", "kube_source", "namespace_of", "read_deployment", "selector"]


def kube_source(inv: Investigation, *, api_client: ApiClient | None = None) -> KubeSource:
    """The cluster, only on ``platform=kubernetes`` (its state recorded for summary.json)."""
    platform = str(inv.params.get("platform") or "local")
    if platform != "kubernetes":
        raise SourceConfigError(
            f"platform is {platform!r}: no pods, events or rollouts to read",
            source="kubernetes",
            fix="run with -p platform=kubernetes -p deployment=NAME on a cluster",
        )
    from mcops.sources.kube import KubeSource  # the kubernetes client is slow to import

    observer = _kube_observer(inv)
    try:
        return KubeSource(api_client, observer=observer)
    except SourceError as err:  # no kubeconfig, no in-cluster credentials
        observer(err)
        raise


def _kube_observer(inv: Investigation) -> Callable[[SourceError | None], None]:
    return lambda error: inv.record_source("kubernetes", error)


def namespace_of(inv: Investigation) -> str:
    return str(inv.params.get("namespace") or "default")


def deployment_of(inv: Investigation) -> str:
    name = str(inv.params.get("deployment") or "")
    if not name:
        raise SourceConfigError(
            "deployment is empty", source="kubernetes", fix="pass -p deployment=NAME"
        )
    return name


def read_deployment(kube: KubeSource, namespace: str, name: str) -> dict[str, Any]:
    obj = kube._call(
        f"read deployment {namespace}/{name}",
        lambda: kube.apps.read_namespaced_deployment(name, namespace),
    )
    return dict(kube.api_client.sanitize_for_serialization(obj))


def selector(inv: Investigation, kube: KubeSource) -> str:
    """The pods' label selector: the deployment's matchLabels, else log_source's k8s one."""
    if inv.params.get("deployment"):
        dep = read_deployment(kube, namespace_of(inv), deployment_of(inv))
        labels = dep.get("spec", {}).get("selector", {}).get("matchLabels", {}) or {}
        if labels:
            return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    spec = str(inv.params.get("log_source") or "")
    if spec.startswith("k8s:") and "/" in spec:
        return spec.split("/", 1)[1]
    raise SourceConfigError(
        "no label selector for the pods",
        source="kubernetes",
        fix="pass -p deployment=NAME (or -p log_source=k8s:NAMESPACE/app=NAME)",
    )
