"""Runbook 004 Scenario 4, root causes 4-5: the Secrets and ConfigMaps the pods need.

Every Secret and ConfigMap the pod template references is read by name, and only its
key names are kept: values never reach a frame, the notebook or the evidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.scenarios._kube import deployment_of, kube_source, namespace_of, read_deployment

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.sources.kube import KubeSource

__all__ = ["REF_COLUMNS", "config_refs"]

REF_COLUMNS = ["kind", "name", "key", "used_by", "optional", "present", "key_present"]


def _references(template: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """(kind, name, key, used_by, optional) for each Secret/ConfigMap a pod spec names."""
    spec = template.get("spec", {}) or {}
    for ref in spec.get("imagePullSecrets", []) or []:
        yield _ref("Secret", ref.get("name"), "", "imagePullSecrets", False)
    for volume in spec.get("volumes", []) or []:
        used = f"volume {volume.get('name')}"
        if secret := volume.get("secret"):
            yield _ref("Secret", secret.get("secretName"), "", used, secret.get("optional"))
        if config := volume.get("configMap"):
            yield _ref("ConfigMap", config.get("name"), "", used, config.get("optional"))
        for source in (volume.get("projected") or {}).get("sources", []) or []:
            for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if part := source.get(field):
                    yield _ref(kind, part.get("name"), "", used, part.get("optional"))
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        where = f"container {container.get('name')}"
        for env in container.get("env", []) or []:
            source = env.get("valueFrom") or {}
            used = f"{where} env {env.get('name')}"
            if ref := source.get("secretKeyRef"):
                yield _ref("Secret", ref.get("name"), ref.get("key"), used, ref.get("optional"))
            if ref := source.get("configMapKeyRef"):
                yield _ref("ConfigMap", ref.get("name"), ref.get("key"), used, ref.get("optional"))
        for env in container.get("envFrom", []) or []:
            if ref := env.get("secretRef"):
                yield _ref("Secret", ref.get("name"), "", f"{where} envFrom", ref.get("optional"))
            if ref := env.get("configMapRef"):
                yield _ref(
                    "ConfigMap", ref.get("name"), "", f"{where} envFrom", ref.get("optional")
                )


def _ref(kind: str, name: Any, key: Any, used_by: str, optional: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": str(name or ""),
        "key": str(key or ""),
        "used_by": used_by,
        "optional": bool(optional),
    }


def _key_names(kube: KubeSource, kind: str, namespace: str, name: str) -> set[str] | None:
    """The object's key names (None: it does not exist). Values are dropped right here."""
    from kubernetes.client.exceptions import ApiException

    read = (
        kube.core.read_namespaced_secret
        if kind == "Secret"
        else kube.core.read_namespaced_config_map
    )

    def fetch() -> Any:
        try:
            return read(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    obj = kube._call(f"read {kind} {namespace}/{name}", fetch)
    if obj is None:
        return None
    if kind == "Secret":
        keys = {*(obj.data or {}), *(obj.string_data or {})}
    else:
        keys = {*(obj.data or {}), *(obj.binary_data or {})}
    del obj
    return keys


def config_refs(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Root causes 4-5: each Secret/ConfigMap (and key) the pod template uses, and if present.

    ``kubectl get secret mc-service-secrets`` / ``kubectl get configmap mc-service-config``
    for every name the deployment's pod template references (``REF_COLUMNS``).
    """
    kube = kube_source(inv, api_client=api_client)
    namespace = namespace_of(inv)
    dep = read_deployment(kube, namespace, deployment_of(inv))
    refs = list(_references(dep.get("spec", {}).get("template", {}) or {}))
    known: dict[tuple[str, str], set[str] | None] = {}
    for ref in refs:
        key = (ref["kind"], ref["name"])
        if key not in known:
            known[key] = _key_names(kube, ref["kind"], namespace, ref["name"])
        names = known[key]
        ref["present"] = names is not None
        ref["key_present"] = (ref["key"] in names) if ref["key"] and names is not None else None
    return pd.DataFrame(refs, columns=REF_COLUMNS)
