"""Restart policy after a crash: exponential backoff that forgets old crashes."""

from __future__ import annotations

__all__ = ["Backoff"]


class Backoff:
    """Delay before restart attempt n: initial × 2^(n-1), capped at `maximum`.

    A crash more than `reset_after` seconds after the previous one starts again at
    attempt 1, so an actor that crashes once a day never waits the maximum.
    """

    __slots__ = ("_last_crash", "attempt", "initial", "maximum", "reset_after")

    def __init__(self, *, initial: float, maximum: float, reset_after: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.reset_after = reset_after
        self.attempt = 0
        self._last_crash: float | None = None

    def next_delay(self, now: float) -> tuple[int, float]:
        """Record a crash at `now`; return (attempt number, seconds to wait)."""
        if self._last_crash is not None and now - self._last_crash > self.reset_after:
            self.attempt = 0
        self._last_crash = now
        self.attempt += 1
        # the exponent is capped so that a long crash loop cannot overflow a float
        delay = self.initial * 2.0 ** min(self.attempt - 1, 64)
        return self.attempt, min(delay, self.maximum)
