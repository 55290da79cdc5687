"""How mcops starts a kernel: forked from a fork server when one serves this process
(`mcops.kernel_forkserver`), else as jupyter_client starts one.

`OneRunKernelManager` is the kernel manager of every run, cold or warm. It differs from
jupyter_client's in two ways: it remembers its clients (nbclient leaves open the channels
of a kernel it did not start; they are closed with the kernel), and its kernel is forked
when `mcops.kernel_forkserver.shared` or the pool's own server can run the same command.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import uuid
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from mcops import kernel_forkserver
from mcops.kernel_forkserver import ForkServer

__all__ = ["ForkProvisioner", "OneRunKernelManager"]


class _ForkedProcess:
    """What jupyter_client asks of a ``Popen`` for a kernel the fork server started: it is
    not our child, so it is watched through a pidfd (no pid reuse can fool it)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._fd is not None:
            readable, _, _ = select.select([self._fd], [], [], 0)
            if readable:
                self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and self._fd is not None:
            select.select([self._fd], [], [], timeout)
            if self.poll() is None:
                raise TimeoutError(f"kernel {self.pid} still runs after {timeout} s")
        return self.returncode if self.returncode is not None else 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self._fd is not None:
            signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _ended(self) -> None:
        self.returncode = 0  # its parent, the fork server, collects the status
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, but the kernel is forked by ``server`` when
    the server can run the same command; otherwise launched as usual."""

    def __init__(self, server: ForkServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        environment = kwargs.get("env") or dict(os.environ)
        if not self._server.forks(cmd, environment):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            pid = self._server.fork(cmd, environment, cwd)
        except kernel_forkserver.ForkFailed:  # gone since it said yes: start one the usual way
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedProcess(pid)
        self.pid = self.pgid = pid  # the child leads its own session
        self.cwd = cwd
        return self.connection_info


class OneRunKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """The kernel manager of a run; see the module's docstring."""

    fork_server: ForkServer | None = None
    """A server of this manager's own (a pool's); else `kernel_forkserver.shared`."""

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        server = self.fork_server or kernel_forkserver.shared()
        if self.provisioner is None and server is not None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(
                server, kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    def client(self, **kwargs: Any) -> Any:
        client = super().client(**kwargs)
        self.__dict__.setdefault("_mcops_clients", []).append(client)
        return client

    def close_clients(self) -> None:
        for client in self.__dict__.pop("_mcops_clients", []):
            with contextlib.suppress(Exception):
                client.stop_channels()
