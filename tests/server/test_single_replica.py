"""SQLite runs one replica: a second real server on the same file is refused at start
with one line and exit 2, and a server killed with SIGKILL does not block its restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.ports import free_port
from tests.support.server_process import running_server

pytestmark = pytest.mark.slow


def second_server(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    port = str(free_port())
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", port],
        env={**env, "SERVER_ID": f"second-{port}"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_server_on_one_sqlite_file_is_refused_and_a_killed_one_blocks_nothing(
    sqlite_url,
):
    with running_server(sqlite_url) as first:
        refused = second_server(first.env)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert f"(pid {first.proc.pid})" in lines[0]
        assert "SQLite runs one replica" in lines[0] and "PostgreSQL" in lines[0]

        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        first.proc = None
        first.start()  # the OS released the dead server's lock
        with first.client() as client:  # closed: a leaked socket fails a later test
            assert client.get("/ready").status_code == 200
