"""SQLite runs one replica: a second server on the same database file is refused.

Two processes on one SQLite file would each run an actor per conversation and write the
same commit epoch twice (runbook 000 FM3); the leases that prevent it on PostgreSQL
(server/ownership.py) need a database server. The first server holds an exclusive lock
on ``<database>.server-lock`` for its lifetime; the OS releases it when it exits, even
by SIGKILL, so a restart is never blocked by a dead one.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

__all__ = ["SingleReplicaError", "hold_sqlite_lock"]


class SingleReplicaError(RuntimeError):
    """Another live server already uses this SQLite database."""


def hold_sqlite_lock(database_url: str) -> IO[str] | None:
    """Lock the SQLite file for this process (keep the returned file open); None when
    the database is not a SQLite file (PostgreSQL, or in memory)."""
    if not database_url.startswith("sqlite") or ":memory:" in database_url:
        return None
    path = database_url.split(":///", 1)[-1].split("?", 1)[0]
    if not path:
        return None
    lock = open(f"{path}.server-lock", "a+", encoding="utf-8")  # noqa: SIM115 - held open
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise SingleReplicaError(
            f"another server (pid {holder}) already uses the SQLite database {path}; SQLite "
            "runs one replica — stop that one, or run replicas on PostgreSQL "
            "(DATABASE_URL=postgresql://USER@HOST:5432/DBNAME)"
        ) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock
