"""Scenario parameters: the common set, papermill's value parsing, and type checks.

papermill only logs unknown parameter names and never checks types, so a typo in a
scheduled job silently runs with defaults. We check every given name against the
notebook's parameters cell (`papermill.inspect_notebook`), every value against the
type of its declared default, and the values whose shape is known (URLs, windows,
times, enumerations, log sources) with the parsers the kernel would use — before any
kernel starts, so a typo costs a line, not a 20-second kernel start.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mcops.errors import ParameterError

__all__ = [
    "COMMON_PARAMETERS",
    "SOURCE_PARAMETERS",
    "Parameter",
    "check_parameters",
    "describe_notebook",
    "missing_common",
    "parse_assignment",
    "parse_assignments",
    "parse_value",
]


class Parameter(NamedTuple):
    """One declared notebook parameter, as `mcops list` shows it."""

    name: str
    """The variable name in the parameters cell."""
    type_name: str
    """``str``, ``int``, ``float``, ``bool``, ``list``, ``dict`` or ``any`` (default None)."""
    default: str
    """The default exactly as written in the notebook."""
    help: str
    """The comment after the assignment."""


#: Every scenario notebook declares these (DESIGN.md "Common parameters"), with these
#: types; the alert receiver and report sets rely on running any scenario with them.
COMMON_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("service_url", "str", '""', "base URL of the service (/health, /metrics)"),
    Parameter("prometheus_url", "str", '""', "Prometheus base URL; empty: scrape service_url"),
    Parameter("database_url", "str", '""', "SQLAlchemy URL; env:NAME reads it from the env"),
    Parameter("log_source", "str", '""', "file:PATH, docker:CONTAINER or k8s:NS/SELECTOR"),
    Parameter("namespace", "str", '"default"', "Kubernetes namespace"),
    Parameter("deployment", "str", '""', "Kubernetes deployment name"),
    Parameter("platform", "str", '"local"', "local or kubernetes"),
    Parameter("window", "str", '"1h"', "how far back to look, e.g. 15m, 1h, 2d"),
    Parameter("until", "str", '""', "end of the window, ISO time; empty: now"),
    Parameter("convo_id", "str", '""', "conversation id to focus on"),
    Parameter("meeting_id", "str", '""', "meeting id to focus on"),
    Parameter("mc_id", "str", '""', "meeting controller id to focus on"),
    Parameter("apply_remediation", "bool", "False", "True: apply remediations (else plan)"),
    Parameter("admin_token", "str", '""', "server admin API token, e.g. env:MCOPS_ADMIN_TOKEN"),
    Parameter("thresholds_file", "str", '""', "YAML overriding mcops/thresholds.yaml"),
    Parameter("severity_scheme", "str", '"SEV"', "SEV (runbook 000) or P (runbook 004)"),
    Parameter("incident_started", "str", '""', "ISO time the incident began (alert startsAt)"),
    Parameter("security_suspected", "bool", "False", "True: a security breach is suspected"),
)

#: The common parameters that name what to investigate: all empty, nothing can be checked
#: (the running lab fills them: `mcops run --lab`, `mcops.notebook.lab_fallback`).
SOURCE_PARAMETERS: tuple[str, ...] = ("service_url", "prometheus_url", "database_url", "log_source")

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def parse_value(text: str) -> Any:
    """Parse a ``-p`` value exactly as papermill's CLI does (``5`` → int, ``True`` → bool)."""
    from papermill.cli import _resolve_type  # papermill's own rule, so both CLIs agree

    return _resolve_type(text)


def parse_assignment(text: str, *, raw: bool = False) -> tuple[str, Any]:
    """``"n=5"`` → ``("n", 5)``; with ``raw`` the value stays a string (papermill ``-r``)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(
            f"cannot read parameter {text!r} — fix: write NAME=VALUE, e.g. -p window=1h",
            name=name,
        )
    return name, value if raw else parse_value(value)


def parse_assignments(parsed: Sequence[str], raw: Sequence[str] = ()) -> dict[str, Any]:
    """``-p NAME=VALUE`` (parsed as papermill does) then ``-r NAME=VALUE`` (kept as text)."""
    pairs = [parse_assignment(t) for t in parsed] + [parse_assignment(t, raw=True) for t in raw]
    return dict(pairs)


def describe_notebook(path: Path) -> dict[str, Parameter]:
    """The parameters a notebook declares, with the type its default implies."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    return {
        name: Parameter(name, _type_name(info), str(info["default"]), str(info.get("help", "")))
        for name, info in declared.items()
    }


