"""deploy/kubernetes rendered as `kubectl apply -k` would, and what a container would run.

Rendering uses the real kustomize (`kubectl kustomize`, or a `kustomize` binary) where
one is installed, else tests/deploy/kustomize.py. `container_command` turns a container of the
rendered manifests into the argv and environment a kubelet would give it, from the
ConfigMaps of the same render and a Secret the caller provides.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.kustomize import build
from tests.deploy.runbooks import REPO

KUBERNETES = REPO / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = sorted(p.parent for p in (KUBERNETES / "overlays").glob("*/kustomization.yaml"))
SECRET_EXAMPLE = BASE / "secret.env.example"
#: The Kubernetes version the manifests are validated against (kubernetes-validate).
KUBERNETES_VERSION = "1.30.0"

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def kustomize_command() -> list[str] | None:
    """``kubectl kustomize`` or ``kustomize build``, whichever is installed."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl apply -k directory`` would send: rendered by kustomize, or
    without it by tests/deploy/kustomize.py (checked against kustomize where it is)."""
    command = kustomize_command()
    if command is None:
        return build(directory)
    result = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict]:
    """The resources of ``kind`` (and ``name``)."""
    return [
        r
        for r in resources
        if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)
    ]


def one(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(resources, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment or a CronJob."""
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def secret_example() -> dict[str, str]:
    """KEY=VALUE lines of base/secret.env.example."""
    pairs = {}
    for line in SECRET_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def container_environment(
    container: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    secret: Mapping[str, str],
    namespace: str,
    config_overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables a kubelet would set: envFrom then env, as Kubernetes orders them.

    ConfigMaps come from ``resources`` (values in ``config_overrides`` replace theirs),
    every Secret is ``secret``, fieldRef metadata.namespace is ``namespace``.
    """
    overrides = dict(config_overrides or {})
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = one(resources, "ConfigMap", source["configMapRef"]["name"]).get("data", {})
            env.update({k: overrides.get(k, v) for k, v in data.items()})
        else:
            env.update(secret)
    for item in container.get("env", []):
        name, value_from = item["name"], item.get("valueFrom")
        if value_from is None:
            env[name] = expand(item.get("value", ""), env)
        elif "secretKeyRef" in value_from:
            env[name] = secret[value_from["secretKeyRef"]["key"]]
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            env[name] = (
                overrides.get(ref["key"])
                or one(resources, "ConfigMap", ref["name"])["data"][ref["key"]]
            )
        elif "resourceFieldRef" in value_from:  # limits.memory in bytes, limits.cpu in cores
            ref = value_from["resourceFieldRef"]
            kind, what = ref["resource"].split(".")
            amount = quantity(container["resources"][kind][what])
            env[name] = str(math.ceil(amount))
        elif value_from.get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[name] = namespace
        elif value_from.get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[name] = f"{namespace}-pod"
        elif value_from.get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[name] = "127.0.0.1"
        else:
            raise AssertionError(f"{name}: no local value for {value_from}")
    return env


def quantity(text: str) -> float:
    """A Kubernetes quantity (``250m``, ``1Gi``, ``2``) as a number of units."""
    factors = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(factors, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factors[suffix]
    return float(text)


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(NAME)`` expansion; an undefined name stays as written."""
    return _VAR.sub(lambda m: env.get(m[1], m[0]), text)


def referenced_variables(texts: list[str]) -> set[str]:
    """Every ``$(NAME)`` in ``texts``."""
    return {name for text in texts for name in _VAR.findall(text)}
