"""A fresh PostgreSQL database per test on the local cluster (127.0.0.1:5432, trust)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

ADMIN_URL = os.environ.get(
    "MCOPS_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def ensure_running() -> None:
    """Start the local cluster if it is down (as the project's README says)."""
    engine = sa.create_engine(ADMIN_URL)
    try:
        engine.connect().close()
        return
    except sa.exc.OperationalError:
        pass
    finally:
        engine.dispose()
    versions = os.listdir("/etc/postgresql")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"],
        check=True,
    )


@contextmanager
def fresh_database(prefix: str = "mcops_t") -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    ensure_running()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
