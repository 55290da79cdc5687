"""The service's database: connect with clear errors, run the runbooks' named queries.

Diagnostics never write: each query runs in a read-only transaction (PostgreSQL:
``SET TRANSACTION READ ONLY`` and a local ``statement_timeout``; SQLite: the file is
opened ``mode=ro`` and a progress handler enforces the timeout). Every error message
shows the URL with the password replaced by ``***``.

`connect` is the one engine factory: remediations ask it for a writable engine
(``read_only=False``) and get the same driver normalisation and error classification.

SQLAlchemy loads on the first connect or query, not at import: a notebook that never
touches a database does not pay its 0.16 s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops.bundle import record_query
from mcops.errors import (
    ParameterError,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceQueryError,
    SourceUnreachable,
    connection_state,
)
from mcops.secrets import redact_url
from mcops.sources.queries import QUERIES, NamedQuery
from mcops.utc import now, to_utc

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = ["DEFERRED_BEGIN", "connect", "normalise_url", "query"]

#: Execution option for a connection of a writable SQLite engine that only reads (a
#: remediation's plan): its transaction begins deferred and takes no write lock.
DEFERRED_BEGIN = "mcops_read_only"

_DIALECTS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_HINT = "is DATABASE_URL pointing at the service's database?"
_TIME_COLUMNS = re.compile(r"(_at|^last_heartbeat|^first_message|^last_message)$")


def normalise_url(database_url: str) -> URL:
    """``postgresql://`` / ``postgres://`` → psycopg 3; anything SQLAlchemy can parse."""
    import sqlalchemy as sa

    text = str(database_url).strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        url = sa.engine.make_url(text)
    except sa.exc.ArgumentError:
        raise SourceConfigError(
            f"database_url={redact_url(text)!r} is not a database URL",
            source="sql",
            target=redact_url(text),
            fix="write e.g. 'postgresql://USER@HOST:5432/DB' (password via env:NAME) or 'sqlite:///path.db'",
        ) from None
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise SourceConfigError(
            f"database_url={redact_url(text)!r} uses {url.get_backend_name()!r}",
            source="sql",
            target=redact_url(text),
            fix="mcops reads PostgreSQL ('postgresql://...') or SQLite ('sqlite:///...')",
        )
    return url


def _shown(url: URL) -> str:
    return redact_url(url.render_as_string(hide_password=False))


def _classify(err: BaseException, shown: str, *, timeout: float | None = None) -> SourceError:
    """Map a DBAPI error to the exception an on-call engineer can act on."""
    import sqlalchemy as sa

    text = str(getattr(err, "orig", err) or err)
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    lower = text.lower()
    if "password authentication failed" in lower or ("role" in lower and "does not exist" in lower):
        return SourceAuthError(
            f"{shown} rejected the login: {first}",
            source="sql",
            target=shown,
            fix="check the user and password in database_url (or use env:NAME for it)",
        )
    if re.search(r'database ".*" does not exist', text):
        return SourceConfigError(
            f"{shown}: {first}",
            source="sql",
            target=shown,
            fix=f"check the database name in database_url — {_HINT}",
        )
    if "unable to open database file" in lower:
        return SourceConfigError(
            f"{shown}: the SQLite file cannot be opened (missing or unreadable)",
            source="sql",
            target=shown,
            fix=f"check the path in database_url — {_HINT}",
        )
    if "read-only" in lower or "readonly" in lower or "query_only" in lower:
        return SourceQueryError(
            f"{shown}: refused a write — diagnostic queries run read-only ({first})",
            source="sql",
            target=shown,
            fix="use a remediation (mcops.remediate) to change data, never a diagnostic query",
        )
    if "statement timeout" in lower or "interrupted" in lower:
        return SourceUnreachable(
            f"{shown}: the query did not finish within {timeout or 0:g}s",
            source="sql",
            target=shown,
            fix="the database is slow or locked; retry, or raise statement_timeout",
            state="timed out",
        )
    column = re.search(r'column "?([\w.]+)"? does not exist|no such column: (\S+)', text)
    if column:
        name = column.group(1) or column.group(2)
        return SourceQueryError(
            f"{shown}: column {name!r} does not exist",
            source="sql",
            target=shown,
            fix=f"this database's schema lacks a column the query reads — {_HINT}",
        )
    missing = re.search(r'relation "([^"]+)" does not exist|no such table: (\S+)', text)
    if missing:
        table = missing.group(1) or missing.group(2)
        if table == "pg_stat_statements":
            return SourceQueryError(
                f"{shown}: pg_stat_statements is not installed",
                source="sql",
                target=shown,
                fix="CREATE EXTENSION pg_stat_statements (and add it to "
                "shared_preload_libraries), as runbook 000 'Enable query logging' shows",
            )
        return SourceQueryError(
            f"{shown}: table {table!r} does not exist",
            source="sql",
            target=shown,
            fix=_HINT,
        )
    if "shared_preload_libraries" in lower:
        return SourceQueryError(
            f"{shown}: {first}",
            source="sql",
            target=shown,
            fix="add pg_stat_statements to shared_preload_libraries and restart PostgreSQL",
        )
    if isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError):
        return SourceUnreachable(
            f"cannot connect to {shown}: {first}",
            source="sql",
            target=shown,
            fix="check host and port in database_url and that the database is running",
            state=connection_state(err),
        )
    return SourceQueryError(
        f"{shown}: {first}", source="sql", target=shown, fix="see the database's message"
    )


def connect(database_url: str, *, read_only: bool = True, connect_timeout: float = 5.0) -> Engine:
    """An Engine for ``database_url``, checked with ``SELECT 1`` so bad URLs fail here.

    ``read_only`` (the default, for diagnostics) opens SQLite files with ``mode=ro``;
    on PostgreSQL `query` makes each transaction read-only. ``read_only=False`` is the
    remediations' writable engine; on a SQLite file its transactions BEGIN IMMEDIATE
    (see `_begin_immediate`), except on connections with the `DEFERRED_BEGIN` option.
    """
    import sqlalchemy as sa

    url = normalise_url(database_url)
    shown = _shown(url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if read_only and path and path != ":memory:" and not path.startswith("file:"):
            url = url.set(database=f"file:{path}", query={**url.query, "mode": "ro", "uri": "true"})
        engine = sa.create_engine(url)
        if not read_only and path and path != ":memory:":
            _begin_immediate(engine)
    else:
        engine = sa.create_engine(
            url, connect_args={"connect_timeout": max(1, round(connect_timeout))}
        )
    engine = engine.execution_options(mcops_shown_url=shown)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{DEFERRED_BEGIN: True}).execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as err:
        engine.dispose()
        raise _classify(err, shown) from None
    return engine


def _begin_immediate(engine: Engine) -> None:
    """SQLite transactions take the write lock at ``begin()`` (the SQLAlchemy docs' recipe).

    pysqlite starts transactions lazily (only before the first DML, never before DDL),
    which would let another writer slip in between a remediation's re-read and its write
    and would autocommit CREATE INDEX.
    """
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_tx(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        deferred = conn.get_execution_options().get(DEFERRED_BEGIN, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _bind(value: Any, dialect: str) -> Any:
    if isinstance(value, datetime):
        utc = to_utc(value)
        # SQLite stores naive UTC text; compare like with like.
        return utc.replace(tzinfo=None) if dialect == "sqlite" else utc
    return value


def _parameters(
    named: NamedQuery, params: dict[str, Any], dialect: str, now: datetime
) -> dict[str, Any]:
    unknown = set(params) - set(named.parameters)
    if unknown:
        raise ParameterError(
            f"query {named.name!r} takes {list(named.parameters) or 'no parameters'}, "
            f"not {sorted(unknown)}",
            name=sorted(unknown)[0],
        )
    missing = [p for p in named.required if params.get(p) in (None, "")]
    if missing:
        raise ParameterError(
            f"query {named.name!r} needs {missing[0]}=..., e.g. "
            f"query(engine, {named.name!r}, {missing[0]}='convo-abc123')",
            name=missing[0],
        )
    values = {p: default(now) for p, default in named.defaults.items()}
    values.update({p: v for p, v in params.items() if v is not None})
    return {k: _bind(v, dialect) for k, v in values.items()}


def _install_sqlite_timeout(conn: Connection, seconds: float) -> Callable[[], None]:
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    conn.exec_driver_sql("PRAGMA query_only = ON")

    def remove() -> None:
        raw.set_progress_handler(None, 0)
        conn.exec_driver_sql("PRAGMA query_only = OFF")

    return remove


def _frame(result: sa.CursorResult[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in frame.columns:
        if _TIME_COLUMNS.search(column):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
                "datetime64[ns, UTC]"
            )
    return frame


def query(
    engine: Engine,
    name: str,
    /,
    *,
    statement_timeout: float = 30.0,
    clock: Callable[[], datetime] = now,
    **params: Any,
) -> pd.DataFrame:
    """Run the named runbook query ``name`` with bound ``params``; read-only, time-limited.

    Times in the result are ``datetime64[ns, UTC]``. Parameters with defaults
    (``since``/``cutoff`` windows, ``limit``) take them from ``clock``.
    """
    import sqlalchemy as sa

    named = QUERIES.get(name)
    if named is None:
        raise ParameterError(
            f"no named query {name!r}; known: {', '.join(sorted(QUERIES))}", name=name
        )
    dialect = engine.dialect.name
    shown = engine.get_execution_options().get("mcops_shown_url") or _shown(engine.url)
    if named.only and dialect not in named.only:
        raise SourceQueryError(
            f"query {name!r} is not available on {_DIALECTS.get(dialect, dialect)} "
            f"({shown}): it reads PostgreSQL's statistics views",
            source="sql",
            target=shown,
            fix="run this check against the PostgreSQL database of the service",
        )
    values = _parameters(named, params, dialect, to_utc(clock()))
    statement = sa.text(named.text(dialect, set(values)))
    record_query("sql", statement.text, name=name, target=shown, parameters=values)
    try:
        with engine.connect() as conn, conn.begin():
            cleanup = None
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.execute(
                    sa.text("SELECT set_config('statement_timeout', :ms, true)"),
                    {"ms": str(max(1, round(statement_timeout * 1000)))},
                )
            elif dialect == "sqlite":
                cleanup = _install_sqlite_timeout(conn, statement_timeout)
            try:
                frame = _frame(conn.execute(statement, values))
            finally:
                if cleanup is not None:
                    cleanup()
    except sa.exc.DBAPIError as err:
        raise _classify(err, shown, timeout=statement_timeout) from None
    if named.postprocess is not None:
        frame = named.postprocess(frame)
    frame.attrs["query"] = name
    return frame
