"""Runbook 004 Service Restart Procedure: each step read, done or waited for, bounded.

On ``platform=kubernetes`` the restart is ``kubectl rollout restart`` (`RolloutRestart`)
and step 4 polls the deployment's status like ``kubectl rollout status``; locally it is
the host's own ``restart_command`` (`RestartByCommand`: systemctl, docker, or
``mcops lab restart``) and step 4 waits for a new process to answer ``/ready``. Every
wait is bounded by ``rollout_timeout`` and shows progress. Nothing is restarted unless
``apply_remediation=True``; then the later steps verify, and a failed step plans the
runbook's "Rollback on failure".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.checks.procedure import SERVING_COLUMNS
from mcops.durations import parse_positive_duration
from mcops.errors import SourceConfigError, SourceError, SourceUnreachable
from mcops.findings import Finding, Level
from mcops.scenarios._kube import deployment_of, kube_source, namespace_of, read_deployment
from mcops.scenarios._shared import on_kubernetes
from mcops.scenarios.service_outage import pods
from mcops.utc import now

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action
    from mcops.remediate.report import ActionReport

__all__ = [
    "AFTER_CHECKS",
    "heartbeats",
    "instances",
    "logs_since",
    "meetings_now",
    "restart",
    "rollback",
    "rollout_status",
    "serving",
    "wait_until",
]

#: the steps that only mean something after a restart was applied
AFTER_CHECKS = (
    "rollout_complete",
    "ready_after_restart",
    "startup_errors",
    "heartbeats_after_restart",
)
_REASON = "runbook 004 Service Restart Procedure"


def _timeout(inv: Investigation) -> float:
    text = str(inv.params.get("rollout_timeout") or "5m")
    return parse_positive_duration(text, name="rollout_timeout").total_seconds()


def wait_until(
    done: Callable[[], bool], *, timeout: float, what: str, interval: float = 1.0
) -> float:
    """Poll ``done`` until it is true or ``timeout`` seconds pass; the seconds waited.

    A progress bar counts the seconds (the notebook shows it; papermill's log keeps it).
    """
    from tqdm.auto import tqdm

    started = time.monotonic()
    with tqdm(total=round(timeout), desc=what, unit="s", leave=False) as bar:
        while True:
            if done():
                break
            waited = time.monotonic() - started
            if waited >= timeout:
                break
            time.sleep(min(interval, max(timeout - waited, 0.05)))
            bar.update(round(time.monotonic() - started) - bar.n)
    return time.monotonic() - started


# ---------------------------------------------------------------- steps 1 and 5: serving


def serving(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Each pod's readiness (Kubernetes) or ``/health`` and ``/ready`` (local), live.

    A local service that does not answer is a row that is not serving, not an error:
    this is what the procedure is about.
    """
    if on_kubernetes(inv):
        frame = pods(inv, api_client=api_client)
        detail = frame["waiting_reason"].fillna(frame["phase"]).astype("string")
        return pd.DataFrame(
            {"target": frame["pod"], "serving": frame["ready"], "detail": detail},
            columns=SERVING_COLUMNS,
        )
    try:
        health = inv.service.health()
    except SourceUnreachable as err:
        return pd.DataFrame(
            [{"target": str(err.target or "service"), "serving": False, "detail": str(err)}],
            columns=SERVING_COLUMNS,
        )
    return pd.DataFrame(
        {
            "target": health["endpoint"],
            "serving": health["ok"],
            "detail": "HTTP " + health["status_code"].astype(str),
        },
        columns=SERVING_COLUMNS,
    )


# ---------------------------------------------------------------- step 2: meetings


def meetings_now(inv: Investigation) -> pd.DataFrame:
    """``curl /metrics | grep mc_meetings_active``: the meetings a restart will touch."""
    frame = inv.metrics.instant("mc_meetings_active")
    if frame.empty:
        return pd.DataFrame({"meetings_active": [0]})
    return frame.rename(columns={"value": "meetings_active"})


def instances(inv: Investigation, *, api_client: ApiClient | None = None) -> int:
    """How many instances restart (a rolling restart of several is zero-downtime)."""
    if not on_kubernetes(inv):
        return 1
    try:
        kube = kube_source(inv, api_client=api_client)
        spec = read_deployment(kube, namespace_of(inv), deployment_of(inv)).get("spec", {})
    except SourceError:
        return 1
    return int(spec.get("replicas") or 1)


# ---------------------------------------------------------------- step 3: the restart


def _action(inv: Investigation, api_client: ApiClient | None) -> Action:
    if on_kubernetes(inv):
        from mcops.remediate import RolloutRestart
        from mcops.scenarios._shared import kube_api

        return RolloutRestart(
            kube_api(api_client), namespace_of(inv), deployment_of(inv), reason=_REASON
        )
    from mcops.remediate.local_command import RestartByCommand

    url = str(inv.params.get("service_url") or "")
    return RestartByCommand(
        url,
        str(inv.params.get("restart_command") or ""),
        ready_timeout=_timeout(inv),
        reason=_REASON,
    )


def restart(inv: Investigation, *, api_client: ApiClient | None = None) -> ActionReport | None:
    """Step 3: plan the restart; apply it only with ``apply_remediation=True``.

    The report comes back when the restart ran (or a new process already served): then
    steps 4-6 verify. Otherwise each of them says why it was not checked, and None.
    """
    try:
        report = inv.remediate(_action(inv, api_client))
    except SourceConfigError as err:  # no deployment on kubernetes
        why = f"no restart: {err.source}: {err}"
    else:
        if report is not None and report.result is not None:
            return report
        why = (
            "the restart was planned, not applied (apply_remediation=False)"
            if report is not None
            else "the restart could not be planned (see Remediations)"
        )
    inv.record(*(Finding.not_checked(check, why) for check in AFTER_CHECKS))
    return None


# ---------------------------------------------------------------- step 4: rollout status


def _deployment_state(inv: Investigation, kube: Any) -> dict[str, Any]:
    dep = read_deployment(kube, namespace_of(inv), deployment_of(inv))
    status, spec = dep.get("status") or {}, dep.get("spec") or {}
    wanted = int(spec.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0)
    generation = int((dep.get("metadata") or {}).get("generation") or 0)
    complete = (
        observed >= generation
        and updated == wanted
        and ready == wanted
        and int(status.get("replicas") or 0) == wanted
        and int(status.get("availableReplicas") or 0) == wanted
    )
    return {"wanted": wanted, "updated": updated, "ready": ready, "complete": complete}


def rollout_status(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Step 4 ``kubectl rollout status`` until complete or ``rollout_timeout`` (one row).

    Locally: until ``/ready`` answers 200 from the new process.
    """
    state: dict[str, Any] = {}
    if on_kubernetes(inv):
        kube = kube_source(inv, api_client=api_client)

        def done() -> bool:
            state.update(_deployment_state(inv, kube))
            return bool(state["complete"])

    else:

        def done() -> bool:
            frame = serving(inv)
            ready = int(frame["serving"].all())
            state.update(wanted=1, updated=1, ready=ready, complete=bool(ready))
            return bool(ready)

    waited = wait_until(done, timeout=_timeout(inv), what="rollout status", interval=1.0)
    return pd.DataFrame([{**state, "waited_s": round(waited, 1)}])


# ---------------------------------------------------------------- step 6: startup errors


def logs_since(inv: Investigation, report: ActionReport | None) -> pd.DataFrame:
    """``kubectl logs --tail=50`` / the host's log: lines written since the restart began.

    Read fresh (the investigation's window ended when it started, before the restart).
    """
    from mcops.sources.logs import read_logs

    spec = str(inv.params.get("log_source") or "")
    if not spec:
        raise SourceConfigError(
            "log_source is empty", source="logs", fix="pass -p log_source=file:PATH (or k8s:)"
        )
    since = report.plan.created_at if report is not None else inv.until
    try:
        frame = read_logs(spec, since=since, until=now())
    except SourceError as err:
        inv.record_source("logs", err)
        raise
    inv.record_source("logs", None, f"{len(frame)} lines since the restart")
    return frame


# ---------------------------------------------------------------- heartbeats back


def heartbeats(inv: Investigation) -> pd.DataFrame:
    """``mc_gc_registered`` and successful ``mc_gc_heartbeats_total`` from the new process,
    waited for up to ``rollout_timeout`` (a heartbeat every GC_HEARTBEAT_INTERVAL)."""
    url = str(inv.params.get("service_url") or "")
    if not url:
        raise SourceConfigError(
            "service_url is empty: cannot read the new process's heartbeats",
            source="metrics",
            fix="pass -p service_url=http://meeting-controller:8080",
        )
    from mcops.sources.scrape import scrape

    reading = {"registered": 0.0, "succeeded": 0.0}

    def done() -> bool:
        frame = scrape(url, timeout=5)
        registered = frame[(frame["metric"] == "mc_gc_registered").to_numpy()]["value"]
        beats = frame[(frame["metric"] == "mc_gc_heartbeats_total").to_numpy()]
        if "result" in beats.columns:
            beats = beats[(beats["result"] == "success").to_numpy()]
        reading["registered"] = float(registered.max()) if len(registered) else 0.0
        reading["succeeded"] = float(beats["value"].sum())
        return reading["registered"] >= 1 and reading["succeeded"] > 0

    waited = wait_until(done, timeout=_timeout(inv), what="heartbeats", interval=1.0)
    return pd.DataFrame([{**reading, "waited_s": round(waited, 1)}])


# ---------------------------------------------------------------- rollback on failure


def rollback(inv: Investigation, *, api_client: ApiClient | None = None) -> Finding:
    """ "Rollback on failure": when a step after the restart failed, plan the way back."""
    after = [f for f in inv.findings if f.check in AFTER_CHECKS and f.checked]
    failed = [f for f in after if f.level >= Level.WARNING]
    if not after:
        finding = Finding.not_checked("rollback_path", "nothing was restarted")
        inv.record(finding)
        return finding
    if not failed:
        finding = Finding.make("rollback_path", Level.OK, "not needed: every step passed")
        inv.record(finding)
        return finding
    steps = ", ".join(f.check for f in failed)
    if on_kubernetes(inv):
        from mcops.remediate import RolloutUndo
        from mcops.scenarios._shared import kube_api

        ns, name = namespace_of(inv), deployment_of(inv)
        title = (
            f"failed at {steps}: roll back, planned below (never applied on its own): "
            f"mcops remediate rollout_undo --target namespace={ns} --target deployment={name} "
            "--apply"
        )
        finding = Finding.make("rollback_path", Level.WARNING, title, rows=[])
        inv.record(finding)
        undo = RolloutUndo(kube_api(api_client), ns, name, reason=_REASON)
        inv.remediate(undo, plan_only=True)
        return finding
    title = (
        f"failed at {steps}: a host restart cannot be undone — restore the previous "
        "configuration or binary and restart again; open service_outage for why"
    )
    finding = Finding.make("rollback_path", Level.WARNING, title)
    inv.record(finding)
    return finding
