"""The server's parts wired together: engine, store, actors, metrics, faults, controller.

`Services.start(settings)` builds and starts everything; `close()` stops it in the
reverse order (actors first, so their last writes land, then the engine). The HTTP
layer (server/app.py) only parses requests and calls the methods here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.actors import ActorRef, Registry, RuntimeConfig
from server.config import Settings
from server.controller import ControllerIdentity, GlobalControllerClient
from server.conversation import (
    ACTOR_TYPE as CONVERSATION,
)
from server.conversation import (
    AddMembers,
    ConversationActor,
    ConversationDeps,
    CreateConvo,
    conversation_key,
)
from server.errors import ActorStopped, MessageTimeout, ServerError
from server.faults import Faults
from server.legacy import LegacyConversations
from server.logs import get_logger
from server.meeting import (
    ACTOR_TYPE as MEETING,
)
from server.meeting import (
    CheckTimeout,
    CreateMeeting,
    EndMeeting,
    MeetingActor,
    MeetingDeps,
    MeetingStats,
    meeting_key,
)
from server.metrics import LiveSources, RuntimeMetricsObserver, ServerMetrics
from server.ownership import Ownership
from server.store.engine import create_engine, create_tables, pool_stats
from server.store.repository import Store, utcnow

__all__ = ["Services"]

log = get_logger("server")


@dataclass
class Services:
    """Everything one server process runs; built by `start`."""

    settings: Settings
    engine: AsyncEngine
    store: Store
    faults: Faults
    registry: Registry
    metrics: ServerMetrics
    meeting_stats: MeetingStats
    legacy: LegacyConversations
    gc: GlobalControllerClient
    conversation_deps: ConversationDeps
    meeting_deps: MeetingDeps
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    async def start(cls, settings: Settings) -> Services:
        engine = create_engine(
            settings.database_url,
            max_connections=settings.database_max_connections,
            pool_timeout=settings.pool_timeout,
            statement_timeout=settings.statement_timeout,
        )
        try:
            await create_tables(engine)
        except Exception as err:
            await engine.dispose()
            log.error(
                f"Cannot start: creating tables in {settings.public()['database_url']} "
                f"failed ({type(err).__name__}: {err}); check DATABASE_URL and that the "
                "database accepts connections",
                error_type=type(err).__name__,
            )
            raise
        # faults call back into the Services built below (e.g. no_cleanup flips the sweep)
        holder: dict[str, Services] = {}
        faults = Faults(
            engine=engine,
            max_connections=settings.database_max_connections,
            on_change=lambda name, on: _later(holder, name, on),
        )
        store = Store(engine, server_id=settings.server_id, delay=faults.db_delay)
        meeting_stats = MeetingStats()
        registry_box: list[Registry] = []
        sources = LiveSources(
            actor_count=lambda t: registry_box[0].count(t),
            mailbox_depth=lambda t: registry_box[0].mailbox_depth(t),
            pool=lambda: pool_stats(engine, max_connections=settings.database_max_connections),
            meetings_active=lambda: meeting_stats.meetings_active,
            connections_active=lambda: meeting_stats.connections_active,
            capacity=settings.mc_capacity,
            memory_limit_bytes=settings.memory_limit_bytes,
        )
        metrics = ServerMetrics(sources)
        registry = Registry(
            config=RuntimeConfig(
                mailbox_size=settings.actor_mailbox_size,
                message_timeout=settings.message_timeout,
                inactivity_timeout=settings.inactivity_timeout,
                cleanup_interval=settings.cleanup_interval,
                start_attempts=settings.actor_start_attempts,
            ),
            observer=RuntimeMetricsObserver(metrics),
        )
        registry_box.append(registry)
        ownership = (
            Ownership(
                engine,
                owner_id=settings.server_id,
                owner_url=settings.replica_url,
                ttl=settings.conversation_lease_seconds,
            )
            if settings.replicated
            else None
        )
        gc = GlobalControllerClient(
            ControllerIdentity(settings.mc_id, settings.mc_region, settings.mc_capacity),
            store=store,
            faults=faults,
            metrics=metrics,
            sessions=lambda: meeting_stats.meetings_active,
            interval=settings.gc_heartbeat_interval,
            stale_intervals=settings.gc_stale_intervals,
        )
        services = cls(
            settings=settings,
            engine=engine,
            store=store,
            faults=faults,
            registry=registry,
            metrics=metrics,
            meeting_stats=meeting_stats,
            legacy=LegacyConversations(store),
            gc=gc,
            conversation_deps=ConversationDeps(
                store=store, faults=faults, registry=registry, ownership=ownership
            ),
            meeting_deps=MeetingDeps(
                store=store,
                faults=faults,
                stats=meeting_stats,
                mc_id=settings.mc_id,
                meeting_timeout=settings.meeting_timeout,
                inbox_bytes=settings.meeting_inbox_bytes,
            ),
        )
        holder["services"] = services
        registry.start()
        await gc.register()
        if settings.faults:
            await faults.set_many(settings.faults)
        services._spawn(gc.run(), "gc heartbeat")
        services._spawn(services._epoch_conflicts_forever(), "epoch conflicts")
        services._spawn(services._meeting_timeouts_forever(), "meeting timeouts")
        if ownership is not None:
            services._spawn(services._leases_forever(ownership), "conversation leases")
        log.info(
            "Server started",
            database=settings.public()["database_url"],
            enable_actor_system=settings.enable_actor_system,
            replicated=settings.replicated,
            max_connections=settings.database_max_connections,
            mc_id=settings.mc_id,
        )
        if settings.admin_token_generated:
            log.warn(
                "ADMIN_TOKEN is not set: a random admin token was generated and is not "
                "shown; set ADMIN_TOKEN to use /admin/*"
            )
        return services

    async def close(self) -> None:
        """Stop background loops, every actor, held faults, then the engine."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.registry.shutdown()  # each conversation actor releases its lease
        ownership = self.conversation_deps.ownership
        if ownership is not None:
            with contextlib.suppress(Exception):  # they expire anyway
                await ownership.release_all()
        await self.faults.clear_all()
        await self.engine.dispose()
        log.info("Server stopped")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro, name=name))

    # -- conversations -----------------------------------------------------------------
    @property
    def actor_system_enabled(self) -> bool:
        return self.settings.enable_actor_system and not self.faults.is_on("actor_system_disabled")

    async def conversation(self, convo_id: str, message: Any) -> Any:
        """Answer a conversation message through its actor, or the legacy path."""
        if not self.actor_system_enabled:
            return await self.legacy.handle(convo_id, message)
        if isinstance(message, AddMembers):
            log.info("Using actor system for add_members", convo_id=convo_id)
        creating = isinstance(message, CreateConvo)
        deps = self.conversation_deps
        key = conversation_key(convo_id)
        # another replica's: no actor here (a spawn per forwarded request would look like
        # runbook 000's spawn loop)
        if (
            deps.ownership is not None
            and self.registry.lookup(key) is None
            and (elsewhere := await deps.ownership.owned_elsewhere(convo_id)) is not None
        ):
            raise elsewhere
        return await self._ask(
            key,
            lambda: ConversationActor(deps, creating=creating),
            message,
        )

    # -- meetings ----------------------------------------------------------------------
    async def meeting(self, meeting_id: str, message: Any) -> Any:
        creating = isinstance(message, CreateMeeting)
        deps = self.meeting_deps
        reply = await self._ask(
            meeting_key(meeting_id), lambda: MeetingActor(deps, creating=creating), message
        )
        if isinstance(message, EndMeeting):
            await self.registry.stop(meeting_key(meeting_id), reason="requested")
        return reply

    async def meeting_ref(self, meeting_id: str) -> ActorRef:
        deps = self.meeting_deps
        return await self.registry.get_or_spawn(meeting_key(meeting_id), lambda: MeetingActor(deps))

    async def _ask(self, key: Any, factory: Callable[[], Any], message: Any) -> Any:
        """Ask, retrying once when the actor was stopping (inactivity) as we reached it."""
        for attempt in (1, 2):
            ref = await self.registry.get_or_spawn(key, factory)
            try:
                return await ref.ask(message)
            except ActorStopped as err:
                if attempt == 2 or err.reason in ("shutdown", "crash"):
                    raise
        raise AssertionError("unreachable")

    # -- faults ------------------------------------------------------------------------
    async def fault_changed(self, name: str, on: bool) -> None:
        if name == "no_cleanup":
            self.registry.cleanup_enabled = not on
        elif name == "actor_system_disabled":
            # actors' in-memory epochs go stale while the legacy path writes: reload later
            for ref in self.registry.refs(CONVERSATION):
                await self.registry.stop(ref.key, reason="requested")

    # -- background loops --------------------------------------------------------------
    async def refresh_epoch_conflicts(self) -> int:
        count = await self.store.epoch_conflicts(since=utcnow() - timedelta(hours=1))
        self.metrics.epoch_conflicts.set(count)
        return count

    async def _epoch_conflicts_forever(self) -> None:
        while True:
            try:
                count = await self.refresh_epoch_conflicts()
                if count:
                    log.warn(
                        f"EpochConflictDetected: {count} duplicate commit epochs in 1h", count=count
                    )
            except Exception as err:
                log.warn(f"Epoch conflict check failed: {err}", error_type=type(err).__name__)
            await asyncio.sleep(self.settings.epoch_conflict_interval)

    async def end_timed_out_meetings(self) -> list[str]:
        """Ask every meeting to check its timeout; stop those that ended."""
        refs = self.registry.refs(MEETING)
        replies = await asyncio.gather(
            *(ref.ask(CheckTimeout(), timeout=5.0) for ref in refs), return_exceptions=True
        )
        ended = []
        for ref, reply in zip(refs, replies, strict=True):
            if isinstance(reply, dict) and reply.get("status") == "ended":
                ended.append(ref.key.actor_id)
                await self.registry.stop(ref.key, reason="requested")
            elif isinstance(reply, BaseException) and not isinstance(
                reply, ServerError | MessageTimeout
            ):
                log.warn(f"Meeting timeout check failed: {reply}", meeting_id=ref.key.actor_id)
        return ended

    async def _meeting_timeouts_forever(self) -> None:
        interval = min(max(self.settings.meeting_timeout / 4, 0.2), 30.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.end_timed_out_meetings()
            except Exception as err:
                log.warn(f"Meeting sweep failed: {err}", error_type=type(err).__name__)

    async def _leases_forever(self, ownership: Ownership) -> None:
        """Renew this replica's leases every ttl / 3; end actors whose lease was lost."""
        while True:
            await asyncio.sleep(ownership.ttl / 3)
            running = self.registry.refs(CONVERSATION)  # before: later ones hold new leases
            try:
                owned = await ownership.renew()
            except Exception as err:  # the database is away: writes are fenced anyway
                log.warn(f"Lease renewal failed: {err}", error_type=type(err).__name__)
                continue
            for ref in running:
                if ref.key.actor_id not in owned:
                    log.warn(
                        f"Lease on conversation {ref.key.actor_id} lost: stopping its actor",
                        convo_id=ref.key.actor_id,
                    )
                    await self.registry.stop(ref.key, reason="requested")


async def _later(holder: dict[str, Services], name: str, on: bool) -> None:
    services = holder.get("services")
    if services is not None:
        await services.fault_changed(name, on)
