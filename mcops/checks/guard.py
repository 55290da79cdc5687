"""Run a check so that an unavailable source yields 'not checked', not a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcops.errors import ParameterError, SourceError
from mcops.findings import Finding

__all__ = ["guarded", "run_guarded"]


def run_guarded(check: str, compute: Callable[[], Finding | Any]) -> Finding:
    """Call ``compute``; a SourceError becomes ``Finding.not_checked(check, why)``.

    ``compute`` usually fetches a frame and passes it to a check function. Errors other
    than source errors are bugs or bad parameters and are raised unchanged.
    """
    try:
        result = compute()
    except SourceError as err:
        return Finding.not_checked(check, f"{err.source}: {err}")
    except ParameterError:
        raise
    if not isinstance(result, Finding):
        raise TypeError(f"check {check!r} returned {type(result).__name__}, not a Finding")
    return result


def guarded(check: str) -> Callable[[Callable[..., Finding]], Callable[..., Finding]]:
    """Decorator form of :func:`run_guarded` for check functions that fetch their data."""

    def wrap(fn: Callable[..., Finding]) -> Callable[..., Finding]:
        def inner(*args: Any, **kwargs: Any) -> Finding:
            return run_guarded(check, lambda: fn(*args, **kwargs))

        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner

    return wrap
