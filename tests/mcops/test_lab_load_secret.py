"""The lab's load generator gets the server's AUTH_SECRET from its environment, never on
its command line, where `ps` shows it to every user of the machine. A real lab (no
Prometheus) in the test's directory; the running load process's argv is read from /proc."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mcops.lab import Lab

pytestmark = pytest.mark.slow


def load_processes() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in argv and b"load" in argv:
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def test_the_load_generators_argv_carries_no_secret(tmp_path):
    lab = Lab(tmp_path / "lab")
    lab.up(with_prometheus=False)
    try:
        secret = (lab.root / "auth-secret").read_text().strip()
        runner = threading.Thread(target=lab.load, kwargs={"rate": 5, "duration": 4})
        runner.start()
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            seen = [line for line in load_processes() if str(lab.state().server_url) in line]
            time.sleep(0.1)
        runner.join(timeout=30)
        assert seen, "the load generator was never seen running"
        assert all(secret not in line for line in seen), seen
    finally:
        lab.down()
