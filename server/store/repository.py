"""Every query the server runs, as named SQLAlchemy Core statements with bound values.

One class, `Store`, so the slow_db fault can delay every statement in one place and
tests can point a Store at any engine. Multi-row changes (a commit: message + epoch +
members) run in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import DateTime, Executable, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import Conflict
from server.store.schema import conversations, meeting_controllers, meetings, members, messages

if TYPE_CHECKING:
    from server.ownership import Fence

__all__ = ["EPOCH_CONFLICTS_SINCE", "ConvoSnapshot", "MeetingRow", "Store", "utcnow"]

# Runbook 000 alert EpochConflictDetected, with the cutoff bound instead of NOW() - INTERVAL
# so that the same text runs on SQLite and PostgreSQL.
EPOCH_CONFLICTS_SINCE = text(
    """
    SELECT COUNT(*) FROM (
        SELECT convo_id, epoch, COUNT(*) AS count
        FROM messages
        WHERE message_type = 'commit' AND created_at > :cutoff
        GROUP BY convo_id, epoch
        HAVING COUNT(*) > 1
    ) duplicates
    """
).bindparams(bindparam("cutoff", type_=DateTime(timezone=True)))

# SET LOCAL takes no bound values; set_config(..., true) is the same, transaction-local.
SET_STATEMENT_TIMEOUT = text("SELECT set_config('statement_timeout', :ms, true)")


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConvoSnapshot(NamedTuple):
    """A conversation as an actor loads it at start."""

    convo_id: str
    creator_did: str
    current_epoch: int
    max_seq: int
    unread: dict[str, int]
    """Active members (left_at IS NULL) and their unread counts."""


class MeetingRow(NamedTuple):
    meeting_id: str
    mc_id: str
    status: str
    participant_count: int


class Store:
    """The server's queries against one engine."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        server_id: str,
        delay: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.server_id = server_id
        self._delay = delay
        self._clock = clock

    async def _exec(self, conn: AsyncConnection, stmt: Executable) -> Result[Any]:
        """Run one statement, after the slow_db fault's latency when it is on."""
        pause = self._delay()
        if pause > 0:
            await asyncio.sleep(pause)
        return await conn.execute(stmt)

    # health -------------------------------------------------------------------------
    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # conversations ------------------------------------------------------------------
    async def load_conversation(self, convo_id: str) -> ConvoSnapshot | None:
        async with self.engine.connect() as conn:
            row = (
                await self._exec(
                    conn,
                    select(conversations.c.creator_did, conversations.c.current_epoch).where(
                        conversations.c.id == convo_id
                    ),
                )
            ).first()
            if row is None:
                return None
            max_seq = (
                await self._exec(
                    conn,
                    select(func.coalesce(func.max(messages.c.seq), 0)).where(
                        messages.c.convo_id == convo_id, messages.c.message_type == "app"
                    ),
                )
            ).scalar_one()
            unread = {
                did: count
                for did, count in await self._exec(
                    conn,
                    select(members.c.member_did, members.c.unread_count).where(
                        members.c.convo_id == convo_id, members.c.left_at.is_(None)
                    ),
                )
            }
        return ConvoSnapshot(
            convo_id, row.creator_did, int(row.current_epoch), int(max_seq), unread
        )

    async def create_conversation(
        self,
        convo_id: str,
        *,
        creator: str,
        member_dids: Sequence[str],
        fence: Fence | None = None,
    ) -> None:
        """Insert the conversation at epoch 0 with its creator and first members."""
        now = self._clock()
        dids = list(dict.fromkeys([creator, *member_dids]))
        try:
            async with self.engine.begin() as conn:
                await _fenced(conn, fence)
                await self._exec(
                    conn,
                    insert(conversations).values(
                        id=convo_id,
                        creator_did=creator,
                        current_epoch=0,
                        created_at=now,
                        updated_at=now,
                    ),
                )
                await self._exec(
                    conn,
                    insert(members).values(_new_members(convo_id, dids, now)),
                )
        except IntegrityError:
            raise Conflict(
                f"conversation {convo_id} already exists", fix="pick another convo_id"
            ) from None

    async def commit_add_members(
        self,
        convo_id: str,
        *,
        sender: str,
        dids: Sequence[str],
        epoch: int,
        fence: Fence | None = None,
    ) -> None:
        """One transaction: a commit at ``epoch``, current_epoch = epoch, members added."""
        now = self._clock()
        async with self.engine.begin() as conn:
            await _fenced(conn, fence)
            await self._exec(
                conn,
                insert(messages).values(
                    convo_id=convo_id,
                    sender_did=sender,
                    message_type="commit",
                    epoch=epoch,
                    seq=None,
                    ciphertext=None,
                    server_id=self.server_id,
                    created_at=now,
                ),
            )
            await self._exec(
                conn,
                update(conversations)
                .where(conversations.c.id == convo_id)
                .values(current_epoch=epoch, updated_at=now),
            )
            known = set(
                (
                    await self._exec(
                        conn,
                        select(members.c.member_did).where(
                            members.c.convo_id == convo_id, members.c.member_did.in_(list(dids))
                        ),
                    )
                ).scalars()
            )
            if known:
                await self._exec(
                    conn,
                    update(members)
                    .where(members.c.convo_id == convo_id, members.c.member_did.in_(known))
                    .values(left_at=None, unread_count=0, joined_at=now),
                )
            new = [did for did in dids if did not in known]
            if new:
                await self._exec(
                    conn,
                    insert(members).values(_new_members(convo_id, new, now)),
                )

    async def insert_app_message(
        self,
        convo_id: str,
        *,
        sender: str,
        epoch: int,
        seq: int,
        ciphertext: str,
        fence: Fence | None = None,
    ) -> int:
        async with self.engine.begin() as conn:
            await _fenced(conn, fence)
            result = await self._exec(
                conn,
                insert(messages)
                .values(
                    convo_id=convo_id,
                    sender_did=sender,
                    message_type="app",
                    epoch=epoch,
                    seq=seq,
                    ciphertext=ciphertext,
                    server_id=self.server_id,
                    created_at=self._clock(),
                )
                .returning(messages.c.id),
            )
            return int(result.scalar_one())

    async def increment_unread(
        self,
        convo_id: str,
        *,
        sender: str,
        message_id: int | None = None,
        fence: Fence | None = None,
    ) -> set[str]:
        """unread_count + 1 for every active member except the sender; the dids counted.

        With ``message_id``, only members who had joined when that message was stored:
        the count may run after an addMembers that was queued behind it.
        """
        conditions = [
            members.c.convo_id == convo_id,
            members.c.member_did != sender,
            members.c.left_at.is_(None),
        ]
        if message_id is not None:
            sent_at = select(messages.c.created_at).where(messages.c.id == message_id)
            conditions.append(members.c.joined_at <= sent_at.scalar_subquery())
        async with self.engine.begin() as conn:
            await _fenced(conn, fence)
            counted = await self._exec(
                conn,
                update(members)
                .where(*conditions)
                .values(unread_count=members.c.unread_count + 1)
                .returning(members.c.member_did),
            )
            return set(counted.scalars())

    async def mark_read(self, convo_id: str, *, did: str, fence: Fence | None = None) -> None:
        async with self.engine.begin() as conn:
            await _fenced(conn, fence)
            await self._exec(
                conn,
                update(members)
                .where(members.c.convo_id == convo_id, members.c.member_did == did)
                .values(unread_count=0),
            )

    async def leave(self, convo_id: str, *, did: str, fence: Fence | None = None) -> None:
        """left_at = now and unread 0 (runbook 000 Check 4: left members have none)."""
        async with self.engine.begin() as conn:
            await _fenced(conn, fence)
            await self._exec(
                conn,
                update(members)
                .where(members.c.convo_id == convo_id, members.c.member_did == did)
                .values(left_at=self._clock(), unread_count=0),
            )

    # the legacy (unserialised) path reads these separately --------------------------
    async def current_epoch(self, convo_id: str) -> int | None:
        async with self.engine.connect() as conn:
            value = (
                await self._exec(
                    conn,
                    select(conversations.c.current_epoch).where(conversations.c.id == convo_id),
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    async def max_seq(self, convo_id: str) -> int:
        async with self.engine.connect() as conn:
            value = (
                await self._exec(
                    conn,
                    select(func.coalesce(func.max(messages.c.seq), 0)).where(
                        messages.c.convo_id == convo_id, messages.c.message_type == "app"
                    ),
                )
            ).scalar_one()
        return int(value)

    async def unread_count(self, convo_id: str, *, did: str) -> int | None:
        """The member's unread count, or None when not an active member."""
        async with self.engine.connect() as conn:
            value = (
                await self._exec(
                    conn,
                    select(members.c.unread_count).where(
                        members.c.convo_id == convo_id,
                        members.c.member_did == did,
                        members.c.left_at.is_(None),
                    ),
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    async def epoch_conflicts(self, *, since: datetime) -> int:
        """Runbook 000 EpochConflictDetected: duplicate commit epochs since ``since``."""
        async with self.engine.connect() as conn:
            result = await conn.execute(EPOCH_CONFLICTS_SINCE, {"cutoff": _bindable(since, conn)})
            return int(result.scalar_one())

    # meetings -----------------------------------------------------------------------
    async def load_meeting(self, meeting_id: str) -> MeetingRow | None:
        async with self.engine.connect() as conn:
            row = (
                await self._exec(
                    conn,
                    select(
                        meetings.c.meeting_id,
                        meetings.c.mc_id,
                        meetings.c.status,
                        meetings.c.participant_count,
                    ).where(meetings.c.meeting_id == meeting_id),
                )
            ).first()
        return None if row is None else MeetingRow(*row)

    async def create_meeting(self, meeting_id: str, *, mc_id: str) -> None:
        now = self._clock()
        try:
            async with self.engine.begin() as conn:
                await self._exec(
                    conn,
                    insert(meetings).values(
                        meeting_id=meeting_id,
                        mc_id=mc_id,
                        status="active",
                        participant_count=0,
                        created_at=now,
                        updated_at=now,
                    ),
                )
        except IntegrityError:
            raise Conflict(
                f"meeting {meeting_id} already exists", fix="pick another meeting_id"
            ) from None

    async def update_meeting(self, meeting_id: str, *, status: str, participant_count: int) -> None:
        async with self.engine.begin() as conn:
            await self._exec(
                conn,
                update(meetings)
                .where(meetings.c.meeting_id == meeting_id)
                .values(
                    status=status,
                    participant_count=participant_count,
                    updated_at=self._clock(),
                ),
            )

    # global controller --------------------------------------------------------------
    async def register_controller(
        self, mc_id: str, *, region: str, capacity: int, sessions: int, timeout: float | None = None
    ) -> None:
        """Upsert this MC as 'active' with a fresh heartbeat, within ``timeout`` seconds."""
        now = self._clock()
        values = {
            "region": region,
            "capacity": capacity,
            "current_sessions": sessions,
            "last_heartbeat": now,
            "status": "active",
        }
        async with self.engine.begin() as conn:
            await _limit_statements(conn, timeout)
            changed = await self._exec(
                conn,
                update(meeting_controllers)
                .where(meeting_controllers.c.id == mc_id)
                .values(**values),
            )
            if changed.rowcount == 0:
                await self._exec(conn, insert(meeting_controllers).values(id=mc_id, **values))

    async def heartbeat(self, mc_id: str, *, sessions: int, timeout: float | None = None) -> bool:
        """Refresh last_heartbeat; False when this MC's row is gone (re-register).

        ``timeout`` bounds each statement on PostgreSQL (a locked row raises instead of
        waiting); the caller bounds the whole call as well.
        """
        async with self.engine.begin() as conn:
            await _limit_statements(conn, timeout)
            changed = await self._exec(
                conn,
                update(meeting_controllers)
                .where(meeting_controllers.c.id == mc_id)
                .values(last_heartbeat=self._clock(), current_sessions=sessions),
            )
        return bool(changed.rowcount)


async def _limit_statements(conn: AsyncConnection, timeout: float | None) -> None:
    """statement_timeout for the rest of this transaction (PostgreSQL; else nothing)."""
    if timeout is not None and conn.dialect.name == "postgresql":
        await conn.execute(SET_STATEMENT_TIMEOUT, {"ms": str(int(timeout * 1000))})


def _bindable(moment: datetime, conn: AsyncConnection) -> datetime:
    """SQLite stores naive UTC text; PostgreSQL compares aware timestamps."""
    if conn.dialect.name == "sqlite":
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _new_members(convo_id: str, dids: Iterable[str], now: datetime) -> list[dict[str, Any]]:
    """Rows for members joining now, with nothing unread."""
    return [
        {
            "convo_id": convo_id,
            "member_did": did,
            "joined_at": now,
            "left_at": None,
            "unread_count": 0,
        }
        for did in dids
    ]


async def _fenced(conn: AsyncConnection, fence: Fence | None) -> None:
    """A replica's write goes in only while it holds the conversation's lease."""
    if fence is not None:
        await fence.check(conn)
