"""Evidence directories read back for a postmortem: each run's summary, audit and files.

A directory is evidence when `mcops run` wrote it: it holds ``summary.json`` (and
``audit.jsonl`` when anything was applied). Anything else is refused with one sentence
naming the directory and the fix, before any postmortem is drafted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from mcops.errors import ParameterError
from mcops.utc import to_utc

__all__ = [
    "Attachment",
    "EvidenceRun",
    "attachments",
    "parse_dirs",
    "parse_time",
    "read_run",
    "read_runs",
]

SUMMARY = "summary.json"
AUDIT_LOG = "audit.jsonl"
MANIFEST = "manifest.json"


class EvidenceRun(NamedTuple):
    """One `mcops run` as its evidence directory tells it."""

    path: Path
    """The evidence directory."""
    summary: Mapping[str, Any]
    """summary.json as written."""
    audit: tuple[Mapping[str, Any], ...]
    """audit.jsonl's records, oldest first (empty when nothing was applied)."""

    @property
    def scenario(self) -> str:
        return str(self.summary.get("scenario") or self.path.name)

    @property
    def started_at(self) -> datetime:
        started = parse_time(self.summary.get("started_at"))
        assert started is not None  # read_run refuses a summary without it
        return started

    @property
    def finished_at(self) -> datetime:
        return parse_time(self.summary.get("finished_at")) or self.started_at

    @property
    def findings(self) -> list[Mapping[str, Any]]:
        return [f for f in self.summary.get("findings") or [] if isinstance(f, Mapping)]

    @property
    def remediations(self) -> list[Mapping[str, Any]]:
        return [r for r in self.summary.get("remediations") or [] if isinstance(r, Mapping)]

    @property
    def severity(self) -> Mapping[str, Any] | None:
        severity = self.summary.get("severity")
        return severity if isinstance(severity, Mapping) else None

    @property
    def parameters(self) -> Mapping[str, Any]:
        parameters = self.summary.get("parameters")
        return parameters if isinstance(parameters, Mapping) else {}

    @property
    def incident_started(self) -> datetime | None:
        """The ``incident_started`` parameter (the alert's startsAt), when given."""
        return parse_time(self.parameters.get("incident_started"))

    @property
    def label(self) -> str:
        """How the postmortem names this run: scenario and evidence folder."""
        return f"{self.scenario} ({self.path.name})"


class Attachment(NamedTuple):
    """One file of the evidence, hashed so the postmortem can be checked against it."""

    name: str
    """``EVIDENCE_DIR_NAME/relative/path``."""
    sha256: str
    size: int
    """Bytes."""
    sealed: bool | None = None
    """Against the directory's ``manifest.json``: True the same hash, False changed since
    it was sealed, None not sealed (no manifest, or a file it does not list)."""


def parse_time(value: Any) -> datetime | None:
    """An ISO time from summary.json or a parameter, in UTC; None when empty or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        return to_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def parse_dirs(
    value: str | Sequence[str | os.PathLike[str]], *, base: Path | None = None
) -> list[Path]:
    """Evidence directories from ``"a,b"`` or a list; relative paths that do not exist
    here are tried against ``base`` (where the user started `mcops run`)."""
    items = value.split(",") if isinstance(value, str) else [os.fspath(v) for v in value]
    paths = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        path = Path(item).expanduser()
        if not path.is_absolute() and not path.exists() and base is not None:
            path = base / path
        paths.append(path)
    if not paths:
        raise ParameterError(
            "no evidence directory given — fix: name one or more directories `mcops run` "
            "wrote, e.g. evidence_dirs='evidence/run-1,evidence/run-2'",
            name="evidence_dirs",
        )
    return paths


def read_run(path: Path) -> EvidenceRun:
    """Read one evidence directory; ParameterError (one sentence, with the fix) if it is not."""
    fix = "fix: pass a directory written by `mcops run SCENARIO --out DIR`"
    if not path.is_dir():
        raise ParameterError(f"{path} is not a directory — {fix}", name="evidence_dirs")
    summary_path = path / SUMMARY
    if not summary_path.is_file():
        raise ParameterError(
            f"{path} has no {SUMMARY}, so it is not evidence — {fix}", name="evidence_dirs"
        )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(
            f"{summary_path} is not valid JSON ({exc}) — {fix}", name="evidence_dirs"
        ) from None
    if not isinstance(summary, dict) or parse_time(summary.get("started_at")) is None:
        raise ParameterError(
            f"{summary_path} has no readable started_at, so its run cannot be placed in "
            f"time — {fix}",
            name="evidence_dirs",
        )
    return EvidenceRun(path, summary, _audit(path / AUDIT_LOG))


def read_runs(paths: Sequence[Path]) -> list[EvidenceRun]:
    """Every directory read (the first bad one refused), in the order the runs started."""
    runs = [read_run(Path(p)) for p in paths]
    seen: set[Path] = set()
    unique = []
    for run in runs:
        key = run.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(run)
    return sorted(unique, key=lambda r: (r.started_at, r.finished_at, str(r.path)))


def attachments(run: EvidenceRun) -> list[Attachment]:
    """Every file of the evidence directory (recursively), with its SHA-256, checked
    against the directory's ``manifest.json`` when it has one."""
    sealed = _manifest(run.path / MANIFEST)
    out = []
    for path in sorted(p for p in run.path.rglob("*") if p.is_file()):
        relative = path.relative_to(run.path).as_posix()
        digest = _sha256(path)
        recorded = sealed.get(relative)
        out.append(
            Attachment(
                f"{run.path.name}/{relative}",
                digest,
                path.stat().st_size,
                None if recorded is None else recorded == digest,
            )
        )
    return out


def _manifest(path: Path) -> dict[str, str]:
    """``files`` of manifest.json (relative path → SHA-256); empty when there is none."""
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _audit(path: Path) -> tuple[Mapping[str, Any], ...]:
    """audit.jsonl's records; a line that is not JSON is kept as its text (evidence)."""
    if not path.is_file():
        return ()
    records: list[Mapping[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = {"action": "?", "result": "unreadable", "error": line[:200]}
        if isinstance(record, dict):
            records.append(record)
    return tuple(_settled(records))


def _settled(records: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each step's outcome; a write-ahead ``intent`` only when no outcome followed it —
    then it is a change that was under way when the process stopped (``interrupted``)."""

    def key(record: Mapping[str, Any]) -> tuple[Any, ...]:
        return (record.get("action"), record.get("plan_hash"), record.get("mode"))

    settled: list[Mapping[str, Any]] = []
    for i, record in enumerate(records):
        if record.get("result") != "intent":
            settled.append(record)
        elif not any(
            r.get("result") != "intent" and key(r) == key(record) for r in records[i + 1 :]
        ):
            why = "an intent with no outcome: the change was under way when the process stopped"
            settled.append({**record, "result": "interrupted", "error": f"{why}; check the target"})
    return settled
