"""What several scenarios read the same way, so two notebooks never pick a source differently.

The platform parameters (which cluster objects a remediation may touch), the MC in
focus, the MC's meeting gauges and CPU over its limit (meeting_lifecycle and
resource_pressure, high_latency and resource_pressure). The
metrics backend (`Investigation.metrics`) chose Prometheus or scrapes once; the judges
in `mcops.checks` never see which of the two answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.meetings import GAUGES
from mcops.errors import SourceError
from mcops.findings import Level

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation

__all__ = [
    "cpu_ratio",
    "deployment",
    "fired",
    "focus_mc_id",
    "kube_api",
    "meeting_gauges",
    "namespace",
    "on_kubernetes",
]


# ---------------------------------------------------------------- parameters


def on_kubernetes(inv: Investigation) -> bool:
    """``platform=kubernetes``: the only platform with pods, rollouts and replicas to touch."""
    return str(inv.params.get("platform") or "local") == "kubernetes"


def namespace(inv: Investigation) -> str:
    """The Kubernetes namespace (``default`` when not given)."""
    return str(inv.params.get("namespace") or "default")


def deployment(inv: Investigation) -> str:
    """The deployment name; "" when not given (then no cluster remediation is planned)."""
    return str(inv.params.get("deployment") or "")


def kube_api(api_client: ApiClient | None) -> ApiClient:
    """``api_client``, else the in-cluster or kubeconfig credentials (imported late: slow)."""
    if api_client is not None:
        return api_client
    from mcops.sources.kube import default_api_client

    return default_api_client()


def fired(inv: Investigation, check: str) -> bool:
    """Whether ``check`` ran and reached warning or worse (a remediation's trigger)."""
    return any(f.check == check and f.checked and f.level >= Level.WARNING for f in inv.findings)


def focus_mc_id(inv: Investigation) -> str:
    """``mc_id`` if given, else the MC behind ``service_url``; "" when neither is known."""
    if given := str(inv.params.get("mc_id") or ""):
        return given
    try:
        return str(inv.service.config().get("mc_id") or "")
    except SourceError:
        return ""


# ---------------------------------------------------------------- metrics


def meeting_gauges(inv: Investigation) -> pd.DataFrame:
    """Both meeting gauges over the window (Prometheus), else three scrapes 1 s apart."""
    frames = [f for f in (inv.metrics.range(name) for name in GAUGES) if not f.empty]
    if not frames:  # neither gauge exported: meeting_counts says so
        return pd.DataFrame(columns=["timestamp", "metric", "value"])
    return pd.concat(frames, ignore_index=True)


def cpu_ratio(inv: Investigation) -> pd.DataFrame:
    """CPU used over the limit (Kubernetes) or over one core (a local server)."""
    pods = f"{deployment(inv) or 'meeting-controller'}-.*"
    return inv.metrics.measure("cpu_ratio", pod_regex=pods)
