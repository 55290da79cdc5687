"""Server settings: one frozen value read from the environment at start.

Every knob of server/README.md "Settings" lives here, so the admin API can show the
effective configuration and tests can build a Settings without touching os.environ.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.errors import Invalid
from server.faults import validate_fault

__all__ = ["LOG_LEVELS", "Settings", "SettingsError"]

LOG_LEVELS = ("trace", "debug", "info", "warn", "error")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An environment variable has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    """The effective configuration; secrets are excluded from ``public()``."""

    database_url: str = "sqlite:///./mcops-server.db"
    database_max_connections: int = 10
    enable_actor_system: bool = True
    actor_mailbox_size: int = 2000
    message_timeout: float = 30.0
    inactivity_timeout: float = 3600.0
    cleanup_interval: float = 300.0
    meeting_timeout: float = 3600.0
    log_level: str = "info"
    log_file: str | None = None
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    admin_token_generated: bool = False
    auth_secret: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    server_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    mc_id: str = "mc-local-1"
    mc_region: str = "local"
    mc_capacity: int = 100
    gc_heartbeat_interval: float = 5.0
    gc_stale_intervals: int = 3
    statement_timeout: float = 10.0
    http_keepalive_timeout: float = 5.0
    http_request_timeout: float = 10.0
    http_max_connections: int | None = None
    memory_limit_bytes: int | None = None
    epoch_conflict_interval: float = 15.0
    faults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    max_body_bytes: int = 1024 * 1024
    max_id_length: int = 128
    max_did_length: int = 256
    max_did_list: int = 1000
    max_json_depth: int = 32
    meeting_inbox_bytes: int = 8 * 1024 * 1024
    pool_timeout: float = 5.0
    actor_start_attempts: int = 3
    conversation_lease_seconds: float = 10.0
    replica_url: str = ""

    @property
    def replicated(self) -> bool:
        """Conversations are leased to one replica at a time (server/ownership.py): on
        PostgreSQL with the actor system; the legacy path keeps runbook 000 FM3."""
        return self.enable_actor_system and self.database_url.startswith("postgres")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: os.environ); raise SettingsError."""
        env = os.environ if env is None else env
        reader = _Reader(env)
        admin = env.get("ADMIN_TOKEN") or None
        values: dict[str, Any] = {
            "database_url": reader.text("DATABASE_URL", cls.database_url),
            "database_max_connections": reader.integer("DATABASE_MAX_CONNECTIONS", 10, low=1),
            "enable_actor_system": reader.boolean("ENABLE_ACTOR_SYSTEM", True),
            "actor_mailbox_size": reader.integer("ACTOR_MAILBOX_SIZE", 2000, low=1),
            "message_timeout": reader.number("MESSAGE_TIMEOUT", 30.0),
            "inactivity_timeout": reader.number("INACTIVITY_TIMEOUT", 3600.0),
            "cleanup_interval": reader.number("CLEANUP_INTERVAL", 300.0),
            "meeting_timeout": reader.number("MEETING_TIMEOUT", 3600.0),
            "log_level": reader.choice("LOG_LEVEL", "info", LOG_LEVELS),
            "log_file": env.get("LOG_FILE") or None,
            "admin_token_generated": admin is None,
            "mc_id": reader.text("MC_ID", "mc-local-1"),
            "mc_region": reader.text("MC_REGION", "local"),
            "mc_capacity": reader.integer("MC_CAPACITY", 100, low=0),
            "gc_heartbeat_interval": reader.number("GC_HEARTBEAT_INTERVAL", 5.0),
            "gc_stale_intervals": reader.integer("GC_STALE_INTERVALS", 3, low=1),
            "statement_timeout": reader.number("DATABASE_STATEMENT_TIMEOUT", 10.0),
            "http_keepalive_timeout": reader.number("HTTP_KEEPALIVE_TIMEOUT", 5.0),
            "http_request_timeout": reader.number("HTTP_REQUEST_TIMEOUT", 10.0),
            "epoch_conflict_interval": reader.number("EPOCH_CONFLICT_INTERVAL", 15.0),
            "faults": reader.faults("FAULTS"),
            "max_body_bytes": reader.integer("MAX_BODY_BYTES", cls.max_body_bytes, low=1024),
            "max_id_length": reader.integer("MAX_ID_LENGTH", cls.max_id_length, low=1),
            "max_did_length": reader.integer("MAX_DID_LENGTH", cls.max_did_length, low=8),
            "max_did_list": reader.integer("MAX_DID_LIST", cls.max_did_list, low=1),
            "max_json_depth": reader.integer("MAX_JSON_DEPTH", cls.max_json_depth, low=2),
            "meeting_inbox_bytes": reader.integer(
                "MEETING_INBOX_BYTES", cls.meeting_inbox_bytes, low=1024
            ),
            "actor_start_attempts": reader.integer(
                "ACTOR_START_ATTEMPTS", cls.actor_start_attempts, low=1
            ),
            "conversation_lease_seconds": reader.number("CONVERSATION_LEASE_SECONDS", 10.0),
            "replica_url": reader.text("REPLICA_URL", "").rstrip("/"),
        }
        if admin is not None:
            values["admin_token"] = admin
        if env.get("AUTH_SECRET"):
            values["auth_secret"] = env["AUTH_SECRET"]
        if env.get("SERVER_ID"):
            values["server_id"] = env["SERVER_ID"]
        if env.get("HTTP_MAX_CONNECTIONS"):
            values["http_max_connections"] = reader.integer("HTTP_MAX_CONNECTIONS", 0, low=1)
        if env.get("MEMORY_LIMIT_BYTES"):
            values["memory_limit_bytes"] = reader.integer("MEMORY_LIMIT_BYTES", 0, low=1)
        # the schema's column widths (server/store/schema.py): wider values cannot be stored
        for name, key, widest in (
            ("MAX_ID_LENGTH", "max_id_length", 128),
            ("MAX_DID_LENGTH", "max_did_length", 256),
        ):
            if values[key] > widest:
                raise SettingsError(f"{name}={values[key]} must be <= {widest} (the column width)")
        # waiting for a pool connection fails (503, retry) well before the message deadline
        message_timeout = values["message_timeout"]
        values["pool_timeout"] = reader.number(
            "POOL_TIMEOUT", min(cls.pool_timeout, message_timeout / 2)
        )
        if values["pool_timeout"] >= message_timeout:
            raise SettingsError(
                f"POOL_TIMEOUT={values['pool_timeout']:g} must be shorter than "
                f"MESSAGE_TIMEOUT={values['message_timeout']:g}; e.g. POOL_TIMEOUT=5"
            )
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """The non-secret settings, for GET /admin/config (passwords masked)."""
        return {
            "database_url": _mask_password(self.database_url),
            "database_max_connections": self.database_max_connections,
            "enable_actor_system": self.enable_actor_system,
            "actor_mailbox_size": self.actor_mailbox_size,
            "message_timeout": self.message_timeout,
            "inactivity_timeout": self.inactivity_timeout,
            "cleanup_interval": self.cleanup_interval,
            "meeting_timeout": self.meeting_timeout,
            "log_level": self.log_level,
            "log_file": self.log_file,
            "server_id": self.server_id,
            "replicated": self.replicated,
            "conversation_lease_seconds": self.conversation_lease_seconds,
            "replica_url": self.replica_url,
            "mc_id": self.mc_id,
            "mc_region": self.mc_region,
            "mc_capacity": self.mc_capacity,
            "gc_heartbeat_interval": self.gc_heartbeat_interval,
            "gc_stale_intervals": self.gc_stale_intervals,
            "statement_timeout": self.statement_timeout,
            "http_keepalive_timeout": self.http_keepalive_timeout,
            "http_request_timeout": self.http_request_timeout,
            "http_max_connections": self.http_max_connections,
            "memory_limit_bytes": self.memory_limit_bytes,
            "epoch_conflict_interval": self.epoch_conflict_interval,
            "max_body_bytes": self.max_body_bytes,
            "max_id_length": self.max_id_length,
            "max_did_length": self.max_did_length,
            "max_did_list": self.max_did_list,
            "max_json_depth": self.max_json_depth,
            "meeting_inbox_bytes": self.meeting_inbox_bytes,
            "pool_timeout": self.pool_timeout,
            "actor_start_attempts": self.actor_start_attempts,
        }


