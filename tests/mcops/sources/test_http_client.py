"""One HTTP client and one error mapping for the service and its admin API."""

from __future__ import annotations

import httpx
import pytest

from mcops.errors import SourceAuthError, SourceConfigError, SourceQueryError, SourceUnreachable
from mcops.remediate.admin_api import AdminApi, AdminApiError
from mcops.sources.http_client import HttpClient, HttpStatusError
from mcops.sources.service import ServiceSource

URL = "http://svc.test:8080"


def transport(status: int = 200, body: bytes = b'{"ok": true}', error: Exception | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        if error is not None:
            raise error
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "DNS failure"),
    ],
)
def test_no_answer_is_unreachable_with_what_happened(error, state):
    seen = []
    client = HttpClient(URL, transport=transport(error=error), observer=seen.append)
    with pytest.raises(SourceUnreachable) as err:
        client.json("GET", "/health")
    assert err.value.state == state and seen == [err.value]
    for call in (
        lambda: AdminApi(URL, "t", transport=transport(error=error)).request("GET", "/x"),
        lambda: ServiceSource(URL, transport=transport(error=error)).config(),
    ):
        with pytest.raises(SourceUnreachable) as same:
            call()
        assert same.value.state == state


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses_are_auth_errors_for_both_callers(status):
    seen = []
    client = HttpClient(URL, token="t", transport=transport(status), observer=seen.append)
    assert client.send("GET", "/admin/config").status_code == status  # data for send
    assert isinstance(seen[-1], SourceAuthError)
    with pytest.raises(SourceAuthError, match=rf"answered HTTP {status}"):
        AdminApi(URL, "t", transport=transport(status)).request("GET", "/admin/config")
    with pytest.raises(SourceAuthError, match=r"admin_token"):
        ServiceSource(URL, transport=transport(status)).config()


def test_other_statuses_are_query_errors_carrying_the_status():
    body = b'{"error": "NotFound", "message": "unknown actor"}'
    with pytest.raises(AdminApiError) as err:
        AdminApi(URL, "t", transport=transport(404, body)).request("GET", "/admin/actors/x/y")
    assert err.value.status == 404 and "unknown actor" in str(err.value)
    assert AdminApiError is HttpStatusError and issubclass(HttpStatusError, SourceQueryError)
    with pytest.raises(HttpStatusError) as same:
        ServiceSource(URL, transport=transport(500, b"boom")).config()
    assert same.value.status == 500 and same.value.state == "query error"
    with pytest.raises(HttpStatusError):
        AdminApi(URL, "t", transport=transport(503, b"")).text("/metrics")


def test_answers_json_or_says_it_did_not():
    api = AdminApi(URL, "tok-123", transport=transport(200, b""))
    assert api.request("POST", "/admin/gc/register") is None
    assert AdminApi(URL, "t", transport=transport(200, b"# HELP x\n")).text("/metrics")
    with pytest.raises(SourceQueryError, match="did not answer JSON"):
        AdminApi(URL, "t", transport=transport(200, b"<html>")).request("GET", "/admin/config")


def test_urls_are_checked_and_shown_without_passwords():
    with pytest.raises(SourceConfigError, match="not an http"):
        AdminApi("svc:8080", "t")
    assert AdminApi("http://u:pw@svc/", "t").target == "http://u:***@svc"
