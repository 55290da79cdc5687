"""Runbook 000 "Handling Epoch Conflicts": step 1's evidence, and where each fix left its.

Step 1 asks whether the actor system is on, from the environment (``GET /admin/config``)
*and* the logs. After the fixes, the table of what each action wrote: its backup file
and the audit log, relative to the evidence directory. The judges in `mcops.checks.epochs`
and `mcops.checks.database` only see frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.checks.epochs import read_signals
from mcops.errors import SourceQueryError
from mcops.remediate.audit import resolve_audit_path
from mcops.remediate.backup import backup_dir
from mcops.schema import require_optional

if TYPE_CHECKING:
    from mcops.investigation import Investigation

__all__ = ["duplicate_writers", "remediation_files", "replication", "signals"]


def signals(inv: Investigation) -> pd.DataFrame:
    """Step 1's evidence: ``GET /admin/config`` and the window's logs; one may fail.

    See `mcops.checks.epochs.read_signals`: only when both fail is the check not checked.
    """
    return read_signals(config=lambda: inv.service.config(), logs=inv.logs)


def duplicate_writers(inv: Investigation) -> pd.DataFrame:
    """Step 2's writers of the duplicates: needs ``messages.server_id``, which the runbooks
    do not require; where the real table lacks it the check says "not checked"."""
    require_optional(inv.database, "messages", "server_id")
    return inv.sql("duplicate_writers")


def replication(inv: Investigation) -> pd.DataFrame:
    """FM3's third cause: each replica's replay lag (``pg_stat_replication`` on a primary,
    ``now() - pg_last_xact_replay_timestamp()`` on a standby); SQLite has none."""
    if inv.database.dialect.name == "sqlite":
        raise SourceQueryError(
            "SQLite has no replication",
            source="database",
            fix="nothing to check: a SQLite file is never a lagging replica",
        )
    standby = bool(inv.sql("replication_role")["standby"].iloc[0])
    return inv.sql("standby_lag" if standby else "replica_lag")


def remediation_files(
    reports: Sequence[Any],
    *,
    audit_log: str | Path | None = None,
    evidence_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Where each action's evidence is: its backup file and the audit log.

    ``reports`` are `mcops.remediate.ActionReport`s (None entries, actions that could
    not be built, are skipped). By default the audit log and the
    evidence directory are where the runner pointed the actions (``MCOPS_AUDIT_LOG``,
    ``MCOPS_EVIDENCE_DIR``); paths inside the evidence directory are shown relative to
    it, so they stay valid next to the exported notebook.
    """
    evidence_dir = backup_dir(evidence_dir)

    def shown(path: str | Path | None) -> str | None:
        if not path:
            return None
        p = Path(path)
        try:
            return str(p.resolve().relative_to(evidence_dir.resolve()))
        except ValueError:
            return str(p)

    audit = resolve_audit_path(audit_log)
    rows = [
        {
            **report.as_summary(),
            "backup": shown(report.as_summary()["backup"]),
            "audit_log": shown(audit) if report.mode == "apply" else None,
        }
        for report in reports
        if report is not None
    ]
    return pd.DataFrame(rows, columns=["action", "mode", "changes", "backup", "audit_log"])
