"""Durations as the runbooks and PromQL write them: ``30s``, ``5m``, ``1h``, ``7d``.

One parser for thresholds.yaml, the notebooks' ``window`` and the CLI's ``older_than``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from mcops.errors import ParameterError

__all__ = ["parse_duration", "parse_positive_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | timedelta, *, name: str = "") -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"7d"`` (or a number of seconds) as a timedelta.

    Raises ParameterError (a ValueError) naming ``name`` and the accepted form.
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=text)
    match = _DURATION.match(str(text))
    if match is None:
        shown = f"{name}={text!r}" if name else repr(text)
        raise ParameterError(
            f"{shown} is not a duration: write a number and a unit (ms, s, m, h, d, w), "
            "e.g. '30s', '15m', '1h' or '7d'",
            name=name,
        )
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


def parse_positive_duration(text: str | float | timedelta, *, name: str = "") -> timedelta:
    """`parse_duration`, refusing zero and negative spans (a window must cover time)."""
    span = parse_duration(text, name=name)
    if span <= timedelta(0):
        shown = f"{name}={text!r}" if name else repr(text)
        raise ParameterError(f"{shown} must be positive, e.g. '1h'", name=name)
    return span
