"""``manifest.json``: the SHA-256 of every file in an evidence directory, and its check.

The runner seals a directory last, once everything else is written (`seal`); `verify`
(``mcops verify DIR``) later says which files changed, went missing or were added, so
a postmortem can tell whether the evidence it cites is the evidence that was written.

``manifest.json``::

    {"algorithm": "sha256", "created_at": ISO,
     "files": {"summary.json": "<hex>", "data/duplicate_epochs.parquet": "<hex>", ...}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

from mcops.errors import McopsError
from mcops.storage import write_atomic
from mcops.utc import iso_now

__all__ = ["MANIFEST", "Drift", "digests", "seal", "verify"]

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class Drift(NamedTuple):
    """How a directory differs from its manifest (all empty: it does not)."""

    changed: tuple[str, ...]
    """Files whose SHA-256 is not the recorded one."""
    missing: tuple[str, ...]
    """Files the manifest lists that are gone."""
    extra: tuple[str, ...]
    """Files the manifest does not list."""

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        """One line per file: ``changed: data/x.parquet``."""
        kinds = {"changed": self.changed, "missing": self.missing, "extra": self.extra}
        return [f"{what}: {name}" for what, names in kinds.items() for name in names]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def digests(out: Path) -> dict[str, str]:
    """Relative POSIX path → SHA-256 of every file under ``out`` but the manifest."""
    root = Path(out)
    return {
        path.relative_to(root).as_posix(): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST
    }


def seal(out: Path) -> Path:
    """Write ``out/manifest.json`` for the files there now; call it after the last write."""
    path = Path(out) / MANIFEST
    manifest = {"algorithm": "sha256", "created_at": iso_now(), "files": digests(out)}
    write_atomic(path, json.dumps(manifest, indent=2) + "\n")
    return path


def verify(out: Path) -> Drift:
    """Compare ``out`` with its manifest; McopsError when it has none (or not one we read)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise McopsError(
            f"{out} has no {MANIFEST} — fix: point at an evidence directory written by "
            "`mcops run` (older runs have no manifest; their files cannot be verified)"
        )
    try:
        recorded = dict(json.loads(path.read_text(encoding="utf-8"))["files"])
    except (ValueError, KeyError, TypeError) as err:
        raise McopsError(
            f"{path} is not a manifest mcops can read ({type(err).__name__}: {err}) — fix: "
            "it was damaged; the directory cannot be verified"
        ) from None
    found = digests(out)
    return Drift(
        changed=tuple(n for n in recorded if n in found and found[n] != recorded[n]),
        missing=tuple(n for n in recorded if n not in found),
        extra=tuple(n for n in found if n not in recorded),
    )
