"""Hide secrets in URLs before they reach a message, a notebook or summary.json."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact_url"]

# scheme://user:password@host — also for URLs urlsplit cannot take apart.
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@]*):(?P<pw>[^@/]*)@")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd|token|access_token|secret)=)[^&#]*")


def redact_url(url: str) -> str:
    """A URL's password becomes ``***``: ``postgresql://ops:***@db/catbird``.

    Also masks ``?password=`` / ``?token=`` query values. Anything that is not a URL
    is returned unchanged, so this is safe to apply to every string parameter.
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        text = urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    else:
        text = _USERINFO.sub(lambda m: f"{m.group('head')}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}***", text)
