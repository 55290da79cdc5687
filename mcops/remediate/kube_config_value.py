"""Runbook 004 Scenario 1 Option 4, "Increase mailbox capacity": one ConfigMap key, changed.

"Update ACTOR_MAILBOX_SIZE in ConfigMap and restart pods. Not recommended as first action
- address root cause first." `SetConfigMapValue` changes one key of one ConfigMap (the plan
shows now → new, from a server-side dry run; apply is guarded by the planned
resourceVersion; undo puts the old value back, or removes a key that was not there). The
pods read the value at start, so a `RolloutRestart` follows it; the scenario plans both.

``multiply_by`` multiplies the value from before mcops first changed it, kept in the
annotation ``mcops.io/before.KEY``: a second run of the notebook finds it already done
instead of doubling again.
`configmap_for_key` finds the ConfigMap a Deployment takes the key from.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Precondition, Remediation, require_id
from mcops.remediate.kube_actions import KubeApis, refuse_if_moved, stale_on_conflict

__all__ = ["SetConfigMapValue", "configmap_for_key"]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer(key: str) -> str:
    return "/data/" + _escape(key)


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("annotations") or {})


def configmap_for_key(
    api_client: k8s.ApiClient, namespace: str, deployment: str, key: str
) -> str | None:
    """The ConfigMap ``deployment``'s containers read ``key`` from: an ``env`` entry's
    ``configMapKeyRef``, else an ``envFrom`` ConfigMap that holds the key; None if none."""
    kube = KubeApis(api_client)
    dep = kube.plain(kube.apps.read_namespaced_deployment(deployment, namespace))
    containers = dep["spec"]["template"]["spec"].get("containers", [])
    for c in containers:
        for env in c.get("env") or ():
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
            if env.get("name") == key and ref.get("name"):
                return str(ref["name"])
    for c in containers:
        for source in c.get("envFrom") or ():
            name = (source.get("configMapRef") or {}).get("name")
            if not name:
                continue
            try:
                cm = kube.plain(kube.core.read_namespaced_config_map(name, namespace))
            except ApiException as err:
                if err.status == 404:
                    continue
                raise
            if key in (cm.get("data") or {}):
                return str(name)
    return None


class SetConfigMapValue(Remediation):
    """Set ``key`` of one ConfigMap to ``value``, or to its integer value × ``multiply_by``."""

    name = "set_configmap_value"
    not_changed_on_failure = "the ConfigMap was not patched"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        configmap: str,
        *,
        key: str,
        value: str | None = None,
        multiply_by: int | None = None,
        notes: tuple[str, ...] = (),
        reason: str = "",
        audit: AuditLog | None = None,
        preconditions: tuple[Precondition, ...] = (),
    ) -> None:
        super().__init__(reason=reason, audit=audit, preconditions=preconditions)
        self.kube = KubeApis(api_client)
        self.namespace = require_id("namespace", namespace)
        self.configmap = require_id("configmap", configmap)
        self.key = require_id("key", key)
        if (value is None) == (multiply_by is None):
            raise ScopeExceeded("give exactly one of value=... or multiply_by=...")
        if multiply_by is not None and not 1 < multiply_by <= 10:
            raise ScopeExceeded(f"multiply_by must be 2..10, got {multiply_by}")
        self.value = value
        self.multiply_by = multiply_by
        self.extra_notes = notes

    @property
    def target(self) -> str:
        return f"kubernetes {self.namespace}/configmap/{self.configmap} key {self.key}"

    @property
    def before_annotation(self) -> str:
        """Where the value from before mcops's first change is kept."""
        return f"mcops.io/before.{self.key}"

    def _read(self) -> dict[str, Any]:
        return self.kube.read(
            lambda: self.kube.core.read_namespaced_config_map(self.configmap, self.namespace),
            what=f"configmap {self.namespace}/{self.configmap}",
            look="kubectl get configmap -n NAMESPACE",
            action=self.name,
        )

    def _new(self, obj: dict[str, Any]) -> str:
        if self.value is not None:
            return self.value
        now = _annotations(obj).get(self.before_annotation, (obj.get("data") or {}).get(self.key))
        try:
            return str(int(str(now)) * int(self.multiply_by or 1))
        except ValueError:
            raise ScopeExceeded(
                f"{self.key} in {self.target} is {now!r}, not an integer to multiply; "
                "give value=... instead",
                action=self.name,
            ) from None

    def _body(
        self, obj: dict[str, Any], value: str | None, *, before: str | None = None
    ) -> list[dict[str, Any]]:
        """JSON patch: the resourceVersion test, the key, and (``before``) the annotation
        that remembers the first value; undo (``value`` None) removes what apply added."""
        rv = obj["metadata"].get("resourceVersion", "")
        ops: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv}
        ]
        if value is None:
            ops.append({"op": "remove", "path": _pointer(self.key)})
        elif obj.get("data") is None:
            ops.append({"op": "add", "path": "/data", "value": {self.key: value}})
        else:
            ops.append({"op": "add", "path": _pointer(self.key), "value": value})
        if before is not None and self.before_annotation not in _annotations(obj):
            if not _annotations(obj):
                value_ = {self.before_annotation: before}
                ops.append({"op": "add", "path": "/metadata/annotations", "value": value_})
            else:
                path = "/metadata/annotations/" + _escape(self.before_annotation)
                ops.append({"op": "add", "path": path, "value": before})
        return ops

    def _forget(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        if self.before_annotation not in _annotations(obj):
            return []
        path = "/metadata/annotations/" + _escape(self.before_annotation)
        return [{"op": "remove", "path": path}]

    def _patch(self, body: list[dict[str, Any]], *, dry_run: bool) -> dict[str, Any]:
        obj = self.kube.core.patch_namespaced_config_map(
            self.configmap, self.namespace, body, dry_run="All" if dry_run else None
        )
        return self.kube.plain(obj)

    def _plan(self) -> Plan:
        current = self._read()
        now = (current.get("data") or {}).get(self.key)
        new = self._new(current)
        rv = current["metadata"].get("resourceVersion", "")
        notes = (
            f"pods read {self.key} at start: restart them after (rollout restart)",
            *self.extra_notes,
        )
        if now == new:
            return Plan(
                action=self.name,
                target=self.target,
                changes=(),
                fingerprint=f"resourceVersion={rv}",
                summary=f"nothing to do: {self.key} is already {new}",
                notes=notes,
            )
        dry = self._patch(self._body(current, new, before=now or ""), dry_run=True)
        shown = (dry.get("data") or {}).get(self.key)
        return Plan(
            action=self.name,
            target=self.target,
            changes=({"path": f"data.{self.key}", "now": now, "new": shown},),
            fingerprint=f"resourceVersion={rv}",
            summary=f"{self.key} {now} → {new} (server-side dry run)",
            notes=notes,
            state={"now": now, "new": new, "rv": rv},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        current = self._read()
        have = (current.get("data") or {}).get(self.key)
        new = plan.state["new"]
        if have == new:
            return ApplyResult(
                plan=plan, status="nothing_to_do", changed=0, message=f"{self.key} is {new}"
            )
        refuse_if_moved(current, plan.state["rv"], target=self.target, action=self.name)
        try:
            self._patch(self._body(current, new, before=plan.state["now"] or ""), dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        after = (self._read().get("data") or {}).get(self.key)
        if after != new:
            raise VerificationFailed(
                f"{self.name}: {self.target} reads {after!r} after the patch, not {new!r}; "
                "CHANGED: the patch was sent. Inspect it with kubectl and undo() if needed",
                action=self.name,
                changed=1,
            )
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=({"path": f"data.{self.key}", "value": plan.state["now"]},),
            after=({"path": f"data.{self.key}", "value": after},),
            undo_state={
                "old": plan.state["now"],
                "new": new,
                "annotated": self.before_annotation not in _annotations(current),
            },
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        current = self._read()
        have = (current.get("data") or {}).get(self.key)
        if have != result.undo_state["new"]:
            raise StalePlan(
                f"{self.name} undo: {self.key} in {self.target} is {have!r}, no longer the "
                f"applied {result.undo_state['new']!r}; nothing was restored — act by hand",
                action=self.name,
            )
        old = result.undo_state["old"]
        body = self._body(current, old)
        if result.undo_state["annotated"]:  # the first change: forget its "before" too
            body += self._forget(current)
        try:
            self._patch(body, dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=1,
            before=({"path": f"data.{self.key}", "value": have},),
            after=({"path": f"data.{self.key}", "value": old},),
            message=f"{self.key} restored" if old is not None else f"{self.key} removed again",
        )
