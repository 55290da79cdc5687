"""`mcops lab jupyter` (`make lab`) as a terminal runs it: one line with JupyterLab's URL
and token, and Ctrl-C (SIGINT) or SIGTERM stopping what it started, and only that.

Real processes: the command in a subprocess, its lab in the test's own MCOPS_LAB_DIR.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.notebooks.support import ROOT

pytestmark = pytest.mark.slow

URL_LINE = re.compile(r"^JupyterLab: (http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]{32,}))$")


def mcops(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, "MCOPS_LAB_DIR": str(home)},
    )


class Command:
    """`mcops lab jupyter` running, its output read line by line as it comes."""

    def __init__(self, home: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mcops.cli", "lab", "jupyter", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={**os.environ, "MCOPS_LAB_DIR": str(home)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if match := pattern.match(line):
                return match
        raise AssertionError(
            f"no line matching {pattern.pattern}; output:\n" + "\n".join(self.seen)
        )

    def stop(self, sig: signal.Signals, timeout: float = 60) -> str:
        """Send ``sig``, wait for the exit; the rest of the output."""
        self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        time.sleep(0.2)  # the reader thread drains the pipe
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        self.seen += rest
        return "\n".join(rest)

    def kill(self) -> None:
        """Kill it if it still runs; close its pipe."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (the lab's directory)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


def test_ctrl_c_stops_jupyterlab_and_the_lab_it_started(tmp_path):
    home = tmp_path / "lab-home"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    command = Command(home, "--notebooks", str(notebooks))
    try:
        url, port, _ = command.wait_for(URL_LINE).groups()
        assert any("(started;" in line for line in command.seen), command.seen
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "JupyterLab" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/lab").status_code in (302, 403)  # token
        status = mcops("lab", "status", home=home)
        assert status.returncode == 0, status.stderr
        service_url = status.stdout.split('"service_url": "')[1].split('"')[0]
        # the kernels JupyterLab starts investigate this lab (its home, in their env)
        jupyter_pid = next(
            p for p in Path("/proc").glob("[0-9]*") if _is_jupyterlab(p, int(port))
        ).name
        environ = Path(f"/proc/{jupyter_pid}/environ").read_bytes().split(b"\0")
        assert f"MCOPS_LAB_DIR={home.resolve()}".encode() in environ

        rest = command.stop(signal.SIGINT)
    finally:
        command.kill()
    assert command.process.returncode == 0, "\n".join(command.seen)
    assert "stopped JupyterLab and the lab it started" in rest
    assert not listening(int(port)), "JupyterLab still listens"
    with pytest.raises(httpx.HTTPError):
        httpx.get(service_url + "/health", timeout=2)
    gone = mcops("lab", "status", home=home)
    assert gone.returncode == 2 and "not running" in gone.stderr
    assert processes_naming(str(home.resolve())) == []  # Prometheus, the load generator


def _is_jupyterlab(proc: Path, port: int) -> bool:
    try:
        args = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"jupyter" in b" ".join(args) and f"--port={port}".encode() in args


def test_sigterm_leaves_a_lab_that_was_already_running(tmp_path):
    home = tmp_path / "lab-home"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    up = mcops("lab", "up", "--no-prometheus", home=home)
    assert up.returncode == 0, up.stderr
    try:
        command = Command(home, "--notebooks", str(notebooks), "--no-load")
        try:
            url, port, _ = command.wait_for(URL_LINE).groups()
            assert any("already running" in line for line in command.seen), command.seen
            assert httpx.get(url, timeout=30).status_code == 200
            rest = command.stop(signal.SIGTERM)
        finally:
            command.kill()
        assert command.process.returncode == 0, "\n".join(command.seen)
        assert "the lab that was already running still runs" in rest
        assert not listening(int(port))
        still = mcops("lab", "status", home=home)
        assert still.returncode == 0, still.stderr
    finally:
        down = mcops("lab", "down", home=home)
        assert down.returncode == 0, down.stderr
