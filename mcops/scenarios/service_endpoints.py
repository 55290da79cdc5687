"""service_outage's Network Debugging step: ``kubectl get endpoints -n NS NAME``.

The Service named like the deployment and the addresses it routes to, from its
Endpoints object (what the runbook's command prints), else from its EndpointSlices
(``kubernetes.io/service-name=NAME``), which clusters that no longer mirror Endpoints
still serve. A missing Service is a frame too (``attrs["found"]`` False): it is the
finding, not a source failure. Judged by `mcops.checks.endpoints`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.checks.endpoints import ENDPOINT_COLUMNS
from mcops.scenarios._kube import deployment_of, kube_source, namespace_of

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.sources.kube import KubeSource

__all__ = ["endpoints"]

_SLICE_LABEL = "kubernetes.io/service-name"


def _or_none(read: Callable[[], Any]) -> Callable[[], Any]:
    """``read``, with a 404 as None: an absent object is an answer, not an error."""
    from kubernetes.client.exceptions import ApiException

    def call() -> Any:
        try:
            return read()
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    return call


def _row(address: Any, *, ready: bool, source: str) -> dict[str, Any]:
    ref = address.target_ref
    return {
        "address": address.ip,
        "ready": ready,
        "pod": ref.name if ref is not None and ref.kind == "Pod" else None,
        "node": address.node_name,
        "source": source,
    }


def _from_slices(kube: KubeSource, namespace: str, name: str) -> list[dict[str, Any]]:
    from kubernetes.client import DiscoveryV1Api

    api = DiscoveryV1Api(kube.api_client)
    label = f"{_SLICE_LABEL}={name}"
    listing = kube._call(
        f"list endpointslices in {namespace} ({label})",
        lambda: api.list_namespaced_endpoint_slice(namespace, label_selector=label),
    )
    rows: list[dict[str, Any]] = []
    for piece in listing.items or []:
        if ((piece.metadata.labels or {}).get(_SLICE_LABEL)) != name:
            continue  # an API double may ignore the selector
        for point in piece.endpoints or []:
            # EndpointConditions: "ready" unset is to be read as ready
            ready = point.conditions is None or point.conditions.ready is not False
            ref = point.target_ref
            for ip in point.addresses or []:
                rows.append(
                    {
                        "address": ip,
                        "ready": ready,
                        "pod": ref.name if ref is not None and ref.kind == "Pod" else None,
                        "node": point.node_name,
                        "source": "endpointslice",
                    }
                )
    return rows


def endpoints(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """The Service ``deployment`` in ``namespace`` and its endpoint addresses, ready and
    not (``ENDPOINT_COLUMNS``); ``attrs``: ``service`` (NS/NAME) and ``found``."""
    kube = kube_source(inv, api_client=api_client)
    ns, name = namespace_of(inv), deployment_of(inv)
    service = kube._call(
        f"read service {ns}/{name}",
        _or_none(lambda: kube.core.read_namespaced_service(name, ns)),
    )
    rows: list[dict[str, Any]] = []
    if service is not None:
        listing = kube._call(
            f"read endpoints {ns}/{name}",
            _or_none(lambda: kube.core.read_namespaced_endpoints(name, ns)),
        )
        if listing is None:
            rows = _from_slices(kube, ns, name)
        for subset in (listing.subsets if listing is not None else None) or []:
            rows += [_row(a, ready=True, source="endpoints") for a in subset.addresses or []]
            rows += [
                _row(a, ready=False, source="endpoints") for a in subset.not_ready_addresses or []
            ]
    frame = pd.DataFrame(rows, columns=ENDPOINT_COLUMNS)
    frame.attrs.update(service=f"{ns}/{name}", found=service is not None)
    return frame
