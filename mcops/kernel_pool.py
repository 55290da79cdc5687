"""Warm kernels: started, with mcops imported, before a run needs them.

A run pays a kernel start and the imports of pandas, plotly, SQLAlchemy and mcops before
its first cell (2–3 s on a two-core machine, more when it is busy). A `KernelPool` pays
them ahead: while the previous scenario runs, or while the alert receiver waits for an
alert. Each kernel serves exactly one run and is then shut down, so nothing of a run (its
namespace, module state, environment, working directory, a cell still running after a
timeout) can reach the next one: every run gets a fresh process. A kernel that died
while it waited is replaced when it is taken. The kernels are forked from a fork server
(`mcops.kernel_forkserver`: the shared one, else the pool's own), so the imports are paid
once per pool, not once per kernel; `fork=False` starts each the usual way.

The pool is bounded by the machine: at most one kernel per core and per
`KERNEL_MEMORY` bytes of available memory (`max_kernels`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from mcops import kernel_forkserver, slow_imports
from mcops.errors import McopsError
from mcops.kernel_forkserver import ForkServer
from mcops.kernel_launch import OneRunKernelManager

__all__ = [
    "KERNEL_MEMORY",
    "PRELOAD",
    "KernelPool",
    "KernelStartFailed",
    "WarmKernel",
    "max_kernels",
]

#: What one warm kernel holds once `PRELOAD` ran (about 250 MB measured; room to work).
KERNEL_MEMORY = 400 * 1024 * 1024

#: Imported in every warm kernel before it is offered: what scenario notebooks import,
#: inside a function so that no name is left in the namespace the notebook sees (a warm
#: run sees what a cold one would). mcops loads these libraries and modules on first use
#: (issue 15: lean imports), so they are named here, or a forked kernel would pay for them
#: in every run. The Kubernetes client is left out: only the Kubernetes platform needs it.
PRELOAD = """\
def _mcops_preload():
    import importlib, pkgutil
    import pandas, plotly.graph_objects, plotly.io
    plotly.io.renderers.default  # plotly loads its renderers (and nbformat) on first touch
    import sqlalchemy, sqlalchemy.dialects.postgresql, sqlalchemy.dialects.sqlite
    import httpx, IPython.display, prometheus_api_client, prometheus_client.parser, requests
    import urllib3.util.retry, yaml
    import mcops._schema_tables, mcops.advice, mcops.conclusion, mcops.investigation
    import mcops.next_notebooks
    import mcops.notebook, mcops.registry, mcops.severity, mcops.typed_yaml
    import mcops.checks, mcops.remediate, mcops.scenarios, mcops.sources
    for package in (mcops.checks, mcops.scenarios, mcops.remediate, mcops.sources):
        for module in pkgutil.iter_modules(package.__path__):
            if package in (mcops.remediate, mcops.sources) and "kube" in module.name:
                continue  # the Kubernetes client loads on first use
            importlib.import_module(f"{package.__name__}.{module.name}")
_mcops_preload()
del _mcops_preload
"""

#: The kernel's own start-up chatter (its TCP notice) is not evidence; the optional
#: imports of `mcops.slow_imports` are skipped before the first cell.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL", slow_imports.KERNEL_ARGUMENT)


#: Starts tried before a kernel is reported as failed: a kernel's ports are chosen before
#: it binds them, so another process starting a kernel at that moment can take one.
START_ATTEMPTS = 3


class KernelStartFailed(McopsError):
    """A kernel of the pool did not start, or could not import mcops."""


def max_kernels() -> int:
    """Kernels this machine can keep: one per core, and per `KERNEL_MEMORY` available."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, _available_memory() // KERNEL_MEMORY))


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return KERNEL_MEMORY * (os.cpu_count() or 1)  # not Linux: bound by cores alone


@dataclass
class WarmKernel:
    """A started kernel with `PRELOAD` imported; `manager` is what nbclient's ``km`` takes."""

    manager: Any  # jupyter_client.AsyncKernelManager
    environment: dict[str, str] = field(repr=False)
    """The environment it started with (what a run must change is sent as a difference)."""

    def is_alive(self) -> bool:
        return bool(asyncio.run(self.manager.is_alive()))

    @property
    def pid(self) -> int | None:
        process = getattr(self.manager.provisioner, "process", None)
        return getattr(process, "pid", None)


