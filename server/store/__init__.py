"""Persistence: the runbooks' tables through SQLAlchemy (SQLite default, PostgreSQL)."""

from server.store.schema import (
    conversations,
    meeting_controllers,
    meetings,
    members,
    messages,
    metadata,
)

__all__ = [
    "conversations",
    "meeting_controllers",
    "meetings",
    "members",
    "messages",
    "metadata",
]
