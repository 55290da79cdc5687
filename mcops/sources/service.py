"""The service's own HTTP API: health, readiness, actors, effective config.

What runbook 000/004 check with ``curl /health``, ``curl /ready`` and the admin API.
Returns DataFrames, except `actor_state` and `config`: those are one nested document
each (an actor's full GetState, the settings), which a table would flatten badly.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from mcops.sources.http_client import HttpClient, Observer

if TYPE_CHECKING:
    import httpx

__all__ = ["HEALTH_ENDPOINTS", "ServiceSource"]

HEALTH_ENDPOINTS = ("/health", "/ready")
_ACTOR_COLUMNS = ["actor_type", "actor_id", "mailbox_depth", "idle_seconds", "restarts"]


class ServiceSource:
    """The service at ``url``; ``admin_token`` unlocks ``/admin/*``.

    Requests and their errors go through `HttpClient` (shared with the remediations'
    admin API); ``transport`` is passed to httpx (tests may inject ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str,
        *,
        admin_token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        observer: Observer | None = None,
    ) -> None:
        """``observer`` is told each request's outcome (None: the service answered)."""
        self._http = HttpClient(
            url, token=admin_token, timeout=timeout, transport=transport, observer=observer
        )
        self.url = self._http.url
        self.timeout = timeout

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, path: str, **params: Any) -> Any:
        return self._http.json("GET", path, params={k: v for k, v in params.items() if v})

    # -- views -----------------------------------------------------------------------
    def health(self, endpoints: tuple[str, ...] = HEALTH_ENDPOINTS) -> pd.DataFrame:
        """One row per endpoint: endpoint, status_code, ok, latency_ms, body.

        A 503 from /ready is data (the service is up but not ready), not an error;
        only an unreachable service raises.
        """
        rows = []
        for endpoint in endpoints:
            start = time.perf_counter()
            response = self._http.send("GET", endpoint)
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
