"""One JSON encoding for everything mcops writes: summary rows, plans, backups, the audit log.

`to_jsonable` turns what checks and databases hand us into plain JSON types: missing
values (NaN, NaT) become null, numpy scalars Python numbers, datetimes and pandas
Timestamps ISO 8601 text, timedeltas seconds, Decimals and UUIDs text, bytes base64;
mappings and sequences are converted item by item. An object it does not know raises
TypeError, unless the caller passes ``default`` (summary rows show it with ``str``):
a fingerprint must never hash an object's ``repr`` by accident.

`dumps` and `canonical_hash` are the deterministic text and fingerprint of a value;
backups and plans already written fingerprint the same as before this module existed.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["canonical_hash", "dumps", "jsonable_row", "to_jsonable"]


def to_jsonable(value: Any, *, default: Callable[[Any], Any] | None = None) -> Any:
    """`value` as plain JSON types (see the module docstring); ``default`` for the rest."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else _timestamp(value)
    if isinstance(value, np.generic):
        return to_jsonable(value.item(), default=default)
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta) and value != value:
        return None  # pandas NaT claims to be a datetime
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, default=default) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v, default=default) for v in value]
    if isinstance(value, set | frozenset):
        return _sorted([to_jsonable(v, default=default) for v in value])
    if isinstance(value, np.ndarray):
        return [to_jsonable(v, default=default) for v in value.tolist()]
    if default is not None:
        return default(value)
    raise TypeError(
        f"cannot turn {type(value).__name__} into JSON; convert it before hashing or "
        "writing it (or pass default=str where a text rendering is good enough)"
    )


def jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as summary.json records it: unknown objects shown as their text."""
    return {str(key): to_jsonable(value, default=str) for key, value in row.items()}


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text with sorted keys, so the same value always gives the same text."""
    return json.dumps(to_jsonable(value), sort_keys=True, indent=indent, ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON: the fingerprint of a state or a plan."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()


def _timestamp(value: np.datetime64) -> str:
    import pandas as pd

    return pd.Timestamp(value).isoformat()


def _sorted(items: list[Any]) -> list[Any]:
    """A set's items in one order whatever the hash seed (its JSON text when mixed)."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
