"""The lab's background processes: free ports, liveness, readiness, Prometheus, stopping.

Kept apart from `mcops.lab` (what the lab is and does) because none of it knows the
server: these are the few process chores any local service needs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from mcops.errors import McopsError

__all__ = [
    "LabError",
    "alive",
    "free_port",
    "kill",
    "start_prometheus",
    "terminate",
    "wait_http",
]


class LabError(McopsError):
    """The lab could not start, or is not running when a command needs it."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a state file may outlive its processes)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_http(url: str, *, timeout: float, what: str, log: Path) -> None:
    """Wait for ``url`` to answer 200; LabError with the log's tail when it never does."""
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


def start_prometheus(root: Path, target: str) -> tuple[str, subprocess.Popen[bytes]]:
    """Start Prometheus under ``root/prometheus`` scraping ``target`` every 2 s with the
    project's rules; its URL and process once it is ready (keep the process object: one
    dropped while it runs warns, and a killed child would stay a zombie)."""
    import yaml

    prom_dir = root / "prometheus"
    prom_dir.mkdir(exist_ok=True)
    config = {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "scrape_configs": [{"job_name": "mcops-server", "static_configs": [{"targets": [target]}]}],
    }
    from mcops._data import data_dir

    shipped = data_dir("prometheus")  # the installed package's, or the checkout's deploy/
    rules = sorted(shipped.path.glob("*.rules.yml")) if shipped else []
    if rules:
        config["rule_files"] = [str(p) for p in rules]
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = prom_dir / "prometheus.log"
    with log.open("ab") as err:  # the child has its own copy of the descriptor
        proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={prom_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/-/ready", timeout=20, what="Prometheus", log=log)
    return url, proc


def terminate(pid: int, *, timeout: float = 10.0) -> None:
    """SIGTERM ``pid``, SIGKILL it after ``timeout`` seconds; reap it if it is our child."""
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def kill(pid: int, *, timeout: float = 10.0) -> None:
    """SIGKILL ``pid`` (a crash: no shutdown handler runs) and wait until it is gone."""
    if not alive(pid):
        return
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
