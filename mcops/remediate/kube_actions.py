"""Runbook 004's Kubernetes actions through the real `kubernetes` client: the
Deployment template with Scale and RolloutRestart here; RolloutUndo and PatchResources
in `kube_rollback`, DeletePod in `kube_pods`.

Every plan is a server-side dry run (``dryRun=All``) of the exact request apply will
send, shown as a diff of spec paths; the plan keeps the object's resourceVersion and
apply refuses when it moved (re-checked by reading, then enforced by the API server
through the resourceVersion in the patch). Undo re-applies the captured previous spec.
"""

from __future__ import annotations

import abc
import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from mcops.errors import RemediationError, ScopeExceeded, StalePlan, VerificationFailed
from mcops.remediate._kube_diff import contains, diff
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation, require_id
from mcops.utc import now

__all__ = ["DeploymentAction", "KubeApis", "RolloutRestart", "Scale", "stale_on_conflict"]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
DRY_RUN = "All"


class KubeApis:
    """The two API groups we use, over one injectable ApiClient."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.api = api_client
        self.apps = k8s.AppsV1Api(api_client)
        self.core = k8s.CoreV1Api(api_client)

    def plain(self, obj: Any) -> dict[str, Any]:
        return dict(self.api.sanitize_for_serialization(obj))

    def read(self, read: Callable[[], Any], *, what: str, look: str, action: str) -> dict[str, Any]:
        """``read()`` as plain JSON; a 404 refuses the action, naming ``what`` and the
        command that lists what exists (``look``)."""
        try:
            return self.plain(read())
        except ApiException as err:
            if err.status == 404:
                raise ScopeExceeded(f"{what} not found; check it ({look})", action=action) from err
            raise


def refuse_if_moved(
    current: Mapping[str, Any], planned_rv: str, *, target: str, action: str
) -> str:
    """The object's resourceVersion, or StalePlan when it moved since the plan."""
    rv = str((current.get("metadata") or {}).get("resourceVersion", ""))
    if rv != planned_rv:
        raise StalePlan(
            f"{action}: {target} changed since the plan (resourceVersion {planned_rv} → {rv}); "
            "nothing was changed — make a new plan",
            action=action,
        )
    return rv


def stale_on_conflict(err: ApiException, what: str, action: str) -> RemediationError:
    if err.status in (409, 422):
        return StalePlan(
            f"{action}: the API server refused the write because {what} changed since the "
            f"plan ({err.status} {err.reason}); nothing was changed — make a new plan",
            action=action,
        )
    return RemediationError(
        f"{action}: the API server answered {err.status} {err.reason} for {what}; nothing was "
        "changed",
        action=action,
    )


