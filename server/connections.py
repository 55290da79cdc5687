"""HTTP connections with bounds: time to send a request, idle time, how many at once.

uvicorn closes a keep-alive connection after ``timeout_keep_alive`` once a response
is sent, but a connection that never sends a request, or sends half of one, is kept
open forever; enough of them use up the process's file descriptors. This protocol
arms a timer when a connection opens and when a request starts, and closes the
connection (408 when part of a request came) unless the whole request, headers and
body, arrived within ``request_timeout``. Beyond ``max_connections`` open connections,
a new one gets 503 and is closed at once, so the descriptors left serve the database
and the log.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

__all__ = ["BoundedHttpProtocol", "bounded_protocol", "default_max_connections"]

_RESERVED_FDS = 64  # log files, listening socket, DNS, the event loop's own
_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 38\r\n\r\nrequest not received in time; resend\r\n"
)
_BUSY_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\nretry-after: 1\r\ncontent-length: 37\r\n\r\n"
    b"too many connections; retry shortly\r\n"
)


def default_max_connections(*, database_connections: int) -> int:
    """Open-file limit minus the database pool and a reserve (at least 16)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(16, soft - database_connections - _RESERVED_FDS)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-read deadline and a connection cap."""

    request_timeout: float = 10.0
    max_connections: int = 1000

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._received = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(_BUSY_503)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._received = True
        if self._read_deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request on a kept-alive connection
        super().data_received(data)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if self._received and not answering:
            self.transport.write(_TIMEOUT_408)
        self.transport.close()


def bounded_protocol(*, request_timeout: float, max_connections: int) -> type[BoundedHttpProtocol]:
    """A BoundedHttpProtocol class with these bounds (uvicorn takes a class, not an instance)."""
    return type(
        "BoundedHttpProtocol",
        (BoundedHttpProtocol,),
        {"request_timeout": request_timeout, "max_connections": max_connections},
    )