class KernelPool:
    """Up to ``size`` warm kernels of ``kernel_name``, each used for one run.

    `take` hands out a warm kernel prepared for a run (working directory and environment)
    and starts its replacement in the background; `discard` shuts a used one down. Use it
    as a context manager: leaving shuts down every kernel it still holds.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        kernel_name: str = "python3",
        environment: Mapping[str, str] | None = None,
        start_timeout: float = 120.0,
        fork: bool = True,
    ) -> None:
        self.size = max(1, min(size, max_kernels()))
        self.kernel_name = kernel_name
        self._extra_environment = dict(environment or {})
        self._start_timeout = start_timeout
        self._ready: list[WarmKernel] = []
        self._starting = 0
        self._failure: BaseException | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._fork = fork
        self._fork_server: ForkServer | None = None
        self._fork_server_lock = threading.Lock()
        for _ in range(self.size):
            self._start_in_background()

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def take(self, *, cwd: Path, environment: Mapping[str, str] | None = None) -> WarmKernel:
        """A live warm kernel, moved to ``cwd`` with the current process environment
        and ``environment`` on top. Its replacement starts now, in the background."""
        while True:
            kernel = self._next_ready()
            self._start_in_background()  # the next run's kernel warms while this one runs
            try:
                if kernel.is_alive():
                    _prepare(kernel, cwd=cwd, environment=_difference(kernel, environment or {}))
                    return kernel
            except Exception:
                if kernel.is_alive():  # alive and failing: no other kernel would do better
                    self.discard(kernel)
                    raise
            self.discard(kernel)  # died while it waited (OOM, kill): take the next one

    def discard(self, kernel: WarmKernel) -> None:
        """Shut a used (or dead) kernel down, in the background (the run that used it
        need not wait); it is never offered again. `close` waits for it."""
        thread = threading.Thread(target=_shutdown, args=(kernel,), name="mcops-kernel-stop")
        with self._changed:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        """Shut down every kernel held, and wait for the ones still starting."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for thread in list(self._threads):
            thread.join(timeout=self._start_timeout)
        with self._changed:
            ready, self._ready = self._ready, []
        for kernel in ready:
            _shutdown(kernel)
        if self._fork_server is not None:
            self._fork_server.close()

    @property
    def ready(self) -> int:
        """Kernels warm and waiting now."""
        with self._changed:
            return len(self._ready)

    def _next_ready(self) -> WarmKernel:
        deadline = time.monotonic() + self._start_timeout
        with self._changed:
            while not self._ready:
                if self._closed:
                    raise KernelStartFailed("the kernel pool is closed")
                if self._failure is not None and not self._starting:
                    failure, self._failure = self._failure, None
                    raise KernelStartFailed(
                        f"no kernel {self.kernel_name!r} could start: {failure} — fix: "
                        "`mcops doctor` checks the kernel and says how to register it"
                    ) from failure
                if not self._starting:
                    self._start_in_background(locked=True)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KernelStartFailed(
                        f"no kernel {self.kernel_name!r} was ready within "
                        f"{self._start_timeout:.0f} s (is the machine out of memory?)"
                    )
                self._changed.wait(timeout=left)
            return self._ready.pop(0)

    def _start_in_background(self, *, locked: bool = False) -> None:
        if not locked:
            with self._changed:
                self._start_in_background(locked=True)
            return
        if self._closed or len(self._ready) + self._starting >= self.size:
            return
        self._starting += 1
        thread = threading.Thread(target=self._start_one, name="mcops-kernel-start", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _start_one(self) -> None:
        kernel: WarmKernel | None = None
        failure: BaseException | None = None
        for _attempt in range(START_ATTEMPTS):
            if self._closed:
                break
            try:
                kernel = _start(
                    self.kernel_name, self._extra_environment, self._start_timeout, self._server()
                )
                break
            except Exception as exc:  # said at the next take, with the fix
                failure = exc
        with self._changed:
            self._starting -= 1
            if kernel is not None and not self._closed:
                self._ready.append(kernel)
                kernel = None
            elif failure is not None:
                self._failure = failure
            self._changed.notify_all()
        if kernel is not None:  # closed while it started
            _shutdown(kernel)

    def _server(self) -> ForkServer | None:
        """The fork server this pool's kernels come from: the shared one, else one of its
        own started with the first kernel; None when forking is off or could not start."""
        if not self._fork:
            return None
        shared = kernel_forkserver.shared()
        if shared is not None:
            return shared
        with self._fork_server_lock:
            if self._fork_server is None and not self._closed:
                try:
                    self._fork_server = ForkServer.start(
                        self._extra_environment, timeout=self._start_timeout
                    )
                except kernel_forkserver.ForkFailed:
                    self._fork = False  # kernels start the usual way
            return self._fork_server


def _start(
    kernel_name: str, extra: Mapping[str, str], timeout: float, server: ForkServer | None = None
) -> WarmKernel:
    environment = {**os.environ, **extra}
    manager = OneRunKernelManager(kernel_name=kernel_name)
    manager.fork_server = server

    async def start() -> None:
        await manager.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS), env=environment)
        try:
            await _execute(manager, PRELOAD, timeout)
        except BaseException:
            await manager.shutdown_kernel(now=True)
            raise

    asyncio.run(start())
    return WarmKernel(manager, environment)


