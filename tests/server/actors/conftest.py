"""Shared parts for the runtime tests: a recording observer, a hand-moved clock, actors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import pytest_asyncio

from server.actors import Actor, ActorKey, Registry, RuntimeConfig
from server.errors import Invalid


class Recorder:
    """A real RuntimeObserver that keeps every event as (kind, key, *details)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_spawn(self, key: ActorKey) -> None:
        self.events.append(("spawn", key))

    def on_stop(self, key: ActorKey, reason: str) -> None:
        self.events.append(("stop", key, reason))

    def on_crash(self, key: ActorKey, error: BaseException) -> None:
        self.events.append(("crash", key, error))

    def on_restart(self, key: ActorKey, attempt: int, delay: float) -> None:
        self.events.append(("restart", key, attempt, delay))

    def on_message(self, key: ActorKey, message_type: str, seconds: float, ok: bool) -> None:
        self.events.append(("message", key, message_type, ok))

    def on_drop(self, key: ActorKey, message_type: str) -> None:
        self.events.append(("drop", key, message_type))

    def on_timeout(self, key: ActorKey, message_type: str) -> None:
        self.events.append(("timeout", key, message_type))

    def on_give_up(self, key: ActorKey, attempts: int) -> None:
        self.events.append(("give_up", key, attempts))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [event[1:] for event in self.events if event[0] == kind]


class FakeClock:
    """Monotonic time that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- messages understood by Counter ---------------------------------------------------


class Add(NamedTuple):
    n: int


class Boom(NamedTuple):
    """Crash with a plain exception."""

    text: str = "database transaction failed"


class Refuse(NamedTuple):
    """Refuse with a DomainError."""


class Sleep(NamedTuple):
    seconds: float


class Hold(NamedTuple):
    """Signal `entered`, wait for `gate`, then return (or crash if `then_crash`)."""

    gate: asyncio.Event
    entered: asyncio.Event
    then_crash: bool = False


class Stubborn(NamedTuple):
    """Sleep but swallow the cancellation, as a badly written handler might."""

    seconds: float


class Counter(Actor):
    """Test actor: keeps a count and records its life in `journal`."""

    def __init__(self, journal: list[str] | None = None) -> None:
        self.count = 0
        self.journal = journal if journal is not None else []
        self.cancelled = 0

    async def on_start(self) -> None:
        self.journal.append(f"start {self.key.actor_id}")

    async def on_stop(self, reason: str) -> None:
        self.journal.append(f"stop {self.key.actor_id} {reason}")

    async def on_receive(self, message: Any) -> Any:
        match message:
            case Add(n):
                self.count += n
                return self.count
            case Boom(text):
                raise RuntimeError(text)
            case Refuse():
                raise Invalid("count must stay positive", fix="send a positive number")
            case Sleep(seconds):
                try:
                    await asyncio.sleep(seconds)
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
                return "slept"
            case Hold(gate, entered, then_crash):
                entered.set()
                await gate.wait()
                if then_crash:
                    raise RuntimeError("crashed after the gate")
                return "held"
            case Stubborn(seconds):
                try:
                    await asyncio.sleep(seconds)
                except asyncio.CancelledError:
                    self.cancelled += 1
                return "stubborn"
        return await super().on_receive(message)

    def get_state(self) -> dict[str, Any]:
        return {"count": self.count}


def key(actor_id: str = "c1", actor_type: str = "conversation") -> ActorKey:
    return ActorKey(actor_type, actor_id)


RegistryMaker = Callable[..., tuple[Registry, Recorder]]


@pytest_asyncio.fixture
async def make_registry() -> AsyncIterator[RegistryMaker]:
    """Build registries with a Recorder (and optional clock); all are shut down after."""
    made: list[Registry] = []

    def make(
        *, clock: Callable[[], float] | None = None, **config: Any
    ) -> tuple[Registry, Recorder]:
        recorder = Recorder()
        options: dict[str, Any] = {"config": RuntimeConfig(**config), "observer": recorder}
        if clock is not None:
            options["clock"] = clock
        registry = Registry(**options)
        made.append(registry)
        return registry, recorder

    yield make
    for registry in made:
        await registry.shutdown()


async def wait_until(condition: Callable[[], bool], *, seconds: float = 5.0) -> None:
    """Poll until `condition` holds (bounded), for effects of background tasks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
