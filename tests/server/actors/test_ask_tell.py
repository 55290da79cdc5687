"""Asking, telling, spawning on first use, bounded mailboxes."""

from __future__ import annotations

import asyncio

import pytest

from server.actors import GetState, Stop
from server.errors import ActorStopped, MailboxFull
from tests.server.actors.conftest import Add, Counter, Hold, key, wait_until


@pytest.mark.asyncio
async def test_ask_returns_the_handler_reply_and_tell_is_handled_in_order(make_registry):
    registry, recorder = make_registry()
    ref = await registry.get_or_spawn(key(), Counter)

    ref.tell(Add(2))
    ref.tell(Add(3))
    assert await ref.ask(Add(10)) == 15
    assert [m[1:] for m in recorder.of("message")] == [("add", True)] * 3


@pytest.mark.asyncio
async def test_concurrent_get_or_spawn_yields_one_actor(make_registry):
    registry, recorder = make_registry()
    built = []

    def factory() -> Counter:
        built.append(1)
        return Counter()

    refs = await asyncio.gather(*(registry.get_or_spawn(key(), factory) for _ in range(10)))
    assert all(ref is refs[0] for ref in refs)
    assert await refs[0].ask(Add(1)) == 1
    assert len(built) == 1
    assert recorder.of("spawn") == [(key(),)]
    assert registry.count() == 1
    assert registry.lookup(key()) is refs[0]
    assert registry.lookup(key("other")) is None


@pytest.mark.asyncio
async def test_full_mailbox_raises_at_once_and_counts_a_drop(make_registry):
    registry, recorder = make_registry(mailbox_size=2)
    ref = await registry.get_or_spawn(key(), Counter)
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(ref.ask(Hold(gate, entered)))
    await entered.wait()  # the held message left the mailbox; two slots are free
    ref.tell(Add(1))
    ref.tell(Add(1))

    with pytest.raises(MailboxFull) as raised:
        ref.tell(Add(1))
    assert (raised.value.actor_type, raised.value.actor_id, raised.value.capacity) == (
        "conversation",
        "c1",
        2,
    )
    with pytest.raises(MailboxFull):
        await ref.ask(Add(1))
    assert recorder.of("drop") == [(key(), "add"), (key(), "add")]
    assert ref.mailbox_depth == 2
    assert registry.mailbox_depth() == 2
    assert registry.mailbox_depth("conversation") == 2
    assert registry.mailbox_depth("meeting") == 0

    gate.set()
    assert await held == "held"
    assert await ref.ask(Add(0)) == 2  # the two queued tells were handled, the drops not


@pytest.mark.asyncio
async def test_refs_and_count_by_actor_type(make_registry):
    registry, _ = make_registry()
    for actor_id in ("a", "b"):
        await registry.get_or_spawn(key(actor_id), Counter)
    await registry.get_or_spawn(key("m", "meeting"), Counter)

    assert registry.count() == 3
    assert registry.count("conversation") == 2
    assert registry.count("meeting") == 1
    assert registry.count("nothing") == 0
    assert sorted(r.key.actor_id for r in registry.refs("conversation")) == ["a", "b"]
    assert len(registry.refs()) == 3


@pytest.mark.asyncio
async def test_stop_message_stops_after_what_was_queued_before_it(make_registry):
    registry, recorder = make_registry()
    journal: list[str] = []
    ref = await registry.get_or_spawn(key(), lambda: Counter(journal))
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(ref.ask(Hold(gate, entered)))
    await entered.wait()
    before = asyncio.ensure_future(ref.ask(Add(1)))
    stopped = asyncio.ensure_future(ref.ask(Stop()))
    after = asyncio.ensure_future(ref.ask(Add(1)))

    gate.set()
    assert await held == "held"
    assert await before == 1
    assert await stopped is True
    with pytest.raises(ActorStopped):
        await after
    assert recorder.of("stop") == [(key(), "requested")]
    assert journal == ["start c1", "stop c1 requested"]
    await wait_until(lambda: registry.count() == 0)
    with pytest.raises(ActorStopped):
        ref.tell(GetState())
