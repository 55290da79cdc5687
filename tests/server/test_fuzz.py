"""A bounded property-based fuzz of the HTTP API: no input makes a 500, nothing restarts.

Hypothesis draws a route, a token and a body (valid JSON of any shape, or raw bytes)
and sends it to the real server; whatever it is, the answer is below 500 and, at the
end, no actor has crashed or restarted. Faults and actor stops are left out: they
answer 503 on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.helpers import SQL_WORDS, crashes
from tests.support.server_process import ADMIN_TOKEN, ServerProcess, running_server

pytestmark = pytest.mark.slow
XRPC = "/xrpc/blue.catbird.mls."
ALICE, BOB = "did:plc:alice", "did:plc:bob"
ENV = {"MAX_BODY_BYTES": "65536", "MAX_DID_LIST": "50", "MEETING_INBOX_BYTES": "65536"}

KNOWN_IDS = ("fuzz", "fuzz-meeting", "missing")
ids = st.one_of(
    st.sampled_from(KNOWN_IDS),
    st.text(max_size=160),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=3),
)
dids = st.one_of(
    st.sampled_from([ALICE, BOB, "did:plc:carol"]),
    st.text(max_size=300),
    st.integers(),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "convo_id": ids,
        "meeting_id": ids,
        "connection_id": ids,
        "did_list": st.one_of(st.lists(dids, max_size=60), json_values),
        "ciphertext": json_values,
        "body": json_values,
        "idle_seconds": json_values,
    },
)
raw_bodies = st.one_of(
    bodies.map(lambda body: json.dumps(body).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.integers(1, 200).map(lambda n: b'{"convo_id": ' + b"[" * n * 10 + b"]" * n * 10 + b"}"),
)
header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_characters="\x7f"),
    max_size=40,
)
tokens = st.one_of(st.sampled_from(["alice", "bob", "admin", "none"]), header_text)
routes = st.sampled_from(
    [
        ("POST", XRPC + "createConvo"),
        ("POST", XRPC + "addMembers"),
        ("POST", XRPC + "sendMessage"),
        ("GET", XRPC + "getEpoch"),
        ("GET", XRPC + "getUnreadCount"),
        ("POST", XRPC + "updateRead"),
        ("POST", XRPC + "leaveConvo"),
        ("POST", "/meetings"),
        ("GET", "/meetings/{id}"),
        ("POST", "/meetings/{id}/join"),
        ("POST", "/meetings/{id}/leave"),
        ("POST", "/meetings/{id}/messages"),
        ("GET", "/admin/config"),
        ("GET", "/admin/actors"),
        ("GET", "/admin/actors/conversation/{id}"),
        ("GET", "/admin/faults"),
    ]
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'mcops.db'}"
    with running_server(url, env=ENV) as srv:
        with srv.client(ALICE) as alice:
            alice.post(
                XRPC + "createConvo", json={"convo_id": "fuzz", "did_list": [BOB]}
            ).raise_for_status()
            alice.post("/meetings", json={"meeting_id": "fuzz-meeting"}).raise_for_status()
        yield srv


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=15) as c:
        yield c


def _authorization(server: ServerProcess, token: str) -> dict[str, Any]:
    if token in ("alice", "bob"):
        return server.user_headers(ALICE if token == "alice" else BOB)
    if token == "admin":
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if token == "none":
        return {}
    return {"Authorization": ("Bearer " + token).strip().encode("utf-8")}


@settings(
    max_examples=200,
    database=None,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(route=routes, token=tokens, path_id=ids, query_id=ids, raw=raw_bodies)
def test_no_input_makes_a_500(server, client, route, token, path_id, query_id, raw):
    method, path = route
    path = path.replace("{id}", quote(str(path_id), safe="") or "x")
    headers = _authorization(server, token)
    if method == "GET":
        r = client.get(path, params={"convo_id": str(query_id)}, headers=headers)
    else:
        r = client.post(path, content=raw, headers=headers)
    assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
    assert not any(word in r.text for word in SQL_WORDS), r.text[:300]


def test_after_the_fuzz_nothing_crashed_or_restarts(server, client):
    """Runs after the fuzz in this module: no crash counted, no actor restarted."""
    assert client.get("/health").status_code == 200
    assert crashes(server) == 0
    actors = client.get("/admin/actors", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert all(actor["restarts"] == 0 for actor in actors.json())
