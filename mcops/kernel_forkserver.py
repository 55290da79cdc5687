"""Kernels forked from one process that imported mcops once: a kernel in a fraction of a
second instead of the 2–3 s of a start plus imports.

A fork server is a process (``python -m mcops.kernel_forkserver SOCKET``) that imports
what scenario notebooks import (`mcops.kernel_pool.PRELOAD`) and ipykernel, and never
runs notebook code. Asked for a kernel, it forks: the child becomes an ordinary IPython
kernel process in its own session, with the asking process's environment, working
directory, standard output and error, and exits when the asking process is gone. Every
run still gets a fresh process; what it shares with the others is pages of imported code,
copy-on-write.

A kernel is forked only when a cold start would run the same program: the server's own
Python with ``-m ipykernel_launcher``, and the same variables that decide what imports
(`IMPORT_VARIABLES`). Anything else starts the usual way (`mcops.kernel_launch`).

`ForkServer.start` starts one for this process; ``MCOPS_KERNEL_SERVER=SOCKET`` lets every
mcops process below share one (`shared`), which is how the test suite runs hundreds of
notebooks without paying hundreds of imports.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcops.errors import McopsError

__all__ = ["IMPORT_VARIABLES", "SERVER_VARIABLE", "ForkFailed", "ForkServer", "shared"]

#: The variable naming a running fork server's socket, for every mcops process below.
SERVER_VARIABLE = "MCOPS_KERNEL_SERVER"

#: Variables that change what a Python process imports: a kernel is forked only when the
#: asking process has them as the server had them at its start.
IMPORT_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE")

_LAUNCHER = ["-m", "ipykernel_launcher"]
_MESSAGE = 1 << 20
_READY = "ready"


class ForkFailed(McopsError):
    """The fork server could not start or could not fork a kernel."""


class ForkServer:
    """A handle on a running fork server: `forks` says whether a kernel command can be
    forked there, `fork` does it and returns the kernel's pid. `close` stops one this
    handle started (``with contextlib.closing(ForkServer.start())``)."""

    def __init__(self, path: Path, process: subprocess.Popen[bytes] | None = None) -> None:
        self.path = path
        self._process = process
        self._hello: dict[str, Any] | None = None

    @classmethod
    def start(
        cls, environment: Mapping[str, str] | None = None, *, timeout: float = 120.0
    ) -> ForkServer:
        """Start a fork server for this process; it stops with `close` or when this
        process is gone."""
        home = Path(tempfile.mkdtemp(prefix="mcops-forkserver-"))  # 0700: ours alone
        path = home / "socket"
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(path), "--owner", str(os.getpid())],
            env={**os.environ, **(environment or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode().strip() if ready else ""
        process.stdout.close()  # it says nothing after "ready"
        if line != _READY:
            process.kill()
            process.wait()
            raise ForkFailed(
                f"the kernel fork server did not start within {timeout:.0f} s "
                f"(exit {process.poll()}) — fix: `mcops doctor` checks the kernel's imports"
            )
        return cls(path, process)

    def close(self) -> None:
        """Stop the server if this handle started it (its kernels are not its to stop)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
                self.path.parent.rmdir()

    def forks(self, command: Sequence[str], environment: Mapping[str, str]) -> bool:
        """Whether a kernel started with ``command`` and ``environment`` can be forked
        here: the same Python, ipykernel's launcher, the same import variables."""
        if list(command[1:3]) != _LAUNCHER or not hasattr(os, "pidfd_open"):
            return False
        try:
            hello = self._greeting()
        except (OSError, ForkFailed):
            return False
        # the path, not its target: a venv's python links to the same binary as others
        same_python = os.path.abspath(command[0]) == os.path.abspath(hello["executable"])
        imports = {name: environment.get(name) for name in IMPORT_VARIABLES}
        return same_python and imports == hello["imports"]

    def fork(self, command: Sequence[str], environment: Mapping[str, str], cwd: str) -> int:
        """Fork a kernel running ``command``'s arguments; its pid. Its standard output and
        error are this process's."""
        reply = self._ask(
            {
                "argv": list(command[3:]),
                "env": dict(environment),
                "cwd": cwd,
                "watch": os.getpid(),
            },
            fds=_standard_streams(),
        )
        if "pid" not in reply:
            raise ForkFailed(f"the kernel fork server could not fork: {reply.get('error')}")
        return int(reply["pid"])

    def _greeting(self) -> dict[str, Any]:
        if self._hello is None:
            self._hello = self._ask({"hello": True})
        return self._hello

    def _ask(self, request: Mapping[str, Any], fds: Sequence[int] = ()) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(30)
            try:
                connection.connect(str(self.path))
                data = json.dumps(request).encode()
                sent = socket.send_fds(connection, [data], list(fds))
                connection.sendall(data[sent:])  # a large environment may take several
                connection.shutdown(socket.SHUT_WR)
                reply = b"".join(iter(lambda: connection.recv(65536), b""))
            except OSError as exc:
                raise ForkFailed(f"the kernel fork server at {self.path} is gone: {exc}") from exc
        return dict(json.loads(reply or b"{}"))


