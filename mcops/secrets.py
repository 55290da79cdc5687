"""Secrets in parameters: ``env:NAME`` resolution and redaction of everything we write.

Two rules keep passwords out of evidence:

1. ``env:NAME`` travels unchanged through papermill and is resolved inside the kernel
   (`resolve`), so the injected-parameters cell only ever holds ``env:NAME``.
2. Everything written (notebook, HTML, summary.json, audit log) first goes through a
   `Redactor` that knows every secret value of the run: passwords in parameter URLs,
   resolved ``env:`` values, and parameters named like tokens or passwords. URLs keep
   their shape (``postgresql://ops:***@db/catbird``); bare secrets become ``***``.

Without a run's secrets at hand (error messages, remediation audit records), the
pattern-based redactors apply: `redact_url` for one URL, `redact_text` for URL
passwords, secret query values and ``Bearer`` tokens anywhere in a text, `redact_value`
for JSON-like values. This module is the only place that knows how to mask.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from mcops.errors import ParameterError

__all__ = [
    "MASK",
    "Redactor",
    "is_env_reference",
    "redact_prose",
    "redact_text",
    "redact_url",
    "redact_value",
    "redactor_for",
    "resolve",
    "resolve_all",
    "secret_values",
]

MASK = "***"
ENV_PREFIX = "env:"

#: Bare values shorter than this are only masked inside URLs: replacing a 2-letter
#: password everywhere would shred the evidence without hiding anything useful.
MIN_BARE_SECRET = 4

#: Parameters whose whole value is a secret, whatever it looks like.
_SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|credential)")

#: ``scheme://user:password@`` at the start of a URL urlsplit cannot take apart.
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@]*):(?P<pw>[^@/]*)@")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd|token|access_token|secret)=)[^&#]*")
#: ``scheme://user:password@`` anywhere in a text (redact_url handles whole URLs only).
_USERINFO_ANYWHERE = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"<>]*):(?P<pw>[^\s@/'\"<>]+)@"
)
_QUERY_SECRET_ANYWHERE = re.compile(
    r"(?i)([?&](?:password|passwd|pwd|token|access_token|secret)=)[^&#\s'\"<>]+"
)
#: ``Authorization: Bearer <token>`` as an HTTP error or a traceback may print it. After
#: a bare ``Bearer`` only token-like words (a digit, ``-``, ``_``, an inner ``.``) are
#: masked, so prose such as "the bearer token." in a notebook stays readable.
_BEARER = re.compile(
    r"(?i)(authorization:\s*bearer\s+|\bbearer\s+(?=[a-z]*[0-9_~+/\-]|[a-z]+\.[a-z0-9]))"
    r"[A-Za-z0-9._~+/\-]+=*"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# a secret passed as a command-line flag: ``--password=x``, ``-token x`` (a restart_command)
_FLAG_SECRET = re.compile(
    r"(?i)(--?(?:password|passwd|pwd|token|secret|api[-_]?key)(?:=|\s+))([^\s'\"]+)"
)

#: Output mimetypes holding base64 bytes; masking inside them would corrupt the image.
_BINARY_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf"})


def is_env_reference(value: object) -> bool:
    """True for ``env:NAME`` parameter values."""
    return isinstance(value, str) and value.startswith(ENV_PREFIX) and len(value) > len(ENV_PREFIX)


def resolve(value: Any, *, name: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Return the environment value for ``env:NAME``; any other value unchanged.

    Raises ParameterError naming the parameter and the variable when it is not set.
    """
    if not is_env_reference(value):
        return value
    env = os.environ if environ is None else environ
    var = value[len(ENV_PREFIX) :]
    if var not in env:
        label = f"parameter {name!r}" if name else "a parameter"
        raise ParameterError(
            f"{label} is {value!r} but the environment variable {var} is not set — "
            f"fix: export {var}=... before running, or pass the value directly",
            name=name,
        )
    return env[var]


