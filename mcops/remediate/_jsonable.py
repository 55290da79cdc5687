"""One JSON encoding for plans, backups and the audit log (datetimes as ISO 8601)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_hash", "dumps", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: datetimes to ISO strings, bytes to base64, UUIDs to text, tuples
    to lists, mappings to dicts (a backup may hold any column a real table has)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text with sorted keys, so the same value always gives the same text."""
    return json.dumps(to_jsonable(value), sort_keys=True, indent=indent, ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON: the fingerprint of a state or a plan."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()
