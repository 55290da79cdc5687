"""A small kustomize, for machines without kubectl: only what deploy/kubernetes uses.

resources (files and directories), components, namespace, labels (pairs, on metadata
only), images (newTag), patches (a strategic-merge file, or an inline JSON 6902 list
with a target). Anything else is refused, so a new overlay feature fails loudly here;
tests/deploy checks that this and `kubectl kustomize` render the same resources.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["build"]

_KNOWN = {
    "apiVersion",
    "kind",
    "namespace",
    "labels",
    "resources",
    "components",
    "patches",
    "images",
}
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
#: strategic merge keys of the lists the patches touch (the Kubernetes API's patchMergeKey)
_MERGE_KEYS = {"volumeMounts": "mountPath", "ports": "containerPort"}


def build(directory: Path) -> list[dict[str, Any]]:
    """The resources `kubectl kustomize directory` renders (order aside)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - _KNOWN
    if unknown:
        raise NotImplementedError(f"{directory}: kustomization fields {sorted(unknown)}")
    resources: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        resources += build(path) if path.is_dir() else _load(path)
    for entry in spec.get("components", []):
        resources += build(directory / entry)
    for patch in spec.get("patches", []):
        _patch(resources, directory, patch)
    if "namespace" in spec:
        _namespace(resources, spec["namespace"])
    for group in spec.get("labels", []):
        if set(group) != {"pairs"}:
            raise NotImplementedError(f"{directory}: labels with {sorted(group)}")
        for resource in resources:
            resource["metadata"].setdefault("labels", {}).update(group["pairs"])
    for image in spec.get("images", []):
        for container in _containers(resources):
            if container["image"].split(":")[0] == image["name"]:
                container["image"] = f"{image['name']}:{image['newTag']}"
    return resources


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for resource in resources:
        spec = resource.get("spec", {})
        if resource["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        found += spec.get("template", {}).get("spec", {}).get("containers", [])
    return found


def _namespace(resources: list[dict[str, Any]], namespace: str) -> None:
    for resource in resources:
        if resource["kind"] not in _CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = namespace
        for subject in resource.get("subjects", []):
            if subject["kind"] == "ServiceAccount":
                subject["namespace"] = namespace


def _patch(resources: list[dict[str, Any]], directory: Path, patch: dict[str, Any]) -> None:
    if "path" in patch:
        (body,) = _load(directory / patch["path"])
        target = {"kind": body["kind"], "name": body["metadata"]["name"]}
    else:
        body, target = yaml.safe_load(patch["patch"]), patch["target"]
    matched = [
        r
        for r in resources
        if r["kind"] == target["kind"] and r["metadata"]["name"] == target["name"]
    ]
    if len(matched) != 1:
        raise ValueError(f"{directory}: patch target {target} matches {len(matched)}")
    if isinstance(body, list):
        for op in body:
            _json6902(matched[0], op)
    else:
        _merge(matched[0], body)


def _json6902(resource: dict[str, Any], op: dict[str, Any]) -> None:
    if op["op"] not in ("add", "replace"):
        raise NotImplementedError(f"JSON patch op {op['op']}")
    *parents, last = op["path"].strip("/").split("/")
    node = resource
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = copy.deepcopy(op["value"])


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    """Strategic merge: maps recursively, lists of objects by their merge key."""
    for key, value in patch.items():
        current = into.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            merge_key = _MERGE_KEYS.get(key, "name")
            if not all(isinstance(item, dict) and merge_key in item for item in value):
                into[key] = copy.deepcopy(value)
                continue
            added = []
            for item in value:
                same = [c for c in current if c.get(merge_key) == item[merge_key]]
                if same:
                    _merge(same[0], item)
                else:
                    added.append(copy.deepcopy(item))
            current[:0] = added  # kustomize puts a patch's new items first
        else:
            into[key] = copy.deepcopy(value)
