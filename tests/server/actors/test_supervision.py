"""Domain errors leave the actor alone; anything else crashes it and it is restarted."""

from __future__ import annotations

import asyncio

import pytest

from server.actors import Actor, Backoff
from server.errors import ActorCrashed, Invalid, NotFound
from tests.server.actors.conftest import (
    Add,
    Boom,
    Counter,
    FakeClock,
    Hold,
    Refuse,
    key,
    wait_until,
)


@pytest.mark.asyncio
async def test_domain_error_reaches_the_caller_and_the_actor_keeps_its_state(make_registry):
    registry, recorder = make_registry()
    ref = await registry.get_or_spawn(key(), Counter)
    assert await ref.ask(Add(5)) == 5

    with pytest.raises(Invalid, match="count must stay positive") as raised:
        await ref.ask(Refuse())
    assert raised.value.http_status == 422
    assert await ref.ask(Add(1)) == 6  # same instance: state kept
    assert recorder.of("crash") == []
    assert len(recorder.of("spawn")) == 1
    assert recorder.of("message")[1] == (key(), "refuse", False)


@pytest.mark.asyncio
async def test_crash_answers_actor_crashed_respawns_and_keeps_queued_messages(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.01)
    journal: list[str] = []
    ref = await registry.get_or_spawn(key(), lambda: Counter(journal))
    assert await ref.ask(Add(100)) == 100
    gate, entered = asyncio.Event(), asyncio.Event()
    crashing = asyncio.ensure_future(ref.ask(Hold(gate, entered, then_crash=True)))
    await entered.wait()
    queued = [asyncio.ensure_future(ref.ask(Add(n))) for n in (1, 2)]

    gate.set()
    with pytest.raises(ActorCrashed) as raised:
        await crashing
    assert isinstance(raised.value.error, RuntimeError)
    assert raised.value.key == key()
    assert raised.value.message_type == "hold"
    # a new instance (count from 0) handled what was queued behind the crash
    assert await asyncio.gather(*queued) == [1, 3]
    assert ref.restarts == 1
    assert ref.alive
    assert len(recorder.of("spawn")) == 2
    assert [type(e[1]) for e in recorder.of("crash")] == [RuntimeError]
    assert recorder.of("stop") == [(key(), "crash")]
    assert recorder.of("restart") == [(key(), 1, 0.01)]
    assert journal == ["start c1", "stop c1 crash", "start c1"]


@pytest.mark.asyncio
async def test_backoff_doubles_on_repeated_crashes_and_is_capped(make_registry):
    clock = FakeClock()  # does not move: every crash follows the previous one closely
    registry, recorder = make_registry(
        clock=clock, restart_backoff_initial=0.005, restart_backoff_max=0.02
    )
    ref = await registry.get_or_spawn(key(), Counter)
    for _ in range(4):
        with pytest.raises(ActorCrashed):
            await ref.ask(Boom())
    await wait_until(lambda: len(recorder.of("spawn")) == 5)

    assert recorder.of("restart") == [
        (key(), 1, 0.005),
        (key(), 2, 0.01),
        (key(), 3, 0.02),
        (key(), 4, 0.02),
    ]
    assert len(recorder.of("stop")) == 4  # each spawn but the live one ended
    assert await ref.ask(Add(1)) == 1


@pytest.mark.asyncio
async def test_backoff_resets_after_a_quiet_period(make_registry):
    clock = FakeClock()
    registry, recorder = make_registry(
        clock=clock, restart_backoff_initial=0.005, restart_reset_after=30.0
    )
    ref = await registry.get_or_spawn(key(), Counter)
    for _ in range(2):
        with pytest.raises(ActorCrashed):
            await ref.ask(Boom())
    clock.advance(31)
    with pytest.raises(ActorCrashed):
        await ref.ask(Boom())
    assert [r[1:] for r in recorder.of("restart")] == [(1, 0.005), (2, 0.01), (1, 0.005)]


def test_backoff_policy_alone():
    backoff = Backoff(initial=1.0, maximum=5.0, reset_after=10.0)
    assert [backoff.next_delay(0.0) for _ in range(5)] == [
        (1, 1.0),
        (2, 2.0),
        (3, 4.0),
        (4, 5.0),
        (5, 5.0),
    ]
    assert backoff.next_delay(10.5) == (1, 1.0)
    for _ in range(2000):  # a long crash loop must not overflow
        attempt, delay = backoff.next_delay(10.5)
    assert (attempt, delay) == (2001, 5.0)


