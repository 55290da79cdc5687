"""A kmock Kubernetes API double on a loopback port, driven by the real client.

kmock stands in for a cluster here (no cluster in CI). Its known gaps, from
FIELD-NOTES: label selectors are not applied (we add a `list` rule that filters by
the labelSelector the client sent) and pod logs need an explicit rule.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kmock
from kubernetes import client


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif labels.get(term.strip()) is None:
            return False
    return True


def _plain(value: Any) -> Any:
    """kmock stores objects as its own Mapping type; JSON needs plain dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def filter_pods_by_selector(mock: Any) -> None:
    """The selector rule kmock lacks: list pods answers only those the selector matches."""

    def pod_list(request: Any) -> dict[str, Any]:
        selector = request.params.get("labelSelector", "")
        namespace = request.url.path.split("/")[4]
        items = [
            _plain(obj)
            for (resource, ns, _name), obj in mock.objects.items()
            if "pods" in str(resource)
            and ns == namespace
            and _matches(obj.get("metadata", {}).get("labels", {}), selector)
        ]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    mock["list", kmock.resource("v1/pods")] << pod_list


@contextmanager
def kmock_cluster() -> Iterator[tuple[Any, client.ApiClient]]:
    """Yield (kmock emulator, kubernetes ApiClient pointed at it); stop both after."""
    ready = threading.Event()
    box: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        mock = kmock.KubernetesEmulator()
        async with mock, kmock.Server(mock, host="127.0.0.1") as server:
            box.update(mock=mock, url=str(server.url).rstrip("/"), stop=asyncio.Event())
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError("kmock did not start within 15s")
    api = client.ApiClient(client.Configuration(host=box["url"]))
    try:
        yield box["mock"], api
    finally:
        api.close()
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()
