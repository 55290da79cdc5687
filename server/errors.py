"""The exception tree of the actor server. Every error says what happened and what to do.

    ServerError                     root: catch this to handle any server failure (500)
    ├── MailboxFull                 an actor's bounded mailbox refused a message (503)
    ├── MessageTimeout              a message was not answered in time (504)
    ├── ActorStopped                the actor stopped before answering (503)
    ├── ActorCrashed                the handler raised unexpectedly; wraps it as .error (500)
    └── DomainError                 expected, user-facing refusal from a handler (400);
        │                           the actor keeps running
        ├── NotFound                unknown id (404)
        ├── NotAMember              the caller is not a member (403)
        ├── Invalid                 the request is malformed (422)
        │   └── PayloadTooLarge     a body or a queue bound was exceeded (413)
        ├── Conflict                the request contradicts current state (409)
        └── Unavailable             a shared resource is exhausted, e.g. the database
            │                       pool (503 with Retry-After); the actor keeps running
            ├── OwnedElsewhere      another replica owns the conversation (forwarded
            │                       there when it can be, else 503)
            └── OwnershipLost       this replica's lease was taken over: nothing written

Each class carries the HTTP status the server answers with (`http_status`), so the HTTP
layer maps errors without a table of its own. Runtime errors carry the actor's type and
id; the message is complete on its own so it can be shown to a caller as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.actors import ActorKey

__all__ = [
    "ActorCrashed",
    "ActorStopped",
    "Conflict",
    "DomainError",
    "Invalid",
    "MailboxFull",
    "MessageTimeout",
    "NotAMember",
    "NotFound",
    "OwnedElsewhere",
    "OwnershipLost",
    "PayloadTooLarge",
    "ServerError",
    "Unavailable",
]


class ServerError(Exception):
    """Root of every error the server raises on purpose."""

    http_status: int = 500


class MailboxFull(ServerError):
    """The mailbox held `capacity` messages already; the message was not queued."""

    http_status = 503

    def __init__(self, *, actor_type: str, actor_id: str, capacity: int) -> None:
        self.actor_type = actor_type
        self.actor_id = actor_id
        self.capacity = capacity
        super().__init__(
            f"mailbox of {actor_type} actor {actor_id} is full ({capacity} messages queued); "
            "retry later, or raise ACTOR_MAILBOX_SIZE / find why the actor is slow"
        )


class MessageTimeout(ServerError):
    """No answer within `timeout` seconds (time queued plus time handling)."""

    http_status = 504

    def __init__(self, *, key: ActorKey, message_type: str, timeout: float) -> None:
        self.key = key
        self.message_type = message_type
        self.timeout = timeout
        super().__init__(
            f"{key.actor_type} actor {key.actor_id} did not answer {message_type} within "
            f"{timeout:g} s; the message was cancelled — check mailbox depth and slow "
            "queries, or raise MESSAGE_TIMEOUT"
        )


class ActorStopped(ServerError):
    """The actor stopped (`reason`) before the message was answered."""

    http_status = 503

    def __init__(self, *, key: ActorKey, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(
            f"{key.actor_type} actor {key.actor_id} stopped ({reason}) before answering; "
            "retry: the next request spawns it again"
        )


class ActorCrashed(ServerError):
    """The handler raised something other than a DomainError; `.error` is what it raised."""

    def __init__(self, *, key: ActorKey, error: BaseException, message_type: str = "") -> None:
        self.key = key
        self.error = error
        self.message_type = message_type
        during = f" handling {message_type}" if message_type else " starting"
        super().__init__(
            f"{key.actor_type} actor {key.actor_id} crashed{during}: {error}; it restarts "
            "with backoff — if crashes repeat, inspect that actor's stored state"
        )


class DomainError(ServerError):
    """An expected refusal (bad input, unknown id, ...): the caller gets it, the actor lives."""

    http_status = 400

    def __init__(self, message: str, *, fix: str = "") -> None:
        self.fix = fix
        super().__init__(message if not fix else f"{message} — fix: {fix}")


class NotFound(DomainError):
    """The id names nothing that exists."""

    http_status = 404


class NotAMember(DomainError):
    """The caller is not (or no longer) a member of the conversation or meeting."""

    http_status = 403


class Invalid(DomainError):
    """The request is well-formed JSON but its content is not acceptable."""

    http_status = 422


class Conflict(DomainError):
    """The request contradicts the current state (already exists, already ended)."""

    http_status = 409


class PayloadTooLarge(Invalid):
    """A request body, or what it would queue, is larger than the configured bound."""

    http_status = 413


class Unavailable(DomainError):
    """A shared resource is exhausted for now; retrying after `retry_after` s may work."""

    http_status = 503

    def __init__(self, message: str, *, fix: str = "", retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message, fix=fix)

    @classmethod
    def pool_exhausted(cls) -> Unavailable:
        """No database connection came free within POOL_TIMEOUT."""
        return cls(
            "every database connection is in use (no free connection within POOL_TIMEOUT)",
            fix="retry after Retry-After seconds; check db_pool_connections_active and "
            "raise DATABASE_MAX_CONNECTIONS or find the slow queries",
        )


class OwnedElsewhere(Unavailable):
    """Another live replica holds this conversation's lease (server/ownership.py)."""

    def __init__(self, convo_id: str, owner_id: str, owner_url: str, retry_after: int) -> None:
        self.convo_id = convo_id
        self.owner_id = owner_id
        self.owner_url = owner_url
        super().__init__(
            f"conversation {convo_id} is owned by replica {owner_id}",
            fix=f"send it to {owner_url or 'that replica'} (sticky sessions), or retry after "
            f"{retry_after} s: a lease of a replica that died expires by then",
            retry_after=retry_after,
        )


class OwnershipLost(Unavailable):
    """This replica's lease on a conversation was taken over: its write was refused."""

    def __init__(self, convo_id: str, owner_id: str) -> None:
        self.convo_id = convo_id
        super().__init__(
            f"replica {owner_id} no longer owns conversation {convo_id}; nothing was written",
            fix="retry: the request goes to the conversation's current owner",
        )
