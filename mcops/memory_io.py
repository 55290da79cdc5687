"""Executed notebooks kept in memory until they are redacted (papermill I/O handler).

papermill writes its output as it goes; writing it to disk first would put an
unredacted notebook (secrets resolved from ``env:``) on disk, even for a moment.
"""

from __future__ import annotations

import uuid

__all__ = ["SCHEME", "new_key", "take"]

SCHEME = "mcops-mem://"


class _MemoryIO:
    """The handler papermill calls for ``mcops-mem://`` paths."""

    store: dict[str, str] = {}

    @classmethod
    def read(cls, path: str) -> str:
        return cls.store[path]

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        cls.store[path] = buf

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        return [key for key in cls.store if key.startswith(path)]

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


_REGISTERED: set[str] = set()


def new_key(name: str) -> str:
    """A fresh in-memory path for the output notebook ``name`` (the handler registered)."""
    if SCHEME not in _REGISTERED:
        from papermill.iorw import papermill_io

        papermill_io.register(SCHEME, _MemoryIO)
        _REGISTERED.add(SCHEME)
    return f"{SCHEME}{uuid.uuid4().hex}/{name}"


def take(key: str) -> str | None:
    """The notebook papermill wrote at ``key``, removed from memory; None if none."""
    return _MemoryIO.store.pop(key, None)
