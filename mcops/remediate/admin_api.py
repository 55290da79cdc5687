"""The actor server's token-protected admin API (server/README.md), for remediations.

Built on `mcops.sources.http_client.HttpClient`, the client the diagnostics use, so
errors map the same way (timeouts, refused/DNS, 401/403, other statuses with
``.status``). The transport is injectable (httpx), so callers and tests swap it
without patching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcops.sources.http_client import HttpClient, HttpStatusError

if TYPE_CHECKING:
    import httpx

__all__ = ["AdminApi", "AdminApiError"]

#: The admin API answered with an error status other than 401/403; ``.status`` holds it.
AdminApiError = HttpStatusError


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
        self._http = HttpClient(base_url, token=token, timeout=timeout, transport=transport)
        self.base_url = self._http.url

    @property
    def target(self) -> str:
        """The server's URL as plans and the audit log show it (password masked)."""
        return self._http.shown()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """One call, its JSON answer (None when empty); raises SourceUnreachable /
        SourceAuthError / AdminApiError (see `mcops.sources.http_client`)."""
        return self._http.json(method, path, json=json, params=params)

    def text(self, path: str) -> str:
        """A plain-text GET (``/metrics``), with the same errors as `request`."""
        return self._http.checked("GET", path).text
