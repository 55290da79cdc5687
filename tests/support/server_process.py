"""The real actor server as a child process on a free loopback port.

Contract with `server/`: ``python -m server serve --host H --port P`` reads its
settings from the environment (DATABASE_URL, ADMIN_TOKEN, AUTH_SECRET, LOG_FILE, ...)
and user tokens are minted with ``server.auth.user_token(did, secret)``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_port, wait_http

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
AUTH_SECRET = "test-auth-secret"

#: The user API's paths the tests drive (runbook 000's XRPC methods).
CREATE = "/xrpc/blue.catbird.mls.createConvo"
ADD_MEMBERS = "/xrpc/blue.catbird.mls.addMembers"
SEND = "/xrpc/blue.catbird.mls.sendMessage"


@dataclass
class ServerProcess:
    """A running server: its URL, log file and how to talk to it as a user or admin."""

    url: str
    port: int
    log_file: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def user_headers(self, did: str) -> dict[str, str]:
        from server.auth import user_token

        return {"Authorization": f"Bearer {user_token(did, AUTH_SECRET)}"}

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def client(self, did: str | None = None, *, timeout: float = 10.0) -> httpx.Client:
        headers = self.user_headers(did) if did else self.admin_headers
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def log_lines(self) -> list[str]:
        if not self.log_file.exists():
            return []
        return self.log_file.read_text(encoding="utf-8").splitlines()

    def start(self) -> None:
        with (self.log_file.parent / "stderr.log").open("ab") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            wait_http(f"{self.url}/health", timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                "server did not start; stderr:\n"
                + (self.log_file.parent / "stderr.log").read_text(errors="replace")[-4000:]
            ) from None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def running_server(
    database_url: str, *, env: Mapping[str, str] | None = None, workdir: Path | None = None
) -> Iterator[ServerProcess]:
    """Start the server on a free port against ``database_url``; stop it afterwards.

    Without ``workdir`` the log lives in a temporary directory removed afterwards.
    """
    owned = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="mcops-server-"))
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "AUTH_SECRET": AUTH_SECRET,
        "LOG_FILE": str(workdir / "server.log"),
        "LOG_LEVEL": "debug",
        "SERVER_ID": f"test-{port}",
        "GC_HEARTBEAT_INTERVAL": "0.5",
        **(env or {}),
    }
    server = ServerProcess(
        url=f"http://127.0.0.1:{port}", port=port, log_file=workdir / "server.log", env=full_env
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
