"""The HTTP API of server/README.md on Starlette: parse, authorise, call Services.

Every error is JSON ``{"error": <Code>, "message": <what and how to fix>}`` with the
status its exception class carries (server/failures.py); malformed input is a 4xx,
never a 500: bodies, ids and dids are read and checked within bounds by server/edge.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.actors import ActorKey, GetState
from server.auth import Forbidden, Unauthorized, bearer, is_admin, verify_user_token
from server.config import Settings
from server.conversation import (
    AddMembers,
    CreateConvo,
    GetEpoch,
    GetUnreadCount,
    Leave,
    SendMessage,
    UpdateRead,
)
from server.edge import (
    Limits,
    MalformedRequest,
    did_list,
    ident,
    json_size,
    parse_json,
)
from server.edge import read_body as _read_body
from server.errors import Invalid, NotFound
from server.failures import exception_handlers
from server.forwarding import close_forwarding
from server.logs import get_logger
from server.meeting import CreateMeeting, EndMeeting, Join, LeaveMeeting, Relay
from server.services import Services
from server.store.engine import pool_stats

__all__ = ["MalformedRequest", "create_app"]

log = get_logger("http")
XRPC = "/xrpc/blue.catbird.mls."


# -- request helpers -----------------------------------------------------------------


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _user(request: Request) -> str:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized(
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(mint one with `mcops-server token <did>`)"
        )
    settings = _services(request).settings
    did = verify_user_token(token, settings.auth_secret, max_did_length=settings.max_did_length)
    if did is None:
        raise Unauthorized("invalid token: it was not minted with this server's AUTH_SECRET")
    return did


def _admin(request: Request) -> None:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("missing bearer token: admin endpoints need ADMIN_TOKEN")
    settings = _services(request).settings
    if is_admin(token, settings.admin_token):
        return
    if verify_user_token(token, settings.auth_secret) is not None:
        raise Forbidden("a user token cannot call /admin/*: use ADMIN_TOKEN")
    raise Unauthorized("invalid token: admin endpoints need ADMIN_TOKEN")


def _limits(request: Request) -> Limits:
    return request.app.state.limits  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    limits = _limits(request)
    raw = await _read_body(request, limit=limits.max_body_bytes)
    request.state.raw_body = raw  # a request another replica owns is forwarded as it came
    return parse_json(raw, max_depth=limits.max_json_depth)


def _id(request: Request, body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"missing field {name!r}", fix=f'send {{"{name}": "..."}}')
        return None
    return ident(value, f"field {name!r}", max_length=_limits(request).max_id_length)


def _did_list(request: Request, body: dict[str, Any], *, required: bool) -> tuple[str, ...]:
    limits = _limits(request)
    return did_list(
        body,
        required=required,
        max_entries=limits.max_did_list,
        max_length=limits.max_did_length,
    )


def _query(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise Invalid(f"missing query parameter {name!r}", fix=f"add ?{name}=...")
    return ident(value, f"query parameter {name!r}", max_length=_limits(request).max_id_length)


def _path_id(request: Request, name: str) -> str:
    return ident(
        request.path_params[name],
        f"path parameter {name!r}",
        max_length=_limits(request).max_id_length,
    )


# -- health, readiness, metrics --------------------------------------------------------


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    services = _services(request)
    pool = pool_stats(services.engine, max_connections=services.settings.database_max_connections)
    checks: dict[str, str] = {}
    if pool.active >= pool.max:
        checks["pool"] = f"exhausted: {pool.active}/{pool.max} connections in use"
        checks["database"] = "not checked: no free pool connection"
    else:
        checks["pool"] = f"ok: {pool.active}/{pool.max} in use"
        try:
            await asyncio.wait_for(services.store.ping(), timeout=2.0)
            checks["database"] = "ok"
        except Exception as err:
            checks["database"] = f"unreachable: {type(err).__name__}: {err}"[:300]
    checks["gc_registration"] = "ok" if services.gc.registered else "not registered or stale"
    ok = checks["database"] == "ok" and checks["pool"].startswith("ok") and services.gc.registered
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )


async def metrics(request: Request) -> Response:
    return Response(_services(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


# -- conversations (XRPC) --------------------------------------------------------------


async def create_convo(request: Request) -> Response:
    did = _user(request)
    body = await _body(request)
    convo_id = _id(request, body, "convo_id", required=False) or f"convo-{uuid.uuid4().hex[:12]}"
    message = CreateConvo(did, _did_list(request, body, required=False))
    return JSONResponse(await _services(request).conversation(convo_id, message))


async def add_members(request: Request) -> Response:
    did = _user(request)
    body = await _body(request)
    convo_id = str(_id(request, body, "convo_id"))
    message = AddMembers(did, _did_list(request, body, required=True))
    log.trace(f"[add_members] START - convo: {convo_id}", convo_id=convo_id)
    reply = await _services(request).conversation(convo_id, message)
    log.trace(f"[add_members] COMPLETE - new_epoch: {reply['new_epoch']}", convo_id=convo_id)
    return JSONResponse(reply)


async def send_message(request: Request) -> Response:
    did = _user(request)
    body = await _body(request)
    convo_id = str(_id(request, body, "convo_id"))
    ciphertext = body.get("ciphertext")
    if not isinstance(ciphertext, str):
        raise Invalid("field 'ciphertext' must be a string", fix='send {"ciphertext": "..."}')
    return JSONResponse(
        await _services(request).conversation(convo_id, SendMessage(did, ciphertext))
    )


async def get_epoch(request: Request) -> Response:
    did = _user(request)
    convo_id = _query(request, "convo_id")
    return JSONResponse(await _services(request).conversation(convo_id, GetEpoch(did)))


async def get_unread_count(request: Request) -> Response:
    did = _user(request)
    convo_id = _query(request, "convo_id")
    return JSONResponse(await _services(request).conversation(convo_id, GetUnreadCount(did)))


async def update_read(request: Request) -> Response:
    did = _user(request)
    convo_id = str(_id(request, await _body(request), "convo_id"))
    return JSONResponse(await _services(request).conversation(convo_id, UpdateRead(did)))


async def leave_convo(request: Request) -> Response:
    did = _user(request)
    convo_id = str(_id(request, await _body(request), "convo_id"))
    return JSONResponse(await _services(request).conversation(convo_id, Leave(did)))


# -- meetings --------------------------------------------------------------------------


async def create_meeting(request: Request) -> Response:
    did = _user(request)
    body = await _body(request)
    meeting_id = (
        _id(request, body, "meeting_id", required=False) or f"meeting-{uuid.uuid4().hex[:12]}"
    )
    return JSONResponse(await _services(request).meeting(meeting_id, CreateMeeting(did)))


async def join_meeting(request: Request) -> Response:
    did = _user(request)
    await _body(request)
    meeting_id = _path_id(request, "meeting_id")
    return JSONResponse(await _services(request).meeting(meeting_id, Join(did)))


async def leave_meeting(request: Request) -> Response:
    did = _user(request)
    connection_id = str(_id(request, await _body(request), "connection_id"))
    meeting_id = _path_id(request, "meeting_id")
    return JSONResponse(
        await _services(request).meeting(meeting_id, LeaveMeeting(did, connection_id))
    )


async def meeting_message(request: Request) -> Response:
    did = _user(request)
    body = await _body(request)
    connection_id = str(_id(request, body, "connection_id"))
    if "body" not in body:
        raise Invalid("missing field 'body'", fix='send {"connection_id": "...", "body": ...}')
    meeting_id = _path_id(request, "meeting_id")
    relay = Relay(did, connection_id, body["body"], size=json_size(body["body"]))
    return JSONResponse(await _services(request).meeting(meeting_id, relay))


async def end_meeting(request: Request) -> Response:
    _user(request)
    await _body(request)
    meeting_id = _path_id(request, "meeting_id")
    return JSONResponse(await _services(request).meeting(meeting_id, EndMeeting("requested")))


async def get_meeting(request: Request) -> Response:
    _user(request)
    ref = await _services(request).meeting_ref(_path_id(request, "meeting_id"))
    return JSONResponse(await ref.ask(GetState()))


# -- admin -----------------------------------------------------------------------------


async def admin_config(request: Request) -> Response:
    _admin(request)
    services = _services(request)
    return JSONResponse(
        {
            **services.settings.public(),
            "actor_system_enabled": services.actor_system_enabled,
            "faults": services.faults.active(),
        }
    )


async def admin_actors(request: Request) -> Response:
    _admin(request)
    actor_type = request.query_params.get("actor_type") or None
    try:
        limit = int(request.query_params.get("limit", "1000"))
    except ValueError:
        raise Invalid("limit must be an integer", fix="e.g. ?limit=100") from None
    refs = _services(request).registry.refs(actor_type)[: max(limit, 0)]
    return JSONResponse(
        [
            {
                "actor_type": ref.key.actor_type,
                "actor_id": ref.key.actor_id,
                "mailbox_depth": ref.mailbox_depth,
                "idle_seconds": round(ref.idle_seconds, 3),
                "restarts": ref.restarts,
            }
            for ref in refs
        ]
    )


def _live(request: Request) -> ActorKey:
    key = ActorKey(request.path_params["actor_type"], request.path_params["actor_id"])
    if _services(request).registry.lookup(key) is None:
        raise NotFound(
            f"no live {key.actor_type} actor {key.actor_id}",
            fix="list live actors with GET /admin/actors",
        )
    return key


async def admin_actor_state(request: Request) -> Response:
    _admin(request)
    ref = _services(request).registry.lookup(_live(request))
    if ref is None:
        raise NotFound("the actor stopped meanwhile")
    return JSONResponse(await ref.ask(GetState()))


async def admin_actor_stop(request: Request) -> Response:
    _admin(request)
    stopped = await _services(request).registry.stop(_live(request), reason="requested")
    return JSONResponse({"stopped": stopped})


async def admin_stop_idle(request: Request) -> Response:
    _admin(request)
    idle = (await _body(request)).get("idle_seconds")
    number = isinstance(idle, int | float) and not isinstance(idle, bool)
    if not number or not 0 <= idle <= 10**9:  # NaN fails the comparison too
        raise Invalid(
            "idle_seconds must be a finite number >= 0", fix='e.g. {"idle_seconds": 3600}'
        )
    keys = await _services(request).registry.stop_idle(float(idle))
    return JSONResponse(
        {"stopped": [{"actor_type": k.actor_type, "actor_id": k.actor_id} for k in keys]}
    )


async def admin_end_meeting(request: Request) -> Response:
    _admin(request)
    meeting_id = _path_id(request, "meeting_id")
    return JSONResponse(await _services(request).meeting(meeting_id, EndMeeting("admin")))


async def admin_gc_register(request: Request) -> Response:
    _admin(request)
    services = _services(request)
    registered = await services.gc.register()
    return JSONResponse(
        {"registered": registered, "mc_id": services.settings.mc_id},
        status_code=200 if registered else 503,
    )


async def admin_faults(request: Request) -> Response:
    _admin(request)
    faults = _services(request).faults
    if request.method == "PUT":
        return JSONResponse(await faults.set_many(await _body(request)))
    return JSONResponse(faults.active())


async def admin_clear_fault(request: Request) -> Response:
    _admin(request)
    name = request.path_params["name"]
    if not await _services(request).faults.clear(name):
        raise NotFound(f"fault {name} is not active", fix="see GET /admin/faults")
    return JSONResponse(_services(request).faults.active())


# -- app ----------------------------------------------------------------------------------


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app; settings default to the environment (read at startup)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.start(settings or Settings.from_env())
        app.state.services = services
        app.state.limits = Limits.from_settings(services.settings)
        try:
            yield
        finally:
            await close_forwarding(app.state)
            await services.close()

    routes = [
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
        Route(XRPC + "createConvo", create_convo, methods=["POST"]),
        Route(XRPC + "addMembers", add_members, methods=["POST"]),
        Route(XRPC + "sendMessage", send_message, methods=["POST"]),
        Route(XRPC + "getEpoch", get_epoch, methods=["GET"]),
        Route(XRPC + "getUnreadCount", get_unread_count, methods=["GET"]),
        Route(XRPC + "updateRead", update_read, methods=["POST"]),
        Route(XRPC + "leaveConvo", leave_convo, methods=["POST"]),
        Route("/meetings", create_meeting, methods=["POST"]),
        Route("/meetings/{meeting_id}", get_meeting, methods=["GET"]),
        Route("/meetings/{meeting_id}/join", join_meeting, methods=["POST"]),
        Route("/meetings/{meeting_id}/leave", leave_meeting, methods=["POST"]),
        Route("/meetings/{meeting_id}/messages", meeting_message, methods=["POST"]),
        Route("/meetings/{meeting_id}/end", end_meeting, methods=["POST"]),
        Route("/admin/config", admin_config, methods=["GET"]),
        Route("/admin/actors", admin_actors, methods=["GET"]),
        Route("/admin/actors/stop-idle", admin_stop_idle, methods=["POST"]),
        Route("/admin/actors/{actor_type}/{actor_id}", admin_actor_state, methods=["GET"]),
        Route("/admin/actors/{actor_type}/{actor_id}", admin_actor_stop, methods=["DELETE"]),
        Route("/admin/meetings/{meeting_id}/end", admin_end_meeting, methods=["POST"]),
        Route("/admin/gc/register", admin_gc_register, methods=["POST"]),
        Route("/admin/faults", admin_faults, methods=["GET", "PUT"]),
        Route("/admin/faults/{name}", admin_clear_fault, methods=["DELETE"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=exception_handlers(),
    )
