"""``mcops doctor``: what is installed and reachable, each missing piece with its fix.

Exit 0 when every required check passes (optional ones, such as Chromium, only say what
they would add), 1 otherwise.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]

EXIT_OK = 0
EXIT_MISSING = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this install: Python, kernel, notebooks, Chromium, promtool",
        description="One line per check: ok or missing, what was found, and the command "
        "that fixes what is missing. Exit 0 when every required check passes (Chromium, "
        "promtool, kubectl and the notebooks' JupyterLab kernel are optional), 1 otherwise.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mcops.cli import version_line
    from mcops.doctor import run_checks

    print(version_line())
    results = run_checks()
    for check in results:
        print(check.line())
    failed = [c.name for c in results if c.required and not c.ok]
    if failed:
        print(f"not ready: {', '.join(failed)} (see the fixes above)")
        return EXIT_MISSING
    print("ready: mcops can run every scenario")
    return EXIT_OK
