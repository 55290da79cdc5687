"""Writing evidence when the disk may be full: check first, write whole files, say why.

A full disk (ENOSPC), a used-up quota (EDQUOT) or a read-only filesystem (EROFS) must
cost the user one line that names the problem, the path and the fix — never a
traceback, never half a file that reads as evidence:

- `check_room` before a kernel starts: the directory is created, a small probe is
  written and removed, and `MIN_FREE` bytes must be free, so a full disk is said in a
  second, not after the notebook ran;
- `write_atomic` writes a hidden sibling, fsyncs it and renames it over the file: a
  reader sees the old file or the new one, never a part; on failure the sibling is
  removed and the old file is untouched;
- `storage_errors` turns an OSError of the disk into `EvidenceUnwritable` with that line;
  `describe` writes the line (the CLI uses it for any such OSError that escapes).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mcops.errors import EvidenceUnwritable

__all__ = [
    "DISK_ERRNOS",
    "EVIDENCE_ELSEWHERE",
    "MIN_FREE",
    "check_room",
    "describe",
    "free_bytes",
    "mount_point",
    "storage_errors",
    "write_atomic",
]

#: The errors a disk gives that another path (or freeing space) fixes.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

#: Bytes that must be free before a run starts: an executed notebook and its HTML take a
#: few hundred KB (plotly.min.js, 4.8 MB once per directory, may still fill a disk later).
MIN_FREE = 1 << 20

#: The fix `mcops run` and `mcops report` offer besides freeing space.
EVIDENCE_ELSEWHERE = "pass another --out DIR"

_PROBE = b"mcops: can evidence be written here?\n" * 100  # ~4 KB: one filesystem block


def mount_point(path: str | os.PathLike[str]) -> Path:
    """The mount point of the filesystem ``path`` is (or would be) on."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes an unprivileged user may still write on ``path``'s filesystem; None unknown."""
    try:
        stat = os.statvfs(mount_point(path))
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def _size(n: int) -> str:
    if n < 1 << 10:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / (1 << 10):.0f} KiB"
    if n < 1 << 30:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / (1 << 30):.1f} GiB"


def describe(
    err: OSError, path: str | os.PathLike[str] | None, *, elsewhere: str, what: str = ""
) -> str:
    """One line: what the disk said, the path (``what`` names it: "the audit log"), the
    space left and the fix; ``elsewhere`` is the other way out: ``pass another --out DIR``.
    """
    target = str(path or err.filename or "")
    mount = mount_point(target or ".")
    free = free_bytes(mount)
    room = f" ({_size(free)} free on {mount})" if free is not None else ""
    code = err.errno
    if code == errno.ENOSPC:
        problem, fix = "no space left on device", f"free space on {mount}"
    elif code == errno.EDQUOT:
        problem, fix = "disk quota exceeded", f"free space in your quota on {mount}"
    elif code == errno.EROFS:
        problem, fix, room = "read-only file system", f"remount {mount} read-write", ""
    elif code in (errno.EEXIST, errno.ENOTDIR):  # a file where a directory should be
        problem, fix, room = "not a directory", "move the file in the way", ""
    else:
        problem = (err.strerror or type(err).__name__).lower()
        fix, room = f"make {Path(target).parent if target else mount} writable", ""
    name = f"{what} {target}" if what else target
    return f"{problem}: cannot write {name}{room} — fix: {fix} or {elsewhere}"


@contextmanager
def storage_errors(where: str | os.PathLike[str], *, elsewhere: str) -> Iterator[None]:
    """Raise `EvidenceUnwritable` for a full disk, quota or read-only filesystem met
    inside the block; ``where`` names the place when the OSError names no file."""
    try:
        yield
    except OSError as err:
        if err.errno not in DISK_ERRNOS:
            raise
        path = str(err.filename or where)
        raise EvidenceUnwritable(
            describe(err, path, elsewhere=elsewhere), path=path, errno=err.errno
        ) from err


def check_room(
    directory: str | os.PathLike[str], *, elsewhere: str = EVIDENCE_ELSEWHERE, need: int = MIN_FREE
) -> Path:
    """Create ``directory`` and prove it takes a file and has ``need`` bytes free, or raise
    `EvidenceUnwritable` (and leave no directory behind that this call created)."""
    directory = Path(directory)
    created = _missing_ancestors(directory)
    probe = directory / f".mcops-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_atomic(probe, _PROBE)
        except OSError as err:
            raise EvidenceUnwritable(
                describe(err, directory, elsewhere=elsewhere), path=str(directory), errno=err.errno
            ) from err
        finally:
            with suppress(OSError):
                probe.unlink(missing_ok=True)
        free = free_bytes(directory)
        if free is not None and free < need:
            mount = mount_point(directory)
            raise EvidenceUnwritable(
                f"no space left on device for {directory}: {_size(free)} free on {mount}, "
                f"a run needs {_size(need)} — fix: free space on {mount} or {elsewhere}",
                path=str(directory),
                errno=errno.ENOSPC,
            )
    except EvidenceUnwritable:
        for path in created:  # deepest first; never a directory someone else filled
            with suppress(OSError):
                path.rmdir()
        raise
    return directory


def _missing_ancestors(directory: Path) -> list[Path]:
    """``directory`` and its parents that do not exist yet, deepest first."""
    missing = []
    current = Path(os.path.abspath(directory))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, durable: bool = True) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all.

    ``durable`` fsyncs before the rename (a few ms on a real disk), so a crash right after
    leaves the new file, not an empty one; a file rewritten at every step may skip it. The
    OSError of a failed write names ``path`` (a write to an open file names none).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as err:
        with suppress(OSError):
            temporary.unlink()
        if err.filename is None or err.filename == str(temporary):
            err.filename = str(path)
        raise
    return path
