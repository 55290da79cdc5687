"""Parse the notebooks' `window` ("15m", "1h", "7d") and `until` (ISO time, "" = now).

Every source takes a time range; parsing it in one place keeps the error messages the
same everywhere: they name the parameter, the value and a working example.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from mcops.errors import ParameterError
from mcops.utc import now, to_utc

__all__ = ["Clock", "parse_window", "resolve_range", "resolve_until"]

Clock = Callable[[], datetime]

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


def parse_window(value: str | timedelta, *, name: str = "window") -> timedelta:
    """``"1h"`` → ``timedelta(hours=1)``; units ms, s, m, h, d, w, as in PromQL."""
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ParameterError(f"{name}={value!r} must be positive, e.g. '1h'", name=name)
        return value
    match = _WINDOW.match(str(value))
    if match is None:
        raise ParameterError(
            f"{name}={value!r} is not a duration: write a number and a unit "
            "(ms, s, m, h, d, w), e.g. '15m', '1h' or '7d'",
            name=name,
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ParameterError(f"{name}={value!r} must be positive, e.g. '1h'", name=name)
    return timedelta(seconds=seconds)


def resolve_until(
    value: str | datetime | None, *, name: str = "until", clock: Clock = now
) -> datetime:
    """``""``/``None``/``"now"`` → now; an ISO 8601 time (``Z`` allowed) → that instant in UTC."""
    if isinstance(value, datetime):
        return to_utc(value)
    if value is None or str(value).strip().lower() in ("", "now"):
        return to_utc(clock())
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ParameterError(
            f"{name}={value!r} is not an ISO 8601 time: write e.g. "
            "'2026-11-23T10:00:00Z', or leave it empty for now",
            name=name,
        ) from None
    return to_utc(parsed)


def resolve_range(
    window: str | timedelta, until: str | datetime | None = None, *, clock: Clock = now
) -> tuple[datetime, datetime]:
    """(start, end) in UTC for a notebook's ``window`` and ``until`` parameters."""
    end = resolve_until(until, clock=clock)
    return end - parse_window(window), end
