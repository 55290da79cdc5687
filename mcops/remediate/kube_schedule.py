"""Runbook 000 Memory Leak Mitigation step 5, "Schedule periodic restarts (workaround)",
on Kubernetes: a CronJob that runs ``kubectl rollout restart deployment/NAME`` daily.

The runbook's form is a crontab line (``0 4 * * * docker restart ...``); in a cluster the
same schedule is a CronJob in the Deployment's namespace. The plan shows its name,
schedule and command; apply creates it (a CronJob of that name with the same schedule,
image and command already there: nothing to do; with another spec: refused, never
overwritten); undo deletes exactly the CronJob apply created (uid precondition).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation, require_id
from mcops.remediate.kube_actions import KubeApis, stale_on_conflict

__all__ = ["KUBECTL_IMAGE", "ScheduleDailyRestart"]

#: an image with kubectl on its PATH (override with ``image=`` to use your registry's)
KUBECTL_IMAGE = "bitnami/kubectl:1.31"
_MANAGED_BY = {"app.kubernetes.io/managed-by": "mcops"}
_MAX_NAME = 52  # CronJob names: the controller appends an 11-character suffix for Jobs


class ScheduleDailyRestart(Remediation):
    """Create the CronJob ``<deployment>-daily-restart`` (kubectl rollout restart)."""

    name = "schedule_daily_restart"
    not_changed_on_failure = "no CronJob was created or deleted"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        schedule: str,
        service_account: str = "mcops-restarter",
        image: str = KUBECTL_IMAGE,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        self.kube = KubeApis(api_client)
        self.batch = k8s.BatchV1Api(api_client)
        self.namespace = require_id("namespace", namespace)
        self.deployment = require_id("deployment", deployment)
        if len(schedule.split()) != 5:
            raise ScopeExceeded(f"schedule {schedule!r} is not a 5-field cron expression")
        self.schedule = schedule
        self.service_account = require_id("service_account", service_account)
        self.image = require_id("image", image)
        self.cronjob = f"{self.deployment}-daily-restart"
        if len(self.cronjob) > _MAX_NAME:
            raise ScopeExceeded(
                f"CronJob name {self.cronjob!r} is longer than {_MAX_NAME} characters"
            )

    @property
    def target(self) -> str:
        return f"kubernetes {self.namespace}/cronjob/{self.cronjob}"

    @property
    def command(self) -> list[str]:
        return ["kubectl", "rollout", "restart", f"deployment/{self.deployment}"]

    def manifest(self) -> dict[str, Any]:
        """The CronJob apply creates."""
        container = {"name": "rollout-restart", "image": self.image, "command": self.command}
        pod = {
            "serviceAccountName": self.service_account,
            "restartPolicy": "Never",
            "containers": [container],
        }
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": self.cronjob, "namespace": self.namespace, "labels": _MANAGED_BY},
            "spec": {
                "schedule": self.schedule,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"backoffLimit": 1, "template": {"spec": pod}}},
            },
        }

    # ---- reading ------------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        try:
            obj = self.batch.read_namespaced_cron_job(self.cronjob, self.namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return self.kube.plain(obj)

    def _require_deployment(self) -> None:
        self.kube.read(
            lambda: self.kube.apps.read_namespaced_deployment(self.deployment, self.namespace),
            what=f"deployment {self.namespace}/{self.deployment} (nothing to restart)",
            look="kubectl get deploy -n NAMESPACE",
            action=self.name,
        )

    @staticmethod
    def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
        spec = obj.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
        containers = pod.get("containers") or [{}]
        return {
            "schedule": spec.get("schedule"),
            "image": containers[0].get("image"),
            "command": " ".join(containers[0].get("command") or ()),
        }

    def _wanted(self) -> dict[str, Any]:
        return self._spec(self.manifest())

    # ---- the template's steps ----------------------------------------------------------
    def _plan(self) -> Plan:
        self._require_deployment()
        existing = self._read()
        wanted = self._wanted()
        notes = (
            f"the Job runs as service account {self.service_account!r}, which needs RBAC "
            f"get and patch on deployments/{self.deployment} in {self.namespace}",
            "a workaround while the inactivity sweep is broken; undo deletes the CronJob",
        )
        if existing is None:
            row = {"object": f"cronjob/{self.cronjob}", "now": None, "new": "created", **wanted}
            return Plan(
                action=self.name,
                target=self.target,
                changes=(row,),
                fingerprint="absent",
                summary=f"create CronJob {self.cronjob}: {wanted['command']}, {wanted['schedule']}",
                notes=notes,
                state={"manifest": self.manifest()},
            )
        uid = existing["metadata"].get("uid", "")
        have = self._spec(existing)
        if have == wanted:
            return Plan(
                action=self.name,
                target=self.target,
                changes=(),
                fingerprint=f"uid={uid}",
                summary=f"nothing to do: CronJob {self.cronjob} already runs {wanted['command']} "
                f"at {wanted['schedule']}",
                notes=notes,
            )
        rows = tuple(
            {"path": key, "now": have[key], "new": wanted[key]}
            for key in wanted
            if have[key] != wanted[key]
        )
        return Plan(
            action=self.name,
            target=self.target,
            changes=rows,
            fingerprint=f"uid={uid}",
            summary=f"CronJob {self.cronjob} exists with another spec",
            reversible=False,
            notes=notes,
            refusal=(
                f"CronJob {self.namespace}/{self.cronjob} exists with another spec and is not "
                "overwritten: change or delete it by hand (kubectl edit / delete cronjob)"
            ),
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        existing = self._read()
        if existing is not None:
            if self._spec(existing) == self._wanted():
                return ApplyResult(
                    plan=plan,
                    status="nothing_to_do",
                    changed=0,
                    message=f"CronJob {self.cronjob} already exists with this spec",
                )
            raise StalePlan(
                f"{self.name}: CronJob {self.namespace}/{self.cronjob} appeared with another "
                "spec since the plan; nothing was changed — make a new plan",
                action=self.name,
            )
        try:
            self.batch.create_namespaced_cron_job(self.namespace, plan.state["manifest"])
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        after = self._read()
        if after is None or self._spec(after) != self._wanted():
            raise VerificationFailed(
                f"{self.name}: CronJob {self.namespace}/{self.cronjob} was created but does not "
                "read back as planned; CHANGED: the create was sent. Inspect it with kubectl",
                action=self.name,
                changed=1,
            )
        uid = after["metadata"].get("uid", "")
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            after=({"object": f"cronjob/{self.cronjob}", "uid": uid, **self._spec(after)},),
            undo_state={"uid": uid},
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        uid = result.undo_state["uid"]
        current = self._read()
        if current is None or current["metadata"].get("uid", "") != uid:
            raise StalePlan(
                f"{self.name} undo: CronJob {self.namespace}/{self.cronjob} is not the one "
                "apply created (deleted or re-created since); nothing was deleted",
                action=self.name,
            )
        options = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid))
        try:
            self.batch.delete_namespaced_cron_job(self.cronjob, self.namespace, body=options)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=1,
            before=result.after,
            message=f"CronJob {self.cronjob} deleted",
        )
