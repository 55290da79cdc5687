"""The edge's pure parts without a server: JSON depth, ids, dids, did_list, tokens."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import user_token, verify_user_token
from server.edge import MalformedRequest, did, did_list, ident, json_size, parse_json
from server.errors import Invalid
from server.failures import exception_handlers


def test_depth_is_measured_outside_strings_and_stops_early():
    assert parse_json(b'{"a": "[[[[[[\\"[[[["}', max_depth=2) == {"a": '[[[[[["[[[['}
    assert parse_json(b'{"a": [[1]]}', max_depth=3) == {"a": [[1]]}
    with pytest.raises(MalformedRequest, match="deeper than 2"):
        parse_json(b'{"a": [[1]]}', max_depth=2)
    with pytest.raises(MalformedRequest, match="deeper than"):
        parse_json(b"[" * 1_000_000, max_depth=32)
    with pytest.raises(MalformedRequest, match="must be a JSON object"):
        parse_json(b"[1]", max_depth=32)
    with pytest.raises(MalformedRequest, match="not JSON"):
        parse_json(b"\xff{", max_depth=32)
    assert parse_json(b"  ", max_depth=32) == {}


@pytest.mark.parametrize("bad", ["", " ", "a\x00b", "tab\there", "\ud800", "x" * 129, 5, None])
def test_ids_refuse_control_characters_length_and_non_strings(bad):
    with pytest.raises(Invalid):
        ident(bad, "convo_id", max_length=128)


def test_ids_accept_printable_unicode():
    assert ident("team-ü 1", "convo_id", max_length=128) == "team-ü 1"


def test_dids_have_a_shape_and_a_bound():
    assert did("did:web:example.com", "did", max_length=256) == "did:web:example.com"
    for bad in ("plc:alice", "did:plc:a b", "did:plc:é", "did:" + "x" * 300, 3):
        with pytest.raises(Invalid):
            did(bad, "did", max_length=256)
    with pytest.raises(Invalid, match="at most 2"):
        did_list({"did_list": ["did:a:1"] * 3}, required=True, max_entries=2, max_length=256)
    assert did_list({}, required=False, max_entries=2, max_length=256) == ()


def test_tokens_that_are_not_ascii_or_not_dids_are_invalid_not_errors():
    assert verify_user_token("did:plc:\u00e9.abc", "s") is None
    assert verify_user_token("\u00ff\u00fe", "s") is None
    assert verify_user_token(user_token("not-a-did", "s"), "s") is None
    assert verify_user_token(user_token("did:plc:" + "x" * 300, "s"), "s") is None
    assert verify_user_token(user_token("did:plc:bob", "s"), "s") == "did:plc:bob"


def test_json_size_counts_compact_utf8_bytes():
    assert json_size({"a": "é"}) == len('{"a":"\\u00e9"}')


async def _broken(request: Request) -> Response:
    raise RuntimeError("SELECT secret FROM vault WHERE id = 'x'")


async def _database(request: Request) -> Response:
    raise OperationalError("SELECT 1", {"p": "bound-secret"}, Exception("down"))


def test_an_unexpected_error_is_a_500_with_a_correlation_id_and_no_text():
    app = Starlette(
        routes=[Route("/broken", _broken), Route("/database", _database)],
        exception_handlers=exception_handlers(),
    )

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
            return await client.get("/broken"), await client.get("/database")

    broken, database = asyncio.run(go())
    assert broken.status_code == 500 and "secret" not in broken.text
    assert broken.json()["error"] == "InternalError"
    assert broken.json()["correlation_id"] == broken.headers["X-Correlation-Id"]
    assert database.status_code == 503
    assert "bound-secret" not in database.text and "SELECT" not in database.text
    assert database.headers["Retry-After"] == "1" and database.json()["correlation_id"]
