"""Runbook 004 Scenario 4 (Complete Service Outage): what to read, from where.

Each function takes the Investigation and returns a DataFrame or raises a SourceError
(which `Investigation.check` turns into "not checked: <why>"), so the notebook is one
line per diagnostic step. On ``platform=kubernetes`` the pods, events, previous-container
logs, rollout history and the Secrets and ConfigMaps the pod template references come
from the Kubernetes API (`mcops.sources.kube` and the same client); on ``local`` the
last log lines come from ``log_source``. The database and Prometheus are read on both.

`KubeSource.pods` sums a pod up in one reason; an outage needs the waiting reason
(CrashLoopBackOff, ImagePullBackOff) and when the container last died, so `pods` reads
container statuses itself. Secrets are read for their key names only: values never
reach a frame, the notebook or the evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.errors import SourceConfigError, SourceError
from mcops.findings import Level
from mcops.scenarios._kube import deployment_of, kube_source, namespace_of, selector
from mcops.scenarios.config_refs import REF_COLUMNS, config_refs
from mcops.scenarios.service_endpoints import endpoints
from mcops.secrets import redact_url

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action
    from mcops.sources.kube import KubeSource

__all__ = [
    "POD_COLUMNS",
    "REF_COLUMNS",
    "config_refs",
    "database_probe",
    "deployment_status",
    "endpoints",
    "kube_source",
    "last_lines",
    "optional",
    "pods",
    "remediations",
    "restart_history",
    "rollout_history",
    "selector",
    "up_history",
    "warning_events",
]

POD_COLUMNS = [
    "pod", "phase", "ready", "restarts", "waiting_reason", "last_reason", "last_exit_code",
    "last_finished_at", "container", "node", "started_at",
]  # fmt: skip
_REASON = "runbook 004 Scenario 4: complete service outage"
_REVISION = "deployment.kubernetes.io/revision"


# ---------------------------------------------------------------- step 1: pods


def _pod_row(pod: Any) -> dict[str, Any]:
    status = pod.status
    statuses = list((status.container_statuses or []) if status else [])
    # the container to talk about: the first unready one, else the first
    worst = next((s for s in statuses if not s.ready), statuses[0] if statuses else None)
    waiting = worst.state.waiting if worst is not None and worst.state else None
    last = worst.last_state.terminated if worst is not None and worst.last_state else None
    if last is None and worst is not None and worst.state and worst.state.terminated:
        last = worst.state.terminated
    return {
        "pod": pod.metadata.name,
        "phase": status.phase if status else None,
        "ready": bool(statuses) and all(s.ready for s in statuses),
        "restarts": sum(s.restart_count or 0 for s in statuses),
        "waiting_reason": waiting.reason if waiting is not None else None,
        "last_reason": last.reason if last is not None else None,
        "last_exit_code": last.exit_code if last is not None else None,
        "last_finished_at": last.finished_at if last is not None else None,
        "container": worst.name if worst is not None else None,
        "node": pod.spec.node_name if pod.spec else None,
        "started_at": status.start_time if status else None,
    }


def pods(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 1: ``kubectl get pods -l app=...`` with each pod's reasons (``POD_COLUMNS``)."""
    kube = kube_source(inv, api_client=api_client)
    namespace, labels = namespace_of(inv), selector(inv, kube)
    listing = kube._call(
        f"list pods in {namespace} ({labels})",
        lambda: kube.core.list_namespaced_pod(namespace, label_selector=labels),
    )
    frame = pd.DataFrame([_pod_row(p) for p in listing.items or []], columns=POD_COLUMNS)
    for column in ("last_finished_at", "started_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.astype({"ready": bool, "restarts": "int64"})
    return frame.sort_values("pod", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- step 2: events


def warning_events(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 2: the Warning events of the namespace's pods (BackOff, OOMKilling...)."""
    kube = kube_source(inv, api_client=api_client)
    events = kube.events(namespace_of(inv), involved_kind="Pod")
    return events[(events["type"] == "Warning").to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------- step 3: last logs


def _pod_log(kube: KubeSource, namespace: str, pod: str, container: str | None, tail: int) -> str:
    from kubernetes.client.exceptions import ApiException

    def read(previous: bool) -> str:
        return str(
            kube.core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                timestamps=True,
                tail_lines=tail,
                previous=previous,
            )
            or ""
        )

    def previous() -> str | None:
        try:
            return read(True)
        except ApiException as err:
            if err.status == 400:  # no previous container: it never restarted
                return None
            raise

    text = kube._call(f"read previous logs of pod {pod}", previous)
    if text is None:
        text = kube._call(f"read logs of pod {pod}", lambda: read(False))
    return text


def last_lines(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 3: ``kubectl logs --previous --tail=100`` per pod, or ``log_source``'s lines.

    On Kubernetes each pod's previous container (the one that died), its current one when
    it never restarted; a ``pod`` column names it. Locally, the window of ``log_source``.
    """
    if str(inv.params.get("platform") or "local") != "kubernetes":
        return inv.logs()
    from mcops.sources.logparse import empty_logs, parse_prefixed_logs

    kube = kube_source(inv, api_client=api_client)
    namespace = namespace_of(inv)
    tail = inv.thresholds.logs.quick_check_tail
    frames = []
    for row in pods(inv, api_client=kube.api_client).itertuples():
        text = _pod_log(kube, namespace, str(row.pod), row.container, tail)
        frame = parse_prefixed_logs(text)
        frame.insert(0, "pod", str(row.pod))
        frames.append(frame)
    if not frames:
        frame = empty_logs()
        frame.insert(0, "pod", pd.Series([], dtype="str"))
        return frame
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- step 4: deployment


def deployment_status(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 4: ``kubectl describe deployment``: replicas wanted, ready, updated, images."""
    kube = kube_source(inv, api_client=api_client)
    frame = kube.deployments(namespace_of(inv))
    return frame[(frame["name"] == deployment_of(inv)).to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------- step 7: rollouts


def rollout_history(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """Diagnosis 7: ``kubectl rollout history deployment/...`` (its ReplicaSets)."""
    kube = kube_source(inv, api_client=api_client)
    return kube.rollout_history(namespace_of(inv), deployment_of(inv))


# ---------------------------------------------------------------- local: database


def database_probe(inv: Investigation) -> pd.DataFrame:
    """``SELECT 1`` through database_url: reachable or not (not given: not checked)."""
    shown = redact_url(str(inv.params.get("database_url") or ""))
    started = time.perf_counter()
    try:
        inv.database  # noqa: B018 - opening it runs SELECT 1 (a failure records its state)
    except SourceConfigError:
        raise
    except SourceError as err:
        row = {"database": shown, "reachable": False, "latency_ms": None, "error": str(err)}
        return pd.DataFrame([row])
    latency = (time.perf_counter() - started) * 1000
    inv.record_source("database", None, f"SELECT 1 answered in {latency:.0f} ms")
    return pd.DataFrame(
        [{"database": shown, "reachable": True, "latency_ms": latency, "error": ""}]
    )


# ---------------------------------------------------------------- Prometheus history


def _prometheus(inv: Investigation) -> None:
    if not inv.metrics.history:
        raise SourceConfigError(
            "prometheus_url is empty: no history of when it went down",
            source="prometheus",
            fix="pass -p prometheus_url=http://prometheus:9090",
        )


def _targeted(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``target``: the label that tells the series apart (pod, else instance, else job)."""
    label = next((c for c in ("pod", "instance", "job") if c in frame.columns), None)
    return frame.assign(target=frame[label].astype("string") if label else "all")


def up_history(inv: Investigation) -> pd.DataFrame:
    """``up`` over the window (MCDown fires on ``up == 0``): when did it go down?"""
    _prometheus(inv)
    return _targeted(inv.metrics.range("up"))


def restart_history(inv: Investigation) -> pd.DataFrame:
    """Restarts over the window: kube-state-metrics' counter on Kubernetes (the
    MCPodRestartingFrequently input), the process start time locally (a step per restart)."""
    _prometheus(inv)
    on_kubernetes = str(inv.params.get("platform") or "local") == "kubernetes"
    metric = (
        "kube_pod_container_status_restarts_total"
        if on_kubernetes
        else ("process_start_time_seconds")
    )
    return _targeted(inv.metrics.range(metric))


def optional(fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """For what is shown, not judged (events, history): a failing source gives an empty
    frame whose ``attrs["why"]`` says why, so the plot says "no data" instead of failing."""
    try:
        return fetch()
    except SourceError as err:
        frame = pd.DataFrame()
        frame.attrs["why"] = f"not shown: {err.source}: {err}"
        return frame


# ---------------------------------------------------------------- remediation


def _previous_reference(
    api: ApiClient, namespace: str, deployment: str, ref: dict[str, Any]
) -> str | None:
    """The other object of ref's kind that an older revision used in the same place
    (container env, volume) and that still exists: the "previous revision" to restore from."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    from mcops.scenarios.config_refs import _references  # the same parser as the check

    apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
    read = (
        core.read_namespaced_secret if ref["kind"] == "Secret" else core.read_namespaced_config_map
    )
    try:
        dep = apps.read_namespaced_deployment(deployment, namespace)
        now = int((dep.metadata.annotations or {}).get(_REVISION, 0) or 0)
        revisions = []
        for rs in apps.list_namespaced_replica_set(namespace).items or []:
            owners = rs.metadata.owner_references or []
            revision = int((rs.metadata.annotations or {}).get(_REVISION, 0) or 0)
            if revision < now and any(
                o.kind == "Deployment" and o.name == deployment for o in owners
            ):
                revisions.append((revision, api.sanitize_for_serialization(rs.spec.template)))
        for _, template in sorted(revisions, key=lambda r: r[0], reverse=True):
            for old in _references(template):
                same_place = (old["kind"], old["used_by"]) == (ref["kind"], ref["used_by"])
                if same_place and old["name"] != ref["name"] and _exists(read, old, namespace):
                    return str(old["name"])
    except ApiException:  # cannot list revisions: no source from them
        return None
    return None


def _exists(read: Callable[..., Any], ref: dict[str, Any], namespace: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        read(ref["name"], namespace)  # the values are dropped unread
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def _restores(
    inv: Investigation, api: ApiClient, namespace: str, deployment: str, rows: list[dict[str, Any]]
) -> list[Action]:
    """Option 3 for each missing Secret/ConfigMap (or its keys) a source is found for: the
    object an older revision used in the same place, else ``config_backup_dir``'s file."""
    from mcops.remediate import RestoreConfigObject
    from mcops.remediate.kube_config_restore import find_backup

    missing: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        missing.setdefault((str(row["kind"]), str(row["name"])), []).append(row)
    backups = str(inv.params.get("config_backup_dir") or "")
    actions: list[Action] = []
    for (kind, name), refs in missing.items():
        # a missing object is recreated whole; else only the keys that are missing
        keys = [] if not all(r["present"] for r in refs) else [str(r["key"]) for r in refs]
        found = (_previous_reference(api, namespace, deployment, r) for r in refs)
        if source := next((f for f in found if f), None):
            action = RestoreConfigObject(
                api, namespace, kind, name, keys=keys, from_object=source, reason=_REASON
            )
        elif backups and (path := find_backup(backups, kind, name)):
            action = RestoreConfigObject(
                api, namespace, kind, name, keys=keys, backup_file=path, reason=_REASON
            )
        else:
            continue  # no source here: restore from the secure backup by hand
        actions.append(action)
    return actions


def remediations(inv: Investigation, *, api_client: ApiClient | None = None) -> list[Action]:
    """Options 1-4 as plans (applied only with apply_remediation), on Kubernetes.

    A rollout in the window → rollout undo (Option 1); a missing Secret/ConfigMap or key
    → restored (Option 3) from the object the previous revision used in its place, or from
    ``config_backup_dir`` (keys only are shown; with no source it stays by hand);
    OOMKilled → the runbook's memory limit (Option 4); otherwise the failing pods are
    deleted so they reschedule (Option 2).
    """
    platform = str(inv.params.get("platform") or "local")
    deployment = str(inv.params.get("deployment") or "")
    if platform != "kubernetes" or not deployment:
        return []
    fired = {f.check: f for f in inv.findings if f.checked and f.level >= Level.WARNING}
    from mcops.remediate import DeletePod, PatchResources, RolloutUndo
    from mcops.sources.kube import default_api_client

    api = api_client if api_client is not None else default_api_client()
    namespace = namespace_of(inv)
    actions: list[Action] = []
    if "recent_rollout" in fired:
        actions.append(RolloutUndo(api, namespace, deployment, reason=_REASON))
    if refs := fired.get("config_refs"):
        actions.extend(_restores(inv, api, namespace, deployment, list(refs.data)))
    if oom := fired.get("oom_killed"):
        containers = [row.get("container") for row in oom.data if row.get("container")]
        actions.append(
            PatchResources(
                api,
                namespace,
                deployment,
                container=str(containers[0] if containers else deployment),
                limits={"memory": inv.thresholds.remediation.memory_limit},
                reason=_REASON,
            )
        )
    if not actions and "config_refs" not in fired and (down := fired.get("pods_not_ready")):
        for row in down.data:
            actions.append(DeletePod(api, namespace, str(row["pod"]), reason=_REASON))
    return actions
