"""The registry: at most one live actor per key, spawned on first use, swept when idle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from server.actors._actor import Actor
from server.actors._cell import ActorCell
from server.actors._config import RuntimeConfig
from server.actors._key import ActorKey
from server.actors._observer import NullObserver, RuntimeObserver
from server.actors._ref import ActorRef
from server.errors import ActorStopped

__all__ = ["Registry"]


class Registry:
    """Owns every actor of one event loop; the server keeps exactly one.

    `observer` receives every runtime event (metrics and logs live there); `clock`
    measures idleness and handling time, and tests replace it to move time by hand.
    """

    def __init__(
        self,
        *,
        config: RuntimeConfig = RuntimeConfig(),  # noqa: B008 (frozen, so sharing is safe)
        observer: RuntimeObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.observer: RuntimeObserver = observer if observer is not None else NullObserver()
        self.cleanup_enabled = True
        """The periodic sweep skips its work while False (the `no_cleanup` fault)."""
        self._clock = clock
        self._cells: dict[ActorKey, ActorCell] = {}
        self._by_type: dict[str, dict[ActorKey, ActorCell]] = {}
        self._stopping: dict[ActorKey, ActorCell] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    # -- spawning and finding --------------------------------------------------------

    async def get_or_spawn(self, key: ActorKey, factory: Callable[[], Actor]) -> ActorRef:
        """The live actor for `key`, spawned from `factory` if there is none.

        Concurrent callers get the same actor. If an actor for `key` is still stopping,
        this waits for it to finish so two instances never own the same key. The new
        actor starts in the background; messages queue until its on_start is done.
        """
        while True:
            cell = self._cells.get(key)
            if cell is not None:
                return cell.ref
            stopping = self._stopping.get(key)
            if stopping is None:
                break
            await asyncio.wait({stopping.task})
        if self._closed:
            raise ActorStopped(key=key, reason="shutdown")
        cell = ActorCell(
            key=key,
            factory=factory,
            config=self.config,
            observer=self.observer,
            clock=self._clock,
            loop=asyncio.get_running_loop(),
            on_terminating=self._forget,
            on_terminated=self._gone,
        )
        self._cells[key] = cell
        self._by_type.setdefault(key.actor_type, {})[key] = cell
        return cell.ref

    def lookup(self, key: ActorKey) -> ActorRef | None:
        """The live actor for `key`, or None (never spawns)."""
        cell = self._cells.get(key)
        return None if cell is None else cell.ref

    def refs(self, actor_type: str | None = None) -> list[ActorRef]:
        """Every live actor, or those of one type."""
        return [cell.ref for cell in self._select(actor_type)]

    def count(self, actor_type: str | None = None) -> int:
        """How many actors are live (all, or of one type)."""
        if actor_type is None:
            return len(self._cells)
        return len(self._by_type.get(actor_type, ()))

    def mailbox_depth(self, actor_type: str | None = None) -> int:
        """Messages queued across actors (all, or of one type): one sum, no labels per actor."""
        return sum(len(cell.mailbox.items) for cell in self._select(actor_type))

    # -- stopping --------------------------------------------------------------------

    async def stop(self, key: ActorKey, *, reason: str = "requested") -> bool:
        """Stop the actor for `key` at once; queued and in-flight callers get ActorStopped.

        Returns False when no live actor has that key. Do not call it from the actor's
        own handler (it would wait for itself): tell the actor Stop() instead.
        """
        cell = self._cells.get(key)
        if cell is None:
            return False
        cell.request_stop(reason)
        await asyncio.wait({cell.task})
        return True

    async def stop_idle(self, older_than: float) -> list[ActorKey]:
        """Stop every actor with nothing to do for at least `older_than` seconds."""
        now = self._clock()
        idle = [cell.key for cell in self._cells.values() if cell.is_idle(now, older_than)]
        if idle:
            await asyncio.gather(*(self.stop(key, reason="inactivity") for key in idle))
        return idle

    async def sweep(self) -> list[ActorKey]:
        """One inactivity sweep as the periodic task runs it (nothing if disabled)."""
        timeout = self.config.inactivity_timeout
        if not self.cleanup_enabled or timeout is None:
            return []
        return await self.stop_idle(timeout)

    def start(self) -> None:
        """Start the periodic inactivity sweep (no-op without an inactivity_timeout)."""
        if self.config.inactivity_timeout is None or self._sweeper is not None or self._closed:
            return
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep_forever(), name="actor registry sweep"
        )

    async def shutdown(self) -> None:
        """Stop the sweep and every actor (reason "shutdown"); later spawns are refused."""
        self._closed = True
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.wait({sweeper})
        cells = list(self._cells.values())
        for cell in cells:
            cell.request_stop("shutdown")
        tasks = {cell.task for cell in cells} | {cell.task for cell in self._stopping.values()}
        if tasks:
            await asyncio.wait(tasks)

    # -- internals -------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.cleanup_interval)
            await self.sweep()

    def _select(self, actor_type: str | None) -> list[ActorCell]:
        if actor_type is None:
            return list(self._cells.values())
        return list(self._by_type.get(actor_type, {}).values())

    def _forget(self, cell: ActorCell) -> None:
        """The cell began stopping: new get_or_spawn calls must not find it."""
        key = cell.key
        if self._cells.get(key) is cell:
            del self._cells[key]
            of_type = self._by_type.get(key.actor_type)
            if of_type is not None:
                of_type.pop(key, None)
                if not of_type:
                    del self._by_type[key.actor_type]
            self._stopping[key] = cell

    def _gone(self, cell: ActorCell) -> None:
        """The cell finished stopping."""
        if self._stopping.get(cell.key) is cell:
            del self._stopping[cell.key]
