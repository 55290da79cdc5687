"""Conversation actors (runbook 000): one per conversation, serialising its epochs.

The actor holds current_epoch, the last seq and the unread counts in memory, loaded
from the database when it starts; every change is written to the database before
the reply, so a restart loses nothing. Because one actor handles one message at a
time, concurrent addMembers on one conversation get epochs n+1, n+2, ... — the race
that the legacy path (ENABLE_ACTOR_SYSTEM=false) loses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.actors import Actor, ActorKey, Registry, Stop
from server.errors import (
    ActorStopped,
    Conflict,
    MailboxFull,
    NotAMember,
    NotFound,
    OwnershipLost,
    Unavailable,
)
from server.faults import Faults
from server.logs import get_logger
from server.ownership import Fence, Ownership
from server.store.repository import Store

__all__ = [
    "ACTOR_TYPE",
    "AddMembers",
    "ConversationActor",
    "ConversationDeps",
    "CreateConvo",
    "GetEpoch",
    "GetUnreadCount",
    "IncrementUnread",
    "Leave",
    "SendMessage",
    "UpdateRead",
    "conversation_key",
]

ACTOR_TYPE = "conversation"
log = get_logger("conversation")


def conversation_key(convo_id: str) -> ActorKey:
    return ActorKey(ACTOR_TYPE, convo_id)


class CreateConvo(NamedTuple):
    creator: str
    """The caller's did; becomes a member."""
    did_list: tuple[str, ...] = ()
    """Further first members."""


class AddMembers(NamedTuple):
    sender: str
    did_list: tuple[str, ...]


class SendMessage(NamedTuple):
    sender: str
    ciphertext: str


class IncrementUnread(NamedTuple):
    """Sent by the actor to itself after an app message: +1 for every other member."""

    sender: str
    message_id: int | None = None
    """The message counted: members who joined after it was stored are not counted."""


class GetEpoch(NamedTuple):
    did: str


class GetUnreadCount(NamedTuple):
    did: str


class UpdateRead(NamedTuple):
    did: str


class Leave(NamedTuple):
    did: str


@dataclass(frozen=True)
class ConversationDeps:
    """What every conversation actor shares."""

    store: Store
    faults: Faults
    registry: Registry
    ownership: Ownership | None = None
    """Replica leases (PostgreSQL); None: this process is the only writer."""


