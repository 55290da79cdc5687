"""The exception tree of mcops. Every error says what was tried and how to fix it.

    McopsError                      root: catch this to handle any mcops failure
    ├── SourceError                 a data source could not answer (carries .source)
    │   ├── SourceUnreachable       refused connection, DNS, timeout
    │   ├── SourceAuthError         401/403, bad password
    │   ├── SourceQueryError        bad PromQL, missing table, SQL error
    │   └── SourceConfigError       malformed URL / log_source / parameter
    ├── ParameterError              a notebook parameter is unknown or of the wrong type
    ├── NotebookFailed              a scenario notebook raised (evidence is still written)
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
    "ActionRefused",
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
]


class McopsError(Exception):
    """Root of every error mcops raises on purpose."""


class SourceError(McopsError):
    """A data source could not answer. `source` names it (e.g. ``prometheus``)."""

    def __init__(self, message: str, *, source: str, target: str = "", fix: str = "") -> None:
        self.source = source
        self.target = target
        self.fix = fix
        full = message if not fix else f"{message} — fix: {fix}"
        super().__init__(full)


class SourceUnreachable(SourceError):
    """Connection refused, name not resolved, or timed out."""


class SourceAuthError(SourceError):
    """The source rejected our credentials."""


class SourceQueryError(SourceError):
    """The source answered, but the query is wrong or names something missing."""


class SourceConfigError(SourceError):
    """The source is described wrongly (malformed URL, unknown log_source scheme)."""


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
