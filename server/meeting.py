"""Meeting actors (runbook 004): connections per participant, relay, end and timeout.

Connections live in memory only (like WebTransport sessions): after a restart a
meeting reloads as active with no connections, and the meeting timeout ends it if
nobody rejoins. The ``meetings`` table is what the global controller sees.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.actors import Actor, ActorKey
from server.errors import Conflict, NotAMember, NotFound, PayloadTooLarge, Unavailable
from server.faults import Faults
from server.logs import get_logger
from server.store.repository import Store

__all__ = [
    "ACTOR_TYPE",
    "CheckTimeout",
    "CreateMeeting",
    "EndMeeting",
    "Join",
    "LeaveMeeting",
    "MeetingActor",
    "MeetingDeps",
    "MeetingStats",
    "Relay",
    "meeting_key",
]

ACTOR_TYPE = "meeting"
INBOX_SIZE = 1000  # per connection: how many bodies a slow client may lag behind
log = get_logger("meeting")


def meeting_key(meeting_id: str) -> ActorKey:
    return ActorKey(ACTOR_TYPE, meeting_id)


class CreateMeeting(NamedTuple):
    creator: str


class Join(NamedTuple):
    participant: str


class LeaveMeeting(NamedTuple):
    participant: str
    connection_id: str


class Relay(NamedTuple):
    participant: str
    connection_id: str
    body: Any
    size: int = 0
    """The body's JSON size in bytes (the HTTP layer measured it)."""


class EndMeeting(NamedTuple):
    reason: str = "requested"


class CheckTimeout(NamedTuple):
    """From the sweeper: end the meeting if it had no connections for MEETING_TIMEOUT."""


@dataclass
class MeetingStats:
    """Connections per live meeting, for mc_meetings_active / mc_connections_active."""

    connections: dict[str, int] = field(default_factory=dict)

    @property
    def meetings_active(self) -> int:
        return len(self.connections)

    @property
    def connections_active(self) -> int:
        return sum(self.connections.values())


@dataclass(frozen=True)
class MeetingDeps:
    store: Store
    faults: Faults
    stats: MeetingStats
    mc_id: str
    meeting_timeout: float
    inbox_bytes: int = 8 * 1024 * 1024
    """What all connections of one meeting may hold queued, in body bytes."""
    clock: Callable[[], float] = time.monotonic


class _Queued(NamedTuple):
    body: Any
    size: int
    """The body's JSON size in bytes, counted against MeetingDeps.inbox_bytes."""


@dataclass
class _Connection:
    participant: str
    inbox: deque[_Queued] = field(default_factory=deque)


