"""Runbook 000 FM4 (Memory Leak) / Memory Leak Mitigation: the live actors, from the server,
and step 5's daily restart schedule.

The trends are read with `Investigation.metric_range`; what only the server knows, its
live actors and how long each has idled against its own inactivity timeout, comes from
the admin API here, so `mcops.checks.leaks.stale_actors` judges a frame. Step 5 (a
workaround) is offered only when a leak check fired: on Kubernetes as a guarded CronJob
(`mcops.remediate.kube_schedule`), on one host as the crontab line for a person to add.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.scenarios._shared import deployment, fired, kube_api, namespace, on_kubernetes

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action
    from mcops.sources.service import ServiceSource

__all__ = ["crontab_line", "daily_restart", "leak_fired", "live_actors"]

_LEAK_CHECKS = ("actor_count_trend", "memory_trend")
_REASON = "runbook 000 Memory Leak Mitigation step 5 (workaround)"


def _seconds(value: Any) -> float:
    try:
        seconds = float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan
    return seconds if seconds > 0 else math.nan


def live_actors(service: ServiceSource) -> pd.DataFrame:
    """``GET /admin/actors``, with the server's ``inactivity_timeout`` (``/admin/config``)."""
    actors = service.actors()
    timeout = _seconds(service.config().get("inactivity_timeout"))
    return actors.assign(inactivity_timeout=timeout)


def leak_fired(inv: Investigation) -> bool:
    """Whether the actor count or the memory trend found the leak (warning or worse)."""
    return any(fired(inv, check) for check in _LEAK_CHECKS)


def daily_restart(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Step 5 on Kubernetes: a CronJob running ``kubectl rollout restart`` on the
    thresholds' ``remediation.daily_restart_cron``; none without a leak or a deployment."""
    name = deployment(inv)
    if not (leak_fired(inv) and on_kubernetes(inv) and name):
        return []
    from mcops.remediate.kube_schedule import ScheduleDailyRestart  # the client is slow

    schedule = inv.thresholds.remediation.daily_restart_cron
    api = kube_api(api_client)
    return [ScheduleDailyRestart(api, namespace(inv), name, schedule=schedule, reason=_REASON)]


def crontab_line(inv: Investigation) -> pd.DataFrame:
    """Step 5 on one host: the crontab line (``crontab -e``) for a person; mcops never
    edits a crontab. ``docker:CONTAINER`` log sources name the container to restart."""
    columns = ["schedule", "command", "crontab_line", "applied"]
    if on_kubernetes(inv) or not leak_fired(inv):
        return pd.DataFrame(columns=columns)
    source = str(inv.params.get("log_source") or "")
    container = source.removeprefix("docker:") if source.startswith("docker:") else ""
    command = f"docker restart {container}" if container else "<the service's restart command>"
    schedule = inv.thresholds.remediation.daily_restart_cron
    row = {
        "schedule": schedule,
        "command": command,
        "crontab_line": f"{schedule} {command}",
        "applied": "no: a person adds it with crontab -e",
    }
    return pd.DataFrame([row], columns=columns)
