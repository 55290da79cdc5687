"""One owner per conversation across replicas: leases in PostgreSQL, fenced writes.

Runbook 000 FM3: "multiple server instances without sticky sessions" each ran an actor
for one conversation and wrote the same commit epoch twice. Here a replica must hold a
conversation's lease (a ``conversation_owners`` row) before its actor starts. The lease
carries a fencing token that goes up at every takeover, and every write of that actor
first reads its row ``FOR SHARE`` with its token in the same transaction: a replica
that lost the lease (paused, cut off, presumed dead) cannot write, and a takeover waits
for a write already under way. Leases are renewed every ``ttl / 3``; a replica that dies
loses them within ``ttl`` (CONVERSATION_LEASE_SECONDS). Database time decides expiry, so
replicas' clocks do not matter. SQLite runs one replica (server/single_replica.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import OwnedElsewhere, OwnershipLost
from server.store.schema import conversation_owners as owners

__all__ = ["Fence", "Ownership"]

#: A released lease: expired, its row (and so its token) kept.
_EXPIRED = func.now() - text("interval '1 second'")


@dataclass(frozen=True)
class Fence:
    """The lease one actor holds: checked at the start of each of its writes."""

    convo_id: str
    owner_id: str
    token: int

    async def check(self, conn: AsyncConnection) -> None:
        """Inside the write's transaction: still ours? (row share-locked until commit)."""
        held = (
            await conn.execute(
                select(owners.c.token)
                .where(
                    owners.c.convo_id == self.convo_id,
                    owners.c.owner_id == self.owner_id,
                    owners.c.token == self.token,
                )
                .with_for_update(read=True)
            )
        ).first()
        if held is None:
            raise OwnershipLost(self.convo_id, self.owner_id)


class Ownership:
    """This replica's leases on conversations (PostgreSQL only)."""

    def __init__(self, engine: AsyncEngine, *, owner_id: str, owner_url: str, ttl: float) -> None:
        self.engine = engine
        self.owner_id = owner_id
        self.owner_url = owner_url
        self.ttl = ttl

    def _expiry(self):  # noqa: ANN202 - a SQL expression
        return func.now() + text(f"interval '{float(self.ttl)} seconds'")

    async def owned_elsewhere(self, convo_id: str) -> OwnedElsewhere | None:
        """Another replica's live lease on ``convo_id``, read without a lock (PostgreSQL
        locks the row even for an upsert that changes nothing): None when it may be ours."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        owners.c.owner_id,
                        owners.c.owner_url,
                        func.extract("epoch", owners.c.expires_at - func.now()),
                    ).where(owners.c.convo_id == convo_id)
                )
            ).first()
        if row is None or row[0] == self.owner_id or float(row[2]) <= 0:
            return None
        return OwnedElsewhere(convo_id, row[0], row[1], max(1, round(float(row[2]))))

    async def acquire(self, convo_id: str) -> Fence:
        """Take the lease if it is free, expired or already ours; else OwnedElsewhere."""
        if (elsewhere := await self.owned_elsewhere(convo_id)) is not None:
            raise elsewhere
        stmt = insert(owners).values(
            convo_id=convo_id,
            owner_id=self.owner_id,
            owner_url=self.owner_url,
            token=1,
            expires_at=self._expiry(),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[owners.c.convo_id],
            set_={
                "owner_id": self.owner_id,
                "owner_url": self.owner_url,
                "token": owners.c.token + 1,
                "expires_at": self._expiry(),
            },
            where=or_(owners.c.expires_at < func.now(), owners.c.owner_id == self.owner_id),
        ).returning(owners.c.token)
        async with self.engine.begin() as conn:
            token = (await conn.execute(stmt)).scalar_one_or_none()
        if token is not None:
            return Fence(convo_id, self.owner_id, int(token))
        # another replica took it between the read and the upsert
        elsewhere = await self.owned_elsewhere(convo_id)
        raise elsewhere or OwnedElsewhere(convo_id, "another replica", "", 1)

    async def renew(self) -> set[str]:
        """Extend every lease this replica holds; the conversations it still owns."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(owners)  # live ones only: a released or lapsed lease stays free
                .where(owners.c.owner_id == self.owner_id, owners.c.expires_at > func.now())
                .values(expires_at=self._expiry())
                .returning(owners.c.convo_id)
            )
            return set(result.scalars())

    async def release(self, fence: Fence) -> None:
        """Give the lease up (the actor stopped): another replica may take it at once.
        The row stays, expired, so the next owner's token is still higher than this one."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(owners)
                .where(
                    and_(
                        owners.c.convo_id == fence.convo_id,
                        owners.c.owner_id == fence.owner_id,
                        owners.c.token == fence.token,
                    )
                )
                .values(expires_at=_EXPIRED)
            )

    async def release_all(self) -> None:
        """At shutdown: every lease of this replica, so others need not wait for expiry."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(owners).where(owners.c.owner_id == self.owner_id).values(expires_at=_EXPIRED)
            )
