"""The heartbeat is bounded, and registration lapses when heartbeats stop succeeding."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from server.controller import ControllerIdentity, GlobalControllerClient
from server.faults import Faults
from server.metrics import LiveSources, ServerMetrics
from server.store.engine import PoolStats


class _Controller:
    """A controller table whose row can be locked: writes then wait forever."""

    def __init__(self) -> None:
        self.locked = False

    async def _write(self) -> None:
        if self.locked:
            await asyncio.Event().wait()

    async def register_controller(self, mc_id: str, **_: object) -> None:
        await self._write()

    async def heartbeat(self, mc_id: str, **_: object) -> bool:
        await self._write()
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _metrics() -> ServerMetrics:
    return ServerMetrics(
        LiveSources(
            actor_count=lambda _t: 0,
            mailbox_depth=lambda _t: 0,
            pool=lambda: PoolStats(0, 0, 1),
            meetings_active=lambda: 0,
            connections_active=lambda: 0,
            capacity=1,
            memory_limit_bytes=None,
        )
    )


def test_a_hanging_heartbeat_fails_in_time_and_registration_lapses_when_stale():
    async def scenario() -> None:
        engine = create_async_engine("sqlite+aiosqlite://")
        store, clock, metrics = _Controller(), _Clock(), _metrics()

        def sample(name: str, **labels: str) -> float | None:
            return metrics.registry.get_sample_value(name, labels)

        gc = GlobalControllerClient(
            ControllerIdentity("mc-1", "local", 1),
            store=store,  # type: ignore[arg-type]
            faults=Faults(engine=engine, max_connections=1),
            metrics=metrics,
            sessions=lambda: 0,
            interval=0.1,
            stale_intervals=3,
            clock=clock,
        )
        assert gc.timeout == 5.0 and gc.stale_after == 0.3 + 5.0  # the floor: 5 s
        assert await gc.register() and gc.registered
        store.locked = True
        started = asyncio.get_running_loop().time()
        assert not await gc.heartbeat()
        assert asyncio.get_running_loop().time() - started < 5.5
        assert sample("mc_gc_heartbeats_total", result="failure") == 1
        assert gc.registered  # one failure is not yet stale
        clock.now += gc.stale_after + 0.01
        assert not gc.registered
        assert not await gc.heartbeat()
        assert sample("mc_gc_registered") == 1  # registered, gone late: /ready says stale
        store.locked = False
        assert await gc.heartbeat() and gc.registered
        assert sample("mc_gc_registered") == 1
        await engine.dispose()

    asyncio.run(scenario())
