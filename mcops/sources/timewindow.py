"""Parse the notebooks' `window` ("15m", "1h", "7d") and `until` (ISO time, "" = now).

Every source takes a time range; parsing it in one place keeps the error messages the
same everywhere: they name the parameter, the value and a working example.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from mcops.durations import parse_positive_duration
from mcops.errors import ParameterError
from mcops.utc import now, to_utc

__all__ = ["Clock", "parse_window", "resolve_range", "resolve_until"]

Clock = Callable[[], datetime]


def parse_window(value: str | timedelta, *, name: str = "window") -> timedelta:
    """``"1h"`` → ``timedelta(hours=1)``; units ms, s, m, h, d, w, as in PromQL."""
    return parse_positive_duration(value, name=name)


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