class FailsToStartOnce(Actor):
    starts = 0

    async def on_start(self) -> None:
        type(self).starts += 1
        await asyncio.sleep(0.01)  # loading from the database; callers queue up meanwhile
        if type(self).starts == 1:
            raise ConnectionError("database unreachable")

    async def on_receive(self, message: object) -> object:
        return "ok"


@pytest.mark.asyncio
async def test_on_start_crash_fails_the_waiting_message_and_restarts(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.005)
    ref = await registry.get_or_spawn(key(), FailsToStartOnce)
    first = asyncio.ensure_future(ref.ask(Add(1)))
    second = asyncio.ensure_future(ref.ask(Add(2)))

    with pytest.raises(ActorCrashed, match="database unreachable") as raised:
        await first
    assert raised.value.message_type == "add"
    assert await second == "ok"  # kept for the restarted instance
    assert [type(e[1]) for e in recorder.of("crash")] == [ConnectionError]
    assert len(recorder.of("spawn")) == 2
    assert recorder.of("stop") == [(key(), "crash")]


class UnknownConversation(Actor):
    async def on_start(self) -> None:
        await asyncio.sleep(0.01)  # looking it up in the database
        raise NotFound(f"conversation {self.key.actor_id} does not exist")


@pytest.mark.asyncio
async def test_domain_error_in_on_start_refuses_every_waiting_caller_without_restart(
    make_registry,
):
    registry, recorder = make_registry()
    ref = await registry.get_or_spawn(key("nope"), UnknownConversation)
    asks = [asyncio.ensure_future(ref.ask(Add(n))) for n in range(3)]
    results = await asyncio.gather(*asks, return_exceptions=True)

    assert [type(r) for r in results] == [NotFound] * 3
    assert results[0].http_status == 404
    with pytest.raises(NotFound):  # a caller still holding the old ref is told the same
        await ref.ask(Add(1))
    await wait_until(lambda: registry.lookup(key("nope")) is None)
    assert recorder.of("crash") == []
    assert recorder.of("restart") == []
    assert recorder.of("stop") == [(key("nope"), "start_failed")]


@pytest.mark.asyncio
async def test_spawns_and_stops_stay_paired(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.005)
    ref = await registry.get_or_spawn(key(), Counter)
    with pytest.raises(ActorCrashed):
        await ref.ask(Boom())
    assert await ref.ask(Add(1)) == 1
    await registry.stop(key())
    assert len(recorder.of("spawn")) == len(recorder.of("stop")) == 2


@pytest.mark.asyncio
async def test_a_failing_factory_counts_as_a_crash_and_is_retried(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.005)
    calls = []

    def factory() -> Counter:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("bad settings")
        return Counter()

    ref = await registry.get_or_spawn(key(), factory)
    await wait_until(lambda: len(recorder.of("spawn")) == 1)
    assert await ref.ask(Add(1)) == 1
    assert [type(e[1]) for e in recorder.of("crash")] == [ValueError]
    assert recorder.of("stop") == []  # nothing was spawned by the failed call
    assert ref.restarts == 1


class AwaitsACancelledFuture(Actor):
    async def on_receive(self, message: object) -> object:
        if message == "bad":
            future = asyncio.get_running_loop().create_future()
            future.cancel()
            await future  # raises CancelledError although nobody cancelled the actor
        return "fine"


@pytest.mark.asyncio
async def test_a_stray_cancelled_error_from_a_handler_is_a_crash_not_a_stop(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.005)
    ref = await registry.get_or_spawn(key(), AwaitsACancelledFuture)
    with pytest.raises(ActorCrashed) as raised:
        await ref.ask("bad")
    assert isinstance(raised.value.error, asyncio.CancelledError)
    assert await ref.ask("good") == "fine"
    assert ref.alive
    assert [s[1] for s in recorder.of("stop")] == ["crash"]


class NeverStarts(Actor):
    async def on_start(self) -> None:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")


@pytest.mark.asyncio
async def test_an_actor_that_never_starts_gives_up_after_start_attempts(make_registry):
    registry, recorder = make_registry(restart_backoff_initial=0.005, start_attempts=3)
    ref = await registry.get_or_spawn(key("bad"), NeverStarts)
    asks = [asyncio.ensure_future(ref.ask(Add(n))) for n in range(5)]
    results = await asyncio.gather(*asks, return_exceptions=True)

    assert [type(r) for r in results] == [ActorCrashed] * 5
    await wait_until(lambda: registry.lookup(key("bad")) is None)
    await asyncio.sleep(0.1)  # no restart keeps counting crashes after the give-up
    assert len(recorder.of("crash")) == 3
    assert len(recorder.of("restart")) == 2
    assert recorder.of("give_up") == [(key("bad"), 3)]
    assert len(recorder.of("spawn")) == len(recorder.of("stop")) == 3
