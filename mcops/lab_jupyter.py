"""`mcops lab jupyter` (``make lab``): the local lab with a little load, and JupyterLab on it.

One command for an interactive investigation that just works: the lab is started if it is
not running, a short bounded load gives its metrics something to show, and JupyterLab
opens in ``notebooks/`` on 127.0.0.1 with a random token. Its kernels see the lab's home
(``MCOPS_LAB_DIR``), so Run All with empty parameters investigates this lab
(`mcops.notebook.lab_fallback`). Ctrl-C (or SIGTERM) stops JupyterLab, the load, and the
lab if this command started it; a lab that was already running is left running.

`jupyterlab` is also what the browser test starts, so the test drives what users get.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from mcops.lab import LAB_DIR_ENV, Lab, LabState
from mcops.lab_processes import LabError, free_port, wait_http

__all__ = ["JupyterLab", "LabSession", "jupyterlab", "lab_session", "serve"]

#: Environment that marks a headless run (`mcops.notebook.HEADLESS_ENV`): a kernel
#: started from JupyterLab is interactive, whatever the shell that ran us had set.
_HEADLESS_ENV = ("MCOPS_EVIDENCE_DIR", "MCOPS_REPLAY_DIR")

#: The little load: enough for rates, latencies and the mailbox to show in Prometheus,
#: bounded so a forgotten terminal does not drive the server for ever.
LOAD = {"rate": 10.0, "duration": 60.0, "conversations": 10}


@dataclass(frozen=True)
class JupyterLab:
    """A running JupyterLab server: where it listens and the token it wants."""

    port: int
    token: str
    root_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str = "") -> str:
        """The URL to open (with the token): JupyterLab, or ``notebook`` in it."""
        path = f"/lab/tree/{notebook}" if notebook else "/lab"
        return f"{self.base_url}{path}?token={self.token}"


@contextlib.contextmanager
def jupyterlab(
    root_dir: Path,
    *,
    lab_home: Path,
    port: int | None = None,
    log: Path | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 90.0,
) -> Iterator[JupyterLab]:
    """JupyterLab from this venv on 127.0.0.1 in ``root_dir``, its kernels pointed at the lab
    in ``lab_home``; stopped (with its kernels) on exit. LabError with its log's tail when
    it does not answer within ``timeout`` seconds."""
    root_dir = Path(root_dir).resolve()
    if not root_dir.is_dir():
        raise LabError(f"no notebooks directory {root_dir}: run from the mcops repository")
    port = port or free_port()
    token = secrets.token_hex(24)
    log = log or Path(lab_home) / "jupyterlab.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _HEADLESS_ENV}
    env[LAB_DIR_ENV] = str(Path(lab_home).resolve())
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",  # the port asked for, or a clear failure
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={token}",
        # offline and quiet: no update check, no news feed fetched from the internet
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
        *(["--allow-root"] if os.geteuid() == 0 else []),  # containers run as root
        *extra_args,
    ]
    with log.open("ab") as out:
        # its own session: a terminal's Ctrl-C reaches us, and we stop it in order
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = JupyterLab(port=port, token=token, root_dir=root_dir, log=log, process=process)
    try:
        _wait_ready(server, timeout=timeout)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: JupyterLab, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise LabError(
                f"JupyterLab exited ({server.process.returncode}) on port {server.port}; "
                f"is the port taken? Last lines of {server.log}:\n{tail}"
            )
        try:
            wait_http(
                f"{server.base_url}/api/status?token={server.token}",
                timeout=1.0,
                what="JupyterLab",
                log=server.log,
            )
            return
        except LabError:
            continue
    _stop(server.process)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise LabError(
        f"JupyterLab did not answer on {server.base_url} within {timeout:.0f}s. "
        f"Last lines of {server.log}:\n{tail}"
    )


def _stop(process: subprocess.Popen[bytes], timeout: float = 20.0, *, group: bool = False) -> None:
    """SIGTERM (JupyterLab then shuts its kernels down), SIGKILL its group if it hangs;
    ``group``: SIGTERM its whole process group (`mcops lab load` and its load generator)."""
    if process.poll() is None or group:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@dataclass(frozen=True)
class LabSession:
    """The lab JupyterLab investigates, and whether this session started it."""

    lab: Lab
    state: LabState
    started: bool


@contextlib.contextmanager
def lab_session(
    lab: Lab,
    *,
    with_prometheus: bool = True,
    load: bool = True,
    shield: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> Iterator[LabSession]:
    """The running lab, started if it is not (and then stopped on exit), with the bounded
    `LOAD` in the background when ``load`` (stopped on exit too). ``shield`` holds Ctrl-C
    back while the lab starts: a lab interrupted half-way has no state file to stop it by."""
    started = lab.running() is None
    driver: subprocess.Popen[bytes] | None = None
    try:
        with shield():
            state = lab.up(with_prometheus=with_prometheus)
        if load:
            driver = _start_load(lab)
        yield LabSession(lab=lab, state=state, started=started)
    finally:
        if driver is not None:
            _stop(driver, timeout=10, group=True)
        if started:
            lab.down()


def _start_load(lab: Lab) -> subprocess.Popen[bytes]:
    """`mcops lab load` in the background, its report in the lab's ``load.log``."""
    command = [sys.executable, "-m", "mcops.cli", "lab", "--root", str(lab.root), "load"]
    for name, value in LOAD.items():
        command += [f"--{name}", str(value)]
    with (lab.root / "load.log").open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _say(line: str) -> None:
    print(line, flush=True)  # flushed: a pipe (a test, a supervisor) sees the URL at once


class _StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM (systemd, `kill`) raise KeyboardInterrupt once, so both
    go through the same clean-up; further ones are ignored until it is done (a second
    Ctrl-C must not leave JupyterLab or the lab half stopped). Inside `shield` the first
    one waits until the shielded step is over."""

    def __init__(self) -> None:
        self.fired = False
        self.pending = False
        self.shielded = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:
            return
        if self.shielded:
            self.pending = True
            return
        self.fired = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def shield(self) -> Iterator[None]:
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = False
        if self.pending and not self.fired:
            self.fired = True
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        sigs = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle) for sig in sigs}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(
    lab: Lab,
    notebooks: Path,
    *,
    port: int | None = None,
    with_prometheus: bool = True,
    load: bool = True,
    say: Callable[[str], None] | None = None,
) -> int:
    """Run the lab and JupyterLab until Ctrl-C or SIGTERM; 0 then, 1 when JupyterLab
    exits by itself (its log says why)."""
    say = say or _say
    started: bool | None = None  # whether we started the lab; None: not up yet
    signals = _StopSignals()
    with signals.installed():
        try:
            with lab_session(
                lab, with_prometheus=with_prometheus, load=load, shield=signals.shield
            ) as session:
                started = session.started
                how = "started" if started else "already running: left running on exit"
                say(f"lab:        {session.state.server_url} ({how}; home {lab.root})")
                with jupyterlab(notebooks, lab_home=lab.root, port=port) as server:
                    say(f"log:        {server.log}")
                    say(f"JupyterLab: {server.url()}")
                    say(
                        "Ctrl-C stops JupyterLab and the lab"
                        if started
                        else "Ctrl-C stops JupyterLab (the lab keeps running: mcops lab down)"
                    )
                    code = server.process.wait()
            say(f"JupyterLab exited by itself ({code}); see {server.log}")
            return 1
        except KeyboardInterrupt:
            if started is None:
                say("interrupted while starting; stopped what had started")
            elif started:
                say("stopped JupyterLab and the lab it started")
            else:
                say(f"stopped JupyterLab; the lab that was already running still runs ({lab.root})")
            return 0
