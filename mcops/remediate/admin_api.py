"""A small client for the actor server's token-protected admin API (server/README.md).

The transport is injectable (httpx), so callers and tests swap it without patching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from mcops.errors import SourceAuthError, SourceQueryError, SourceUnreachable
from mcops.secrets import redact_url

__all__ = ["AdminApi", "AdminApiError"]


class AdminApiError(SourceQueryError):
    """The admin API answered with an error status; `status` holds it."""

    def __init__(self, message: str, *, status: int, target: str = "") -> None:
        self.status = status
        super().__init__(message, source="service", target=target)


class AdminApi:
    """``GET/POST/DELETE`` on ``base_url`` with the admin bearer token; JSON in, JSON out."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    @property
    def target(self) -> str:
        return redact_url(self.base_url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AdminApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """One call; raises SourceUnreachable / SourceAuthError / AdminApiError."""
        try:
            resp = self._client.request(method, path, json=json, params=params)
        except httpx.TransportError as err:
            raise SourceUnreachable(
                f"{method} {self.target}{path} failed: {err}",
                source="service",
                target=self.target,
                fix="check service_url and that the server is running",
            ) from err
        if resp.status_code in (401, 403):
            raise SourceAuthError(
                f"{method} {self.target}{path} answered {resp.status_code}",
                source="service",
                target=self.target,
                fix="pass the server's ADMIN_TOKEN (e.g. env:ADMIN_TOKEN)",
            )
        if resp.status_code >= 400:
            raise AdminApiError(
                f"{method} {self.target}{path} answered {resp.status_code}: {resp.text[:300]}",
                status=resp.status_code,
                target=self.target,
            )
        return resp.json() if resp.content else None

    def text(self, path: str) -> str:
        """A plain-text GET (``/metrics``)."""
        try:
            resp = self._client.get(path)
        except httpx.TransportError as err:
            raise SourceUnreachable(
                f"GET {self.target}{path} failed: {err}",
                source="service",
                target=self.target,
            ) from err
        resp.raise_for_status()
        return resp.text
