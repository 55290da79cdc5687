"""The local lab: the actor server on SQLite, a real Prometheus when installed, load.

`mcops lab up` starts them on loopback as background processes whose pids and URLs are
kept in ``.lab/state.json``, so `inject`, `load`, `status` and `down` work from any
later shell, and every scenario notebook can be pointed at the lab with
:meth:`Lab.parameters`. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from mcops.errors import McopsError

__all__ = ["Lab", "LabError", "LabState"]

DEFAULT_ROOT = Path(".lab")
ADMIN_TOKEN_ENV = "MCOPS_ADMIN_TOKEN"


class LabError(McopsError):
    """The lab could not start, or is not running when a command needs it."""


@dataclass(frozen=True)
class LabState:
    """What `lab up` started; saved as JSON so later commands find it."""

    server_url: str
    server_pid: int
    database_url: str
    log_file: str
    prometheus_url: str = ""
    prometheus_pid: int = 0
    server_env: dict[str, str] | None = None
    """The extra environment `up` was given, so `restart` starts the same server."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_http(url: str, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise LabError(f"{what} did not answer {url} within {timeout:.0f}s. Last log lines:\n{tail}")


class Lab:
    """Start, drive and stop the local lab under ``root`` (default ``.lab/``)."""

    def __init__(self, root: Path | str = DEFAULT_ROOT) -> None:
        self.root = Path(root).resolve()
        # servers this object started: reaped in `down`/`restart` (a Popen dropped while
        # its process runs warns, and a killed child would stay a zombie)
        self._children: list[subprocess.Popen[bytes]] = []

    # ---- state -----------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def token_file(self) -> Path:
        return self.root / "admin-token"

    def state(self) -> LabState:
        """The running lab; LabError with the fix when it is not up."""
        if not self.state_file.exists():
            raise LabError(f"the lab is not running (no {self.state_file}); start it: mcops lab up")
        state = LabState(**json.loads(self.state_file.read_text()))
        if not _alive(state.server_pid):
            raise LabError(
                f"the lab server (pid {state.server_pid}) has exited; see {state.log_file} "
                "and restart it: mcops lab down && mcops lab up"
            )
        return state

    def admin_token(self) -> str:
        return self.token_file.read_text().strip()

    # ---- lifecycle ---------------------------------------------------------------
    def up(self, *, with_prometheus: bool = True, env: dict[str, str] | None = None) -> LabState:
        """Start the server (and Prometheus when installed); idempotent while running."""
        try:
            return self.state()
        except LabError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.token_file.exists():
            self.token_file.write_text(secrets.token_hex(24))
            self.token_file.chmod(0o600)
        port = _free_port()
        log_file = self.root / "server.log"
        database_url = f"sqlite:///{self.root / 'server.db'}"
        pid = self._start_server(port, database_url, log_file, env or {})
        url = f"http://127.0.0.1:{port}"
        prom_url, prom_pid = "", 0
        if with_prometheus and shutil.which("prometheus"):
            prom_url, prom_pid = self._start_prometheus(f"127.0.0.1:{port}")
        state = LabState(
            server_url=url,
            server_pid=pid,
            database_url=database_url,
            log_file=str(log_file),
            prometheus_url=prom_url,
            prometheus_pid=prom_pid,
            server_env=dict(env or {}),
        )
        self.state_file.write_text(state.to_json())
        return state

    def restart(self) -> LabState:
        """Stop the server and start it again on the same port, database and log (what
        ``systemctl restart`` does on a host): its actors and meetings start afresh."""
        if not self.state_file.exists():
            raise LabError(f"the lab is not running (no {self.state_file}); start it: mcops lab up")
        state = LabState(**json.loads(self.state_file.read_text()))
        _terminate(state.server_pid)
        self._reap()
        port = int(state.server_url.rsplit(":", 1)[1])
        pid = self._start_server(
            port, state.database_url, Path(state.log_file), state.server_env or {}
        )
        restarted = replace(state, server_pid=pid)
        self.state_file.write_text(restarted.to_json())
        return restarted

    def _start_server(
        self, port: int, database_url: str, log_file: Path, env: dict[str, str]
    ) -> int:
        server_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ADMIN_TOKEN": self.admin_token(),
            "AUTH_SECRET": self._auth_secret(),
            "LOG_FILE": str(log_file),
            "LOG_LEVEL": "debug",
            "SERVER_ID": "lab-1",
            "GC_HEARTBEAT_INTERVAL": "2",
            **env,
        }
        out = (self.root / "server.out").open("ab")
        server = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self._children.append(server)
        _wait_http(
            f"http://127.0.0.1:{port}/health",
            timeout=30,
            what="the actor server",
            log=self.root / "server.out",
        )
        return server.pid

    def down(self, *, purge: bool = False) -> None:
        """Stop what `up` started; ``purge`` also deletes the lab's data."""
        if self.state_file.exists():
            state = LabState(**json.loads(self.state_file.read_text()))
            for pid in (state.prometheus_pid, state.server_pid):
                _terminate(pid)
            self.state_file.unlink()
        self._reap()
        if purge and self.root.exists():
            shutil.rmtree(self.root)

    def _reap(self) -> None:
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
        self._children = [c for c in self._children if c.returncode is None]

    # ---- driving -------------------------------------------------------------------
    def inject(self, fault: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Turn a server fault on (see server/README.md "Faults")."""
        return self._admin("PUT", "/admin/faults", json={fault: params or {}})

    def clear(self, fault: str) -> dict[str, Any]:
        return self._admin("DELETE", f"/admin/faults/{fault}")

    def load(self, *, rate: float = 20, duration: float = 10, conversations: int = 20) -> int:
        """Run the bounded load generator against the lab; returns its exit code."""
        state = self.state()
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "server",
                "load",
                "--url",
                state.server_url,
                "--rate",
                str(rate),
                "--duration",
                str(duration),
                "--conversations",
                str(conversations),
                "--auth-secret",
                self._auth_secret(),
            ]
        )

    def parameters(self) -> dict[str, Any]:
        """Notebook parameters that point a scenario at the lab."""
        state = self.state()
        return {
            "service_url": state.server_url,
            "prometheus_url": state.prometheus_url,
            "database_url": state.database_url,
            "log_source": f"file:{state.log_file}",
            "platform": "local",
        }

    # ---- internals -------------------------------------------------------------------
    def _auth_secret(self) -> str:
        path = self.root / "auth-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def _admin(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        state = self.state()
        response = httpx.request(
            method,
            state.server_url + path,
            headers={"Authorization": f"Bearer {self.admin_token()}"},
            timeout=10,
            **kwargs,
        )
        if response.status_code >= 400:
            raise LabError(f"{method} {path} answered {response.status_code}: {response.text}")
        return dict(response.json())

    def _start_prometheus(self, target: str) -> tuple[str, int]:
        import yaml

        prom_dir = self.root / "prometheus"
        prom_dir.mkdir(exist_ok=True)
        config = {
            "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
            "scrape_configs": [
                {"job_name": "mcops-server", "static_configs": [{"targets": [target]}]}
            ],
        }
        rules = sorted(
            (Path(__file__).resolve().parent.parent / "deploy" / "prometheus").glob("*.rules.yml")
        )
        if rules:
            config["rule_files"] = [str(p) for p in rules]
        (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        log = prom_dir / "prometheus.log"
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={prom_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/-/ready", timeout=20, what="Prometheus", log=log)
        return url, proc.pid


def _terminate(pid: int, *, timeout: float = 10.0) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