def _mask_password(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    if ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


class _Reader:
    """Typed reads of environment variables with messages naming the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str) -> str:
        return self.env.get(name) or default

    def integer(self, name: str, default: int, *, low: int) -> int:
        raw = self.env.get(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r} is not an integer; set e.g. {name}={default}"
            ) from None
        if value < low:
            raise SettingsError(f"{name}={value} must be >= {low}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.env.get(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r} is not a number of seconds; e.g. {default}"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise SettingsError(f"{name}={value} must be a finite number > 0 of seconds")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = (self.env.get(name) or "").strip().lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = (self.env.get(name) or default).strip().lower()
        if raw == "warning":
            raw = "warn"
        if raw not in allowed:
            raise SettingsError(f"{name}={raw!r} is not one of {', '.join(allowed)}")
        return raw

    def faults(self, name: str) -> dict[str, dict[str, Any]]:
        raw = self.env.get(name)
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            raise SettingsError(
                f"{name} is not JSON ({err}); e.g. {name}='{{\"no_cleanup\": {{}}}}'"
            ) from err
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise SettingsError(f"{name} must be a JSON object of objects, like PUT /admin/faults")
        try:
            return {fault: validate_fault(fault, params) for fault, params in value.items()}
        except Invalid as err:
            raise SettingsError(f"{name}: {err}") from None