class ConversationActor(Actor):
    """State of one conversation; see the module docstring."""

    def __init__(self, deps: ConversationDeps, *, creating: bool = False) -> None:
        self._deps = deps
        self._creating = creating
        self.exists = False
        self.creator = ""
        self.current_epoch = 0
        self.max_seq = 0
        self.unread: dict[str, int] = {}
        self.fence: Fence | None = None

    @property
    def convo_id(self) -> str:
        return self.key.actor_id

    async def on_start(self) -> None:
        # pool exhaustion is a refusal (503, retry), not a crash: nothing was loaded
        try:
            if self._deps.ownership is not None:  # before loading: no other writer then
                self.fence = await self._deps.ownership.acquire(self.convo_id)
            await self._load()
        except PoolTimeout:
            raise Unavailable.pool_exhausted() from None

    async def on_receive(self, message: Any) -> Any:
        # a refusal, not a crash: the transaction did not commit, the state is intact
        try:
            return await self._handle(message)
        except PoolTimeout:
            raise Unavailable.pool_exhausted() from None
        except OwnershipLost:
            # another replica owns it now: this actor's state is stale, end it
            if (me := self._deps.registry.lookup(self.key)) is not None:
                with contextlib.suppress(MailboxFull, ActorStopped):
                    me.tell(Stop())
            raise

    async def on_stop(self, reason: str) -> None:
        if self.fence is not None and self._deps.ownership is not None:
            await self._deps.ownership.release(self.fence)

    async def _load(self) -> None:
        snapshot = await self._deps.store.load_conversation(self.convo_id)
        if snapshot is None:
            if not self._creating:
                raise NotFound(
                    f"conversation {self.convo_id} does not exist",
                    fix="create it with blue.catbird.mls.createConvo",
                )
            return
        self.exists = True
        self.creator = snapshot.creator_did
        self.current_epoch = snapshot.current_epoch
        self.max_seq = snapshot.max_seq
        self.unread = dict(snapshot.unread)
        log.debug(
            f"ConversationActor {self.convo_id} starting at epoch {self.current_epoch}",
            convo_id=self.convo_id,
            actor_type=ACTOR_TYPE,
        )

    async def _handle(self, message: Any) -> Any:
        delay = self._deps.faults.handling_delay(ACTOR_TYPE)
        if delay:
            await asyncio.sleep(delay)
        if self._deps.faults.crashes(self.convo_id):
            raise RuntimeError("database transaction failed")
        if isinstance(message, CreateConvo):
            return await self._create(message)
        if not self.exists:
            raise NotFound(
                f"conversation {self.convo_id} does not exist",
                fix="create it with blue.catbird.mls.createConvo",
            )
        if isinstance(message, IncrementUnread):
            return await self._increment_unread(message.sender, message.message_id)
        did = message.sender if isinstance(message, AddMembers | SendMessage) else message.did
        self._require_member(did)
        if isinstance(message, AddMembers):
            return await self._add_members(message.sender, message.did_list)
        if isinstance(message, SendMessage):
            return await self._send(message.sender, message.ciphertext)
        if isinstance(message, GetEpoch):
            return {"convo_id": self.convo_id, "epoch": self.current_epoch}
        if isinstance(message, GetUnreadCount):
            return {"convo_id": self.convo_id, "unread_count": self.unread[did]}
        if isinstance(message, UpdateRead):
            await self._deps.store.mark_read(self.convo_id, did=did, fence=self.fence)
            self.unread[did] = 0
            return {"convo_id": self.convo_id, "unread_count": 0}
        if isinstance(message, Leave):
            await self._deps.store.leave(self.convo_id, did=did, fence=self.fence)
            del self.unread[did]
            return {"convo_id": self.convo_id, "left": True}
        raise TypeError(f"ConversationActor cannot handle {type(message).__name__}")

    def get_state(self) -> dict[str, Any]:
        return {
            "convo_id": self.convo_id,
            "exists": self.exists,
            "creator_did": self.creator,
            "current_epoch": self.current_epoch,
            "max_seq": self.max_seq,
            "unread_counts": dict(self.unread),
            "members": sorted(self.unread),
        }

    def _require_member(self, did: str) -> None:
        if did not in self.unread:
            raise NotAMember(
                f"{did} is not a member of conversation {self.convo_id}",
                fix="ask a member to add you with addMembers",
            )

    async def _create(self, message: CreateConvo) -> dict[str, Any]:
        if self.exists:
            raise Conflict(
                f"conversation {self.convo_id} already exists", fix="pick another convo_id"
            )
        await self._deps.store.create_conversation(
            self.convo_id, creator=message.creator, member_dids=message.did_list, fence=self.fence
        )
        self.exists = True
        self.creator = message.creator
        self.unread = dict.fromkeys([message.creator, *message.did_list], 0)
        log.info(f"Conversation {self.convo_id} created", convo_id=self.convo_id)
        return {"convo_id": self.convo_id, "epoch": 0}

    async def _add_members(self, sender: str, dids: Sequence[str]) -> dict[str, Any]:
        new = [did for did in dict.fromkeys(dids) if did not in self.unread]
        if not new:
            raise Conflict(
                f"everyone in did_list is already a member of {self.convo_id}",
                fix="list only dids that are not members",
            )
        log.debug(
            f"Adding {len(new)} members to conversation {self.convo_id}", convo_id=self.convo_id
        )
        epoch = self.current_epoch + 1
        await self._deps.store.commit_add_members(
            self.convo_id, sender=sender, dids=new, epoch=epoch, fence=self.fence
        )
        self.current_epoch = epoch
        self.unread.update(dict.fromkeys(new, 0))
        log.debug(
            f"Members added, new epoch: {epoch} for conversation {self.convo_id}",
            convo_id=self.convo_id,
        )
        return {"convo_id": self.convo_id, "new_epoch": epoch}

    async def _send(self, sender: str, ciphertext: str) -> dict[str, Any]:
        seq = self.max_seq + 1
        message_id = await self._deps.store.insert_app_message(
            self.convo_id,
            sender=sender,
            epoch=self.current_epoch,
            seq=seq,
            ciphertext=ciphertext,
            fence=self.fence,
        )
        self.max_seq = seq
        me = self._deps.registry.lookup(self.key)
        try:
            if me is None:
                raise LookupError("own ref missing")
            me.tell(IncrementUnread(sender, message_id))
        except (MailboxFull, ActorStopped, LookupError):
            # nothing is lost: with no room to queue it, count inline
            await self._increment_unread(sender, message_id)
        return {"message_id": message_id, "seq": seq, "epoch": self.current_epoch}

    async def _increment_unread(self, sender: str, message_id: int | None = None) -> None:
        counted = await self._deps.store.increment_unread(
            self.convo_id, sender=sender, message_id=message_id, fence=self.fence
        )
        for did in counted & self.unread.keys():
            self.unread[did] += 1
