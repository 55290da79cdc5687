"""Each way a DATABASE_URL fails maps to one line naming the problem and the fix.

The real-process cases are in test_bounds.py; a wrong password cannot be produced on
the trust-auth test cluster, so its driver message is explained here directly.
"""

from __future__ import annotations

import pytest

from server.store import engine
from server.store.engine import DatabaseUnusable


@pytest.mark.parametrize(
    ("message", "named", "fix"),
    [
        ('FATAL:  password authentication failed for user "app"', "refused the login", "password"),
        ('FATAL:  role "app" does not exist', "refused the login", "user"),
        ('FATAL:  database "shop" does not exist', "does not exist", "createdb"),
        ("Connection refused", "cannot connect", "host, port"),
        ("unable to open database file", "cannot be opened", "directory"),
    ],
)
def test_driver_messages_become_one_actionable_line(message, named, fix):
    err = engine._explain("postgresql://app:s3cret@db:5432/shop", RuntimeError(message))
    assert isinstance(err, DatabaseUnusable)
    assert named in err.problem and fix in err.fix
    assert "s3cret" not in str(err) and "\n" not in str(err)
