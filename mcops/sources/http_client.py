"""One HTTP client for the service: its public endpoints and its token-protected admin API.

Diagnostics (`mcops.sources.service.ServiceSource`) and remediations
(`mcops.remediate.admin_api.AdminApi`) both send through `HttpClient`, so a failure
reads the same whoever asked:

    no answer in time         → SourceUnreachable, state "timed out"
    refused, DNS, other       → SourceUnreachable, state from `connection_state`
    401 / 403                 → SourceAuthError
    any other 4xx / 5xx       → HttpStatusError (a SourceQueryError) carrying .status
    an answer that is no JSON → SourceQueryError

The transport is injectable (``httpx.MockTransport`` in tests); ``observer`` hears each
request's outcome (None: the service answered), so an investigation records a source's
state at its first failed request.

httpx (and the click and pygments it pulls) loads when the first client is built, not at
import: a notebook that never calls the service does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpClient", "HttpStatusError", "Observer"]

#: Told each request's outcome: the error, or None when the service answered.
Observer = Callable[[SourceError | None], None]

_UNREACHABLE = {
    "refused": "refused the connection",
    "DNS failure": "could not be found: its host name does not resolve (DNS)",
}


class HttpStatusError(SourceQueryError):
    """The service answered with an error status (not 401/403); `status` holds it."""

    def __init__(
        self, message: str, *, status: int, source: str = "service", target: str = "", fix: str = ""
    ) -> None:
        self.status = status
        super().__init__(message, source=source, target=target, fix=fix)


class HttpClient:
    """``url`` with an optional bearer ``token``; every failure mapped as the module says."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        observer: Observer | None = None,
        source: str = "service",
    ) -> None:
        if not str(url).startswith(("http://", "https://")):
            raise SourceConfigError(
                f"service_url={redact_url(str(url))!r} is not an http(s) URL",
                source=source,
                target=redact_url(str(url)),
                fix="write e.g. 'http://127.0.0.1:8080'",
            )
        self.url = str(url).rstrip("/")
        self.timeout = timeout
        self.source = source
        self._token_given = token is not None
        self._observer = observer
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        import httpx

        self._client = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def shown(self, path: str = "") -> str:
        """``url`` + ``path`` as messages show it (password masked)."""
        return redact_url(f"{self.url}{path}")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """One request; raises only when no answer came. Error statuses are returned
        (a 503 from /ready is data); `checked` and `json` raise for them."""
        record_query(self.source, f"{method} {self.shown(path)}", parameters=params)
        try:
            response = self._request(method, path, params=params, json=json)
        except SourceError as err:
            self._tell(err)
            raise
        auth = response.status_code in (401, 403)
        self._tell(self.status_error(method, path, response) if auth else None)
        return response

    def checked(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """`send`, raising SourceAuthError / HttpStatusError for an error status."""
        response = self.send(method, path, params=params, json=json)
        if response.status_code >= 400:
            raise self.status_error(method, path, response)
        return response

    def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """`checked`, then the answer's JSON (None for an empty body)."""
        response = self.checked(method, path, params=params, json=json)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise SourceQueryError(
                f"{method} {self.shown(path)} did not answer JSON: {response.text[:200]!r}",
                source=self.source,
                target=self.shown(),
                fix="check that service_url points at the service, not a proxy page",
            ) from None

    def status_error(self, method: str, path: str, response: httpx.Response) -> SourceError:
        """The error an error status means: SourceAuthError for 401/403, else HttpStatusError."""
        shown = self.shown(path)
        try:
            body = response.json()
            detail = body.get("message") or body.get("error") or response.text
        except (ValueError, AttributeError):
            detail = response.text
        message = f"{method} {shown} answered HTTP {response.status_code}: {str(detail)[:300]}"
        if response.status_code in (401, 403):
            fix = (
                "pass the right admin token (ADMIN_TOKEN of the server, e.g. env:ADMIN_TOKEN)"
                if self._token_given
                else "pass admin_token=... (ADMIN_TOKEN of the server)"
            )
            return SourceAuthError(message, source=self.source, target=shown, fix=fix)
        return HttpStatusError(
            message,
            status=response.status_code,
            source=self.source,
            target=shown,
            fix="check the id / path; see the service's log for the cause",
        )

    def _tell(self, outcome: SourceError | None) -> None:
        if self._observer is not None:
            self._observer(outcome)

    def _request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        import httpx

        shown = self.shown(path)
        try:
            return self._client.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            raise SourceUnreachable(
                f"{method} {shown} did not answer within {self.timeout:g}s",
                source=self.source,
                target=shown,
                fix="check that the service is up and not overloaded (service_url)",
                state="timed out",
            ) from None
        except httpx.HTTPError as err:
            state = connection_state(err)
            what = _UNREACHABLE.get(state, "could not be reached")
            raise SourceUnreachable(
                f"{method} {shown} {what} ({type(err).__name__})",
                source=self.source,
                target=shown,
                fix="check service_url and that the service is running",
                state=state,
            ) from None
