"""The ``mcops-server`` command: serve, load, token."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server import logs
    from server.app import create_app
    from server.config import Settings, SettingsError
    from server.connections import bounded_protocol, default_max_connections
    from server.single_replica import SingleReplicaError, hold_sqlite_lock
    from server.store.engine import DatabaseUnusable, check_database

    if not os.environ.get("REPLICA_URL") and args.host not in ("0.0.0.0", "::", ""):
        # where other replicas forward this one's conversations (server/forwarding.py)
        os.environ["REPLICA_URL"] = f"http://{args.host}:{args.port}"
    try:
        settings = Settings.from_env()
        asyncio.run(check_database(settings.database_url))
        sqlite_lock = hold_sqlite_lock(settings.database_url)  # noqa: F841 - held till exit
    except (SettingsError, DatabaseUnusable, SingleReplicaError) as err:
        print(f"mcops-server: {err}", file=sys.stderr)
        return 2
    max_connections = settings.http_max_connections or default_max_connections(
        database_connections=settings.database_max_connections
    )
    logs.configure(level=settings.log_level, log_file=settings.log_file)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        loop=loop,
        http=bounded_protocol(
            request_timeout=settings.http_request_timeout, max_connections=max_connections
        ),
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.http_keepalive_timeout,
        backlog=4096,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:  # the lifespan failed after the checks above passed
        print(
            "mcops-server: startup failed (the reason is in the log); check DATABASE_URL "
            "and that the database accepts connections",
            file=sys.stderr,
        )
        return 3
    return 0


def _load(args: argparse.Namespace) -> int:
    from server.load import run_load_sync

    secret = args.auth_secret or os.environ.get("AUTH_SECRET")
    if not secret:
        print(
            "mcops-server load: no --auth-secret and AUTH_SECRET is not set; use the "
            "server's AUTH_SECRET",
            file=sys.stderr,
        )
        return 2
    report = run_load_sync(
        args.url,
        rate=args.rate,
        duration=args.duration,
        conversations=args.conversations,
        meetings=args.meetings,
        auth_secret=secret,
        concurrency=args.concurrency,
    )
    print(report.table())
    return 0


def _token(args: argparse.Namespace) -> int:
    from server.auth import user_token

    secret = args.auth_secret or os.environ.get("AUTH_SECRET")
    if not secret:
        print(
            "mcops-server token: AUTH_SECRET is not set; export the server's AUTH_SECRET "
            "or pass --auth-secret",
            file=sys.stderr,
        )
        return 2
    print(user_token(args.did, secret))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcops-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (settings from the environment)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(run=_serve)
    load = sub.add_parser("load", help="bounded load against a running server")
    load.add_argument("--url", required=True)
    load.add_argument("--rate", type=float, default=50.0, help="requests per second")
    load.add_argument("--duration", type=float, default=30.0, help="seconds")
    load.add_argument("--conversations", type=int, default=10)
    load.add_argument("--meetings", type=int, default=2)
    load.add_argument("--concurrency", type=int, default=64, help="max requests in flight")
    load.add_argument("--auth-secret", default=None)
    load.set_defaults(run=_load)
    token = sub.add_parser("token", help="print a user bearer token")
    token.add_argument("did")
    token.add_argument("--auth-secret", default=None)
    token.set_defaults(run=_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
