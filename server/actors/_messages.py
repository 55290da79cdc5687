"""Messages the runtime answers itself, and the message-type name used for metrics."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = ["GetState", "Stop", "message_type"]


class GetState(NamedTuple):
    """Debug message: answered with the actor's get_state() plus runtime facts.

    It does not count as activity, so inspecting an actor does not keep it alive.
    """


class Stop(NamedTuple):
    """Stops the actor after the messages queued before it; asked, it answers True.

    Messages queued after it fail with ActorStopped. Registry.stop() is the
    immediate variant that does not wait for the queue.
    """

    reason: str = "requested"
    """Passed to Actor.on_stop and RuntimeObserver.on_stop."""


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# class -> snake_case name, or None when instances carry their own `message_type`
_NAMES: dict[type, str | None] = {}


def message_type(message: Any) -> str:
    """Metrics name of a message: its ``message_type`` attribute, else snake_case class name.

    ``AddMembers`` → ``add_members``. The decision is cached per class.
    """
    cls = message.__class__
    try:
        name = _NAMES[cls]
    except KeyError:
        name = None if hasattr(message, "message_type") else _CAMEL.sub("_", cls.__name__).lower()
        _NAMES[cls] = name
    return str(message.message_type) if name is None else name