def resolve_all(
    parameters: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Every ``env:NAME`` value of ``parameters`` resolved (see `resolve`)."""
    return {k: resolve(v, name=k, environ=environ) for k, v in parameters.items()}


def secret_values(
    parameters: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> frozenset[str]:
    """Every secret a run with these parameters could leak.

    Passwords from URLs (plain or behind ``env:``), resolved ``env:`` values (they are
    secret by construction: that is why they were not written inline) and the values of
    parameters named like passwords or tokens. Unset ``env:`` variables are skipped
    here; `resolve` reports them.
    """
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, raw in parameters.items():
        if not isinstance(raw, str) or not raw:
            continue
        value = raw
        if is_env_reference(raw):
            value = env.get(raw[len(ENV_PREFIX) :], "")
            if value:
                found.add(value)
        elif _SECRET_NAME.search(name):
            found.add(value)
        found.update(_url_secrets(value))
    return frozenset(s for s in found if s)


def _url_secrets(value: str) -> set[str]:
    found: set[str] = set()
    for match in _USERINFO_ANYWHERE.finditer(value):
        found.add(match.group("pw"))
    try:
        parts = urlsplit(value)
        if parts.password:
            found.add(parts.password)
    except ValueError:
        pass
    for match in _QUERY_SECRET_ANYWHERE.finditer(value):
        found.add(match.group(0).split("=", 1)[1])
    found.update(match.group(2) for match in _FLAG_SECRET.finditer(value))
    return found | {unquote(s) for s in found}


def _variants(secret: str) -> set[str]:
    """The spellings a secret takes once printed, HTML-escaped, URL-quoted or repr'd."""
    import html

    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        repr(secret)[1:-1],
    }


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
        text = urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))
    else:
        text = _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_text(text: str) -> str:
    """Mask URL passwords, password-like query values and flags, bearer tokens anywhere."""
    text = _USERINFO_ANYWHERE.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    text = _QUERY_SECRET_ANYWHERE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _FLAG_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)


#: ``password=x``, ``PGPASSWORD: x``, ``the token is x`` as a person types them into prose.
_KEYWORD_SECRET = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|pwd|token|secret|api[-_]?key)\b\s*(?:[=:]\s*|\s+is\s+))"
    r"(?!\*\*\*)([^\s'\",;]+)"
)


def redact_prose(text: str) -> str:
    """`redact_text`, plus a value after a secret's name (``password=x``, ``token: x``,
    ``the password is x``): for what people type (an audit reason), not for code."""
    return _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", redact_text(text))


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value with `redact_text` applied to every string in it."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


@dataclass(frozen=True)
class Redactor:
    """Masks a known set of secrets (plus any URL password) in text, JSON and notebooks."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, secrets: Iterable[str]) -> Redactor:
        spellings: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_BARE_SECRET:
                spellings.update(v for v in _variants(secret) if len(v) >= MIN_BARE_SECRET)
        # Longest first, so a secret containing another is masked whole.
        return cls(secrets=tuple(sorted(spellings, key=lambda s: (-len(s), s))))

    def text(self, text: str) -> str:
        """``text`` with every secret masked; ANSI colour codes never split a secret."""
        masked = self._mask(text)
        if self.secrets and "\x1b[" in masked:
            plain = _ANSI.sub("", masked)
            if self.leaks(plain):  # a traceback coloured a secret apart
                masked = self._mask(plain)
        return masked

    def _mask(self, text: str) -> str:
        text = redact_text(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def leaks(self, text: str) -> bool:
        """True when a known secret still occurs in ``text``."""
        return any(secret in text for secret in self.secrets)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with every string masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                key: item if key in _BINARY_MIMETYPES else self.value(item)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    def notebook(self, nb: Any) -> Any:
        """An nbformat notebook with every string masked: sources, outputs, metadata."""
        import nbformat

        return nbformat.from_dict(self.value(dict(nb)))

    def parameter(self, value: Any) -> Any:
        """How a parameter value is shown: ``env:NAME`` as is, URLs with ``***``."""
        if isinstance(value, str) and not is_env_reference(value):
            return self.text(redact_url(value))
        return value


def redactor_for(
    parameters: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    extra: Iterable[str] = (),
) -> Redactor:
    """The Redactor for a run with these parameters (see `secret_values`)."""
    return Redactor.of([*secret_values(parameters, environ=environ), *extra])
