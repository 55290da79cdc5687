"""What arrives at the HTTP edge, read within bounds and checked once, before any actor.

Every limit comes from Settings (server/README.md "Limits"): a body is refused from
its Content-Length, or while it streams, before it is all in memory (413); JSON
nesting is measured before the parser recurses (400); ids and dids are checked for
length and characters so that nothing the database would refuse (a NUL byte, a value
wider than its column) reaches an actor (422).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from starlette.requests import Request

from server.auth import DID
from server.config import Settings
from server.errors import Invalid, PayloadTooLarge

__all__ = [
    "Limits",
    "MalformedRequest",
    "did",
    "did_list",
    "ident",
    "json_size",
    "parse_json",
    "read_body",
]

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class MalformedRequest(Invalid):
    """The body is not JSON, is nested too deeply, or is not a JSON object (400)."""

    http_status = 400


class Limits(NamedTuple):
    """The bounds the edge enforces; built from Settings."""

    max_body_bytes: int
    """Largest request body read (413 beyond)."""
    max_id_length: int
    """Longest conversation, meeting or connection id."""
    max_did_length: int
    """Longest did."""
    max_did_list: int
    """Most entries in a did_list."""
    max_json_depth: int
    """Deepest nesting of arrays and objects in a body."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_id_length=settings.max_id_length,
            max_did_length=settings.max_did_length,
            max_did_list=settings.max_did_list,
            max_json_depth=settings.max_json_depth,
        )


async def read_body(request: Request, *, limit: int) -> bytes:
    """The body, refused with PayloadTooLarge as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise MalformedRequest(
                f"Content-Length {declared[:40]!r} is not a number", fix="send a valid header"
            ) from None
        if size > limit:
            raise _too_large(size, limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(received, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body of {size} bytes or more exceeds the limit of {limit} bytes",
        fix="send a smaller body, or raise MAX_BODY_BYTES",
    )


def parse_json(raw: bytes, *, max_depth: int) -> dict[str, Any]:
    """A JSON object from `raw`, its nesting measured first (the parser recurses)."""
    if not raw.strip():
        return {}
    depth = _depth(raw, max_depth)
    if depth > max_depth:
        raise MalformedRequest(
            f"request body nests deeper than {max_depth} levels",
            fix="flatten the JSON, or raise MAX_JSON_DEPTH",
        )
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        reason = str(err)[:200] if not isinstance(err, RecursionError) else "nested too deeply"
        raise MalformedRequest(
            f"request body is not JSON ({reason})",
            fix="send a JSON object with Content-Type: application/json",
        ) from None
    if not isinstance(body, dict):
        raise MalformedRequest("request body must be a JSON object", fix='e.g. {"convo_id": "c1"}')
    return body


def _depth(raw: bytes, stop_above: int) -> int:
    """Deepest bracket nesting outside strings; stops counting once above `stop_above`."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    return deepest
        else:
            depth -= 1
    return deepest


def ident(value: Any, name: str, *, max_length: int) -> str:
    """A conversation, meeting or connection id: printable, at most `max_length` long."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} must be a non-empty string", fix=f'e.g. "{name}": "team-1"')
    if len(value) > max_length:
        raise Invalid(
            f"{name} is {len(value)} characters long; at most {max_length} are allowed",
            fix="use a shorter id",
        )
    if not value.isprintable():
        # NUL, other control characters and lone surrogates: the database refuses them
        raise Invalid(
            f"{name} contains control or non-printable characters",
            fix="use letters, digits and punctuation only",
        )
    return value


def did(value: Any, name: str, *, max_length: int) -> str:
    """A did like did:plc:alice: ASCII, no spaces, at most `max_length` long."""
    if not isinstance(value, str) or len(value) > max_length or not DID.fullmatch(value):
        shown = value[:60] + "…" if isinstance(value, str) and len(value) > 60 else value
        raise Invalid(
            f"{name} {shown!r} is not a did of at most {max_length} characters",
            fix='use the form "did:<method>:<id>" in ASCII, e.g. "did:plc:bob"',
        )
    return value


def did_list(
    body: dict[str, Any], *, required: bool, max_entries: int, max_length: int
) -> tuple[str, ...]:
    """The body's did_list: a list of dids, non-empty when `required`, bounded in length."""
    value = body.get("did_list")
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise Invalid(
            "field 'did_list' must be a non-empty list of dids",
            fix='e.g. {"did_list": ["did:plc:bob"]}',
        )
    if len(value) > max_entries:
        raise Invalid(
            f"field 'did_list' has {len(value)} entries; at most {max_entries} are allowed",
            fix="add members in batches, or raise MAX_DID_LIST",
        )
    return tuple(did(entry, "every entry of 'did_list'", max_length=max_length) for entry in value)


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON: what a relayed body costs to queue."""
    return len(json.dumps(value, separators=(",", ":")).encode())
