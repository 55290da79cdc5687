"""The HTTP face of the alert receiver: Alertmanager's webhook in, the runs' evidence out.

POST /alerts (Alertmanager webhook version 4), GET /runs, /runs/{id}, /runs/{id}/{file},
/health; the receiving, deduplication and queueing are `mcops.alerts`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from mcops.alerts import AlertReceiver, BadPayload, QueueFull

__all__ = ["build_app"]


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def build_app(receiver: AlertReceiver, *, start_worker: bool = True) -> Starlette:
    """POST /alerts (Alertmanager webhook v4), GET /runs, /runs/{id}, /runs/{id}/{file}.

    ``start_worker=False`` accepts and queues without running anything (tests fill the
    queue that way).
    """

    async def alerts(request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("InvalidJSON", "send an Alertmanager webhook (version 4) as JSON", 400)
        try:
            queued, skipped = receiver.accept(payload)
        except BadPayload as err:
            return _error("InvalidPayload", str(err), 422)
        except QueueFull as err:
            return _error("QueueFull", f"too many runs waiting ({err}); retry later", 503)
        return JSONResponse({"queued": [r.id for r in queued], "skipped": skipped})

    async def runs(request: Request) -> Response:
        return JSONResponse([r.public() for r in reversed(receiver.runs.values())])

    async def run_detail(request: Request) -> Response:
        run = receiver.runs.get(request.path_params["run_id"])
        if run is None:
            return _error("NotFound", "no such run; GET /runs lists them", 404)
        return JSONResponse(run.public())

    async def run_file(request: Request) -> Response:
        run = receiver.runs.get(request.path_params["run_id"])
        name = request.path_params["name"]
        if run is None or not run.evidence_dir:
            return _error("NotFound", "no such run, or it has not started", 404)
        path = Path(run.evidence_dir) / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return _error("NotFound", f"no file {name!r}; GET /runs/{run.id} lists them", 404)
        return FileResponse(path)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "queued": receiver.queue.qsize()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if start_worker:
            receiver.start()
        try:
            yield
        finally:
            await receiver.stop()

    return Starlette(
        routes=[
            Route("/alerts", alerts, methods=["POST"]),
            Route("/runs", runs),
            Route("/runs/{run_id}", run_detail),
            Route("/runs/{run_id}/{name}", run_file),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
