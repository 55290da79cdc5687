"""``read_logs(log_source)``: the service's logs as a DataFrame, wherever they live.

``log_source`` is one of ``file:PATH``, ``docker:CONTAINER`` (``docker logs
--timestamps``) or ``k8s:NAMESPACE/LABEL_SELECTOR`` (every matching pod via the
Kubernetes API). The frame's columns are described in `logparse`.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

from mcops.bundle import record_query
from mcops.errors import (
    ParameterError,
    SourceConfigError,
    SourceQueryError,
    SourceUnreachable,
)
from mcops.sources.logparse import parse_log_bytes, parse_prefixed_logs
from mcops.sources.timewindow import parse_window, resolve_until

__all__ = ["LogSource", "filter_time", "parse_log_source", "read_logs"]

_EXAMPLE = (
    "file:/var/log/server.log, docker:catbird-mls-server or k8s:dark-tower/app=meeting-controller"
)


class LogSource(NamedTuple):
    """A parsed ``log_source``: ``file``/``docker``/``k8s``, where, and the pod selector."""

    kind: str
    location: str
    selector: str = ""


def parse_log_source(log_source: str) -> LogSource:
    """Split ``log_source``; raise SourceConfigError with an example when malformed."""
    kind, sep, rest = str(log_source).partition(":")
    rest = rest.strip()
    if not sep or not rest or kind not in ("file", "docker", "k8s"):
        raise SourceConfigError(
            f"log_source={log_source!r} is not understood",
            source="logs",
            target=str(log_source),
            fix=f"write one of {_EXAMPLE}",
        )
    if kind == "k8s":
        namespace, slash, selector = rest.partition("/")
        if not slash or not namespace or not selector:
            raise SourceConfigError(
                f"log_source={log_source!r} needs a namespace and a label selector",
                source="logs",
                target=str(log_source),
                fix="write k8s:NAMESPACE/LABEL_SELECTOR, e.g. "
                "k8s:dark-tower/app=meeting-controller",
            )
        return LogSource(kind, namespace, selector)
    return LogSource(kind, rest)


def _since(since: str | datetime | timedelta | None, until: datetime) -> datetime | None:
    """``since`` may be a window ("1h", counted back from ``until``) or a time."""
    if since is None or since == "":
        return None
    if isinstance(since, timedelta):
        return until - parse_window(since, name="since")
    if isinstance(since, datetime):
        return resolve_until(since, name="since")
    try:
        return until - parse_window(since, name="since")
    except ParameterError:
        return resolve_until(since, name="since")


def filter_time(
    frame: pd.DataFrame, *, since: datetime | None, until: datetime | None
) -> pd.DataFrame:
    """Rows in [since, until]; rows without a timestamp are kept (never dropped)."""
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["ts"].isna() | (frame["ts"] >= pd.Timestamp(since))
    if until is not None:
        keep &= frame["ts"].isna() | (frame["ts"] <= pd.Timestamp(until))
    result = frame[keep].reset_index(drop=True)
    result.attrs = {"malformed": int(result["malformed"].sum())}
    return result


def _read_file(path: str) -> pd.DataFrame:
    file = Path(path)
    try:
        if file.is_dir():
            raise IsADirectoryError(21, "Is a directory", path)
        if file.exists() and not file.is_file():
            # a FIFO, socket or device: opening or reading it may block forever
            raise SourceConfigError(
                f"log file {path} is not a regular file (a FIFO, socket or device), "
                "so it is not read: reading it could block the run",
                source="logs",
                target=f"file:{path}",
                fix="point log_source at a regular log file, e.g. a copy of the stream: "
                "file:/var/log/mcops/server.log",
            )
        with pa.OSFile(str(file)) as handle:  # into an Arrow buffer: no bytes copy
            data = handle.read_buffer()
    except FileNotFoundError:
        raise SourceConfigError(
            f"log file {path} does not exist",
            source="logs",
            target=f"file:{path}",
            fix="check log_source (LOG_FILE of the server), e.g. file:/var/log/mcops/server.log",
        ) from None
    except (IsADirectoryError, PermissionError) as err:
        raise SourceConfigError(
            f"cannot read log file {path}: {err.strerror}",
            source="logs",
            target=f"file:{path}",
            fix="point log_source at a readable file",
        ) from None
    return parse_log_bytes(data)


def _read_docker(
    container: str,
    *,
    since: datetime | None,
    until: datetime | None,
    tail: int | None,
    docker: str,
    timeout: float,
) -> pd.DataFrame:
    command = [docker, "logs", "--timestamps"]
    if since is not None:
        command += ["--since", since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    if until is not None:
        command += ["--until", until.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    if tail is not None:
        command += ["--tail", str(tail)]
    command.append(container)
    target = f"docker:{container}"
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise SourceConfigError(
            f"the docker CLI ({docker}) is not installed here",
            source="logs",
            target=target,
            fix="install docker, or use log_source=file:PATH / k8s:NAMESPACE/SELECTOR",
        ) from None
    except subprocess.TimeoutExpired:
        raise SourceUnreachable(
            f"`{' '.join(command)}` did not finish within {timeout:g}s",
            source="logs",
            target=target,
            fix="check the Docker daemon; pass since= or tail= to read less",
        ) from None
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        if "Cannot connect to the Docker daemon" in stderr or "daemon running" in stderr:
            raise SourceUnreachable(
                f"`{' '.join(command)}` could not reach the Docker daemon: {stderr.strip()}",
                source="logs",
                target=target,
                fix="start Docker or run where the container runs",
            )
        if "No such container" in stderr:
            raise SourceQueryError(
                f"there is no container named {container!r}",
                source="logs",
                target=target,
                fix="check the name with `docker ps -a` and set log_source=docker:NAME",
            )
        raise SourceQueryError(
            f"`{' '.join(command)}` failed ({done.returncode}): {stderr.strip()[:300]}",
            source="logs",
            target=target,
            fix="run the command by hand to see what Docker says",
        )
    # The service logs to stdout; docker logs replays stderr separately: merge by time.
    frames = [
        parse_prefixed_logs(stream.decode("utf-8", "replace"))
        for stream in (done.stdout, done.stderr)
        if stream.strip()
    ]
    if not frames:
        return parse_log_bytes(b"")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values("ts", kind="stable", na_position="last").reset_index(drop=True)


def _read_k8s(
    namespace: str,
    selector: str,
    *,
    since: datetime | None,
    tail: int | None,
    previous: bool,
    api_client: Any,
) -> pd.DataFrame:
    from mcops.sources.kube import KubeSource  # the kubernetes client is slow to import

    kube = KubeSource(api_client)
    return kube.pod_logs(namespace, selector, since=since, tail=tail, previous=previous)


def read_logs(
    log_source: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | None = None,
    tail: int | None = None,
    previous: bool = False,
    api_client: Any = None,
    docker: str = "docker",
    timeout: float = 60.0,
) -> pd.DataFrame:
    """The logs of ``log_source`` between ``since`` and ``until``, last ``tail`` lines.

    ``since`` is a window counted back from ``until`` ("1h") or a time; ``until``
    defaults to now only when ``since`` is a window. ``previous`` reads the previous
    container of each pod (k8s only, like ``kubectl logs --previous``); ``api_client``
    is a ``kubernetes.client.ApiClient`` (default: kubeconfig / in-cluster).
    """
    source = parse_log_source(log_source)
    if tail is not None and tail < 0:
        raise ParameterError(f"tail={tail} must be >= 0, e.g. 500", name="tail")
    end = resolve_until(until) if until not in (None, "") else None
    start = _since(since, end if end is not None else resolve_until(None))
    record_query(
        "logs",
        log_source,
        name=source.kind,
        parameters={"tail": tail, "previous": previous},
        since=start,
        until=end,
    )
    if source.kind == "file":
        frame = _read_file(source.location)
    elif source.kind == "docker":
        frame = _read_docker(
            source.location, since=start, until=end, tail=tail, docker=docker, timeout=timeout
        )
    else:
        frame = _read_k8s(
            source.location,
            source.selector,
            since=start,
            tail=tail,
            previous=previous,
            api_client=api_client,
        )
    if start is not None or end is not None:
        frame = filter_time(frame, since=start, until=end)
    if tail is not None:
        frame = frame.tail(tail).reset_index(drop=True) if tail else frame.iloc[:0]
        frame.attrs = {"malformed": int(frame["malformed"].sum())}
    return frame
