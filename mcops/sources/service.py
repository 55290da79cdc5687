"""The service's own HTTP API: health, readiness, actors, effective config.

What runbook 000/004 check with ``curl /health``, ``curl /ready`` and the admin API.
Returns DataFrames, except `actor_state` and `config`: those are one nested document
each (an actor's full GetState, the settings), which a table would flatten badly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pandas as pd

from mcops.errors import (
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
    connection_state,
)
from mcops.secrets import redact_url

__all__ = ["HEALTH_ENDPOINTS", "ServiceSource"]

HEALTH_ENDPOINTS = ("/health", "/ready")
_ACTOR_COLUMNS = ["actor_type", "actor_id", "mailbox_depth", "idle_seconds", "restarts"]


class ServiceSource:
    """The service at ``url``; ``admin_token`` unlocks ``/admin/*``.

    ``transport`` is passed to httpx (tests may inject ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str,
        *,
        admin_token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        observer: Callable[[SourceError | None], None] | None = None,
    ) -> None:
        """``observer`` is told each request's outcome (None: the service answered)."""
        if not str(url).startswith(("http://", "https://")):
            raise SourceConfigError(
                f"service_url={redact_url(str(url))!r} is not an http(s) URL",
                source="service",
                target=redact_url(str(url)),
                fix="write e.g. 'http://127.0.0.1:8080'",
            )
        self.url = str(url).rstrip("/")
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._admin = admin_token is not None
        self._observer = observer
        self._client = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServiceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------
    def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = self._send(path, **params)
        except SourceError as err:
            self._tell(err)
            raise
        auth = response.status_code in (401, 403)
        self._tell(self._http_error(path, response) if auth else None)
        return response

    def _tell(self, outcome: SourceError | None) -> None:
        if self._observer is not None:
            self._observer(outcome)

    def _send(self, path: str, **params: Any) -> httpx.Response:
        shown = redact_url(f"{self.url}{path}")
        try:
            return self._client.get(path, params={k: v for k, v in params.items() if v})
        except httpx.TimeoutException:
            raise SourceUnreachable(
                f"{shown} did not answer within {self.timeout:g}s",
                source="service",
                target=shown,
                fix="check that the service is up and not overloaded (service_url)",
                state="timed out",
            ) from None
        except httpx.HTTPError as err:
            state = connection_state(err)
            what = {
                "refused": "refused the connection",
                "DNS failure": "could not be found: its host name does not resolve (DNS)",
            }.get(state, "could not be reached")
            raise SourceUnreachable(
                f"{shown} {what} ({type(err).__name__})",
                source="service",
                target=shown,
                fix="check service_url and that the service is running",
                state=state,
            ) from None

    def _json(self, path: str, **params: Any) -> Any:
        response = self._get(path, **params)
        if response.status_code >= 400:
            raise self._http_error(path, response)
        try:
            return response.json()
        except ValueError:
            raise SourceQueryError(
                f"{redact_url(self.url + path)} did not answer JSON: {response.text[:200]!r}",
                source="service",
                target=self.url,
                fix="check that service_url points at the service, not a proxy page",
            ) from None

    def _http_error(self, path: str, response: httpx.Response) -> SourceError:
        shown = redact_url(self.url + path)
        try:
            body = response.json()
            detail = body.get("message") or body.get("error") or response.text
        except (ValueError, AttributeError):
            detail = response.text
        detail = str(detail)[:300]
        if response.status_code in (401, 403):
            fix = (
                "pass the right admin token (ADMIN_TOKEN of the server, e.g. env:ADMIN_TOKEN)"
                if self._admin
                else "pass admin_token=... (ADMIN_TOKEN of the server)"
            )
            return SourceAuthError(
                f"{shown} answered HTTP {response.status_code}: {detail}",
                source="service",
                target=shown,
                fix=fix,
            )
        return SourceQueryError(
            f"{shown} answered HTTP {response.status_code}: {detail}",
            source="service",
            target=shown,
            fix="check the id / path; see the service's log for the cause",
        )

    # -- views -----------------------------------------------------------------------
    def health(self, endpoints: tuple[str, ...] = HEALTH_ENDPOINTS) -> pd.DataFrame:
        """One row per endpoint: endpoint, status_code, ok, latency_ms, body.

        A 503 from /ready is data (the service is up but not ready), not an error;
        only an unreachable service raises.
        """
        rows = []
        for endpoint in endpoints:
            start = time.perf_counter()
            response = self._get(endpoint)
            latency = (time.perf_counter() - start) * 1000
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:500]
            rows.append(
                {
                    "endpoint": endpoint,
                    "status_code": response.status_code,
                    "ok": response.status_code == 200,
                    "latency_ms": latency,
                    "body": body,
                }
            )
        return pd.DataFrame(rows, columns=["endpoint", "status_code", "ok", "latency_ms", "body"])

    def actors(self, actor_type: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """``GET /admin/actors``: one row per live actor with its mailbox depth."""
        data = self._json("/admin/actors", actor_type=actor_type, limit=limit)
        items = data.get("actors", data) if isinstance(data, dict) else data
        frame = pd.DataFrame(list(items))
        for column in _ACTOR_COLUMNS:
            if column not in frame:
                frame[column] = pd.Series(dtype="float64" if column != "actor_id" else "str")
        others = [c for c in frame.columns if c not in _ACTOR_COLUMNS]
        return frame[[*_ACTOR_COLUMNS, *others]]

    def actor_state(self, actor_type: str, actor_id: str) -> dict[str, Any]:
        """The actor's full GetState document (a dict: it is nested, not tabular)."""
        path = f"/admin/actors/{quote(actor_type, safe='')}/{quote(actor_id, safe='')}"
        state = self._json(path)
        return dict(state) if isinstance(state, dict) else {"state": state}

    def config(self) -> dict[str, Any]:
        """``GET /admin/config``: the effective non-secret settings (a flat-ish dict)."""
        data = self._json("/admin/config")
        return dict(data) if isinstance(data, dict) else {"config": data}
