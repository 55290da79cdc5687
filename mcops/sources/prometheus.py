"""Prometheus HTTP API → DataFrames (see `promframe` for the frame shape).

Transport is `prometheus_api_client.PrometheusConnect` (``custom_query`` and
``custom_query_range``); this module adds UTC time handling, the vectorised frame
build and errors that say what was tried and how to fix it.

The transport (requests, urllib3, prometheus_api_client: ~30 ms) loads when the first
source is built or the first query is sent, not at import: a notebook that reads no
Prometheus does not pay for it.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from mcops.bundle import record_query
from mcops.errors import (
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
    connection_state,
)
from mcops.secrets import redact_url
from mcops.sources.promframe import frame_from_result, gc_paused
from mcops.utc import to_utc

__all__ = ["PrometheusSource", "PrometheusTransport", "instant", "query_range"]

_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)\s*$", re.DOTALL)


class PrometheusTransport(Protocol):
    """The two calls we use from PrometheusConnect; tests may pass another object."""

    def custom_query(self, query: str, params: dict | None = None) -> Any: ...

    def custom_query_range(
        self,
        query: str,
        start_time: datetime,
        end_time: datetime,
        step: str,
        params: dict | None = None,
    ) -> Any: ...


def _timed_out(err: BaseException) -> bool:
    """requests wraps a read timeout after retries in ConnectionError(MaxRetryError)."""
    import requests
    import urllib3

    reason = getattr(err.args[0], "reason", None) if err.args else None
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # subclasses a timeout
        return False
    return isinstance(err, requests.exceptions.Timeout) or isinstance(
        reason, urllib3.exceptions.TimeoutError
    )


def _step(step: str | float | timedelta) -> str:
    """Prometheus takes a duration ("15s") or float seconds ("7.5"), not "7.5s"."""
    if isinstance(step, timedelta):
        return f"{step.total_seconds():g}"
    if isinstance(step, int | float):
        return f"{float(step):g}"
    return str(step)


def _result_frame(result: Any) -> pd.DataFrame:
    """custom_query drops ``resultType``; recover it from the result's shape."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return frame_from_result("scalar", result)
    if isinstance(result, list) and result and "values" in result[0]:
        return frame_from_result("matrix", result)
    if isinstance(result, str):
        return frame_from_result("string", result)
    return frame_from_result("vector", result)


def _error_text(body: str) -> str:
    try:
        raw = ast.literal_eval(body)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (ValueError, SyntaxError):
        text = body
    try:
        payload = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(payload, dict) and payload.get("error"):
        return f"{payload.get('errorType', 'error')}: {payload['error']}"
    return text.strip()[:500]


_WHAT_HAPPENED = {
    "refused": "refused the connection",
    "DNS failure": "could not be found: its host name does not resolve (DNS)",
    "unreachable": "could not be reached",
}


