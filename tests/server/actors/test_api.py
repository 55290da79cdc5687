"""The public surface other packages code against, and the error tree."""

from __future__ import annotations

from typing import NamedTuple

import pytest

import server.actors
import server.errors
from server.actors import ActorKey, GetState, RuntimeConfig, Stop, message_type
from server.errors import (
    ActorCrashed,
    ActorStopped,
    Conflict,
    DomainError,
    Invalid,
    MailboxFull,
    MessageTimeout,
    NotAMember,
    NotFound,
    ServerError,
)


def test_public_names_are_exported_and_importable():
    expected = {
        "Actor",
        "ActorKey",
        "ActorRef",
        "GetState",
        "Registry",
        "RuntimeConfig",
        "RuntimeObserver",
        "Stop",
    }
    assert expected <= set(server.actors.__all__)
    assert server.actors.__all__ == sorted(server.actors.__all__)
    for name in server.actors.__all__:
        assert getattr(server.actors, name).__module__.startswith("server.actors")
    for name in server.errors.__all__:
        assert issubclass(getattr(server.errors, name), ServerError)


class AddMembers(NamedTuple):
    did_list: tuple[str, ...]


class HTTPRequest(NamedTuple):
    path: str


class Tagged(NamedTuple):
    message_type: str


def test_message_type_names():
    assert message_type(AddMembers(("did:a",))) == "add_members"
    assert message_type(HTTPRequest("/")) == "http_request"
    assert message_type(GetState()) == "get_state"
    assert message_type(Stop()) == "stop"
    assert message_type(Tagged("send_message")) == "send_message"
    assert message_type(Tagged("get_epoch")) == "get_epoch"  # per instance, not cached


def test_runtime_config_defaults_and_validation():
    config = RuntimeConfig()
    assert (config.mailbox_size, config.message_timeout, config.inactivity_timeout) == (
        2000,
        30.0,
        3600.0,
    )
    with pytest.raises(ValueError, match="mailbox_size must be >= 1"):
        RuntimeConfig(mailbox_size=0)
    with pytest.raises(ValueError, match="message_timeout must be > 0 or None"):
        RuntimeConfig(message_timeout=0)
    with pytest.raises(ValueError, match="restart_backoff_max must be >= restart_backoff_initial"):
        RuntimeConfig(restart_backoff_initial=2, restart_backoff_max=1)


def test_error_tree_statuses_and_fields():
    k = ActorKey("conversation", "c1")
    assert [c.http_status for c in (NotFound, NotAMember, Invalid, Conflict)] == [
        404,
        403,
        422,
        409,
    ]
    assert all(issubclass(c, DomainError) for c in (NotFound, NotAMember, Invalid, Conflict))
    assert MailboxFull.http_status == 503
    assert MessageTimeout.http_status == 504
    full = MailboxFull(actor_type="meeting", actor_id="m1", capacity=5)
    assert "meeting actor m1" in str(full)
    assert "ACTOR_MAILBOX_SIZE" in str(full)
    cause = RuntimeError("database transaction failed")
    crashed = ActorCrashed(key=k, error=cause, message_type="add_members")
    assert crashed.error is cause
    assert "database transaction failed" in str(crashed)
    assert ActorStopped(key=k, reason="inactivity").reason == "inactivity"
    assert str(NotFound("no conversation c9", fix="create it first")) == (
        "no conversation c9 — fix: create it first"
    )
