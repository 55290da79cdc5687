"""How a failed request is answered: the status its exception carries, as JSON.

A 4xx says what was wrong and how to fix it. A 5xx is also logged at ERROR with its
traceback under a correlation id that the caller gets in the body and in the
X-Correlation-Id header; a 500 body never quotes the exception, whose text may hold
an SQL statement and its bound parameters.
"""

from __future__ import annotations

import sqlite3
import traceback
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import ActorCrashed, OwnedElsewhere, ServerError, Unavailable
from server.forwarding import forward_or_refuse
from server.logs import get_logger

__all__ = ["exception_handlers"]

log = get_logger("http")
Handler = Callable[[Request, Exception], Awaitable[Response]]

_INTERNAL = (
    "the server failed to answer this request; its log line with this correlation_id "
    "has the cause — report it with the correlation_id"
)


def _failure(
    request: Request, exc: BaseException, status: int, error: str, message: str
) -> Response:
    """A 5xx: logged with its traceback under a correlation id the caller also gets.

    The body never carries the exception's own text: a database error's text holds
    the SQL statement and its bound parameters.
    """
    correlation_id = uuid.uuid4().hex[:16]
    log.error(
        f"{request.method} {request.url.path} -> {status} [{correlation_id}]: "
        f"{type(exc).__name__}: {exc}"[:4000],
        error_type=type(exc).__name__,
        correlation_id=correlation_id,
        backtrace="".join(traceback.format_exception(exc))[-8000:],
    )
    headers = {"X-Correlation-Id": correlation_id}
    if status == 503:
        headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
    return JSONResponse(
        {"error": error, "message": message, "correlation_id": correlation_id},
        status_code=status,
        headers=headers,
    )


#: SQLite's OperationalError also means a broken schema ("no such table"): only these
#: say the database is away for now.
_SQLITE_AWAY = ("locked", "busy", "unable to open", "disk i/o")


def _unreachable(error: BaseException) -> bool:
    """The database is not reachable or not answering now (refused, dropped, timed out,
    locked), as opposed to a constraint, a schema or a bug: the caller may retry."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        return any(word in str(error.orig).lower() for word in _SQLITE_AWAY)
    return True


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ActorCrashed) and _unreachable(exc.error):
        # logged as the runbook's "Actor crashed: database ..." all the same; the caller
        # is told the truth: the database is away, retry (503), not a server bug (500)
        return await _database_error(request, exc, cause=exc.error)
    status = int(getattr(exc, "http_status", 500))
    if status < 500:
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)
    if status == 500:
        # the class name is safe to show (ActorCrashed); the text may quote SQL
        return _failure(request, exc, 500, type(exc).__name__, _INTERNAL)
    # 503 / 504 messages are composed by this server and name no data
    return _failure(request, exc, status, type(exc).__name__, str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    return _failure(request, exc, 500, "InternalError", _INTERNAL)


async def _database_error(
    request: Request, exc: Exception, *, cause: BaseException | None = None
) -> Response:
    if isinstance(exc, PoolTimeout):
        return await _server_error(request, Unavailable.pool_exhausted())
    return _failure(
        request,
        exc,
        503,
        "DatabaseUnavailable",
        f"the database did not answer ({type(cause or exc).__name__}); check /ready, the "
        "pool (db_pool_connections_active) and DATABASE_URL",
    )


def exception_handlers() -> dict[type[Exception], Handler]:
    """For Starlette: our errors by their status, the database's as 503, the rest as 500."""
    return {
        OwnedElsewhere: forward_or_refuse,
        ServerError: _server_error,
        PoolTimeout: _database_error,
        DBAPIError: _database_error,
        Exception: _unexpected,
    }
