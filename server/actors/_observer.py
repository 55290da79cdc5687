"""The hook through which the runtime reports what it does (metrics and logs live there).

The runtime itself neither logs nor counts: the server injects an observer that does.
Every on_spawn is followed by exactly one on_stop for the same instance, so a gauge
kept with +1/-1 stays exact; a crash reports on_crash, then on_stop(reason="crash"),
then on_restart and on_spawn for the new instance. Observer methods run on the hot
path inside the actor's task: they must be quick and must not raise.
"""

from __future__ import annotations

from typing import Protocol

from server.actors._key import ActorKey

__all__ = ["NullObserver", "RuntimeObserver", "StopReason"]

StopReason = str
"""One of "inactivity", "requested", "shutdown", "crash", "start_failed" (on_start raised
a DomainError: the actor cannot exist, e.g. an unknown conversation), "gave_up" (the
cell ended after RuntimeConfig.start_attempts failed starts in a row)."""


class RuntimeObserver(Protocol):
    """Receives runtime events; implement all methods (NullObserver is the default)."""

    def on_spawn(self, key: ActorKey) -> None:
        """A new instance was created (first use or restart), before its on_start."""

    def on_stop(self, key: ActorKey, reason: StopReason) -> None:
        """An instance ended; `reason` says why."""

    def on_crash(self, key: ActorKey, error: BaseException) -> None:
        """on_start or a handler raised something other than a DomainError."""

    def on_restart(self, key: ActorKey, attempt: int, delay: float) -> None:
        """A crashed actor will be started again after `delay` s (attempt 1, 2, ...)."""

    def on_message(self, key: ActorKey, message_type: str, seconds: float, ok: bool) -> None:
        """A message was handled; ok is False for domain errors, crashes and timeouts."""

    def on_drop(self, key: ActorKey, message_type: str) -> None:
        """A message was refused because the mailbox was full."""

    def on_timeout(self, key: ActorKey, message_type: str) -> None:
        """A message exceeded its timeout; the caller got MessageTimeout."""

    def on_give_up(self, key: ActorKey, attempts: int) -> None:
        """`attempts` starts in a row raised: the cell ended instead of restarting."""


class NullObserver:
    """Does nothing: the default when no observer is injected."""

    def on_spawn(self, key: ActorKey) -> None:
        pass

    def on_stop(self, key: ActorKey, reason: StopReason) -> None:
        pass

    def on_crash(self, key: ActorKey, error: BaseException) -> None:
        pass

    def on_restart(self, key: ActorKey, attempt: int, delay: float) -> None:
        pass

    def on_message(self, key: ActorKey, message_type: str, seconds: float, ok: bool) -> None:
        pass

    def on_drop(self, key: ActorKey, message_type: str) -> None:
        pass

    def on_timeout(self, key: ActorKey, message_type: str) -> None:
        pass

    def on_give_up(self, key: ActorKey, attempts: int) -> None:
        pass
