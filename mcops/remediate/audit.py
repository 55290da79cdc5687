"""The append-only audit log: one JSON line per guarded step, written even on failure.

Where it goes, first match wins: an explicit path, ``$MCOPS_AUDIT_LOG`` (the runner
points it into the evidence directory), ``$MCOPS_EVIDENCE_DIR/audit.jsonl``, and
``./mcops-audit.jsonl`` as a last resort — an action never runs unaudited.

Write-ahead: an action appends an ``intent`` record before it changes anything and its
outcome (``ok``, ``failed``) after; an intent without an outcome is a change that was
under way when the process died. `outcomes` reads the log without the intents.

A record is on disk whole or not at all: a write that fails half-way (a full disk) is
cut back, so the records before it still read, and the error names the disk and the fix.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcops.errors import ActionRefused, RemediationError
from mcops.jsonable import dumps
from mcops.secrets import redact_prose, redact_value
from mcops.storage import DISK_ERRNOS, describe
from mcops.utc import now

__all__ = ["AuditLog", "AuditRecord", "AuditUnwritable", "operator", "resolve_audit_path"]

AUDIT_ENV = "MCOPS_AUDIT_LOG"
EVIDENCE_ENV = "MCOPS_EVIDENCE_DIR"
_ELSEWHERE = "point --audit-log / $MCOPS_AUDIT_LOG at a writable file"


def operator() -> str:
    """Who is acting: ``$MCOPS_OPERATOR`` (set by chat-ops, CI) or the login name."""
    return os.environ.get("MCOPS_OPERATOR") or getpass.getuser()


def resolve_audit_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The audit file this process appends to (see the module docstring for the order)."""
    if path is not None:
        return Path(path)
    if os.environ.get(AUDIT_ENV):
        return Path(os.environ[AUDIT_ENV])
    if os.environ.get(EVIDENCE_ENV):
        return Path(os.environ[EVIDENCE_ENV]) / "audit.jsonl"
    return Path("mcops-audit.jsonl")


@dataclass(frozen=True)
class AuditRecord:
    """One step of one action. `result` is ``intent`` (written before the change),
    ``ok``, ``failed`` or ``refused``."""

    action: str
    target: str
    mode: str  # "apply" | "undo"
    result: str
    plan_hash: str
    reason: str = ""
    who: str = field(default_factory=operator)
    when: str = field(default_factory=lambda: now().isoformat())
    changed: int = 0
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    backup: str | None = None
    error: str | None = None


class AuditUnwritable(ActionRefused):
    """The write-ahead intent could not be written, so nothing was attempted."""


class AuditLog:
    """Appends redacted records to one JSONL file; never rewrites it."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._explicit = path

    @property
    def path(self) -> Path:
        """Resolved at each write, so a runner may set the environment after construction."""
        return resolve_audit_path(self._explicit)

    def append(self, record: AuditRecord) -> Path:
        """Write one line and fsync it: a crash right after must not lose the record."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(record)
        data["reason"] = redact_prose(data["reason"])  # typed by a person: "password=..."
        payload = (dumps(redact_value(data)) + "\n").encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.fstat(fd).st_size
            written = 0
            try:
                while written < len(payload):
                    written += os.write(fd, payload[written:])
                os.fsync(fd)
            except OSError as err:
                if os.fstat(fd).st_size == start + written:  # nobody appended after us
                    os.ftruncate(fd, start)  # no half record before the next one
                err.filename = err.filename or str(path)
                raise
        finally:
            os.close(fd)
        return path

    def append_intent(self, record: AuditRecord) -> None:
        """Write-ahead: append the intent, or refuse the change (`AuditUnwritable`)."""
        try:
            self.append(record)
        except OSError as err:
            if err.errno in DISK_ERRNOS:  # full, over quota, read-only: name the disk
                elsewhere = f"{_ELSEWHERE} on another disk"
                why = describe(err, self.path, elsewhere=elsewhere, what="the audit log")
                message = f"nothing was changed: {why}"
            else:
                message = (
                    f"nothing was changed: the audit log {self.path} cannot be written "
                    f"({err.strerror or err}) — fix: make it writable or {_ELSEWHERE}"
                )
            raise AuditUnwritable(
                f"{record.action} {record.mode} refused, {message}", action=record.action
            ) from err

    def append_outcome(self, record: AuditRecord) -> None:
        """Append what happened; an outcome that cannot be written is said, not hidden."""
        try:
            self.append(record)
        except OSError as err:
            raise RemediationError(
                f"{record.action} {record.mode} {record.result} ({record.changed} changed) "
                f"but its outcome could not be written to the audit log {self.path} "
                f"({err.strerror or err}); the intent record written before the change, if "
                "any, stands — record the outcome by hand",
                action=record.action,
                changed=record.changed,
            ) from err

    def records(self) -> list[dict[str, Any]]:
        """Every record so far, oldest first (for notebooks and tests)."""
        path = self.path
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def outcomes(self) -> list[dict[str, Any]]:
        """Every record but the write-ahead ``intent`` ones: what each step ended as."""
        return [r for r in self.records() if r.get("result") != "intent"]