def _difference(kernel: WarmKernel, run: Mapping[str, str]) -> dict[str, str | None]:
    """What the kernel's environment lacks: changes since it started, then ``run``'s."""
    wanted = {**os.environ, **run}
    changed: dict[str, str | None] = {
        name: value for name, value in wanted.items() if kernel.environment.get(name) != value
    }
    changed.update({name: None for name in kernel.environment if name not in wanted})
    return changed


def _prepare(kernel: WarmKernel, *, cwd: Path, environment: Mapping[str, str | None]) -> None:
    """Move the kernel to the run's directory and environment, silently (no output, no
    execution count, no history): the executed notebook looks as a cold kernel's would."""
    code = (
        "def _mcops_prepare(cwd, environment):\n"
        "    import os, sys\n"
        "    for name, value in environment.items():\n"
        "        if value is None:\n"
        "            os.environ.pop(name, None)\n"
        "        else:\n"
        "            os.environ[name] = value\n"
        "    os.chdir(cwd)\n"
        "    if cwd not in sys.path:\n"
        "        sys.path.insert(0, cwd)\n"
        f"_mcops_prepare({str(cwd)!r}, {dict(environment)!r})\n"
        "del _mcops_prepare\n"
    )
    asyncio.run(_execute(kernel.manager, code, 30.0, ready=True))


async def _execute(manager: Any, code: str, timeout: float, *, ready: bool = False) -> None:
    """Run ``code`` silently in the kernel; raise KernelStartFailed when it fails.

    A kernel known ``ready`` (it ran the preload) is sent the code on its shell channel
    alone: `wait_for_ready` would spend 0.2–0.4 s making sure output can be heard, and
    this code prints nothing. Its reply still says whether it ran."""
    client = manager.client()
    client.start_channels(shell=True, iopub=not ready, stdin=False, hb=False, control=False)
    try:
        if ready:
            reply = await client.execute(
                code, silent=True, store_history=False, reply=True, timeout=timeout
            )
        else:
            await client.wait_for_ready(timeout=timeout)
            reply = await client.execute_interactive(
                code, silent=True, store_history=False, timeout=timeout, output_hook=lambda _: None
            )
    finally:
        client.stop_channels()
    content = reply["content"]
    if content.get("status") != "ok":
        raise KernelStartFailed(
            f"the kernel could not prepare: {content.get('ename')}: {content.get('evalue')} "
            "— fix: `make setup` (or `pip install mcops`) in the kernel's environment"
        )


def _shutdown(kernel: WarmKernel) -> None:
    kernel.manager.close_clients()

    async def stop() -> None:
        try:
            await kernel.manager.shutdown_kernel(now=True)
        except RuntimeError:  # already gone
            await kernel.manager.cleanup_resources()

    with contextlib.suppress(Exception):  # a kernel that cannot be stopped is gone or going
        asyncio.run(stop())
