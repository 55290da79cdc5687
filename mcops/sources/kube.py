"""The Kubernetes API as DataFrames: pods, deployments, rollout history, events, logs.

What runbook 004 reads with ``kubectl get/describe/logs/top/rollout history``, through
the official ``kubernetes`` client so that tests can point it at an API double and
production at a kubeconfig or the in-cluster service account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pandas as pd
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.utils import parse_quantity

from mcops.bundle import record_query
from mcops.errors import (
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
    connection_state,
)
from mcops.sources.logparse import empty_logs, parse_prefixed_logs
from mcops.utc import to_utc

__all__ = ["KubeSource", "default_api_client"]

T = TypeVar("T")

_REVISION = "deployment.kubernetes.io/revision"
_CHANGE_CAUSE = "kubernetes.io/change-cause"


def default_api_client() -> k8s.ApiClient:
    """In-cluster service account if present, else the local kubeconfig."""
    try:
        k8s_config.load_incluster_config()
    except ConfigException:
        try:
            k8s_config.load_kube_config()
        except (ConfigException, OSError) as err:
            raise SourceConfigError(
                f"no Kubernetes credentials found ({err})",
                source="kubernetes",
                fix="set KUBECONFIG or run inside the cluster; use platform='local' otherwise",
            ) from None
    return k8s.ApiClient()


def _ts(value: datetime | None) -> pd.Timestamp:
    return pd.Timestamp(to_utc(value)) if value is not None else pd.NaT


def _frame(rows: list[dict[str, Any]], columns: list[str], times: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    return frame


class KubeSource:
    """Read-only views of one cluster. ``api_client`` defaults to `default_api_client`."""

    def __init__(
        self,
        api_client: k8s.ApiClient | None = None,
        *,
        observer: Callable[[SourceError | None], None] | None = None,
    ) -> None:
        """``observer`` is told each call's outcome (None: the API answered), so the
        cluster's state in summary.json is what happened at the first failed call."""
        self.api_client = api_client if api_client is not None else default_api_client()
        self._observer = observer
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)

    @property
    def host(self) -> str:
        return str(self.api_client.configuration.host)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        record_query("kubernetes", what, target=self.host)
        try:
            result = self._send(what, call)
        except SourceError as err:
            if self._observer is not None:
                self._observer(err)
            raise
        if self._observer is not None:
            self._observer(None)
        return result

    def _send(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except ApiException as err:
            raise self._api_error(what, err) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise SourceUnreachable(
                f"the Kubernetes API at {self.host} did not answer ({what}): {type(err).__name__}",
                source="kubernetes",
                target=self.host,
                fix="check the kubeconfig context / cluster access (kubectl cluster-info)",
                state=connection_state(err),
            ) from None

    def _api_error(self, what: str, err: ApiException) -> SourceError:
        reason = f"HTTP {err.status} {err.reason or ''}".strip()
        if err.status in (401, 403):
            return SourceAuthError(
                f"the Kubernetes API at {self.host} refused {what}: {reason}",
                source="kubernetes",
                target=self.host,
                fix="grant the service account get/list on this resource (RBAC), "
                "or refresh the kubeconfig credentials",
            )
        return SourceQueryError(
            f"the Kubernetes API at {self.host} failed {what}: {reason}",
            source="kubernetes",
            target=self.host,
            fix="check namespace, names and selectors (kubectl get ... shows the same)",
        )

    # -- pods ----------------------------------------------------------------------
    def _list_pods(self, namespace: str, selector: str) -> list[Any]:
        pods = self._call(
            f"list pods in {namespace} ({selector})",
            lambda: self.core.list_namespaced_pod(namespace, label_selector=selector or None),
        )
        return list(pods.items or [])

    def pods(self, namespace: str, selector: str = "") -> pd.DataFrame:
        """``kubectl get pods -l SELECTOR`` plus restarts and last termination reason."""
        rows = []
        for pod in self._list_pods(namespace, selector):
            statuses = (pod.status.container_statuses or []) if pod.status else []
            terminated = [
                s.last_state.terminated
                for s in statuses
                if s.last_state is not None and s.last_state.terminated is not None
            ]
            rows.append(
                {
                    "name": pod.metadata.name,
                    "phase": pod.status.phase if pod.status else None,
                    "ready": bool(statuses) and all(s.ready for s in statuses),
                    "restarts": sum(s.restart_count or 0 for s in statuses),
                    "last_termination_reason": terminated[0].reason if terminated else None,
                    "last_termination_exit_code": terminated[0].exit_code if terminated else None,
                    "node": pod.spec.node_name if pod.spec else None,
                    "started_at": _ts(pod.status.start_time if pod.status else None),
                }
            )
        columns = [
            "name", "phase", "ready", "restarts", "last_termination_reason",
            "last_termination_exit_code", "node", "started_at",
        ]  # fmt: skip
        frame = _frame(rows, columns, ("started_at",))
        return frame.astype({"ready": bool, "restarts": "int64"})

    # -- deployments and rollouts --------------------------------------------------
    def deployments(self, namespace: str, selector: str = "") -> pd.DataFrame:
        """Replica counts, revision and images per deployment (``kubectl get deploy``)."""
        items = self._call(
            f"list deployments in {namespace}",
            lambda: self.apps.list_namespaced_deployment(
                namespace, label_selector=selector or None
            ),
        ).items
        rows = []
        for d in items or []:
            annotations = d.metadata.annotations or {}
            containers = d.spec.template.spec.containers if d.spec and d.spec.template else []
            status = d.status or k8s.V1DeploymentStatus()
            rows.append(
                {
                    "name": d.metadata.name,
                    "replicas": d.spec.replicas if d.spec else None,
                    "ready_replicas": status.ready_replicas or 0,
                    "available_replicas": status.available_replicas or 0,
                    "updated_replicas": status.updated_replicas or 0,
                    "revision": int(annotations.get(_REVISION, 0) or 0),
                    "images": ",".join(c.image or "" for c in containers or []),
                    "created": _ts(d.metadata.creation_timestamp),
                }
            )
        columns = [
            "name", "replicas", "ready_replicas", "available_replicas", "updated_replicas",
            "revision", "images", "created",
        ]  # fmt: skip
        return _frame(rows, columns, ("created",))

    def replicasets(self, namespace: str, deployment: str) -> pd.DataFrame:
        """The deployment's ReplicaSets, oldest revision first (``rollout history``)."""
        items = self._call(
            f"list replicasets in {namespace}",
            lambda: self.apps.list_namespaced_replica_set(namespace),
        ).items
        rows = []
        for rs in items or []:
            owners = rs.metadata.owner_references or []
            if not any(o.kind == "Deployment" and o.name == deployment for o in owners):
                continue
            annotations = rs.metadata.annotations or {}
            containers = rs.spec.template.spec.containers if rs.spec and rs.spec.template else []
            rows.append(
                {
                    "revision": int(annotations.get(_REVISION, 0) or 0),
                    "replicaset": rs.metadata.name,
                    "images": ",".join(c.image or "" for c in containers or []),
                    "replicas": (rs.status.replicas if rs.status else 0) or 0,
                    "change_cause": annotations.get(_CHANGE_CAUSE),
                    "created": _ts(rs.metadata.creation_timestamp),
                }
            )
        columns = ["revision", "replicaset", "images", "replicas", "change_cause", "created"]
        frame = _frame(rows, columns, ("created",))
        return frame.sort_values("revision", kind="stable").reset_index(drop=True)

    rollout_history = replicasets

    # -- events --------------------------------------------------------------------
    def events(
        self, namespace: str, *, involved_kind: str | None = None, involved_name: str | None = None
    ) -> pd.DataFrame:
        """``kubectl get events --field-selector involvedObject.kind=...``, newest last.

        The field selector is sent to the API and applied again here, so the result is
        right even where the server ignores field selectors.
        """
        fields = []
        if involved_kind:
            fields.append(f"involvedObject.kind={involved_kind}")
        if involved_name:
            fields.append(f"involvedObject.name={involved_name}")
        items = self._call(
            f"list events in {namespace}",
            lambda: self.core.list_namespaced_event(
                namespace, field_selector=",".join(fields) or None
            ),
        ).items
        rows = []
        for e in items or []:
            obj = e.involved_object
            if involved_kind and (obj is None or obj.kind != involved_kind):
                continue
            if involved_name and (obj is None or obj.name != involved_name):
                continue
            rows.append(
                {
                    "last_timestamp": _ts(e.last_timestamp or e.event_time or e.first_timestamp),
                    "type": e.type,
                    "reason": e.reason,
                    "object_kind": obj.kind if obj else None,
                    "object_name": obj.name if obj else None,
                    "message": e.message,
                    "count": e.count or 1,
                }
            )
        columns = [
            "last_timestamp", "type", "reason", "object_kind", "object_name", "message", "count"
        ]  # fmt: skip
        frame = _frame(rows, columns, ("last_timestamp",))
        return frame.sort_values("last_timestamp", kind="stable").reset_index(drop=True)

    # -- logs and metrics ------------------------------------------------------------
    def pod_logs(
        self,
        namespace: str,
        selector: str,
        *,
        since: datetime | None = None,
        tail: int | None = None,
        previous: bool = False,
        container: str | None = None,
    ) -> pd.DataFrame:
        """Logs of every pod matching ``selector`` (a logs frame plus a ``pod`` column).

        ``previous`` reads the last terminated container, as ``kubectl logs --previous``
        does after a crash.
        """
        frames = []
        now = pd.Timestamp.now(tz="UTC")
        since_seconds = (
            max(1, int((now - pd.Timestamp(to_utc(since))).total_seconds()) + 1)
            if since is not None
            else None
        )
        for pod in self._list_pods(namespace, selector):
            name = pod.metadata.name
            text = self._call(
                f"read logs of pod {name}",
                lambda name=name: self.core.read_namespaced_pod_log(
                    name,
                    namespace,
                    timestamps=True,
                    since_seconds=since_seconds,
                    tail_lines=tail,
                    previous=previous,
                    container=container,
                ),
            )
            frame = parse_prefixed_logs(str(text or ""))
            frame.insert(0, "pod", name)
            frames.append(frame)
        if not frames:
            frame = empty_logs()
            frame.insert(0, "pod", pd.Series([], dtype="str"))
            return frame
        frame = pd.concat(frames, ignore_index=True)
        frame = frame.sort_values("ts", kind="stable", na_position="last").reset_index(drop=True)
        frame.attrs = {"malformed": int(frame["malformed"].sum())}
        return frame

    def pod_metrics(self, namespace: str, selector: str = "") -> pd.DataFrame:
        """``kubectl top pods``: CPU cores and memory bytes per container (metrics.k8s.io)."""
        record_query("kubernetes", f"top pods in {namespace} ({selector})", target=self.host)
        try:
            result = self.custom.list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", namespace, "pods", label_selector=selector or None
            )
        except ApiException as err:
            if err.status == 404:
                raise SourceQueryError(
                    f"metrics-server not installed: {self.host} has no metrics.k8s.io API",
                    source="kubernetes",
                    target=self.host,
                    fix="install metrics-server, or read container_* metrics from Prometheus",
                ) from None
            raise self._api_error("list pod metrics", err) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise SourceUnreachable(
                f"the Kubernetes API at {self.host} did not answer: {type(err).__name__}",
                source="kubernetes",
                target=self.host,
                fix="check the kubeconfig context / cluster access",
            ) from None
        rows = []
        for item in result.get("items", []):
            for c in item.get("containers", []):
                usage = c.get("usage", {})
                rows.append(
                    {
                        "pod": item["metadata"]["name"],
                        "container": c.get("name"),
                        "cpu_cores": float(parse_quantity(usage.get("cpu", "0"))),
                        "memory_bytes": float(parse_quantity(usage.get("memory", "0"))),
                        "timestamp": item.get("timestamp"),
                    }
                )
        columns = ["pod", "container", "cpu_cores", "memory_bytes", "timestamp"]
        return _frame(rows, columns, ("timestamp",))
