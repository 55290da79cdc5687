"""The bounded mailbox of one actor and the envelope a message travels in.

A deque plus one waiter future for the single consumer: cheaper than asyncio.Queue,
whose put/get machinery assumes many producers *and* many consumers. Producers never
wait: a full mailbox raises at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from server.actors._key import ActorKey
from server.errors import ActorStopped, MailboxFull

__all__ = ["Envelope", "Mailbox"]


class Envelope:
    """A message with its reply future (None for tell) and its timeout state.

    `deadline` (loop time) is set for messages under the registry's default timeout,
    which the cell's watchdog enforces; `timer` is set instead for a custom timeout.
    """

    __slots__ = ("deadline", "future", "message", "timed_out", "timeout", "timer")

    def __init__(self, message: Any, future: asyncio.Future[Any] | None) -> None:
        self.message = message
        self.future = future
        self.timeout: float | None = None
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timed_out = False

    def fail(self, error: BaseException) -> None:
        """Answer the asker with `error` (if still waiting) and drop the pending timer."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        future = self.future
        if future is not None and not future.done():
            future.set_exception(error)


class Mailbox:
    """Bounded FIFO with one consumer; `put` raises MailboxFull or ActorStopped."""

    __slots__ = ("_waiter", "capacity", "closed_error", "closed_reason", "items", "key", "loop")

    def __init__(self, *, key: ActorKey, capacity: int, loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.capacity = capacity
        self.loop = loop
        self.items: deque[Envelope] = deque()
        self.closed_reason: str | None = None
        self.closed_error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def put(self, envelope: Envelope) -> None:
        """Queue `envelope` and wake the consumer; never blocks."""
        items = self.items
        if len(items) >= self.capacity or self.closed_reason is not None:
            if self.closed_reason is not None:
                if self.closed_error is not None:
                    raise self.closed_error
                raise ActorStopped(key=self.key, reason=self.closed_reason)
            raise MailboxFull(
                actor_type=self.key.actor_type, actor_id=self.key.actor_id, capacity=self.capacity
            )
        items.append(envelope)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once at least one envelope is queued (single consumer)."""
        while not self.items:
            waiter = self.loop.create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self, reason: str, *, error: BaseException | None = None) -> None:
        """Refuse further puts from now on: with `error` if given, else ActorStopped."""
        if self.closed_reason is None:
            self.closed_reason = reason
            self.closed_error = error

    def drain(self) -> list[Envelope]:
        """Take out everything queued, so that the caller can answer it."""
        queued = list(self.items)
        self.items.clear()
        return queued
