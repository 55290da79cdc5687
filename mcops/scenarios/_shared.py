"""What several scenarios read the same way, so two notebooks never pick a source differently.

The platform parameters (which cluster objects a remediation may touch), the MC in
focus, the MC's meeting gauges and CPU over its limit (meeting_lifecycle and
resource_pressure, high_latency and resource_pressure), and the arithmetic that lets a
few scrapes of ``/metrics`` stand in for a Prometheus range when Prometheus is gone.
The judges in `mcops.checks` never see which of the two answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.meetings import GAUGES
from mcops.errors import SourceConfigError, SourceError
from mcops.findings import Level
from mcops.sources.promcalc import histogram_quantile, rate

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
    "quantile_from_scrapes",
    "rate_from_scrapes",
    "service_url",
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


def service_url(inv: Investigation) -> str:
    """``service_url`` for a scrape of ``/metrics``; raises when neither metrics source is given."""
    url = str(inv.params.get("service_url") or "")
    if not url:
        raise SourceConfigError(
            "service_url and prometheus_url are both empty",
            source="metrics",
            fix="pass -p prometheus_url=http://prometheus:9090 or -p service_url=http://host:8080",
        )
    return url


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
    frames = [f for f in (inv.metric_range(name) for name in GAUGES) if not f.empty]
    if not frames:  # neither gauge exported: meeting_counts says so
        return pd.DataFrame(columns=["timestamp", "metric", "value"])
    return pd.concat(frames, ignore_index=True)


def cpu_ratio(inv: Investigation) -> pd.DataFrame:
    """CPU used over the limit (Kubernetes) or over one core (a local server)."""
    if inv.params.get("prometheus_url"):
        name = deployment(inv) or "meeting-controller"
        return inv.metric_range("mc_cpu_ratio", pod_regex=f"{name}-.*")
    grown = rate_from_scrapes(inv.metric_range("process_cpu_seconds_total"))
    return grown[grown["metric"].astype("str") == "process_cpu_seconds_total"]


def quantile_from_scrapes(
    samples: pd.DataFrame, q: float, *, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """``histogram_quantile(q, rate(..._bucket))`` between the first and last scrape.

    Rows with no observation between the scrapes (NaN) are dropped: no traffic is no
    latency to judge. The ``timestamp`` is the last scrape's.
    """
    if samples.empty:
        return pd.DataFrame(columns=["timestamp", *by, "value"])
    grown = rate(samples)
    grown = grown[grown["metric"].astype("str").str.endswith("_bucket")]
    if grown.empty:
        return pd.DataFrame(columns=["timestamp", *by, "value"])
    result = histogram_quantile(q, grown, by=by).dropna(subset=["value"])
    return result.drop(columns=["metric"]).assign(timestamp=samples["timestamp"].max())


def rate_from_scrapes(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-second growth of every counter between the first and last scrape."""
    if samples.empty:
        return pd.DataFrame(columns=["timestamp", "metric", "value"])
    return rate(samples).assign(timestamp=samples["timestamp"].max())
