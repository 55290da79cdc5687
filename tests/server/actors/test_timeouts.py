"""Message timeouts: the caller gets MessageTimeout, the actor goes on."""

from __future__ import annotations

import asyncio

import pytest

from server.errors import MessageTimeout
from tests.server.actors.conftest import (
    Add,
    Counter,
    Hold,
    Sleep,
    Stubborn,
    key,
    wait_until,
)


@pytest.mark.asyncio
async def test_slow_handler_times_out_is_cancelled_and_the_next_message_runs(make_registry):
    registry, recorder = make_registry(message_timeout=0.05)
    actor = Counter()
    ref = await registry.get_or_spawn(key(), lambda: actor)
    assert await ref.ask(Add(1)) == 1

    with pytest.raises(MessageTimeout) as raised:
        await ref.ask(Sleep(30))
    assert (raised.value.key, raised.value.message_type, raised.value.timeout) == (
        key(),
        "sleep",
        0.05,
    )
    assert raised.value.http_status == 504
    assert await ref.ask(Add(1)) == 2  # same instance, state kept
    assert actor.cancelled == 1
    assert recorder.of("timeout") == [(key(), "sleep")]
    assert (key(), "sleep", False) in recorder.of("message")
    assert recorder.of("crash") == []

    with pytest.raises(MessageTimeout):  # and again: the runtime's cancel is not stuck
        await ref.ask(Sleep(30))
    assert await ref.ask(Add(1)) == 3


@pytest.mark.asyncio
async def test_message_that_times_out_while_queued_is_never_handled(make_registry):
    registry, recorder = make_registry(message_timeout=0.05)
    ref = await registry.get_or_spawn(key(), Counter)
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(ref.ask(Hold(gate, entered), timeout=None))
    await entered.wait()

    with pytest.raises(MessageTimeout):
        await ref.ask(Add(5))
    gate.set()
    assert await held == "held"
    assert await ref.ask(Add(0)) == 0  # the expired Add(5) was skipped
    assert recorder.of("timeout") == [(key(), "add")]


@pytest.mark.asyncio
async def test_custom_ask_timeout_overrides_the_default(make_registry):
    registry, _ = make_registry(message_timeout=None)
    ref = await registry.get_or_spawn(key(), Counter)
    with pytest.raises(MessageTimeout) as raised:
        await ref.ask(Sleep(30), timeout=0.03)
    assert raised.value.timeout == 0.03
    assert await ref.ask(Add(2)) == 2


@pytest.mark.asyncio
async def test_tell_handling_is_bounded_by_the_timeout_too(make_registry):
    registry, recorder = make_registry(message_timeout=0.05)
    actor = Counter()
    ref = await registry.get_or_spawn(key(), lambda: actor)
    ref.tell(Sleep(30))
    await wait_until(lambda: recorder.of("timeout") == [(key(), "sleep")])
    assert await ref.ask(Add(1)) == 1
    assert actor.cancelled == 1


@pytest.mark.asyncio
async def test_handler_that_swallows_the_cancel_still_answers_timeout(make_registry):
    registry, _ = make_registry(message_timeout=0.05)
    actor = Counter()
    ref = await registry.get_or_spawn(key(), lambda: actor)
    with pytest.raises(MessageTimeout):
        await ref.ask(Stubborn(30))
    assert await ref.ask(Add(1)) == 1
    with pytest.raises(MessageTimeout):  # later timeouts still cancel handlers
        await ref.ask(Sleep(30))
    assert await ref.ask(Add(1)) == 2  # handled after the cancelled Sleep
    assert actor.cancelled == 2


@pytest.mark.asyncio
async def test_expiry_of_many_queued_messages_in_order(make_registry):
    registry, recorder = make_registry(message_timeout=0.05)
    ref = await registry.get_or_spawn(key(), Counter)
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(ref.ask(Hold(gate, entered), timeout=None))
    await entered.wait()
    early = [asyncio.ensure_future(ref.ask(Add(1))) for _ in range(3)]
    await asyncio.sleep(0.03)
    late = [asyncio.ensure_future(ref.ask(Add(1))) for _ in range(3)]

    done = await asyncio.gather(*early, *late, return_exceptions=True)
    assert [type(d) for d in done] == [MessageTimeout] * 6
    gate.set()
    await held
    assert len(recorder.of("timeout")) == 6
