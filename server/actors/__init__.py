"""A small asyncio actor runtime: one task and one bounded mailbox per actor.

    registry = Registry(config=RuntimeConfig(), observer=my_observer)
    ref = await registry.get_or_spawn(ActorKey("conversation", "c1"), ConversationActor)
    epoch = await ref.ask(GetEpoch())

Each concept lives in one private module; this package re-exports the public names.
"""

from server.actors._actor import Actor
from server.actors._config import RuntimeConfig
from server.actors._key import ActorKey
from server.actors._messages import GetState, Stop, message_type
from server.actors._observer import NullObserver, RuntimeObserver
from server.actors._ref import ActorRef
from server.actors._registry import Registry
from server.actors._supervisor import Backoff

__all__ = [
    "Actor",
    "ActorKey",
    "ActorRef",
    "Backoff",
    "GetState",
    "NullObserver",
    "Registry",
    "RuntimeConfig",
    "RuntimeObserver",
    "Stop",
    "message_type",
]
