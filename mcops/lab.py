"""The local lab: the actor server on SQLite, a real Prometheus when installed, load.

`mcops lab up` starts them on loopback as background processes whose pids and URLs are
kept in the lab's home (`lab_home`: one per user, not per directory), so `inject`,
`load`, `status` and `down` work from any later shell in any directory, and every
scenario notebook can be pointed at the lab (:meth:`Lab.parameters`,
`running_lab_parameters`). Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from mcops.lab_processes import (
    LabError,
    alive,
    free_port,
    kill,
    start_prometheus,
    terminate,
    wait_http,
)
from mcops.params import SOURCE_PARAMETERS

__all__ = ["Lab", "LabError", "LabState", "lab_home", "running_lab_parameters"]

LAB_DIR_ENV = "MCOPS_LAB_DIR"
ADMIN_TOKEN_ENV = "MCOPS_ADMIN_TOKEN"
LAB_TOKEN_ENV = "MCOPS_LAB_ADMIN_TOKEN"
"""Where `running_lab_parameters` puts the lab's admin token for ``admin_token=env:...``
(its own name, so a production token in MCOPS_ADMIN_TOKEN is never overwritten)."""

#: What a previous lab leaves behind that a new one would read: its database (with
#: SQLite's side files), its logs and Prometheus' samples. ``--fresh`` deletes these only.
DATA_FILES = (
    "server.db",
    "server.db-wal",
    "server.db-shm",
    "server.db-journal",
    "server.log",
    "server.out",
    "prometheus",
)


def lab_home() -> Path:
    """The lab's directory, the same from every working directory: ``$MCOPS_LAB_DIR``,
    else ``$XDG_STATE_HOME/mcops/lab``, else ``~/.local/state/mcops/lab``."""
    if os.environ.get(LAB_DIR_ENV):
        return Path(os.environ[LAB_DIR_ENV]).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "mcops" / "lab"


def running_lab_parameters(root: Path | str | None = None) -> dict[str, str] | None:
    """The source parameters of the running lab, None when no lab runs (a lab whose
    server was killed on purpose, `lab inject outage`, still runs: its service is down).

    ``admin_token`` is ``env:MCOPS_LAB_ADMIN_TOKEN``, which this process's environment
    then holds (a kernel or papermill child inherits it): never the token itself.
    """
    lab = Lab(root)
    try:
        params = lab.parameters()
        token = lab.admin_token()
    except (LabError, OSError, ValueError, TypeError):  # no lab, or a state file it cannot read
        return None
    os.environ[LAB_TOKEN_ENV] = token
    sources = {name: str(params[name]) for name in SOURCE_PARAMETERS}
    return {**sources, "admin_token": f"env:{LAB_TOKEN_ENV}"}


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
    outage: bool = False
    """The server was killed on purpose (`kill_server`): the lab is up, its service down."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


class Lab:
    """Start, drive and stop the local lab under ``root`` (default `lab_home`)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root if root is not None else lab_home()).resolve()
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

    def recorded(self) -> LabState:
        """What `up` recorded, whether or not its server still runs; LabError when none."""
        if not self.state_file.exists():
            raise LabError(f"the lab is not running (no {self.state_file}); start it: mcops lab up")
        return LabState(**json.loads(self.state_file.read_text()))

    def state(self) -> LabState:
        """The running lab; LabError with the fix when it is not up."""
        state = self.recorded()
        if not alive(state.server_pid):
            why = "was killed (lab inject outage)" if state.outage else "has exited"
            raise LabError(
                f"the lab server (pid {state.server_pid}) {why}; see {state.log_file} "
                "and start it again: mcops lab restart"
            )
        return state

    def admin_token(self) -> str:
        return self.token_file.read_text().strip()

    def running(self) -> LabState | None:
        """The running lab's state, None when it is not up."""
        try:
            return self.state()
        except LabError:
            return None

    def leftovers(self) -> list[Path]:
        """The previous lab's data a new `up` would reuse (see DATA_FILES)."""
        return [self.root / name for name in DATA_FILES if (self.root / name).exists()]

    def clean(self) -> list[Path]:
        """Delete the previous lab's data (only DATA_FILES; tokens stay); LabError while
        the lab runs."""
        state = self.running()
        if state is not None:
            raise LabError(
                f"the lab is running (pid {state.server_pid}); stop it first: mcops lab down"
            )
        gone = self.leftovers()
        for path in gone:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return gone

    # ---- lifecycle ---------------------------------------------------------------
    def up(self, *, with_prometheus: bool = True, env: dict[str, str] | None = None) -> LabState:
        """Start the server (and Prometheus when installed) on the data `leftovers` names,
        if any (`clean` first to start clean); idempotent while running."""
        state = self.running()
        if state is not None:
            return state
        with contextlib.suppress(LabError, ValueError, TypeError):
            terminate(self.recorded().prometheus_pid)  # a dead lab's Prometheus goes with it
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.token_file.exists():
            self.token_file.write_text(secrets.token_hex(24))
            self.token_file.chmod(0o600)
        port = free_port()
        log_file = self.root / "server.log"
        database_url = f"sqlite:///{self.root / 'server.db'}"
        pid = self._start_server(port, database_url, log_file, env or {})
        url = f"http://127.0.0.1:{port}"
        prom_url, prom_pid = "", 0
        if with_prometheus and shutil.which("prometheus"):
            prom_url, prom = start_prometheus(self.root, f"127.0.0.1:{port}")
            self._children.append(prom)
            prom_pid = prom.pid
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
        state = self.recorded()
        terminate(state.server_pid)
        self._reap()
        port = int(state.server_url.rsplit(":", 1)[1])
        pid = self._start_server(
            port, state.database_url, Path(state.log_file), state.server_env or {}
        )
        restarted = replace(state, server_pid=pid, outage=False)
        self.state_file.write_text(restarted.to_json())
        return restarted

    def kill_server(self) -> LabState:
        """SIGKILL the server, as a crash would (runbook 004 Scenario 4); the lab stays up
        (Prometheus, database, log, parameters) until `restart` or `down`."""
        state = replace(self.state(), outage=True)
        kill(state.server_pid)
        self._reap()
        self.state_file.write_text(state.to_json())
        return state

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
        wait_http(
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
                terminate(pid)
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

    def user_token(self, did: str) -> str:
        """A user token the lab server accepts for ``did`` (to drive its API as a user)."""
        from server.auth import user_token

        return str(user_token(did, self._auth_secret()))

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
            ],
            env={**os.environ, "AUTH_SECRET": self._auth_secret()},  # not in argv: ps shows it
        )

    def parameters(self) -> dict[str, Any]:
        """Notebook parameters that point a scenario at the lab (its server may be down on
        purpose: `kill_server`)."""
        state = self.recorded()
        if not state.outage:
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

    def admin(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call to the server's admin API; LabError naming the answer when it fails."""
        return self._admin(method, path, **kwargs)

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
