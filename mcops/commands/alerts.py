"""``mcops alerts serve``: run scenario notebooks for Alertmanager's firing alerts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alerts",
        help="Alertmanager webhook receiver that runs the alert's scenario notebook",
        description="Receive Alertmanager webhooks (POST /alerts); each new firing alert runs "
        "its scenario notebook headless in plan mode (apply_remediation is always False), "
        "with the alert's labels (namespace, deployment, convo_id, meeting_id, mc_id) as "
        "parameters. Alerts without a notebook run triage. Evidence is served under /runs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the webhook",
        description="Point an Alertmanager webhook_configs url at http://HOST:PORT/alerts.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    serve.add_argument("--port", type=int, default=9095)
    serve.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter for every run, e.g. -p service_url=http://mc:8080 "
        "-p database_url=env:DB_URL -p admin_token=env:MC_ADMIN_TOKEN",
    )
    serve.add_argument(
        "--evidence",
        type=Path,
        default=Path("evidence/alerts"),
        metavar="DIR",
        help="one evidence directory per run goes here (default evidence/alerts)",
    )
    serve.add_argument("--max-queue", type=int, default=20, help="runs waiting at most")
    serve.add_argument(
        "--warm-kernels",
        type=int,
        choices=[0, 1, 2],
        default=1,
        metavar="N",
        help="kernels kept started with mcops imported for the next alerts (default 1; "
        "0: start one per run, slower by the kernel's start and imports)",
    )
    serve.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks"
    )
    serve.set_defaults(handler=serve_alerts)


def serve_alerts(args: argparse.Namespace) -> int:
    import uvicorn

    from mcops.alerts import AlertReceiver, declared_in
    from mcops.alerts_http import build_app
    from mcops.params import parse_assignment
    from mcops.registry import ALERTS as ALERT_SCENARIOS
    from mcops.runner import default_notebooks_dir, kernel_pool, run_scenario
    from mcops.secrets import resolve

    defaults: dict[str, Any] = dict(parse_assignment(text) for text in args.parameter)
    for name, value in defaults.items():
        resolve(value, name=name)  # an unset env: variable stops us now, not at the first alert
    notebooks = args.notebooks or default_notebooks_dir()
    # a kernel with mcops imported waits for the next alert: its run starts at the first cell
    kernels = kernel_pool(args.warm_kernels) if args.warm_kernels else None

    def execute(scenario: str, parameters: dict[str, Any], out_dir: Path) -> dict[str, Any]:
        result = run_scenario(
            scenario,
            parameters,
            out_dir=out_dir,
            notebooks_dir=notebooks,
            progress=False,
            kernels=kernels,
        )
        return {"exit_code": result.exit_code, "summary": result.summary}

    receiver = AlertReceiver(
        scenarios=ALERT_SCENARIOS,
        defaults=defaults,
        evidence_root=args.evidence,
        execute=execute,
        declared=declared_in(notebooks),
        max_queue=args.max_queue,
    )
    print(
        f"mcops alerts: listening on http://{args.host}:{args.port}/alerts "
        f"(notebooks {notebooks}, evidence {args.evidence})",
        flush=True,
    )
    try:
        uvicorn.run(build_app(receiver), host=args.host, port=args.port, log_level="warning")
    finally:
        if kernels is not None:
            kernels.close()
    return 0