@dataclass(frozen=True)
class PrometheusSource:
    """A Prometheus server at ``url``. ``transport`` defaults to PrometheusConnect."""

    url: str
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    bearer_token: str | None = field(default=None, repr=False)
    transport: PrometheusTransport | None = field(default=None, repr=False, compare=False)
    observer: Callable[[SourceError | None], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Told the outcome of every query (None: answered), so the source's state in
    summary.json is what happened, not what was configured."""

    def __post_init__(self) -> None:
        if self.transport is None:
            if not re.match(r"^https?://[^/\s]+", self.url or ""):
                raise SourceConfigError(
                    f"prometheus_url={redact_url(self.url)!r} is not an http(s) URL",
                    source="prometheus",
                    target=redact_url(self.url),
                    fix="write e.g. 'http://prometheus:9090', or leave it empty to "
                    "scrape service_url/metrics",
                )
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            headers = dict(self.headers)
            if self.bearer_token:
                headers["Authorization"] = f"Bearer {self.bearer_token}"
            # Retry refused connects briefly; never re-send a query that timed out.
            retry = Retry(total=2, connect=2, read=0, status=0, backoff_factor=0.2)
            connect = PrometheusConnect(
                url=self.url.rstrip("/"),
                headers=headers or None,
                timeout=self.timeout,
                retry=retry,
            )
            object.__setattr__(self, "transport", connect)

    # -- queries -------------------------------------------------------------------
    def instant(self, promql: str, *, at: datetime | None = None) -> pd.DataFrame:
        """The value of ``promql`` now (or ``at``): one row per series."""
        params = {"time": f"{to_utc(at).timestamp():.3f}"} if at is not None else None
        record_query("prometheus", promql, name="instant", target=self.url, until=at)
        result = self._call(promql, lambda t: t.custom_query(promql, params=params))
        return _result_frame(result)

    def query_range(
        self, promql: str, *, start: datetime, end: datetime, step: str | float | timedelta
    ) -> pd.DataFrame:
        """``promql`` evaluated every ``step`` from ``start`` to ``end``: one row per point."""
        start_utc, end_utc = to_utc(start), to_utc(end)
        record_query(
            "prometheus",
            promql,
            name="query_range",
            target=self.url,
            parameters={"step": _step(step)},
            since=start_utc,
            until=end_utc,
        )
        result = self._call(
            promql,
            lambda t: t.custom_query_range(promql, start_utc, end_utc, _step(step)),
        )
        return frame_from_result("matrix", result)

    # -- errors --------------------------------------------------------------------
    def _call(self, promql: str, send: Any) -> Any:
        try:
            result = self._send(promql, send)
        except SourceError as err:
            if self.observer is not None:
                self.observer(err)
            raise
        if self.observer is not None:
            self.observer(None)
        return result

    def _send(self, promql: str, send: Any) -> Any:
        import requests
        from prometheus_api_client import PrometheusApiClientException

        target = redact_url(self.url)
        try:
            with gc_paused():  # the transport parses the whole JSON response
                return send(self.transport)
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as err:
            timed_out = not isinstance(err, requests.exceptions.ConnectionError) or _timed_out(err)
            state = "timed out" if timed_out else connection_state(err)
            if state != "timed out":
                raise SourceUnreachable(
                    f"Prometheus at {target} {_WHAT_HAPPENED[state]}",
                    source="prometheus",
                    target=target,
                    fix="check prometheus_url, or leave it empty to scrape service_url/metrics",
                    state=state,
                ) from None
            raise SourceUnreachable(
                f"Prometheus at {target} did not answer within {self.timeout:g}s "
                f"(query {promql!r}): {type(err).__name__}",
                source="prometheus",
                target=target,
                fix="check that Prometheus is up and not overloaded, shorten the window, "
                "or raise the timeout",
                state="timed out",
            ) from None
        except requests.exceptions.RequestException as err:
            raise SourceConfigError(
                f"could not send a request to Prometheus at {target}: {err}",
                source="prometheus",
                target=target,
                fix="check prometheus_url (e.g. 'http://prometheus:9090')",
            ) from None
        except PrometheusApiClientException as err:
            raise self._http_error(promql, str(err)) from None

    def _http_error(self, promql: str, message: str) -> SourceError:
        target = redact_url(self.url)
        match = _STATUS.match(message)
        status = int(match.group(1)) if match else 0
        text = _error_text(match.group(2)) if match else message
        if status in (401, 403):
            return SourceAuthError(
                f"Prometheus at {target} rejected the request with HTTP {status}",
                source="prometheus",
                target=target,
                fix="pass the right bearer token or headers to PrometheusSource",
            )
        if status in (400, 422):
            return SourceQueryError(
                f"Prometheus at {target} rejected the query {promql!r}: {text}",
                source="prometheus",
                target=target,
                fix="correct the PromQL (see mcops.promql for the runbook's templates)",
            )
        if status == 404:
            return SourceConfigError(
                f"{target} has no Prometheus API (HTTP 404 on /api/v1/query)",
                source="prometheus",
                target=target,
                fix="point prometheus_url at the Prometheus server root, e.g. http://host:9090",
            )
        return SourceQueryError(
            f"Prometheus at {target} failed the query {promql!r} with HTTP {status}: {text}",
            source="prometheus",
            target=target,
            fix="check Prometheus's own logs; retry with a shorter window",
        )


def _source(prom: PrometheusSource | str) -> PrometheusSource:
    return prom if isinstance(prom, PrometheusSource) else PrometheusSource(prom)


def instant(
    prom: PrometheusSource | str, promql: str, *, at: datetime | None = None
) -> pd.DataFrame:
    """Instant query against ``prom`` (a PrometheusSource or a base URL)."""
    return _source(prom).instant(promql, at=at)


def query_range(
    prom: PrometheusSource | str,
    promql: str,
    *,
    start: datetime,
    end: datetime,
    step: str | float | timedelta,
) -> pd.DataFrame:
    """Range query against ``prom`` (a PrometheusSource or a base URL)."""
    return _source(prom).query_range(promql, start=start, end=end, step=step)
