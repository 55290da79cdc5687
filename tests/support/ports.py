"""Free loopback ports, and waiting for a port to answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, held until the
    block ends. A port `free_port` found can be taken by a server another test worker
    starts meanwhile, and a connection then waits for that server instead of being
    refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def wait_http(url: str, *, timeout: float = 20.0, ok: tuple[int, ...] = (200,)) -> None:
    """Poll ``url`` until it answers with one of ``ok``; raise TimeoutError naming it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code in ok:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as err:
            last = err
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer {ok} within {timeout}s (last: {last})")