def missing_common(declared: Mapping[str, Parameter]) -> list[str]:
    """Names of the common parameters a notebook fails to declare."""
    return [p.name for p in COMMON_PARAMETERS if p.name not in declared]


def check_parameters(
    given: Mapping[str, Any], declared: Mapping[str, Parameter], *, scenario: str
) -> dict[str, Any]:
    """Return ``given`` if every name is declared and every value has the declared type.

    ``int`` values for ``float`` parameters are widened; ``env:NAME`` is accepted for
    any ``str`` parameter (it is resolved in the kernel). Raises ParameterError.
    """
    checked: dict[str, Any] = {}
    for name, value in given.items():
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(declared)) or "(none)"
            raise ParameterError(
                f"scenario {scenario!r} has no parameter {name!r} — fix: use one of: {known} "
                f"(see `mcops list`)",
                name=name,
            )
        checked[name] = _check_type(spec, value)
        if isinstance(value, str):
            _check_value(name, _resolved(value).strip())
    return checked


def _resolved(value: str) -> str:
    """An ``env:NAME`` value as the kernel will see it (unset: judged later, by the runner,
    which names the variable); the value is never echoed unmasked."""
    import os

    if value.startswith("env:"):
        return os.environ.get(value[4:], "")
    return value


_CHOICES: Mapping[str, tuple[str, ...]] = {
    "severity_scheme": ("SEV", "P"),
    "platform": ("local", "kubernetes"),
}


def _check_value(name: str, value: str) -> None:
    """The shape of a known parameter's value; ParameterError naming the fix."""
    if not value:
        return
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ParameterError(
                f"{name}={value!r} is not one of {' or '.join(_CHOICES[name])} — fix: "
                f"-p {name}={_CHOICES[name][0]}",
                name=name,
            )
    elif name == "window":
        from mcops.durations import parse_positive_duration

        parse_positive_duration(value, name=name)
    elif name in ("until", "incident_started"):
        from mcops.sources.timewindow import resolve_until

        resolve_until(value, name=name)
    elif name == "database_url":
        _check_database_url(value)
    elif name.endswith("_url"):
        _check_http_url(name, value)
    elif name == "log_source":
        from mcops.errors import SourceConfigError
        from mcops.sources.logs import parse_log_source

        try:
            parse_log_source(value)
        except SourceConfigError as err:
            raise ParameterError(str(err), name=name) from None


def _check_http_url(name: str, value: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParameterError(
            f"{name}={_shown(value)} is not an http(s) URL — fix: write the scheme and host, "
            f"e.g. -p {name}=http://localhost:{9090 if 'prometheus' in name else 8080}",
            name=name,
        )


def _check_database_url(value: str) -> None:
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(value)
    except (sa.exc.ArgumentError, ValueError):
        url = None
    if url is None or not url.drivername:
        raise ParameterError(
            f"database_url={_shown(value)} is not a SQLAlchemy URL — fix: write e.g. "
            "postgresql://USER@HOST/DB or sqlite:///PATH, or env:NAME to read it from the "
            "environment",
            name="database_url",
        )


def _shown(value: str) -> str:
    import re

    from mcops.secrets import redact_text

    # a malformed URL may still carry a password (no scheme: redact_text misses it)
    return repr(re.sub(r":[^:/@\s]*@", ":***@", redact_text(value)))


def _check_type(spec: Parameter, value: Any) -> Any:
    expected = _TYPES.get(spec.type_name)
    if expected is None or value is None:
        return value
    if spec.type_name != "bool" and isinstance(value, bool):
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        hint = (
            "True or False"
            if spec.type_name == "bool"
            else f"a {spec.type_name} like the default {spec.default}"
        )
        raw = " (or -r NAME=VALUE to pass it as text)" if spec.type_name == "str" else ""
        raise ParameterError(
            f"parameter {spec.name!r} expects {spec.type_name}, got {type(value).__name__} "
            f"{value!r} — fix: give {hint}{raw}",
            name=spec.name,
        )
    if spec.type_name == "float":
        return float(value)
    return value


def _type_name(info: Mapping[str, Any]) -> str:
    """The declared annotation if any, else the type of the literal default."""
    annotated = str(info.get("inferred_type_name", "None"))
    if annotated in _TYPES:
        return annotated
    if annotated != "None":
        return "any"  # Optional[...], unions: do not guess
    try:
        default = ast.literal_eval(str(info["default"]))
    except (ValueError, SyntaxError):
        return "any"
    if default is None:
        return "any"
    for name, types in _TYPES.items():
        if type(default) is types[0]:
            return name
    return "any"