class DeploymentAction(Remediation):
    """Template: one patch to one Deployment, dry-run planned, resourceVersion guarded."""

    not_changed_on_failure = "the Deployment was not patched"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        self.kube = KubeApis(api_client)
        self.namespace = require_id("namespace", namespace)
        self.deployment = require_id("deployment", deployment)

    @property
    def target(self) -> str:
        return f"kubernetes {self.namespace}/deployment/{self.deployment}"

    @abc.abstractmethod
    def _change(self, current: Mapping[str, Any]) -> tuple[Any, dict[str, Any], tuple[str, ...]]:
        """(patch body to send, partial object the result must contain, notes)."""

    def _settled(self, current: Mapping[str, Any]) -> str | None:
        """Why nothing needs doing though the patch is not literally there (None: it does).

        E.g. a relief scale on a Deployment that already has more replicas.
        """
        return None

    def _restore(self, previous: Mapping[str, Any]) -> Any:
        """Patch body that puts the previous spec back (default: the whole pod template)."""
        return [{"op": "replace", "path": "/spec/template", "value": previous["template"]}]

    def _read(self) -> dict[str, Any]:
        return self.kube.read(
            lambda: self.kube.apps.read_namespaced_deployment(self.deployment, self.namespace),
            what=f"deployment {self.namespace}/{self.deployment}",
            look="kubectl get deploy -n NAMESPACE",
            action=self.name,
        )

    def _patch(self, body: Any, *, dry_run: bool) -> dict[str, Any]:
        obj = self.kube.apps.patch_namespaced_deployment(
            self.deployment, self.namespace, body, dry_run=DRY_RUN if dry_run else None
        )
        return self.kube.plain(obj)

    @staticmethod
    def _guarded(body: Any, resource_version: str) -> Any:
        """The body plus a resourceVersion precondition the API server enforces."""
        if isinstance(body, list):
            test = {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}
            return [test, *body]
        guarded = copy.deepcopy(dict(body))
        guarded.setdefault("metadata", {})["resourceVersion"] = resource_version
        return guarded

    def _plan(self) -> Plan:
        current = self._read()
        rv = current["metadata"].get("resourceVersion", "")
        settled = self._settled(current)
        if settled is not None:
            return Plan(
                action=self.name,
                target=self.target,
                changes=(),
                fingerprint=f"resourceVersion={rv}",
                summary=f"nothing to do: {settled}",
                state={"settled": settled, "rv": rv},
            )
        body, desired, notes = self._change(current)
        previous = {
            "replicas": current["spec"].get("replicas"),
            "template": current["spec"]["template"],
            "revision": current["metadata"].get("annotations", {}).get(REVISION),
        }
        if contains(current, desired):
            changes: tuple[dict[str, Any], ...] = ()
        else:
            dry = self._patch(body, dry_run=True)
            changes = tuple(diff(current, dry))
        return Plan(
            action=self.name,
            target=self.target,
            changes=changes,
            fingerprint=f"resourceVersion={rv}",
            summary=(
                f"{len(changes)} field(s) change (server-side dry run)"
                if changes
                else "nothing to do: already in the desired state"
            ),
            notes=notes,
            state={"body": body, "desired": desired, "rv": rv, "previous": previous},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        current = self._read()
        settled = self._settled(current)
        if settled is not None:
            return ApplyResult(plan=plan, status="nothing_to_do", changed=0, message=settled)
        if "settled" in plan.state:
            raise StalePlan(
                f"{self.name}: the plan found nothing to do ({plan.state['settled']}), but "
                f"{self.target} changed since; nothing was changed — make a new plan",
                action=self.name,
            )
        desired = plan.state["desired"]
        if contains(current, desired):
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message="the Deployment already has this change",
            )
        rv = refuse_if_moved(current, plan.state["rv"], target=self.target, action=self.name)
        try:
            self._patch(self._guarded(plan.state["body"], rv), dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        after = self._read()
        if not contains(after, desired):
            raise VerificationFailed(
                f"{self.name}: {self.target} was patched but does not show the change "
                f"(admission webhook or controller reverted it?); CHANGED: the patch was sent. "
                "Inspect with kubectl and undo() if needed",
                action=self.name,
                changed=1,
            )
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            after=({"resourceVersion": after["metadata"].get("resourceVersion")},),
            undo_state={"previous": plan.state["previous"], "desired": desired},
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        current = self._read()
        if not contains(current, result.undo_state["desired"]):
            raise StalePlan(
                f"{self.name} undo: {self.target} changed after the apply; nothing was "
                "restored — inspect it and act by hand",
                action=self.name,
            )
        rv = current["metadata"].get("resourceVersion", "")
        body = self._restore(result.undo_state["previous"])
        try:
            restored = self._patch(self._guarded(body, rv), dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=1,
            before=tuple(diff(current, restored)),
            message="previous spec re-applied",
        )


class Scale(DeploymentAction):
    """kubectl scale --replicas=N as relief: only ever up, by at most max_replica_change.

    Runbook 004 scales out for relief (Scenarios 1, 5, 7: ``--replicas=5``, the
    thresholds' ``remediation.scale_replicas``). A Deployment already at or above N was
    scaled out by someone for a reason; scaling it down to N would cut capacity in the
    middle of an incident, so the plan is empty and apply changes nothing. Undo of an
    applied scale restores the previous count.
    """

    name = "scale"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        replicas: int,
        max_replica_change: int = 5,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(api_client, namespace, deployment, reason=reason, audit=audit)
        if replicas < 0:
            raise ScopeExceeded(f"replicas must be >= 0, got {replicas}")
        self.replicas = replicas
        self.max_replica_change = max_replica_change

    def _settled(self, current: Mapping[str, Any]) -> str | None:
        now = int(current["spec"].get("replicas") or 0)
        if now >= self.replicas:
            return f"already at {now} ≥ {self.replicas} replicas; a relief scale never scales down"
        return None

    def _change(self, current: Mapping[str, Any]) -> tuple[Any, dict[str, Any], tuple[str, ...]]:
        now = int(current["spec"].get("replicas") or 0)
        if self.replicas - now > self.max_replica_change:
            raise ScopeExceeded(
                f"scaling {self.target} from {now} to {self.replicas} changes more than "
                f"max_replica_change={self.max_replica_change}; scale in smaller steps",
                action=self.name,
            )
        patch = {"spec": {"replicas": self.replicas}}
        return patch, patch, (f"replicas {now} → {self.replicas}",)

    def _restore(self, previous: Mapping[str, Any]) -> Any:
        return {"spec": {"replicas": previous["replicas"]}}


class RolloutRestart(DeploymentAction):
    """kubectl rollout restart: stamp the pod template's restartedAt annotation."""

    name = "rollout_restart"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        clock: Callable[[], dt.datetime] = now,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(api_client, namespace, deployment, reason=reason, audit=audit)
        self.clock = clock

    def _change(self, current: Mapping[str, Any]) -> tuple[Any, dict[str, Any], tuple[str, ...]]:
        stamp = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        return (
            patch,
            patch,
            (
                "every pod is replaced by a rolling update",
                "undo restores the previous pod template (another rollout)",
            ),
        )
