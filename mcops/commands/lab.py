"""``mcops lab up|status|load|inject|clear|down|demo|jupyter``: the local lab on loopback."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mcops.lab_faults import DRIVEN, LAB_FAULTS, fault_listing

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="run the actor server, Prometheus and load locally to reproduce a scenario",
        description="The local lab: the actor server on SQLite, a real Prometheus when "
        "installed, and a bounded load generator, all on 127.0.0.1. Its state, database and "
        "logs live in one directory per user, so every command works from any directory: "
        "$MCOPS_LAB_DIR, else $XDG_STATE_HOME/mcops/lab, else ~/.local/state/mcops/lab "
        "(--root overrides).",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="lab directory (default: the lab home above)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser(
        "up",
        help="start the server (and Prometheus when installed)",
        description="Start the lab. It reuses the previous lab's database, log and "
        "Prometheus data (and says so); --fresh deletes them first.",
    )
    up.add_argument("--no-prometheus", action="store_true")
    up.add_argument(
        "--fresh",
        action="store_true",
        help="delete the previous lab's database, logs and Prometheus data first",
    )
    up.set_defaults(handler=_up)
    actions.add_parser("status", help="URLs and notebook parameters").set_defaults(handler=_status)
    load = actions.add_parser("load", help="drive bounded traffic at the server")
    load.add_argument("--rate", type=float, default=20, help="requests per second")
    load.add_argument("--duration", type=float, default=10, help="seconds")
    load.add_argument("--conversations", type=int, default=20)
    load.set_defaults(handler=_load)
    inject = actions.add_parser(
        "inject",
        help="reproduce a runbook failure mode (see `mcops lab inject --help`)",
        description="Reproduce a runbook failure mode in the running lab, then investigate "
        "it with `mcops run --lab SCENARIO` or the notebook in JupyterLab.",
        epilog=fault_listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inject.add_argument(
        "fault", metavar="FAULT", choices=[f.name for f in LAB_FAULTS], help="one of those below"
    )
    inject.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    inject.set_defaults(handler=_inject)
    clear = actions.add_parser("clear", help="turn a fault off")
    clear.add_argument("fault")
    clear.set_defaults(handler=_clear)
    restart = actions.add_parser(
        "restart", help="restart the server (same port, database and log), like systemctl"
    )
    restart.set_defaults(handler=_restart)
    down = actions.add_parser("down", help="stop the lab")
    down.add_argument("--purge", action="store_true", help="also delete its data")
    down.set_defaults(handler=_down)
    demo = actions.add_parser("demo", help="reproduce incidents and investigate them")
    demo.add_argument("--out", type=Path, default=Path("evidence"), help="evidence root")
    demo.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    demo.set_defaults(handler=_demo)
    jupyter = actions.add_parser(
        "jupyter",
        help="the lab with a little load, and JupyterLab on it (make lab)",
        description="Start the lab if it is not running, drive a little bounded load at it, "
        "and run JupyterLab on 127.0.0.1 in notebooks/ (its kernels investigate this lab: "
        "Run All with empty parameters). Prints the URL with its token. Ctrl-C stops "
        "JupyterLab, and the lab if this command started it.",
    )
    jupyter.add_argument("--port", type=int, default=None, help="JupyterLab's port (default: free)")
    jupyter.add_argument(
        "--notebooks", type=Path, default=None, help="directory to open (default: notebooks/)"
    )
    jupyter.add_argument("--no-prometheus", action="store_true")
    jupyter.add_argument("--no-load", action="store_true", help="start no load")
    jupyter.set_defaults(handler=_jupyter)


def _lab(args: argparse.Namespace) -> Any:
    from mcops.lab import Lab

    return Lab(args.root)


def _up(args: argparse.Namespace) -> int:
    lab = _lab(args)
    running = lab.running()
    if running is not None:
        if args.fresh:
            lab.clean()  # LabError: the lab is running, stop it first
        print(f"the lab in {lab.root} is already running")
    elif args.fresh:
        gone = lab.clean()
        what = ", ".join(p.name for p in gone) or "nothing to delete"
        print(f"fresh lab in {lab.root} (deleted the previous lab's {what})")
    elif lab.leftovers():
        print(
            f"reusing the database and log of the previous lab in {lab.root}; "
            "`mcops lab up --fresh` starts clean"
        )
    state = lab.up(with_prometheus=not args.no_prometheus)
    print(f"server:     {state.server_url} (pid {state.server_pid})")
    print(f"prometheus: {state.prometheus_url or 'not installed: notebooks scrape /metrics'}")
    print(f"logs:       {state.log_file}")
    return 0


def _restart(args: argparse.Namespace) -> int:
    state = _lab(args).restart()
    print(f"server:     {state.server_url} (pid {state.server_pid}, restarted)")
    return 0


def _status(args: argparse.Namespace) -> int:
    import sys

    from mcops.lab import LAB_TOKEN_ENV

    lab = _lab(args)
    print(json.dumps(lab.parameters(), indent=2))
    print(
        f"lab home: {lab.root}\n"
        f'admin API: export {LAB_TOKEN_ENV}="$(cat {lab.token_file})" and pass '
        f"-p admin_token=env:{LAB_TOKEN_ENV} (mcops run --lab and the notebooks do this)",
        file=sys.stderr,
    )
    return 0


def _load(args: argparse.Namespace) -> int:
    return _lab(args).load(rate=args.rate, duration=args.duration, conversations=args.conversations)


def _inject(args: argparse.Namespace) -> int:
    from mcops.lab import LabError
    from mcops.params import parse_assignment

    params = dict(parse_assignment(text) for text in args.param)
    if args.fault in DRIVEN:
        import inspect

        from mcops.lab_faults import DRIVERS

        driver = DRIVERS[args.fault]
        lab = _lab(args)
        try:
            inspect.signature(driver).bind(lab, **params)
        except TypeError:
            raise LabError(
                f"{args.fault} takes no such --param {sorted(params)} — fix: see "
                "mcops lab inject --help"
            ) from None
        done = driver(lab, **params)
        print(json.dumps({args.fault: done}, indent=2))
        return 0
    print(json.dumps(_lab(args).inject(args.fault, params), indent=2))
    return 0


def _clear(args: argparse.Namespace) -> int:
    if args.fault == "outage":
        state = _lab(args).restart()
        print(f"server:     {state.server_url} (pid {state.server_pid}, restarted)")
        return 0
    if args.fault in DRIVEN:
        print(f"{args.fault} is not left on: nothing to clear (its rows stay in the database)")
        return 0
    print(json.dumps(_lab(args).clear(args.fault), indent=2))
    return 0


def _down(args: argparse.Namespace) -> int:
    _lab(args).down(purge=args.purge)
    print("lab stopped" + (" and purged" if args.purge else ""))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from mcops.demo import run_demo

    return run_demo(_lab(args), out_root=args.out, keep=args.keep)


def _jupyter(args: argparse.Namespace) -> int:
    from mcops.lab_jupyter import serve
    from mcops.runner import default_notebooks_dir

    return serve(
        _lab(args),
        args.notebooks or default_notebooks_dir(),
        port=args.port,
        with_prometheus=not args.no_prometheus,
        load=not args.no_load,
    )
