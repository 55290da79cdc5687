"""The base class of every actor: one instance handles one message at a time."""

from __future__ import annotations

from typing import Any

from server.actors._key import ActorKey

__all__ = ["Actor"]


class Actor:
    """Subclass it and override the hooks; the runtime calls them from the actor's task.

    State lives in plain attributes: no locks are needed because messages are handled
    one after the other. Raise a DomainError for an expected refusal (the caller gets
    it, the actor lives); anything else is a crash, after which a new instance from the
    factory takes over the mailbox.
    """

    key: ActorKey
    """Set by the runtime before on_start."""

    async def on_start(self) -> None:
        """Load state (e.g. from the database). Raising counts as a crash; a DomainError
        means the actor cannot exist (e.g. unknown id): queued callers get it."""

    async def on_stop(self, reason: str) -> None:
        """Release resources; `reason` is "inactivity", "requested", "shutdown" or "crash"."""

    async def on_receive(self, message: Any) -> Any:
        """Handle one message; the return value is the ask() reply."""
        raise TypeError(
            f"{type(self).__name__} got {type(message).__name__} but does not override "
            "on_receive; implement it to handle this message"
        )

    def get_state(self) -> dict[str, Any]:
        """Debug view answered for GetState (runtime facts are merged in)."""
        return {}