def _standard_streams() -> list[int]:
    """This process's descriptors 1 and 2, which a kernel it started would inherit (not
    ``sys.stdout``, which in a notebook or under pytest is no file); none when closed."""
    open_fds = []
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            break  # the kernel keeps the server's streams
        open_fds.append(fd)
    return open_fds


_shared: dict[str, ForkServer] = {}
_shared_lock = threading.Lock()


def shared() -> ForkServer | None:
    """The fork server ``MCOPS_KERNEL_SERVER`` names, if any."""
    path = os.environ.get(SERVER_VARIABLE)
    if not path:
        return None
    with _shared_lock:
        if path not in _shared:
            _shared[path] = ForkServer(Path(path))
        return _shared[path]


# --- the server process -------------------------------------------------------------


def _serve(path: Path, owner: int | None) -> None:
    from mcops import slow_imports
    from mcops.kernel_pool import PRELOAD

    slow_imports.skip()
    exec(PRELOAD, {})  # our own constant: what every scenario notebook imports
    import ipykernel.ipkernel  # what a kernel imports before its first cell
    import ipykernel.kernelapp  # noqa: F401

    gc.collect()
    gc.freeze()  # imported objects stay out of the children's collections: fewer copied pages
    hello = {
        "executable": sys.executable,
        "imports": {name: os.environ.get(name) for name in IMPORT_VARIABLES},
    }
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(16)
    watched = [listener.fileno()]
    owner_fd = os.pidfd_open(owner) if owner else None
    if owner_fd is not None:
        watched.append(owner_fd)
    print(_READY, flush=True)
    while True:
        readable, _, _ = select.select(watched, [], [], 1.0)
        _reap()
        if owner_fd is not None and owner_fd in readable:
            return  # the process we served is gone; its kernels watch their own askers
        if listener.fileno() in readable:
            connection, _ = listener.accept()
            with connection:
                _answer(connection, listener, hello, owner_fd)


def _answer(
    connection: socket.socket, listener: socket.socket, hello: dict[str, Any], owner_fd: int | None
) -> None:
    connection.settimeout(30)
    try:
        data, fds, _, _ = socket.recv_fds(connection, _MESSAGE, 2)
        while chunk := connection.recv(_MESSAGE):  # the asker closes its side when done
            data += chunk
        request = json.loads(data)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            connection.sendall(json.dumps({"error": f"unreadable request: {exc}"}).encode())
        return
    if request.get("hello"):
        connection.sendall(json.dumps(hello).encode())
        return
    pid = os.fork()
    if pid == 0:  # the kernel: never returns to this loop
        try:
            listener.close()
            connection.close()
            if owner_fd is not None:
                os.close(owner_fd)
            _become_kernel(request, fds)
        finally:
            os._exit(1)
    for fd in fds:
        os.close(fd)
    connection.sendall(json.dumps({"pid": pid}).encode())


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _become_kernel(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: the session, streams, environment, directory and arguments a
    cold kernel would have, then ipykernel's launcher."""
    os.setsid()  # its own process group, as jupyter_client's launcher gives: interrupts
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for target, fd in zip((1, 2), fds, strict=False):
        os.dup2(fd, target)
    for fd in {null, *fds} - {0, 1, 2}:
        os.close(fd)  # the kernel holds its streams once, as a started one does
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["JPY_PARENT_PID"] = str(request["watch"])  # as jupyter_client's launcher sets
    os.chdir(request["cwd"])
    del sys.path[0]  # the server's directory, which `-m` put first and ipykernel removes
    _exit_with(int(request["watch"]))
    if "numpy.random" in sys.modules:  # each kernel its own seed, as a cold one has
        sys.modules["numpy.random"].seed()
    sys.argv = [_launcher_path(), *request["argv"]]  # what `-m ipykernel_launcher` sets
    from ipykernel import kernelapp  # the server's imports stay frozen: their pages stay shared

    kernelapp.launch_new_instance()
    os._exit(0)


def _launcher_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("ipykernel_launcher")
    return str(spec.origin) if spec is not None and spec.origin else sys.executable


def _exit_with(pid: int) -> None:
    """Exit when process ``pid`` (the one that asked for this kernel) is gone."""
    watched = os.pidfd_open(pid)

    def watch() -> None:
        select.select([watched], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="mcops-kernel-asker", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    owner = int(args[args.index("--owner") + 1]) if "--owner" in args else None
    with contextlib.suppress(KeyboardInterrupt):
        _serve(Path(args[0]), owner)


if __name__ == "__main__":
    main()
