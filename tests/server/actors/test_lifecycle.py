"""GetState, stopping, the inactivity sweep and shutdown."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from server.actors import GetState
from server.errors import ActorStopped
from tests.server.actors.conftest import (
    Add,
    Counter,
    FakeClock,
    Hold,
    Stubborn,
    key,
    wait_until,
)


@pytest.mark.asyncio
async def test_get_state_merges_actor_state_with_runtime_facts(make_registry):
    clock = FakeClock()
    registry, _ = make_registry(clock=clock)
    ref = await registry.get_or_spawn(key(), Counter)
    await ref.ask(Add(7))
    clock.advance(42)

    state = await ref.ask(GetState())
    assert state["count"] == 7
    assert state["actor_type"] == "conversation"
    assert state["actor_id"] == "c1"
    assert state["mailbox_depth"] == 0
    assert state["restarts"] == 0
    assert state["idle_seconds"] == 42
    assert datetime.fromisoformat(state["started_at"]).tzinfo is not None
    assert ref.idle_seconds == 42  # inspecting does not count as activity


@pytest.mark.asyncio
async def test_stop_fails_in_flight_and_queued_askers_with_actor_stopped(make_registry):
    registry, recorder = make_registry()
    journal: list[str] = []
    ref = await registry.get_or_spawn(key(), lambda: Counter(journal))
    gate, entered = asyncio.Event(), asyncio.Event()
    in_flight = asyncio.ensure_future(ref.ask(Hold(gate, entered)))
    await entered.wait()
    queued = asyncio.ensure_future(ref.ask(Add(1)))

    assert await registry.stop(key()) is True
    for pending in (in_flight, queued):
        with pytest.raises(ActorStopped) as raised:
            await pending
        assert raised.value.reason == "requested"
    assert not ref.alive
    assert registry.lookup(key()) is None
    assert registry.count() == 0
    assert recorder.of("stop") == [(key(), "requested")]
    assert journal == ["start c1", "stop c1 requested"]
    with pytest.raises(ActorStopped):
        await ref.ask(Add(1))
    assert await registry.stop(key()) is False

    fresh = await registry.get_or_spawn(key(), Counter)
    assert fresh is not ref
    assert await fresh.ask(Add(1)) == 1


class SlowToStop(Counter):
    def __init__(self, journal: list[str], release: asyncio.Event) -> None:
        super().__init__(journal)
        self.release = release

    async def on_stop(self, reason: str) -> None:
        await self.release.wait()
        await super().on_stop(reason)


@pytest.mark.asyncio
async def test_get_or_spawn_waits_for_a_stopping_actor_of_the_same_key(make_registry):
    registry, _ = make_registry()
    journal: list[str] = []
    release = asyncio.Event()
    await registry.get_or_spawn(key(), lambda: SlowToStop(journal, release))
    await wait_until(lambda: journal == ["start c1"])
    stopping = asyncio.ensure_future(registry.stop(key()))
    await asyncio.sleep(0.01)
    respawn = asyncio.ensure_future(registry.get_or_spawn(key(), lambda: Counter(journal)))
    await asyncio.sleep(0.01)
    assert not respawn.done()

    release.set()
    await stopping
    ref = await respawn
    assert await ref.ask(Add(1)) == 1
    assert journal == ["start c1", "stop c1 requested", "start c1"]


@pytest.mark.asyncio
async def test_stop_idle_stops_only_actors_idle_long_enough(make_registry):
    clock = FakeClock()
    registry, recorder = make_registry(clock=clock, inactivity_timeout=60)
    refs = [await registry.get_or_spawn(key(n), Counter) for n in ("a", "b", "c", "busy")]
    for ref in refs:
        await ref.ask(Add(1))
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(refs[3].ask(Hold(gate, entered), timeout=None))
    await entered.wait()
    clock.advance(50)
    await refs[2].ask(Add(1))  # c is active again
    clock.advance(20)

    stopped = await registry.sweep()
    assert sorted(k.actor_id for k in stopped) == ["a", "b"]
    assert sorted(r.key.actor_id for r in registry.refs()) == ["busy", "c"]
    assert sorted(s[0].actor_id for s in recorder.of("stop")) == ["a", "b"]
    assert {s[1] for s in recorder.of("stop")} == {"inactivity"}
    gate.set()
    assert await held == "held"


@pytest.mark.asyncio
async def test_sweep_does_nothing_while_cleanup_is_disabled(make_registry):
    clock = FakeClock()
    registry, _ = make_registry(clock=clock, inactivity_timeout=60)
    for n in ("a", "b"):
        await registry.get_or_spawn(key(n), Counter)
    clock.advance(3600)

    registry.cleanup_enabled = False
    assert await registry.sweep() == []
    assert registry.count() == 2
    # stop_idle is the explicit admin action: it works regardless
    assert len(await registry.stop_idle(10)) == 2


@pytest.mark.asyncio
async def test_periodic_sweep_runs_after_start_and_honours_the_switch(make_registry):
    clock = FakeClock()
    registry, _ = make_registry(clock=clock, inactivity_timeout=60, cleanup_interval=0.01)
    for n in ("a", "b"):
        await registry.get_or_spawn(key(n), Counter)
    registry.cleanup_enabled = False
    registry.start()
    clock.advance(3600)
    await asyncio.sleep(0.05)  # several sweep intervals pass
    assert registry.count() == 2

    registry.cleanup_enabled = True
    await wait_until(lambda: registry.count() == 0)


@pytest.mark.asyncio
async def test_no_sweep_without_inactivity_timeout(make_registry):
    clock = FakeClock()
    registry, _ = make_registry(clock=clock, inactivity_timeout=None, cleanup_interval=0.01)
    await registry.get_or_spawn(key(), Counter)
    registry.start()
    clock.advance(10**6)
    assert await registry.sweep() == []
    await asyncio.sleep(0.03)
    assert registry.count() == 1


@pytest.mark.asyncio
async def test_shutdown_stops_every_actor_and_refuses_new_ones(make_registry):
    registry, recorder = make_registry()
    refs = [await registry.get_or_spawn(key(str(n)), Counter) for n in range(5)]
    for ref in refs:
        await ref.ask(Add(1))
    registry.start()

    await registry.shutdown()
    assert registry.count() == 0
    assert not any(ref.alive for ref in refs)
    assert [s[1] for s in recorder.of("stop")] == ["shutdown"] * 5
    with pytest.raises(ActorStopped):
        await registry.get_or_spawn(key("late"), Counter)


@pytest.mark.asyncio
async def test_stop_completes_even_if_the_handler_swallows_the_cancel(make_registry):
    registry, recorder = make_registry(message_timeout=None)
    actor = Counter()
    ref = await registry.get_or_spawn(key(), lambda: actor)
    busy = asyncio.ensure_future(ref.ask(Stubborn(30)))
    await wait_until(lambda: ref.idle_seconds > 0 and registry.mailbox_depth() == 0)
    await asyncio.sleep(0.01)

    assert await asyncio.wait_for(registry.stop(key()), 5) is True
    assert actor.cancelled == 1
    assert await busy == "stubborn"  # it did finish, so its caller got the reply
    assert recorder.of("stop") == [(key(), "requested")]


@pytest.mark.asyncio
async def test_a_caller_that_gives_up_does_not_disturb_the_actor(make_registry):
    registry, _ = make_registry()
    ref = await registry.get_or_spawn(key(), Counter)
    gate, entered = asyncio.Event(), asyncio.Event()
    held = asyncio.ensure_future(ref.ask(Hold(gate, entered)))
    await entered.wait()
    abandoned = asyncio.ensure_future(ref.ask(Add(1)))
    await asyncio.sleep(0)
    abandoned.cancel()
    gate.set()

    assert await held == "held"
    assert await ref.ask(Add(1)) == 2  # the abandoned message was still handled
    assert abandoned.cancelled()
