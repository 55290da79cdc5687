"""The SQLAlchemy async engine from DATABASE_URL, its tables, and its pool numbers.

``postgresql://`` becomes psycopg 3 and ``sqlite:///`` becomes aiosqlite so the
runbooks' plain URLs work unchanged. The pool is bounded at DATABASE_MAX_CONNECTIONS
with no overflow: that bound is what runbook 000 calls max_connections.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.store.schema import metadata

__all__ = ["PoolStats", "async_url", "create_engine", "create_tables", "pool_stats"]

POOL_TIMEOUT = 30.0  # runbook 000 DbConfig.acquire_timeout
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "sqlite": "sqlite+aiosqlite",
}


class PoolStats(NamedTuple):
    """Connections of the pool right now."""

    active: int
    """Checked out (in use by a query or held)."""
    idle: int
    """Open and waiting in the pool."""
    max: int
    """The bound (DATABASE_MAX_CONNECTIONS)."""


def async_url(url: str) -> str:
    """Map a plain URL to the async driver this server uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            f"DATABASE_URL {url!r} is not a URL; use sqlite:///path.db or postgresql://user@host/db"
        )
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def create_engine(
    url: str, *, max_connections: int, pool_timeout: float = POOL_TIMEOUT
) -> AsyncEngine:
    """An async engine with a pool of exactly ``max_connections`` connections.

    ``pool_timeout`` bounds the wait for a free connection; the server keeps it
    shorter than its message timeout so exhaustion answers 503 quickly, not 504.
    """
    full = async_url(url)
    options: dict[str, Any] = {}
    memory = full.startswith("sqlite") and (":memory:" in full or full.endswith("://"))
    if not memory:
        options.update(pool_size=max_connections, max_overflow=0, pool_timeout=pool_timeout)
    if full.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    engine = create_async_engine(full, **options)
    if full.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while one writer commits; busy_timeout waits for the lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def create_tables(engine: AsyncEngine) -> None:
    """Create the runbooks' tables if they are missing (never alters existing ones)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


def pool_stats(engine: AsyncEngine, *, max_connections: int) -> PoolStats:
    """Active, idle and max connections, read from the pool without touching it."""
    pool: Any = engine.pool
    active = int(pool.checkedout()) if hasattr(pool, "checkedout") else 0
    idle = int(pool.checkedin()) if hasattr(pool, "checkedin") else 0
    return PoolStats(active=active, idle=idle, max=max_connections)
