"""Small helpers for server tests: metric values, concurrent requests, direct SQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server_process import ServerProcess


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The value of one sample of /metrics (0.0 when absent)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sample(text, name, **labels)


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def concurrent(
    server: ServerProcess,
    calls: Sequence[tuple[str, str, str, dict[str, Any]]],
    *,
    timeout: float = 30.0,
) -> list[httpx.Response]:
    """Send (did, method, path, body) requests all at once; responses in order."""

    async def go() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls) + 1)
        async with httpx.AsyncClient(base_url=server.url, timeout=timeout, limits=limits) as c:
            return await asyncio.gather(
                *(
                    c.request(
                        method,
                        path,
                        headers=server.user_headers(did),
                        json=body if method != "GET" else None,
                        params=body if method == "GET" else None,
                    )
                    for did, method, path, body in calls
                )
            )

    return asyncio.run(go())


def rows(db_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one read query against the server's database from the test."""
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def logs(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log_lines() if line.startswith("{")]


def wait_for(check: Callable[[], bool], *, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")


SQL_WORDS = ("SELECT", "INSERT", "UPDATE", "parameters", "[SQL", "sqlite3", "psycopg")
"""What must never appear in an answer: a database error's text quotes its statement."""


def total(server: ServerProcess, name: str) -> float:
    """The sum of every sample of `name` in /metrics (all label values)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    )


def crashes(server: ServerProcess) -> float:
    """Every crash counted: meeting panics and conversation crashes (and timeouts, drops)."""
    return total(server, "mc_actor_panics_total") + total(server, "actor_errors_total")
