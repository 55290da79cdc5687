"""kubectl delete pod as a guarded action (runbook 004 Scenarios 1–3, 5): planned by a
server-side dry run, applied only to the planned pod's uid."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from mcops.errors import RemediationError, StalePlan
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation, require_id
from mcops.remediate.kube_actions import DRY_RUN, KubeApis, stale_on_conflict

__all__ = ["DeletePod"]


class DeletePod(Remediation):
    """kubectl delete pod, guarded by the planned pod's uid (Scenarios 1–3, 5)."""

    name = "delete_pod"
    not_changed_on_failure = "the pod was not deleted"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        pod: str,
        *,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        self.kube = KubeApis(api_client)
        self.namespace = require_id("namespace", namespace)
        self.pod = require_id("pod", pod)

    @property
    def target(self) -> str:
        return f"kubernetes {self.namespace}/pod/{self.pod}"

    def _read(self) -> dict[str, Any] | None:
        try:
            return self.kube.plain(self.kube.core.read_namespaced_pod(self.pod, self.namespace))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def _delete(self, uid: str, *, dry_run: bool) -> None:
        self.kube.core.delete_namespaced_pod(
            self.pod,
            self.namespace,
            dry_run=DRY_RUN if dry_run else None,
            body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid)),
        )

    def _plan(self) -> Plan:
        pod = self._read()
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return Plan(
                action=self.name,
                target=self.target,
                changes=(),
                fingerprint="gone",
                summary="nothing to do: the pod is gone or already terminating",
                reversible=False,
            )
        uid = pod["metadata"]["uid"]
        owners = [f"{o['kind']}/{o['name']}" for o in pod["metadata"].get("ownerReferences", [])]
        self._delete(uid, dry_run=True)
        note = (
            "not reversible: the Deployment recreates the pod"
            if owners
            else "not reversible, and no controller owns this pod: nothing will recreate it"
        )
        change = {
            "pod": self.pod,
            "uid": uid,
            "node": pod.get("spec", {}).get("nodeName"),
            "phase": pod.get("status", {}).get("phase"),
            "owner": ", ".join(owners) or None,
        }
        return Plan(
            action=self.name,
            target=self.target,
            changes=(change,),
            fingerprint=f"uid={uid}",
            summary="1 pod to delete (server-side dry run)",
            reversible=False,
            notes=(note,),
            state={"uid": uid},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        pod = self._read()
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message="the pod is already gone or terminating",
            )
        if pod["metadata"]["uid"] != plan.state["uid"]:
            raise StalePlan(
                f"{self.name}: {self.target} is a new pod (uid {pod['metadata']['uid']}, planned "
                f"{plan.state['uid']}); nothing was deleted — make a new plan",
                action=self.name,
            )
        try:
            self._delete(plan.state["uid"], dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            message=plan.notes[0] if plan.notes else "",
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        # never reached: the base class refuses undo of a non-reversible plan
        raise RemediationError("a deleted pod cannot be restored", action=self.name)
