"""The SQLAlchemy async engine from DATABASE_URL, its tables, and its pool numbers.

``postgresql://`` becomes psycopg 3 and ``sqlite:///`` becomes aiosqlite so the
runbooks' plain URLs work unchanged. The pool is bounded at DATABASE_MAX_CONNECTIONS
with no overflow: that bound is what runbook 000 calls max_connections. Every
PostgreSQL connection carries a statement_timeout, so no statement (a lock wait
included) runs unbounded, and a connect timeout, so an unreachable host fails fast.
`check_database` turns a DATABASE_URL the server cannot use into one DatabaseUnusable
that names the problem and the fix.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.errors import ServerError
from server.store.schema import metadata

__all__ = [
    "DatabaseUnusable",
    "PoolStats",
    "async_url",
    "check_database",
    "create_engine",
    "create_tables",
    "pool_stats",
]

POOL_TIMEOUT = 30.0  # runbook 000 DbConfig.acquire_timeout
CONNECT_TIMEOUT = 5  # seconds; psycopg's connect_timeout is whole seconds
_URL_EXAMPLE = "sqlite:///path.db or postgresql://USER@HOST:5432/DBNAME (password: PGPASSWORD)"
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


class DatabaseUnusable(ServerError, ValueError):
    """DATABASE_URL cannot be used: unparsable, unknown driver, unreachable, refused.

    ``problem`` says what is wrong (password masked), ``fix`` what to change; the
    message is both on one line, which is what ``serve`` prints before exiting 2.
    """

    def __init__(self, problem: str, *, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}")


def async_url(url: str) -> str:
    """Map a plain URL to the async driver this server uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseUnusable(f"DATABASE_URL {url!r} is not a URL", fix=f"use {_URL_EXAMPLE}")
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def create_engine(
    url: str,
    *,
    max_connections: int,
    pool_timeout: float = POOL_TIMEOUT,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """An async engine with a pool of exactly ``max_connections`` connections.

    ``pool_timeout`` bounds the wait for a free connection; the server keeps it
    shorter than its message timeout so exhaustion answers 503 quickly, not 504.
    ``statement_timeout`` (seconds) bounds every statement on PostgreSQL; SQLite has
    no such setting and waits at most its busy timeout for a lock.
    """
    full = async_url(url)
    options: dict[str, Any] = {}
    memory = full.startswith("sqlite") and (":memory:" in full or full.endswith("://"))
    if not memory:
        options.update(pool_size=max_connections, max_overflow=0, pool_timeout=pool_timeout)
    if full.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    elif full.startswith("postgresql"):
        connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
        if statement_timeout is not None:
            connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
        options["connect_args"] = connect_args
    try:
        engine = create_async_engine(full, **options)
    except (NoSuchModuleError, ImportError):  # NoSuchModuleError is an ArgumentError
        scheme = url.partition("://")[0]
        raise DatabaseUnusable(
            f"DATABASE_URL scheme {scheme!r} is not a database this server supports",
            fix=f"use {_URL_EXAMPLE}",
        ) from None
    except (ArgumentError, ValueError):
        raise DatabaseUnusable(
            f"DATABASE_URL {_masked(url)!r} cannot be parsed", fix=f"use {_URL_EXAMPLE}"
        ) from None
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


async def check_database(url: str, *, timeout: float = 2 * CONNECT_TIMEOUT) -> None:
    """Connect once to ``url`` and run ``SELECT 1``; raise DatabaseUnusable if it fails."""
    engine = create_engine(url, max_connections=1)
    if engine.dialect.name == "sqlite":
        # aiosqlite's worker thread outlives a failed connect and then writes to the
        # closed loop (a traceback on stderr); the plain driver has no thread
        await engine.dispose()
        _check_sqlite(url)
        return
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
    except TimeoutError:
        raise DatabaseUnusable(
            f"the database at {_masked(url)} did not answer within {timeout:g} s",
            fix="check the host and port in DATABASE_URL and that the database is running",
        ) from None
    except Exception as err:
        raise _explain(url, err) from None
    finally:
        await engine.dispose()


def _check_sqlite(url: str) -> None:
    plain = make_url(async_url(url)).set(drivername="sqlite")
    engine = sa_create_engine(plain, connect_args={"timeout": CONNECT_TIMEOUT})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as err:
        raise _explain(url, err) from None
    finally:
        engine.dispose()


def _explain(url: str, err: Exception) -> DatabaseUnusable:
    """The one-line reason a connection failed, from the driver's message."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    detail = text[0] if text else type(err).__name__
    lowered = detail.lower()
    where = _masked(url)
    if "password" in lowered or ("role" in lowered and "does not exist" in lowered):
        return DatabaseUnusable(
            f"the database at {where} refused the login ({detail})",
            fix="fix the user and password in DATABASE_URL",
        )
    if "database" in lowered and "does not exist" in lowered:
        return DatabaseUnusable(
            f"the database named in {where} does not exist ({detail})",
            fix="create it (createdb) or fix the database name in DATABASE_URL",
        )
    if "unable to open database file" in lowered:
        return DatabaseUnusable(
            f"the SQLite file of {where} cannot be opened ({detail})",
            fix="point DATABASE_URL at a writable directory that exists",
        )
    return DatabaseUnusable(
        f"cannot connect to the database at {where} ({detail})",
        fix="check the host, port and name in DATABASE_URL and that the database is running",
    )


def _masked(url: str) -> str:
    """The URL with its password hidden; unparsable URLs shown as given."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


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
