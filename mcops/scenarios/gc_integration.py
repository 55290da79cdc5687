"""Runbook 004 Scenario 6 (GC Integration Failures): what to read, from where, the fixes.

The heartbeat counter (Prometheus or scrapes of ``/metrics``) and the GC's
``meeting_controllers`` table (database); the judges in `mcops.checks.heartbeats` only
see the frames. Re-registration goes through the admin API, a restart through Kubernetes.

Steps 2 and 6 read the cluster (``platform=kubernetes``): the GC's pods (``gc_selector``,
default ``app=global-controller``) and the namespace's NetworkPolicies, with the MC's and
the GC's pod labels beside them for `mcops.checks.netpol`. Step 4 GETs ``gc_url`` from
here; step 5 is ``log_source``'s window. Root cause 5 (DNS) resolves the host names of
``service_url`` and ``gc_url`` from here, each lookup bounded by a timeout.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pandas as pd

from mcops.checks.dns import DNS_COLUMNS
from mcops.checks.heartbeats import COUNTER
from mcops.errors import SourceConfigError, SourceError, SourceUnreachable
from mcops.scenarios._kube import kube_source, namespace_of, read_deployment
from mcops.scenarios._shared import deployment, fired, kube_api, namespace, on_kubernetes
from mcops.secrets import redact_url
from mcops.sources.http_client import HttpClient

if TYPE_CHECKING:
    import httpx
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action
    from mcops.sources.kube import KubeSource

__all__ = [
    "dns",
    "gc_health",
    "gc_pods",
    "heartbeats",
    "network_policies",
    "recent_heartbeats",
    "registration",
    "remediations",
]

_GC_SELECTOR = "app=global-controller"
_GC_PORT = 8080  # Option 3 "Ensure egress to global-controller:8080 is allowed"


def heartbeats(inv: Investigation) -> pd.DataFrame:
    """Step 1: the heartbeat counter over the window (Prometheus), else 3 scrapes 1 s apart.

    ``attrs["since"]`` is the window start for a Prometheus range (a series born inside
    the window counts its first value), None for scrapes (only growth between them).
    """
    metrics = inv.metrics
    frame = metrics.range(COUNTER).copy()
    frame.attrs["since"] = inv.since if metrics.history else None
    return frame


def registration(inv: Investigation, *, limit: int = 1000) -> pd.DataFrame:
    """Step 3: the ``meeting_controllers`` rows (every row, not the runbook's 10)."""
    return inv.sql("meeting_controllers", limit=limit)


def _gc_selector(inv: Investigation) -> str:
    return str(inv.params.get("gc_selector") or _GC_SELECTOR)


def gc_pods(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Step 2: ``kubectl get pods -l app=global-controller`` (``attrs["selector"]``)."""
    kube = kube_source(inv, api_client=api_client)
    selector = _gc_selector(inv)
    frame = kube.pods(namespace_of(inv), selector)
    frame.attrs["selector"] = selector
    return frame


def gc_health(inv: Investigation, *, transport: httpx.BaseTransport | None = None) -> pd.DataFrame:
    """Step 4: one GET of ``gc_url`` (the GC's /health), timed; no answer is a row too."""
    import httpx  # loads with the step that calls the GC, not with the scenario

    url = str(inv.params.get("gc_url") or "")
    if not url:
        inv.recorder.source("gc", "not given", "gc_url is empty")
        raise SourceConfigError(
            "gc_url is empty",
            source="gc",
            fix="pass -p gc_url=http://global-controller.NAMESPACE.svc.cluster.local:8080/health",
        )
    if not url.startswith(("http://", "https://")):
        inv.recorder.source("gc", "misconfigured", "gc_url is not an http(s) URL")
        raise SourceConfigError(
            f"gc_url={redact_url(url)!r} is not an http(s) URL",
            source="gc",
            fix="write e.g. http://global-controller.dark-tower.svc.cluster.local:8080/health",
        )
    parsed = httpx.URL(url)  # the client's base is scheme://host:port; the path is GETted
    base = f"{parsed.scheme}://{parsed.netloc.decode()}" if parsed.host else url
    path = parsed.raw_path.decode() or "/"
    observer = lambda error: inv.record_source("gc", error)  # noqa: E731
    row: dict[str, Any] = {"url": redact_url(url), "status_code": None, "latency_ms": None}
    with HttpClient(base, source="gc", transport=transport, observer=observer) as client:
        started = time.perf_counter()
        try:
            response = client.send("GET", path)
        except SourceUnreachable as err:
            return pd.DataFrame([{**row, "error": str(err)}])
        latency = (time.perf_counter() - started) * 1000
    row.update(status_code=response.status_code, latency_ms=latency, error="")
    return pd.DataFrame([row])


_DNS_PARAMETERS = ("service_url", "gc_url")


def _lookup(host: str, resolve: Callable[..., Any], timeout: float) -> tuple[list[str], float, str]:
    """(addresses, ms, error) for one name; a resolver that hangs is given up on after
    ``timeout`` (its thread is left to finish on its own: getaddrinfo cannot be cancelled)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcops-dns")
    started = time.perf_counter()
    try:
        answer = pool.submit(resolve, host, None, type=socket.SOCK_STREAM).result(timeout)
    except LookupTimeout:
        return [], float("nan"), f"no DNS answer within {timeout:g} s"
    except OSError as err:  # socket.gaierror: the name does not resolve
        return [], float("nan"), str(err) or type(err).__name__
    finally:
        pool.shutdown(wait=False)
    ms = (time.perf_counter() - started) * 1000
    return sorted({str(info[4][0]) for info in answer}), ms, ""


def dns(
    inv: Investigation,
    *,
    timeout: float = 5.0,
    resolve: Callable[..., Any] = socket.getaddrinfo,
) -> pd.DataFrame:
    """Root cause 5: ``nslookup`` of the host names of ``service_url`` and ``gc_url``
    (``DNS_COLUMNS``; ``attrs["not_given"]``: the empty ones). Both empty: not checked."""
    rows: list[list[Any]] = []
    not_given: list[str] = []
    for parameter in _DNS_PARAMETERS:
        url = str(inv.params.get(parameter) or "")
        host = urlsplit(url).hostname if url.startswith(("http://", "https://")) else None
        if not host:
            not_given.append(parameter)
            continue
        try:
            ipaddress.ip_address(host)
        except ValueError:
            addresses, ms, error = _lookup(host, resolve, timeout)
            rows.append([parameter, host, False, ", ".join(addresses), ms, error])
        else:
            rows.append([parameter, host, True, host, 0.0, ""])
    if not rows:
        raise SourceConfigError(
            "service_url and gc_url are empty (or not http(s) URLs): no host name to resolve",
            source="dns",
            fix="pass -p gc_url=http://global-controller.NAMESPACE.svc.cluster.local:8080/health",
        )
    frame = pd.DataFrame(rows, columns=DNS_COLUMNS)
    frame.attrs["not_given"] = not_given
    return frame


def _labels(selector: str) -> dict[str, str]:
    terms = (t.split("=", 1) for t in selector.replace("==", "=").split(",") if "=" in t)
    return {k.strip(): v.strip() for k, v in terms if not k.endswith("!")}


def _mc_labels(inv: Investigation, kube: KubeSource) -> dict[str, str]:
    """The MC pods' labels: the deployment's pod template, else log_source's selector."""
    if name := deployment(inv):
        dep = read_deployment(kube, namespace_of(inv), name)
        labels = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("labels")
        if labels:
            return dict(labels)
    spec = str(inv.params.get("log_source") or "")
    if spec.startswith("k8s:") and "/" in spec:
        return _labels(spec.split("/", 1)[1])
    raise SourceConfigError(
        "no labels for the MC pods",
        source="kubernetes",
        fix="pass -p deployment=NAME (or -p log_source=k8s:NAMESPACE/app=NAME)",
    )


def network_policies(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Step 6: ``kubectl get networkpolicy -n NS`` (``policy``, ``spec``), with
    ``attrs`` mc_labels, gc_labels (a GC pod's own, else gc_selector's), namespace and
    gc_port (gc_url's port, else the runbook's 8080)."""
    import httpx
    from kubernetes.client import NetworkingV1Api

    kube = kube_source(inv, api_client=api_client)
    ns = namespace_of(inv)
    api = NetworkingV1Api(kube.api_client)
    listing = kube._call(
        f"list networkpolicies in {ns}", lambda: api.list_namespaced_network_policy(ns)
    )
    plain = kube.api_client.sanitize_for_serialization
    rows = [{"policy": p.metadata.name, "spec": plain(p.spec) or {}} for p in listing.items or []]
    gc_pod = kube._list_pods(ns, _gc_selector(inv))
    gc_labels = (gc_pod[0].metadata.labels if gc_pod else None) or _labels(_gc_selector(inv))
    url = str(inv.params.get("gc_url") or "")
    frame = pd.DataFrame(rows, columns=["policy", "spec"])
    frame.attrs.update(
        mc_labels=_mc_labels(inv, kube),
        gc_labels=dict(gc_labels),
        namespace=ns,
        gc_port=(httpx.URL(url).port if url else None) or _GC_PORT,
    )
    return frame


def recent_heartbeats(inv: Investigation, *, max_age: timedelta) -> pd.DataFrame:
    """The runbook's "Verify recovery" query; empty when the database is not there."""
    try:
        return inv.sql("recent_heartbeats", cutoff=inv.until - max_age)
    except SourceError:
        return pd.DataFrame(columns=["id", "last_heartbeat", "status"])


def remediations(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Option 4 (re-register through the admin API) and, on Kubernetes, Options 1 and 2.

    Re-registration is forced when the ``registration`` finding is not ok: a stale row
    with ``mc_gc_registered`` still 1 would otherwise plan "nothing to do". Option 2
    (restart the GC) is planned only when ``gc_pods`` fired, and stays blocked until
    ``gc_team_engaged=True``: "Escalate to GC Team before restarting GC". Option 3
    (NetworkPolicy) is the ``network_policy`` finding: people change policies, not mcops.
    """
    from mcops.remediate import ReRegisterController, RolloutRestart
    from mcops.remediate.kube_restart import EscalatedRolloutRestart

    reason = "runbook 004 Scenario 6: GC integration failures"
    actions: list[Action] = []
    admin = inv.admin_api()
    if admin is not None:
        force = fired(inv, "registration")
        actions.append(ReRegisterController(admin, force=force, reason=reason))
    name = deployment(inv)
    if on_kubernetes(inv) and name:
        api = kube_api(api_client)
        actions.append(RolloutRestart(api, namespace(inv), name, reason=reason))
    gc_name = str(inv.params.get("gc_deployment") or "global-controller")
    if on_kubernetes(inv) and fired(inv, "gc_pods"):
        restart_gc = EscalatedRolloutRestart(
            kube_api(api_client),
            namespace(inv),
            gc_name,
            team="GC Team",
            engaged=bool(inv.params.get("gc_team_engaged")),
            step="runbook 004 Scenario 6 Option 2: escalate to GC Team before restarting GC",
            fix="page the GC Team (#gc-oncall, PagerDuty: GC-Team); when they agree, run "
            "again with -p gc_team_engaged=True",
            reason=f"{reason}: GC pods not ready (Option 2)",
        )
        actions.append(restart_gc)
    return actions
