"""Runbook 004 Scenario 4's Deployment fixes: roll back to a previous ReplicaSet's pod
template, and change a container's resources (both server-side dry-run planned, see
`kube_actions`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubernetes import client as k8s

from mcops.errors import ScopeExceeded
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import require_id
from mcops.remediate.kube_actions import REVISION, DeploymentAction

__all__ = ["PatchResources", "RolloutUndo"]


class RolloutUndo(DeploymentAction):
    """kubectl rollout undo: copy a previous ReplicaSet's pod template into the Deployment."""

    name = "rollout_undo"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        to_revision: int | None = None,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(api_client, namespace, deployment, reason=reason, audit=audit)
        self.to_revision = to_revision

    def _revisions(self, current: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
        selector = current["spec"].get("selector", {}).get("matchLabels", {})
        listing = self.kube.apps.list_namespaced_replica_set(
            self.namespace, label_selector=",".join(f"{k}={v}" for k, v in selector.items())
        )
        uid = current["metadata"].get("uid")
        out: dict[int, dict[str, Any]] = {}
        for item in listing.items:
            rs = self.kube.plain(item)
            owners = rs["metadata"].get("ownerReferences", [])
            # like kubectl: only ReplicaSets this Deployment controls
            if not any(
                o.get("kind") == "Deployment"
                and (o.get("uid") == uid or uid is None)
                and o.get("name") == self.deployment
                for o in owners
            ):
                continue
            rev = rs["metadata"].get("annotations", {}).get(REVISION)
            if rev is not None:
                out[int(rev)] = rs
        return out

    def _change(self, current: Mapping[str, Any]) -> tuple[Any, dict[str, Any], tuple[str, ...]]:
        revisions = self._revisions(current)
        annotations = current["metadata"].get("annotations", {})
        now = int(annotations.get(REVISION, max(revisions, default=0)))
        if self.to_revision is not None:
            wanted = self.to_revision
        else:
            older = [r for r in revisions if r < now]
            if not older:
                raise ScopeExceeded(
                    f"{self.target} has no revision before {now} to roll back to "
                    f"(revisions: {sorted(revisions)})",
                    action=self.name,
                )
            wanted = max(older)
        if wanted not in revisions:
            raise ScopeExceeded(
                f"revision {wanted} of {self.target} not found (revisions: {sorted(revisions)})",
                action=self.name,
            )
        template = copy.deepcopy(revisions[wanted]["spec"]["template"])
        template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        body = [{"op": "replace", "path": "/spec/template", "value": template}]
        return (
            body,
            {"spec": {"template": template}},
            (f"roll back from revision {now} to revision {wanted}",),
        )


class PatchResources(DeploymentAction):
    """Raise one container's limits/requests (Scenario 4 Option 4, Scenario 7 Option 2)."""

    name = "patch_resources"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        container: str,
        limits: Mapping[str, str] | None = None,
        requests: Mapping[str, str] | None = None,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(api_client, namespace, deployment, reason=reason, audit=audit)
        self.container = require_id("container", container)
        if not limits and not requests:
            raise ScopeExceeded("give limits=... and/or requests=... (e.g. {'memory': '2Gi'})")
        self.limits = dict(limits or {})
        self.requests = dict(requests or {})

    def _change(self, current: Mapping[str, Any]) -> tuple[Any, dict[str, Any], tuple[str, ...]]:
        containers = copy.deepcopy(current["spec"]["template"]["spec"]["containers"])
        names = [c["name"] for c in containers]
        if self.container not in names:
            raise ScopeExceeded(
                f"container {self.container!r} not in {self.target} (containers: {names})",
                action=self.name,
            )
        for c in containers:
            if c["name"] == self.container:
                res = c.setdefault("resources", {})
                if self.limits:
                    res["limits"] = {**res.get("limits", {}), **self.limits}
                if self.requests:
                    res["requests"] = {**res.get("requests", {}), **self.requests}
        # The whole list: strategic merge matches by name; a plain merge still keeps all.
        patch = {"spec": {"template": {"spec": {"containers": containers}}}}
        return patch, patch, ("pods are replaced by a rolling update",)
