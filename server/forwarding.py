"""A request for a conversation another replica owns goes to that replica.

Without sticky sessions a load balancer spreads one conversation's requests over every
replica; only the lease holder may write (server/ownership.py). The replica that got
the request forwards it once to the owner's REPLICA_URL and relays the answer. A
forwarded request is never forwarded again, and an owner that does not answer turns
into a 503 with Retry-After (its lease expires within CONVERSATION_LEASE_SECONDS if it
died), so a client always gets an answer or a clear, retryable refusal.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import OwnedElsewhere
from server.logs import get_logger

__all__ = ["FORWARDED_BY", "close_forwarding", "forward_or_refuse"]

log = get_logger("http")

#: Set on a forwarded request: the replica that forwarded it.
FORWARDED_BY = "X-Forwarded-By-Replica"
_PASSED = ("authorization", "content-type", "x-correlation-id")


async def forward_or_refuse(request: Request, exc: Exception) -> Response:
    """Relay the owner's answer, or refuse with 503 naming the owner."""
    assert isinstance(exc, OwnedElsewhere)
    services = getattr(request.app.state, "services", None)
    me = services.settings.server_id if services is not None else ""
    if exc.owner_url and FORWARDED_BY.lower() not in request.headers:
        headers = {k: v for k, v in request.headers.items() if k.lower() in _PASSED}
        headers[FORWARDED_BY] = me
        try:
            answer = await _client(request, services).request(
                request.method,
                exc.owner_url + request.url.path,
                params=request.query_params,
                content=getattr(request.state, "raw_body", b""),
                headers=headers,
            )
        except httpx.HTTPError as err:
            log.warn(
                f"Forwarding to replica {exc.owner_id} failed: {type(err).__name__}",
                convo_id=exc.convo_id,
            )
        else:
            relayed = {"content-type": answer.headers.get("content-type", "application/json")}
            relayed["X-Served-By-Replica"] = exc.owner_id
            if "retry-after" in answer.headers:
                relayed["Retry-After"] = answer.headers["retry-after"]
            return Response(answer.content, status_code=answer.status_code, headers=relayed)
    return JSONResponse(
        {"error": "OwnedElsewhere", "message": str(exc), "owner": exc.owner_id},
        status_code=503,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _client(request: Request, services: object) -> httpx.AsyncClient:
    """One pooled client per app (closed with it: `close_forwarding`)."""
    state = request.app.state
    if getattr(state, "forwarding", None) is None:
        settings = getattr(services, "settings", None)
        timeout = settings.message_timeout + 5 if settings is not None else 35.0
        state.forwarding = httpx.AsyncClient(timeout=timeout)
    return state.forwarding


async def close_forwarding(state: object) -> None:
    client = getattr(state, "forwarding", None)
    if client is not None:
        await client.aclose()
