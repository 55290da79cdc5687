"""Runbook 004 Scenario 1 (High Mailbox Depth), Option 4: increase mailbox capacity.

"Update ACTOR_MAILBOX_SIZE in ConfigMap and restart pods. Not recommended as first action
- address root cause first." So it is offered last, only on Kubernetes when the mailbox
check fired, and it waits for the root cause: while a cause this notebook checks (slow
queries, an exhausted pool) still fires, or none of them could be checked, the plan is
shown but blocked. The restart is planned only after a ConfigMap change to restart for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mcops.findings import Level
from mcops.remediate.base import Precondition
from mcops.scenarios._shared import deployment, fired, kube_api, namespace, on_kubernetes

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action, ActionReport

__all__ = ["KEY", "ROOT_CAUSES", "mailbox_capacity", "restart_after", "root_cause_first"]

KEY = "ACTOR_MAILBOX_SIZE"
#: the causes of a backlog this notebook checks (004 Scenario 1 root causes; 000 FM2)
ROOT_CAUSES = ("slow_queries", "pg_connections", "db_pool")
_TRIGGERS = ("mailbox_depth", "messages_dropped", "processing_vs_arrival")
_STEP = "runbook 004 Scenario 1: address the root cause first (Options 1-3, slow queries, pool)"
_REASON = "runbook 004 Scenario 1 Option 4: increase mailbox capacity"


def root_cause_first(inv: Investigation) -> Precondition:
    """Holds when every root-cause check ran and none fires; unknown when none ran."""
    ran = [f for f in inv.findings if f.check in ROOT_CAUSES and f.checked]
    firing = sorted({f.check for f in ran if f.level >= Level.WARNING})
    if firing:
        holds: bool | None = False
        why = f"{', '.join(firing)} still fire"
    elif not ran:
        holds, why = None, "no root-cause check ran (database and metrics not given?)"
    else:
        holds, why = True, f"{', '.join(sorted({f.check for f in ran}))}: ok"
    fix = "fix the slow queries or the pool (steps above), scale out (Option 1), plan again"
    return Precondition(step=_STEP, holds=holds, why=why, fix=fix)


def mailbox_capacity(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Option 4's ConfigMap change: ``ACTOR_MAILBOX_SIZE`` × the thresholds'
    ``remediation.mailbox_size_factor`` (2), in the ConfigMap the Deployment reads it from."""
    name = deployment(inv)
    if not (any(fired(inv, c) for c in _TRIGGERS) and on_kubernetes(inv) and name):
        return []
    from mcops.remediate.kube_config_value import SetConfigMapValue, configmap_for_key

    api = kube_api(api_client)
    configmap = configmap_for_key(api, namespace(inv), name, KEY)
    if configmap is None:  # the notebook's markdown says to set it by hand then
        return []
    return [
        SetConfigMapValue(
            api,
            namespace(inv),
            configmap,
            key=KEY,
            multiply_by=inv.thresholds.remediation.mailbox_size_factor,
            notes=("not recommended as first action: address the root cause first",),
            reason=_REASON,
            preconditions=(root_cause_first(inv),),
        )
    ]


def restart_after(
    inv: Investigation,
    reports: Sequence[ActionReport | None],
    *,
    api_client: ApiClient | None = None,
) -> list[Action]:
    """The rollout restart the new value needs: planned when the change is planned, run
    when it was applied (never for an empty or refused change)."""
    from mcops.remediate import RolloutRestart

    def pending(report: ActionReport | None) -> bool:
        if report is None or report.plan.empty:
            return False
        if report.mode == "apply":
            return report.result is not None and report.result.status == "applied"
        return True

    if not any(pending(r) for r in reports):
        return []
    api = kube_api(api_client)
    return [RolloutRestart(api, namespace(inv), deployment(inv), reason=_REASON)]
