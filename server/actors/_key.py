"""The address of an actor: its type and its id (e.g. conversation ``c1``)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ActorKey"]


class ActorKey(NamedTuple):
    """Identifies one actor in a registry; at most one actor per key is alive."""

    actor_type: str
    """Kind of actor, e.g. ``conversation`` or ``meeting``: the metrics label."""
    actor_id: str
    """The entity it owns, e.g. a conversation id."""
