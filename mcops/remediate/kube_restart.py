"""A rollout restart of another team's Deployment: planned, but blocked until that team
has been engaged.

Runbook 004 Scenario 6 Option 2 restarts the global controller ("kubectl rollout restart
deployment/global-controller") and says first: "Escalate to GC Team before restarting
GC". `RolloutRestart` (`kube_actions`) does the restart: the plan shows the Deployment
and the ``kubectl.kubernetes.io/restartedAt`` template annotation it stamps, apply
patches exactly that plan, audited, and a second apply changes nothing. This subclass
adds the escalation as a precondition: until the caller says the team is engaged, the
plan is shown BLOCKED with that sentence and apply refuses without touching anything.

It keeps the action name ``rollout_restart`` (its audit records and the runbook's 2-3
minute recovery are a rollout restart's), so it is imported from here rather than
exported beside `RolloutRestart`: `mcops.remediate` exports one class per action name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import kubernetes.client as k8s

from mcops.remediate.audit import AuditLog
from mcops.remediate.base import Precondition
from mcops.remediate.kube_actions import RolloutRestart
from mcops.utc import now

__all__ = ["EscalatedRolloutRestart"]


class EscalatedRolloutRestart(RolloutRestart):
    """``kubectl rollout restart`` of ``deployment``, owned by ``team``, once engaged."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        deployment: str,
        *,
        team: str,
        engaged: bool,
        step: str,
        fix: str,
        clock: Callable[[], dt.datetime] = now,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(api_client, namespace, deployment, clock=clock, reason=reason, audit=audit)
        self.preconditions = (
            Precondition(
                step=step,
                holds=bool(engaged),
                why=f"{deployment} belongs to the {team}; escalate to the {team} before "
                "restarting it",
                fix=fix,
            ),
        )
