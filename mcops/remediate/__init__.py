"""Guarded remediations: plan (default, read-only), apply exactly the plan, verify,
audit every step, undo. One module per concept:

- `base` — Plan, Precondition, ApplyResult, the audited `Remediation` template;
  `report` — ActionReport and `run_action` (plan, apply only when asked)
- `preconditions` — the runbook steps later actions wait for (runbook order)
- `audit`, `backup` — the JSONL audit log and the row backups
- `sql_base` + `sql_actions`, `sql_controllers`, `sql_indexes` — database fixes;
  `sql_restore` — restore rows from a backup file when the ApplyResult is gone
- `kube_actions` (Scale, RolloutRestart), `kube_rollback` (RolloutUndo, PatchResources),
  `kube_pods` (DeletePod) — Kubernetes actions with server-side dry run
  `kube_config_restore` (RestoreConfigObject) — restore missing Secret/ConfigMap keys
  `kube_config_value` (SetConfigMapValue) — change one ConfigMap key (mailbox capacity)
  `kube_schedule` (ScheduleDailyRestart) — the daily rollout-restart CronJob
- `local_actions` — single host: restart, pool size; `admin_actions` (+ `admin_api`) —
  the admin API calls (end a meeting, re-register, stop stale actors)
- database actions see the runbook tables through `mcops.schema` (only the columns the
  runbooks name) and back up whole rows of the real, reflected table
- `cli` — ``mcops remediate ACTION --target KEY=VALUE [--apply]``

The names below load their module on first use (PEP 562): a notebook on a single host
never imports the Kubernetes client, and `import mcops.remediate` costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcops.lazy import lazy_attributes

#: Each public name and the module that defines it.
_WHERE = {
    "Action": "mcops.remediate.base",
    "ActionRefused": "mcops.remediate.base",
    "ActionReport": "mcops.remediate.report",
    "AddRunbookIndexes": "mcops.remediate.sql_indexes",
    "AddUniqueCommitEpochIndex": "mcops.remediate.sql_indexes",
    "AdminApi": "mcops.remediate.admin_api",
    "ApplyResult": "mcops.remediate.base",
    "AuditLog": "mcops.remediate.audit",
    "AuditRecord": "mcops.remediate.audit",
    "ClearLeftMemberUnread": "mcops.remediate.sql_actions",
    "DeleteDuplicateCommits": "mcops.remediate.sql_actions",
    "DeletePod": "mcops.remediate.kube_pods",
    "EndMeeting": "mcops.remediate.admin_actions",
    "EndStaleMeetings": "mcops.remediate.sql_controllers",
    "KillLongQueries": "mcops.remediate.pg_queries",
    "LocalProcess": "mcops.remediate.local_actions",
    "MarkController": "mcops.remediate.sql_controllers",
    "PatchResources": "mcops.remediate.kube_rollback",
    "Plan": "mcops.remediate.base",
    "Precondition": "mcops.remediate.base",
    "ReRegisterController": "mcops.remediate.admin_actions",
    "RecreateConversation": "mcops.remediate.sql_actions",
    "Remediation": "mcops.remediate.base",
    "ResetEpoch": "mcops.remediate.sql_actions",
    "RestartLocalServer": "mcops.remediate.local_actions",
    "RestoreBackup": "mcops.remediate.sql_restore",
    "RestoreConfigObject": "mcops.remediate.kube_config_restore",
    "RolloutRestart": "mcops.remediate.kube_actions",
    "RolloutUndo": "mcops.remediate.kube_rollback",
    "RowChange": "mcops.remediate.sql_base",
    "Scale": "mcops.remediate.kube_actions",
    "ScheduleDailyRestart": "mcops.remediate.kube_schedule",
    "SetConfigMapValue": "mcops.remediate.kube_config_value",
    "SetPoolSize": "mcops.remediate.local_actions",
    "SqlRowAction": "mcops.remediate.sql_base",
    "StopStaleActors": "mcops.remediate.admin_actions",
    "run_action": "mcops.remediate.report",
}

__all__ = [
    "Action",
    "ActionRefused",
    "ActionReport",
    "AddRunbookIndexes",
    "AddUniqueCommitEpochIndex",
    "AdminApi",
    "ApplyResult",
    "AuditLog",
    "AuditRecord",
    "ClearLeftMemberUnread",
    "DeleteDuplicateCommits",
    "DeletePod",
    "EndMeeting",
    "EndStaleMeetings",
    "KillLongQueries",
    "LocalProcess",
    "MarkController",
    "PatchResources",
    "Plan",
    "Precondition",
    "ReRegisterController",
    "RecreateConversation",
    "Remediation",
    "ResetEpoch",
    "RestartLocalServer",
    "RestoreBackup",
    "RestoreConfigObject",
    "RolloutRestart",
    "RolloutUndo",
    "RowChange",
    "Scale",
    "ScheduleDailyRestart",
    "SetConfigMapValue",
    "SetPoolSize",
    "SqlRowAction",
    "StopStaleActors",
    "run_action",
]


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)


if TYPE_CHECKING:  # the static view: every name as if imported eagerly
    from mcops.remediate.admin_actions import EndMeeting, ReRegisterController, StopStaleActors
    from mcops.remediate.admin_api import AdminApi
    from mcops.remediate.audit import AuditLog, AuditRecord
    from mcops.remediate.base import (
        Action,
        ActionRefused,
        ApplyResult,
        Plan,
        Precondition,
        Remediation,
    )
    from mcops.remediate.kube_actions import RolloutRestart, Scale
    from mcops.remediate.kube_config_restore import RestoreConfigObject
    from mcops.remediate.kube_config_value import SetConfigMapValue
    from mcops.remediate.kube_pods import DeletePod
    from mcops.remediate.kube_rollback import PatchResources, RolloutUndo
    from mcops.remediate.kube_schedule import ScheduleDailyRestart
    from mcops.remediate.local_actions import LocalProcess, RestartLocalServer, SetPoolSize
    from mcops.remediate.pg_queries import KillLongQueries
    from mcops.remediate.report import ActionReport, run_action
    from mcops.remediate.sql_actions import (
        ClearLeftMemberUnread,
        DeleteDuplicateCommits,
        RecreateConversation,
        ResetEpoch,
    )
    from mcops.remediate.sql_base import RowChange, SqlRowAction
    from mcops.remediate.sql_controllers import EndStaleMeetings, MarkController
    from mcops.remediate.sql_indexes import AddRunbookIndexes, AddUniqueCommitEpochIndex
    from mcops.remediate.sql_restore import RestoreBackup
