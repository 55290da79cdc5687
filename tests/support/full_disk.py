"""A real, small filesystem that is full: a tmpfs mounted for one test, then filled.

Not a mock: the kernel answers ENOSPC exactly as a full production disk does (creating
a directory or an empty file still works, the first byte written fails). Mounting needs
root (CAP_SYS_ADMIN); elsewhere the tests that use it skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["FILLER", "fill", "full_disk", "tmpfs"]

#: The file `fill` writes until the disk says ENOSPC.
FILLER = "filler.bin"

_NEED = "needs root to mount a tmpfs (mount -t tmpfs) for a real full filesystem"


@contextmanager
def tmpfs(where: Path, *, size: str = "256k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``where`` for the block; always unmounted after,
    also when the test fails. Skips the test when mounting is not permitted here."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(f"{_NEED}; run the suite as root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"{_NEED}; mount said: {mounted.stderr.strip() or mounted.returncode}")
    try:
        assert os.path.ismount(where), f"{where} is not a mount point after mount"
        yield where
    finally:
        _unmount(where)


def _unmount(where: Path) -> None:
    """Unmount ``where``; a process still holding a file there gets a lazy unmount."""
    done = subprocess.run(["umount", str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=True)
    assert not os.path.ismount(where), f"{where} is still mounted"


def fill(where: Path) -> Path:
    """Write ``where/FILLER`` until the filesystem answers ENOSPC; return it."""
    path = where / FILLER
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for chunk in (block, b"\0"):  # whole blocks, then what a last partial block takes
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as err:
                    if err.errno != 28:  # ENOSPC
                        raise
                    break
    finally:
        os.close(fd)
    assert os.statvfs(where).f_bavail == 0, f"{where} still has free blocks"
    return path


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A mounted 256 KiB tmpfs with no byte free; unmounted after the test."""
    with tmpfs(tmp_path / "full") as where:
        fill(where)
        yield where
