"""The handle callers use to talk to an actor: ask (wait for a reply) or tell."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from server.actors._key import ActorKey
from server.actors._mailbox import Envelope
from server.actors._messages import message_type
from server.errors import MailboxFull

if TYPE_CHECKING:
    from server.actors._cell import ActorCell

__all__ = ["ActorRef"]


class _Default(enum.Enum):
    CONFIG = enum.auto()


_CONFIG = _Default.CONFIG


class ActorRef:
    """Addresses one actor's life; after it stops, ask/tell raise ActorStopped.

    Get a fresh ref from Registry.get_or_spawn for each request rather than keeping one:
    a stopped actor is spawned again on the next get_or_spawn, under a new ref.
    """

    __slots__ = ("_cell", "key")

    def __init__(self, cell: ActorCell) -> None:
        self._cell = cell
        self.key: ActorKey = cell.key

    async def ask(self, message: Any, *, timeout: float | _Default | None = _CONFIG) -> Any:
        """Send `message` and wait for the handler's return value.

        Raises MailboxFull at once when the mailbox is full, MessageTimeout when no
        answer came within `timeout` seconds of this call (default: the registry's
        message_timeout; None waits forever), the handler's DomainError, ActorCrashed,
        or ActorStopped.
        """
        cell = self._cell
        loop = cell.loop
        envelope = Envelope(message, loop.create_future())
        try:
            cell.mailbox.put(envelope)
        except MailboxFull:
            cell.observer.on_drop(self.key, message_type(message))
            raise
        if timeout is _CONFIG:
            # the common case: no timer of its own, the cell's watchdog covers it
            timeout = cell.message_timeout
            if timeout is not None:
                envelope.timeout = timeout
                envelope.deadline = deadline = loop.time() + timeout
                if cell.watchdog is None:
                    cell.arm_watchdog(deadline)
        elif timeout is not None:
            envelope.timeout = timeout
            envelope.timer = loop.call_later(timeout, cell.expire, envelope)
        return await envelope.future  # type: ignore[misc]

    def tell(self, message: Any) -> None:
        """Queue `message` without waiting for a reply; raises MailboxFull or ActorStopped.

        Its handling is bounded by the registry's message_timeout from when it starts.
        """
        try:
            self._cell.mailbox.put(Envelope(message, None))
        except MailboxFull:
            self._cell.observer.on_drop(self.key, message_type(message))
            raise

    @property
    def mailbox_depth(self) -> int:
        """Messages queued, not counting the one being handled."""
        return len(self._cell.mailbox)

    @property
    def idle_seconds(self) -> float:
        """Seconds since the actor last finished (or started) a message."""
        return self._cell.idle_seconds()

    @property
    def restarts(self) -> int:
        """How many times a crashed instance was replaced."""
        return self._cell.restarts

    @property
    def alive(self) -> bool:
        """False once the actor has begun stopping."""
        return self._cell.alive

    def __repr__(self) -> str:
        state = "alive" if self.alive else "stopped"
        return f"<ActorRef {self.key.actor_type}/{self.key.actor_id} {state}>"
