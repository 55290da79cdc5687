"""Prometheus metrics with the runbooks' names, and the observer that feeds them.

One CollectorRegistry per app (never the global default), so two apps in one process
(tests) do not collide. Gauges about actors, mailboxes, the pool and meetings are
computed when /metrics is scraped, from registry totals: no per-actor label values,
so a scrape costs the same with ten actors or ten thousand.
"""

from __future__ import annotations

import math
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.actors import ActorKey
from server.logs import get_logger
from server.store.engine import PoolStats

__all__ = [
    "ACTOR_TYPES",
    "DURATION_BUCKETS_MS",
    "LiveSources",
    "P95Window",
    "RuntimeMetricsObserver",
    "ServerMetrics",
]

DURATION_BUCKETS_MS = (0.5, 1, 2.5, 5, 10, 25, 50, 100, 200, 500, 1000, 2500, 5000, 10000)
ACTOR_TYPES = ("conversation", "meeting")
CONVERSATION = "conversation"
ERROR_TYPES = ("crash", "mailbox_full", "timeout")
log = get_logger("actors")


class P95Window:
    """The last ``size`` durations per message type, p95 over the last ``seconds``."""

    def __init__(
        self, *, size: int = 512, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._seconds = seconds
        self._clock = clock
        self._samples: dict[str, deque[tuple[float, float]]] = {}

    def add(self, message_type: str, ms: float) -> None:
        window = self._samples.get(message_type)
        if window is None:
            window = self._samples[message_type] = deque(maxlen=self._size)
        window.append((self._clock(), ms))

    def p95(self) -> dict[str, float]:
        """Per message type; 0 when nothing was handled within the window."""
        cutoff = self._clock() - self._seconds
        result = {}
        for message_type, window in self._samples.items():
            recent = sorted(ms for at, ms in window if at >= cutoff)
            if not recent:
                result[message_type] = 0.0
                continue
            rank = max(math.ceil(0.95 * len(recent)) - 1, 0)
            result[message_type] = recent[rank]
        return result


@dataclass(frozen=True)
class LiveSources:
    """Where the scrape-time gauges read from (injected by the app)."""

    actor_count: Callable[[str], int]
    mailbox_depth: Callable[[str], int]
    pool: Callable[[], PoolStats]
    meetings_active: Callable[[], int]
    connections_active: Callable[[], int]
    capacity: int
    memory_limit_bytes: int | None


class _LiveCollector(Collector):
    def __init__(self, sources: LiveSources, window: P95Window) -> None:
        self._sources = sources
        self._window = window

    def collect(self) -> Iterator[Metric]:
        src = self._sources
        yield GaugeMetricFamily(
            "actor_registry_active_actors",
            "Live conversation actors",
            value=src.actor_count(CONVERSATION),
        )
        yield GaugeMetricFamily(
            "actor_mailbox_size",
            "Messages queued in all conversation actors' mailboxes",
            value=src.mailbox_depth(CONVERSATION),
        )
        depth = GaugeMetricFamily(
            "mc_actor_mailbox_depth", "Messages queued per actor type", labels=["actor_type"]
        )
        for actor_type in ACTOR_TYPES:
            depth.add_metric([actor_type], src.mailbox_depth(actor_type))
        yield depth
        p95 = GaugeMetricFamily(
            "actor_message_duration_p95",
            "p95 of conversation message handling over the last 60 s, ms",
            labels=["message_type"],
        )
        for message_type, value in sorted(self._window.p95().items()):
            p95.add_metric([message_type], value)
        yield p95
        pool = src.pool()
        yield GaugeMetricFamily(
            "db_pool_connections_active", "Pool connections in use", value=pool.active
        )
        yield GaugeMetricFamily(
            "db_pool_connections_idle", "Pool connections idle", value=pool.idle
        )
        yield GaugeMetricFamily(
            "db_pool_connections_max", "Pool bound (max_connections)", value=pool.max
        )
        yield GaugeMetricFamily(
            "mc_meetings_active", "Active meetings on this MC", value=src.meetings_active()
        )
        yield GaugeMetricFamily(
            "mc_connections_active", "Participant connections", value=src.connections_active()
        )
        yield GaugeMetricFamily("mc_meeting_capacity", "MC_CAPACITY", value=src.capacity)
        if src.memory_limit_bytes is not None:
            yield GaugeMetricFamily(
                "mc_memory_limit_bytes", "MEMORY_LIMIT_BYTES", value=src.memory_limit_bytes
            )


class ServerMetrics:
    """Every metric of server/README.md "Metrics", on a registry of its own."""

    def __init__(self, sources: LiveSources, *, window: P95Window | None = None) -> None:
        disable_created_metrics()  # no *_created series: the runbooks' queries don't expect them
        self.registry = CollectorRegistry()
        reg = self.registry
        self.window = window or P95Window()
        self.spawns = Counter("actor_spawns", "Conversation actors spawned", registry=reg)
        self.stops = Counter("actor_stops", "Conversation actors stopped", registry=reg)
        self.messages = Counter("actor_messages", "Conversation messages handled", registry=reg)
        self.errors = Counter(
            "actor_errors", "Conversation actor errors", ["error_type"], registry=reg
        )
        self.duration = Histogram(
            "actor_message_duration",
            "Conversation message handling time, milliseconds",
            ["message_type"],
            buckets=DURATION_BUCKETS_MS,
            registry=reg,
        )
        self.epoch_conflicts = Gauge(
            "actor_epoch_conflicts_1h",
            "Duplicate commit epochs in the last hour (EpochConflictDetected)",
            registry=reg,
        )
        self.processing = Histogram(
            "mc_message_processing_duration_seconds",
            "Message handling time per actor type",
            ["actor_type"],
            registry=reg,
        )
        self.dropped = Counter(
            "mc_messages_dropped",
            "Messages refused by a full mailbox",
            ["actor_type"],
            registry=reg,
        )
        self.panics = Counter(
            "mc_actor_panics", "Unexpected exceptions in actors", ["actor_type"], registry=reg
        )
        self.heartbeats = Counter(
            "mc_gc_heartbeats", "Global-controller heartbeats", ["result"], registry=reg
        )
        self.heartbeat_duration = Histogram(
            "mc_gc_heartbeat_duration_seconds", "Global-controller heartbeat time", registry=reg
        )
        self.gc_registered = Gauge(
            "mc_gc_registered", "1 when registered with the controller", registry=reg
        )
        for error_type in ERROR_TYPES:
            self.errors.labels(error_type)
        for actor_type in ACTOR_TYPES:
            self.dropped.labels(actor_type)
            self.panics.labels(actor_type)
        for result in ("success", "failure"):
            self.heartbeats.labels(result)
        reg.register(_LiveCollector(sources, self.window))
        ProcessCollector(registry=reg)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RuntimeMetricsObserver:
    """The RuntimeObserver of the server: runbook log lines and metrics per event."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._m = metrics
        self._crashed: set[ActorKey] = set()

    def on_spawn(self, key: ActorKey) -> None:
        actor_type, actor_id = key
        if actor_type == CONVERSATION:
            self._m.spawns.inc()
        noun = "conversation" if actor_type == CONVERSATION else actor_type
        line = f"Spawning new actor for {noun} {actor_id}"
        if key in self._crashed:
            self._crashed.discard(key)
            log.info(line, actor_type=actor_type, **{_id_field(actor_type): actor_id})
        else:
            log.debug(line, actor_type=actor_type, **{_id_field(actor_type): actor_id})

    def on_stop(self, key: ActorKey, reason: str) -> None:
        if key.actor_type == CONVERSATION:
            self._m.stops.inc()
        log.debug(
            f"Actor stopped ({reason}) for {key.actor_type} {key.actor_id}",
            actor_type=key.actor_type,
            reason=reason,
            **{_id_field(key.actor_type): key.actor_id},
        )

    def on_crash(self, key: ActorKey, error: BaseException) -> None:
        self._crashed.add(key)
        backtrace = "".join(traceback.format_exception(error))
        fields = {
            "actor_type": key.actor_type,
            "error_type": type(error).__name__,
            _id_field(key.actor_type): key.actor_id,
            "backtrace": backtrace,
        }
        if key.actor_type == CONVERSATION:
            self._m.errors.labels("crash").inc()
            log.error(f"Actor crashed: {error} for conversation {key.actor_id}", **fields)
        else:
            self._m.panics.labels(key.actor_type).inc()
            log.error(f"Actor panicked: {error} for {key.actor_type} {key.actor_id}", **fields)

    def on_restart(self, key: ActorKey, attempt: int, delay: float) -> None:
        log.debug(
            f"Restarting {key.actor_type} actor {key.actor_id} in {delay:.3f}s (attempt {attempt})",
            actor_type=key.actor_type,
            attempt=attempt,
            **{_id_field(key.actor_type): key.actor_id},
        )

    def on_message(self, key: ActorKey, message_type: str, seconds: float, ok: bool) -> None:
        self._m.processing.labels(key.actor_type).observe(seconds)
        if key.actor_type == CONVERSATION:
            ms = seconds * 1000
            self._m.messages.inc()
            self._m.duration.labels(message_type).observe(ms)
            self._m.window.add(message_type, ms)
        log.trace(
            f"Actor processed {message_type}",
            actor_type=key.actor_type,
            ok=ok,
            ms=round(seconds * 1000, 3),
            **{_id_field(key.actor_type): key.actor_id},
        )

    def on_drop(self, key: ActorKey, message_type: str) -> None:
        self._m.dropped.labels(key.actor_type).inc()
        if key.actor_type == CONVERSATION:
            self._m.errors.labels("mailbox_full").inc()
        log.warn(
            f"Mailbox full: dropped {message_type} for {key.actor_type} {key.actor_id}",
            actor_type=key.actor_type,
            error_type="mailbox_full",
            **{_id_field(key.actor_type): key.actor_id},
        )

    def on_timeout(self, key: ActorKey, message_type: str) -> None:
        if key.actor_type == CONVERSATION:
            self._m.errors.labels("timeout").inc()
        log.warn(
            f"Message timeout: {message_type} for {key.actor_type} {key.actor_id}",
            actor_type=key.actor_type,
            error_type="timeout",
            **{_id_field(key.actor_type): key.actor_id},
        )

    def on_give_up(self, key: ActorKey, attempts: int) -> None:
        log.error(
            f"Actor gave up: {key.actor_type} {key.actor_id} failed to start {attempts} times "
            "in a row and was stopped; the next request spawns it again",
            actor_type=key.actor_type,
            error_type="gave_up",
            attempts=attempts,
            **{_id_field(key.actor_type): key.actor_id},
        )


def _id_field(actor_type: str) -> str:
    return {"conversation": "convo_id", "meeting": "meeting_id"}.get(actor_type, "actor_id")
