"""The legacy path (ENABLE_ACTOR_SYSTEM=false): conversation operations straight on the DB.

Kept on purpose: it reads the current epoch, yields to the event loop, then writes
the commit at read + 1 — with concurrent addMembers on one conversation several
requests read the same epoch and write DUPLICATE epochs, which is runbook 000
failure mode 3 (Epoch Conflicts). The same race gives duplicate seq values.
"""

from __future__ import annotations

import asyncio
from typing import Any

from server.conversation import (
    AddMembers,
    CreateConvo,
    GetEpoch,
    GetUnreadCount,
    Leave,
    SendMessage,
    UpdateRead,
)
from server.errors import Conflict, NotAMember, NotFound
from server.logs import get_logger
from server.store.repository import Store

__all__ = ["RACE_WINDOW", "LegacyConversations"]

RACE_WINDOW = 0.005  # seconds between the read and the write: the unprotected window
log = get_logger("legacy")


class LegacyConversations:
    """Answers the conversation messages without an actor (no serialisation)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def handle(self, convo_id: str, message: Any) -> dict[str, Any]:
        store = self._store
        if isinstance(message, CreateConvo):
            await store.create_conversation(
                convo_id, creator=message.creator, member_dids=message.did_list
            )
            return {"convo_id": convo_id, "epoch": 0}
        did = message.sender if isinstance(message, AddMembers | SendMessage) else message.did
        unread = await self._require_member(convo_id, did)
        if isinstance(message, AddMembers):
            log.info("Using legacy path for add_members", convo_id=convo_id)
            epoch = await store.current_epoch(convo_id)
            if epoch is None:
                raise _not_found(convo_id)
            await asyncio.sleep(RACE_WINDOW)
            dids = list(dict.fromkeys(message.did_list))
            if not dids:
                raise Conflict("did_list is empty", fix="list the dids to add")
            await store.commit_add_members(
                convo_id, sender=message.sender, dids=dids, epoch=epoch + 1
            )
            log.debug(
                f"Members added, new epoch: {epoch + 1} for conversation {convo_id}",
                convo_id=convo_id,
            )
            return {"convo_id": convo_id, "new_epoch": epoch + 1}
        if isinstance(message, SendMessage):
            epoch = await store.current_epoch(convo_id)
            seq = await store.max_seq(convo_id) + 1
            await asyncio.sleep(RACE_WINDOW)
            message_id = await store.insert_app_message(
                convo_id, sender=did, epoch=epoch or 0, seq=seq, ciphertext=message.ciphertext
            )
            await store.increment_unread(convo_id, sender=did)
            return {"message_id": message_id, "seq": seq, "epoch": epoch or 0}
        if isinstance(message, GetEpoch):
            return {"convo_id": convo_id, "epoch": await store.current_epoch(convo_id) or 0}
        if isinstance(message, GetUnreadCount):
            return {"convo_id": convo_id, "unread_count": unread}
        if isinstance(message, UpdateRead):
            await store.mark_read(convo_id, did=did)
            return {"convo_id": convo_id, "unread_count": 0}
        if isinstance(message, Leave):
            await store.leave(convo_id, did=did)
            return {"convo_id": convo_id, "left": True}
        raise TypeError(f"legacy path cannot handle {type(message).__name__}")

    async def _require_member(self, convo_id: str, did: str) -> int:
        unread = await self._store.unread_count(convo_id, did=did)
        if unread is not None:
            return unread
        if await self._store.current_epoch(convo_id) is None:
            raise _not_found(convo_id)
        raise NotAMember(
            f"{did} is not a member of conversation {convo_id}",
            fix="ask a member to add you with addMembers",
        )


def _not_found(convo_id: str) -> NotFound:
    return NotFound(
        f"conversation {convo_id} does not exist",
        fix="create it with blue.catbird.mls.createConvo",
    )
