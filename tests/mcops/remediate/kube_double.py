"""The kmock Kubernetes API double, made to honour two things our actions rely on.

kmock stands in for a cluster because none can run here. Its emulator stores every
write, ignores ``dryRun`` and never bumps resourceVersion; this subclass (kmock invites
"inherit and implement for your cases") answers dry runs without storing, bumps
resourceVersion on real writes, and refuses a write whose resourceVersion precondition
no longer holds (409), as the API server does. Requests are still recorded for asserts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
import kubernetes.client as k8s
from kmock._internal import dicts as kdicts


def _status(code: int, reason: str, message: str) -> aiohttp.web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }
    return aiohttp.web.json_response(body, status=code)


class DryRunEmulator(kmock.KubernetesEmulator):
    fail_writes: str | None = None
    """When set, real (non-dry-run) writes answer 500 with this message."""

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        dry = request.params.get("dryRun") == "All"
        writes = (kmock.action.UPDATE, kmock.action.DELETE, kmock.action.CREATE)
        if self.fail_writes and not dry and request.action in writes:
            return _status(500, "InternalError", self.fail_writes)
        if request.resource is None or request.name is None:
            return await super()._handle(request)
        key = (request.resource, request.namespace, request.name)
        missing = key not in self.objects or self.objects[key].deleted
        if request.action == kmock.action.FETCH and missing:
            # kmock raises here (a 500 outside its context manager); a server says 404
            return _status(404, "NotFound", f"{request.name} not found")
        if request.action == kmock.action.UPDATE:
            if key not in self.objects or self.objects[key].deleted:
                return _status(404, "NotFound", f"{request.name} not found")
            current = dict(self.objects[key].raw)
            rv = current.get("metadata", {}).get("resourceVersion")
            data = request.data
            if isinstance(data, dict):
                wanted = data.get("metadata", {}).get("resourceVersion")
                if wanted is not None and wanted != rv:
                    return _status(409, "Conflict", "the object has been modified")
            else:
                try:
                    jsonpatch.apply_patch(current, data)
                except jsonpatch.JsonPatchTestFailed:
                    return _status(422, "Invalid", "the test operation failed")
                data = [op for op in data if op.get("op") != "test"]
            if dry:
                return aiohttp.web.json_response(kdicts.patch_dict(current, data))
            self.objects[key].patch(data)
            self.objects[key].patch({"metadata": {"resourceVersion": str(int(rv or 0) + 1)}})
            return aiohttp.web.json_response(self.objects[key].raw)
        if request.action == kmock.action.DELETE and dry:
            if key not in self.objects or self.objects[key].deleted:
                return _status(404, "NotFound", f"{request.name} not found")
            return aiohttp.web.json_response(dict(self.objects[key].raw))
        return await super()._handle(request)


@contextmanager
def running_kube() -> Iterator[tuple[DryRunEmulator, k8s.ApiClient]]:
    """The emulator on a loopback port in a background event loop, and a client for it."""
    mock = DryRunEmulator()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with kmock.Server(mock, host="127.0.0.1") as server:
            box["url"] = str(server.url)
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "kmock server did not start"
    api = k8s.ApiClient(k8s.Configuration(host=box["url"]))
    try:
        yield mock, api
    finally:
        api.close()
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()


def deployment(
    ns: str = "dark-tower",
    name: str = "meeting-controller",
    *,
    replicas: int = 3,
    image: str = "mc:2",
    revision: int = 2,
    rv: str = "100",
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{name}",
            "resourceVersion": rv,
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "resources": {"limits": {"memory": "1Gi", "cpu": "1"}},
                        },
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                },
            },
        },
    }


def replica_set(dep: dict[str, Any], *, revision: int, image: str) -> dict[str, Any]:
    name = dep["metadata"]["name"]
    template = {
        "metadata": {"labels": {"app": name, "pod-template-hash": f"h{revision}"}},
        "spec": {"containers": [{"name": name, "image": image}]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name}-h{revision}",
            "namespace": dep["metadata"]["namespace"],
            "uid": f"rs-{revision}",
            "resourceVersion": "1",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": dep["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}}, "template": template},
    }


def pod(ns: str, name: str, *, uid: str, owned: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "7"}
    if owned:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "meeting-controller-h2",
                "uid": "rs-2",
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": "node-a", "containers": [{"name": "mc", "image": "mc:2"}]},
        "status": {"phase": "Running"},
    }