class MeetingActor(Actor):
    """One meeting on this MC."""

    def __init__(self, deps: MeetingDeps, *, creating: bool = False) -> None:
        self._deps = deps
        self._creating = creating
        self.status = "absent"
        self.connections: dict[str, _Connection] = {}
        self.delivered = 0
        self.dropped = 0
        self.queued_bytes = 0
        self.empty_since = deps.clock()

    @property
    def meeting_id(self) -> str:
        return self.key.actor_id

    async def on_start(self) -> None:
        # pool exhaustion is a refusal (503, retry), not a crash: nothing was loaded
        try:
            await self._load()
        except PoolTimeout:
            raise Unavailable.pool_exhausted() from None

    async def on_receive(self, message: Any) -> Any:
        # a refusal, not a crash: the transaction did not commit, the state is intact
        try:
            return await self._handle(message)
        except PoolTimeout:
            raise Unavailable.pool_exhausted() from None

    async def _load(self) -> None:
        row = await self._deps.store.load_meeting(self.meeting_id)
        if row is None:
            if not self._creating:
                raise NotFound(
                    f"meeting {self.meeting_id} does not exist", fix="create it with POST /meetings"
                )
            return
        self.status = row.status
        if row.status == "active":
            self._deps.stats.connections[self.meeting_id] = 0
            if row.participant_count:
                # connections do not survive a restart: the table must say so
                await self._deps.store.update_meeting(
                    self.meeting_id, status="active", participant_count=0
                )
        log.debug(
            f"MeetingActor {self.meeting_id} starting ({row.status})",
            meeting_id=self.meeting_id,
            actor_type=ACTOR_TYPE,
        )

    async def on_stop(self, reason: str) -> None:
        self._deps.stats.connections.pop(self.meeting_id, None)

    async def _handle(self, message: Any) -> Any:
        delay = self._deps.faults.handling_delay(ACTOR_TYPE)
        if delay:
            await asyncio.sleep(delay)
        if self._deps.faults.panics(self.meeting_id):
            raise RuntimeError(
                f"invariant violated: connection table of meeting {self.meeting_id} "
                "is inconsistent (meeting_panic fault)"
            )
        if isinstance(message, CreateMeeting):
            return await self._create(message.creator)
        if self.status == "absent":
            raise NotFound(
                f"meeting {self.meeting_id} does not exist", fix="create it with POST /meetings"
            )
        if isinstance(message, CheckTimeout):
            return await self._check_timeout()
        if isinstance(message, EndMeeting):
            return await self._end(message.reason)
        if self.status != "active":
            raise Conflict(f"meeting {self.meeting_id} has ended", fix="create a new meeting")
        if isinstance(message, Join):
            return await self._join(message.participant)
        if isinstance(message, LeaveMeeting):
            return await self._leave(message.participant, message.connection_id)
        if isinstance(message, Relay):
            return self._relay(message)
        raise TypeError(f"MeetingActor cannot handle {type(message).__name__}")

    def get_state(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "mc_id": self._deps.mc_id,
            "status": self.status,
            "participant_count": len(self.connections),
            "connections": [
                {"connection_id": cid, "participant": conn.participant, "queued": len(conn.inbox)}
                for cid, conn in self.connections.items()
            ],
            "delivered": self.delivered,
            "dropped": self.dropped,
            "queued_bytes": self.queued_bytes,
            "empty_for_seconds": (
                round(self._deps.clock() - self.empty_since, 3) if not self.connections else 0
            ),
        }

    async def _create(self, creator: str) -> dict[str, Any]:
        if self.status != "absent":
            raise Conflict(
                f"meeting {self.meeting_id} already exists", fix="pick another meeting_id"
            )
        await self._deps.store.create_meeting(self.meeting_id, mc_id=self._deps.mc_id)
        self.status = "active"
        self.empty_since = self._deps.clock()
        self._deps.stats.connections[self.meeting_id] = 0
        log.info(f"Meeting {self.meeting_id} created", meeting_id=self.meeting_id, did=creator)
        return {"meeting_id": self.meeting_id, "mc_id": self._deps.mc_id, "status": "active"}

    async def _join(self, participant: str) -> dict[str, Any]:
        connection_id = uuid.uuid4().hex[:16]
        self.connections[connection_id] = _Connection(participant)
        await self._save()
        log.info(
            f"Connection {connection_id} joined meeting {self.meeting_id}",
            meeting_id=self.meeting_id,
            connection_id=connection_id,
        )
        return {"meeting_id": self.meeting_id, "connection_id": connection_id}

    def _connection(self, participant: str, connection_id: str) -> _Connection:
        conn = self.connections.get(connection_id)
        if conn is None:
            raise NotFound(
                f"connection {connection_id} is not in meeting {self.meeting_id}",
                fix="join first with POST /meetings/{id}/join",
            )
        if conn.participant != participant:
            raise NotAMember(f"connection {connection_id} belongs to another participant")
        return conn

    async def _leave(self, participant: str, connection_id: str) -> dict[str, Any]:
        gone = self._connection(participant, connection_id)
        self.queued_bytes -= sum(item.size for item in gone.inbox)
        del self.connections[connection_id]
        if not self.connections:
            self.empty_since = self._deps.clock()
        await self._save()
        log.info(
            f"Connection {connection_id} left meeting {self.meeting_id}",
            meeting_id=self.meeting_id,
            connection_id=connection_id,
        )
        return {"meeting_id": self.meeting_id, "connections": len(self.connections)}

    def _relay(self, message: Relay) -> dict[str, Any]:
        """Queue the body for every other connection, within the meeting's byte bound.

        Like a slow reader's socket buffer: when the bound is reached the oldest queued
        bodies are dropped (counted in `dropped`), so memory stays bounded per meeting.
        """
        self._connection(message.participant, message.connection_id)
        if message.size > self._deps.inbox_bytes:
            raise PayloadTooLarge(
                f"body of {message.size} bytes exceeds the relay inbox of meeting "
                f"{self.meeting_id} ({self._deps.inbox_bytes} bytes)",
                fix="send smaller bodies, or raise MEETING_INBOX_BYTES",
            )
        delivered = 0
        item = _Queued(message.body, message.size)
        for cid, conn in self.connections.items():
            if cid != message.connection_id:
                self._make_room(conn, item.size)
                conn.inbox.append(item)
                self.queued_bytes += item.size
                delivered += 1
        self.delivered += delivered
        return {"delivered": delivered}

    def _make_room(self, conn: _Connection, size: int) -> None:
        """Drop the oldest queued bodies until `size` more bytes fit (this inbox first)."""
        if len(conn.inbox) >= INBOX_SIZE:
            self._drop(conn)
        while self.queued_bytes + size > self._deps.inbox_bytes:
            victim = (
                conn if conn.inbox else max(self.connections.values(), key=lambda c: len(c.inbox))
            )
            if not victim.inbox:
                return
            self._drop(victim)

    def _drop(self, conn: _Connection) -> None:
        self.queued_bytes -= conn.inbox.popleft().size
        self.dropped += 1

    async def _check_timeout(self) -> dict[str, Any]:
        idle = self._deps.clock() - self.empty_since
        if self.status == "active" and not self.connections and idle >= self._deps.meeting_timeout:
            log.info(
                f"Meeting {self.meeting_id} ended after {idle:.1f}s without connections",
                meeting_id=self.meeting_id,
            )
            return await self._end("timeout")
        return {"meeting_id": self.meeting_id, "status": self.status}

    async def _end(self, reason: str) -> dict[str, Any]:
        if self.status == "active":
            self.connections.clear()
            self.queued_bytes = 0
            self.status = "ended"
            await self._deps.store.update_meeting(
                self.meeting_id, status="ended", participant_count=0
            )
            self._deps.stats.connections.pop(self.meeting_id, None)
            log.info(f"Meeting {self.meeting_id} ended ({reason})", meeting_id=self.meeting_id)
        return {"meeting_id": self.meeting_id, "status": "ended"}

    async def _save(self) -> None:
        self._deps.stats.connections[self.meeting_id] = len(self.connections)
        await self._deps.store.update_meeting(
            self.meeting_id, status=self.status, participant_count=len(self.connections)
        )
