"""Conversation leases on a real PostgreSQL (server/ownership.py), each rule at its edge:
a live lease refuses another replica; an expired one is taken with a higher fencing
token; a write under a lost lease is refused and stores nothing; renewal keeps a lease
past its first expiry; a release frees it at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.errors import OwnedElsewhere, OwnershipLost
from server.ownership import Ownership
from server.store.engine import create_engine, create_tables
from server.store.repository import Store
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.postgres

TTL = 1.0


@pytest.fixture
def db() -> Iterator[str]:
    with fresh_database("mcops_lease") as url:
        yield url


def run(coro):
    return asyncio.run(coro)


async def _two_replicas(url: str):
    engine = create_engine(url, max_connections=4)
    await create_tables(engine)
    a = Ownership(engine, owner_id="replica-a", owner_url="http://a", ttl=TTL)
    b = Ownership(engine, owner_id="replica-b", owner_url="http://b", ttl=TTL)
    return engine, a, b


def test_a_live_lease_refuses_another_replica_and_names_its_owner(db):
    async def go() -> None:
        engine, a, b = await _two_replicas(db)
        try:
            fence = await a.acquire("c1")
            assert fence.token == 1
            with pytest.raises(OwnedElsewhere) as refused:
                await b.acquire("c1")
            assert (refused.value.owner_id, refused.value.owner_url) == ("replica-a", "http://a")
            assert 1 <= refused.value.retry_after <= TTL + 1
            assert refused.value.http_status == 503
            again = await a.acquire("c1")  # its own again (an actor restarted): a new token
            assert again.token == 2
            store = Store(engine, server_id="replica-a")
            with pytest.raises(OwnershipLost):  # the earlier actor's fence no longer holds
                await store.create_conversation("c1", creator="d", member_dids=[], fence=fence)
            await store.create_conversation("c1", creator="d", member_dids=[], fence=again)
        finally:
            await engine.dispose()

    run(go())


def test_an_expired_lease_is_taken_and_the_old_owners_write_is_refused(db):
    async def go() -> None:
        engine, a, b = await _two_replicas(db)
        store = Store(engine, server_id="replica-a")
        try:
            old = await a.acquire("c1")
            await store.create_conversation("c1", creator="did:plc:a", member_dids=[], fence=old)
            await asyncio.sleep(TTL + 0.2)  # a paused: its lease ran out
            new = await b.acquire("c1")
            assert new.token == old.token + 1
            with pytest.raises(OwnershipLost):
                await store.insert_app_message(
                    "c1", sender="did:plc:a", epoch=0, seq=1, ciphertext="late", fence=old
                )
            await store.insert_app_message(
                "c1", sender="did:plc:a", epoch=0, seq=1, ciphertext="owner", fence=new
            )
            async with engine.connect() as conn:
                stored = (await conn.execute(sa.text("SELECT ciphertext FROM messages"))).all()
            assert [r[0] for r in stored] == ["owner"]
        finally:
            await engine.dispose()

    run(go())


def test_renewal_keeps_a_lease_past_its_first_expiry_and_release_frees_it(db):
    async def go() -> None:
        engine, a, b = await _two_replicas(db)
        try:
            fence = await a.acquire("c1")
            deadline = time.monotonic() + 2 * TTL
            while time.monotonic() < deadline:
                assert await a.renew() == {"c1"}
                await asyncio.sleep(TTL / 3)
            with pytest.raises(OwnedElsewhere):
                await b.acquire("c1")
            await a.release(fence)
            assert await a.renew() == set()  # a released lease is not renewed back
            assert (await b.acquire("c1")).token == fence.token + 1
            assert await a.renew() == set()  # a owns nothing now
        finally:
            await engine.dispose()

    run(go())
