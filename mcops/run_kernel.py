"""The kernel a run executes in: a cold one it starts, or a warm one from a pool.

Either way the kernel sees where evidence goes (``MCOPS_EVIDENCE_DIR`` for backups,
``MCOPS_AUDIT_LOG`` for audit records) and our own mcops first on its path, and the
executed notebook stays in memory (`mcops.memory_io`): the unredacted notebook never
touches the disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import mcops
from mcops import memory_io

if TYPE_CHECKING:
    from mcops.kernel_pool import KernelPool

__all__ = [
    "AUDIT_LOG",
    "AUDIT_LOG_ENV",
    "CELL_TIMEOUT",
    "EVIDENCE_DIR_ENV",
    "KERNEL",
    "environment_set",
    "execute",
    "kernel_pool",
    "kernel_pythonpath",
]

EVIDENCE_DIR_ENV = "MCOPS_EVIDENCE_DIR"
AUDIT_LOG_ENV = "MCOPS_AUDIT_LOG"
AUDIT_LOG = "audit.jsonl"
KERNEL = "python3"

#: Seconds one cell may run before the run fails (papermill ``execution_timeout``).
CELL_TIMEOUT = 300.0
_LATE = (
    "a cell ran longer than {} s and was stopped (a source that blocks?) — fix: check "
    "the sources, or give more time with --cell-timeout SECONDS"
)


def kernel_pool(size: int = 1) -> KernelPool:
    """A pool of `size` warm kernels of the kind runs use, with our own mcops first."""
    from mcops.kernel_pool import KernelPool

    return KernelPool(size, kernel_name=KERNEL, environment={"PYTHONPATH": kernel_pythonpath()})


class Failure(NamedTuple):
    ename: str
    evalue: str


def execute(
    notebook: Path,
    given: Mapping[str, Any],
    *,
    out: Path,
    kernel_name: str,
    progress: bool,
    timeout: float | None = CELL_TIMEOUT,
    kernels: KernelPool | None = None,
) -> tuple[Any, Failure | None]:
    """Run papermill into memory; return the executed notebook (or None) and the failure."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from mcops.kernel_launch import OneRunKernelManager
    from mcops.kernel_pool import KERNEL_ARGUMENTS
    from mcops.papermill_engine import ENGINE

    key = memory_io.new_key(notebook.name)
    failure: Failure | None = None
    warm = kernels if kernels is not None and kernels.kernel_name == kernel_name else None
    kernel = None
    try:
        if warm is not None:  # the kernel moves to the run's directory and environment
            kernel = warm.take(cwd=notebook.parent, environment=_kernel_variables(out))
            where: dict[str, Any] = {"km": kernel.manager}
        else:  # a cold kernel inherits them; forked when a fork server is shared
            where = {
                "cwd": str(notebook.parent),
                "extra_arguments": list(KERNEL_ARGUMENTS),
                "kernel_manager_class": OneRunKernelManager,
            }
        with _kernel_environment(out) if warm is None else nullcontext():
            papermill.execute_notebook(
                str(notebook),
                key,
                parameters=dict(given),
                kernel_name=kernel_name,
                progress_bar=progress,
                log_output=False,
                # saved once, when the run ends however it ends: a timeout keeps what ran
                engine_name=ENGINE,
                request_save_on_cell_execute=True,
                execution_timeout=timeout,  # a blocked source must not hang the run
                **where,
            )
    except PapermillExecutionError as exc:
        failure = Failure(str(exc.ename), str(exc.evalue))
    except Exception as exc:  # dead kernel, timeout: still write what we have
        late = "timeout" in type(exc).__name__.lower()  # nbclient's CellTimeoutError
        failure = Failure(type(exc).__name__, _LATE.format(timeout) if late else str(exc))
    finally:
        if kernel is not None and warm is not None:
            warm.discard(kernel)  # one run per kernel: nothing reaches the next run
    text = memory_io.take(key)
    return (nbformat.reads(text, as_version=4) if text else None), failure


def _kernel_environment(out: Path) -> AbstractContextManager[None]:
    """Environment a cold kernel inherits: where evidence goes, and our own mcops first."""
    return environment_set({**_kernel_variables(out), "PYTHONPATH": kernel_pythonpath()})


@contextmanager
def environment_set(updates: Mapping[str, str]) -> Iterator[None]:
    """``updates`` in this process's environment (which a cold kernel inherits), and
    every variable as it was afterwards."""
    saved = {name: os.environ.get(name) for name in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _kernel_variables(out: Path) -> dict[str, str]:
    """Where the kernel's remediations put backups and audit records."""
    return {
        EVIDENCE_DIR_ENV: str(out.resolve()),
        AUDIT_LOG_ENV: str((out / AUDIT_LOG).resolve()),
    }


def kernel_pythonpath() -> str:
    """``PYTHONPATH`` with our own mcops first (once: a kernel fork server compares it)."""
    root = str(Path(mcops.__file__).resolve().parent.parent)
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return os.pathsep.join([root, *rest])
