"""The exception tree of mcops. Every error says what was tried and how to fix it.

    McopsError                      root: catch this to handle any mcops failure
    ├── SourceError                 a data source could not answer (carries .source)
    │   ├── SourceUnreachable       refused connection, DNS, timeout (see .state)
    │   ├── SourceAuthError         401/403, bad password
    │   ├── SourceQueryError        bad PromQL, missing table, SQL error
    │   └── SourceConfigError       malformed URL / log_source / parameter
    ├── ParameterError              a notebook parameter is unknown or of the wrong type
    ├── NotebookFailed              a scenario notebook raised (evidence is still written)
    ├── EvidenceUnwritable          disk full, quota, read-only: evidence/report not written
    └── RemediationError            a guarded action refused or failed
        ├── ActionRefused           declined before changing anything (blocked, not reversible)
        ├── StalePlan               the target changed since the plan was made
        ├── ScopeExceeded           the plan touches more than its bound allows
        └── VerificationFailed      the post-apply check did not hold

Subclasses add fields; the message is always complete on its own so that a notebook
can show `str(err)` to an on-call engineer without a traceback.
"""

from __future__ import annotations

__all__ = [
    "SOURCE_STATES",
    "ActionRefused",
    "EvidenceUnwritable",
    "McopsError",
    "NotebookFailed",
    "ParameterError",
    "RemediationError",
    "ScopeExceeded",
    "SourceAuthError",
    "SourceConfigError",
    "SourceError",
    "SourceQueryError",
    "SourceUnreachable",
    "StalePlan",
    "VerificationFailed",
    "connection_state",
]

#: What summary.json says of a source: what happened at its first failed query, or ok.
SOURCE_STATES = (
    "ok",
    "not given",
    "misconfigured",
    "unreachable",
    "refused",
    "timed out",
    "DNS failure",
    "auth",
    "query error",
)


class McopsError(Exception):
    """Root of every error mcops raises on purpose."""


class SourceError(McopsError):
    """A data source could not answer. `source` names it (e.g. ``prometheus``);
    `state` is what happened, one of SOURCE_STATES (summary.json's ``sources``)."""

    default_state = "unreachable"

    def __init__(
        self, message: str, *, source: str, target: str = "", fix: str = "", state: str = ""
    ) -> None:
        self.source = source
        self.target = target
        self.fix = fix
        self.state = state or self.default_state
        full = message if not fix else f"{message} — fix: {fix}"
        super().__init__(full)


class SourceUnreachable(SourceError):
    """Connection refused, name not resolved, or timed out (``state`` says which)."""


class SourceAuthError(SourceError):
    """The source rejected our credentials."""

    default_state = "auth"


class SourceQueryError(SourceError):
    """The source answered, but the query is wrong or names something missing."""

    default_state = "query error"


class SourceConfigError(SourceError):
    """The source is described wrongly (malformed URL, unknown log_source scheme)."""

    default_state = "misconfigured"


_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "could not translate host name",
    "failed to resolve",
    "getaddrinfo failed",
    "no address associated",
)


def connection_state(err: BaseException) -> str:
    """``timed out``, ``DNS failure``, ``refused`` or ``unreachable`` for a failed connect.

    Clients wrap the socket error differently (requests in urllib3's MaxRetryError,
    httpx in ConnectError, psycopg in OperationalError text), so the whole chain of
    causes, reasons and messages is read.
    """
    import socket

    seen: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo and len(seen) < 20:
        current = todo.pop()
        if any(current is done for done in seen):
            continue
        seen.append(current)
        todo += [
            e
            for e in (
                current.__cause__,
                current.__context__,
                getattr(current, "reason", None),
                getattr(current, "orig", None),
                *getattr(current, "args", ()),
            )
            if isinstance(e, BaseException)
        ]
    text = " ".join(str(e) for e in seen).lower()
    if (
        any(isinstance(e, TimeoutError | socket.timeout) for e in seen)
        or any("timeout" in type(e).__name__.lower() for e in seen)
        or "timed out" in text
        or "timeout expired" in text
    ):
        return "timed out"
    if any(isinstance(e, socket.gaierror) for e in seen) or any(t in text for t in _DNS_TEXT):
        return "DNS failure"
    if any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text:
        return "refused"
    return "unreachable"


class ParameterError(McopsError, ValueError):
    """A notebook parameter is unknown, malformed, or of the wrong type."""

    def __init__(self, message: str, *, name: str = "") -> None:
        self.name = name
        super().__init__(message)


class NotebookFailed(McopsError):
    """A scenario notebook raised; `cell` and `error` say where and what."""

    def __init__(self, message: str, *, cell: int | None = None, error: str = "") -> None:
        self.cell = cell
        self.error = error
        super().__init__(message)


class EvidenceUnwritable(McopsError):
    """Evidence, a report or a postmortem cannot be written where asked: the disk is full
    (ENOSPC), the quota is used up (EDQUOT), the filesystem is read-only (EROFS) or the
    directory is not writable. `path` is what could not be written, `errno` why."""

    def __init__(self, message: str, *, path: str = "", errno: int | None = None) -> None:
        self.path = path
        self.errno = errno
        super().__init__(message)


class RemediationError(McopsError):
    """A guarded action refused to run or failed; nothing beyond `changed` was touched."""

    def __init__(self, message: str, *, action: str = "", changed: int = 0) -> None:
        self.action = action
        self.changed = changed
        super().__init__(message)


class ActionRefused(RemediationError):
    """The action declined before changing anything (blocked plan, undo not possible)."""


class StalePlan(RemediationError):
    """The target changed since the plan was made; make a new plan."""


class ScopeExceeded(RemediationError):
    """The plan would touch more rows/replicas than its bound allows."""


class VerificationFailed(RemediationError):
    """After applying, the verification query did not show the expected state."""
