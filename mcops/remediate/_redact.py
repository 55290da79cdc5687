"""Passwords out of anything we write: the project's redaction plus bearer tokens.

URL passwords and secret query values are masked by `mcops.secrets.redact_text` /
`mcops.redact.redact_url` (shared with the runner); admin-API errors can also carry an
``Authorization: Bearer ...`` header, which is masked here.
"""

from __future__ import annotations

import re
from typing import Any

from mcops.redact import redact_url
from mcops.secrets import redact_text as _redact_urls_in_text

__all__ = ["redact_text", "redact_url", "redact_value"]

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-]+=*")


def redact_text(text: str) -> str:
    """Every URL password, secret query value and bearer token in `text` as ``***``."""
    return _BEARER.sub(r"\1***", _redact_urls_in_text(text))


def redact_value(value: Any) -> Any:
    """Recursively redact strings inside JSON-like values."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
