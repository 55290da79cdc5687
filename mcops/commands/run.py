"""``mcops run SCENARIO [-p NAME=VALUE]... [--out DIR] [--fail-on LEVEL]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="execute a scenario notebook headless and write its evidence",
        description="Execute notebooks/SCENARIO.ipynb with papermill and write SCENARIO.ipynb, "
        "SCENARIO.html and summary.json (and audit.jsonl if anything was applied) into DIR. "
        "Exit 0 when it ran, 1 when --fail-on is reached, 2 when it failed.",
    )
    parser.add_argument("scenario", help="scenario name (see `mcops list`)")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter, parsed as papermill does (5 is an int, True a bool); "
        "env:NAME reads the value from the environment",
    )
    parser.add_argument(
        "-r",
        "--raw",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter passed as text, unparsed",
    )
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="evidence dir")
    parser.add_argument(
        "--fail-on",
        choices=["warning", "critical"],
        default=None,
        help="exit 1 when a finding reaches this level",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks dir"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--png", action="store_true", help="also each figure as PNG (needs Chromium; slower)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mcops.bundle_figures import want_png
    from mcops.display import findings_table_text, severity_lines
    from mcops.next_steps import next_commands
    from mcops.params import parse_assignment
    from mcops.runner import run_scenario

    want_png(args.png)
    parameters: dict[str, Any] = {}
    for text in args.parameter:
        name, value = parse_assignment(text)
        parameters[name] = value
    for text in args.raw:
        name, value = parse_assignment(text, raw=True)
        parameters[name] = value
    result = run_scenario(
        args.scenario,
        parameters,
        out_dir=args.out,
        notebooks_dir=args.notebooks,
        fail_on=args.fail_on,
        progress=not args.no_progress,
    )
    summary = result.summary
    print(f"{result.scenario}: {result.status} in {result.seconds:.1f} s")
    print(f"evidence: {result.out_dir}")
    severity = summary.get("severity")
    if severity:
        first, *rest = severity_lines({**severity, "next_scenarios": []})
        print(f"severity {first}")
        for line in rest:
            print(f"  {line}")
    if summary["findings"]:
        print(findings_table_text(summary["findings"]))
    if result.error:
        print(f"error: {result.error}")
    if result.exit_code == 1:
        print(f"a finding reached {args.fail_on} (--fail-on): exit 1")
    scenarios = (severity or {}).get("next_scenarios") or []
    if scenarios:
        print("next:")
        for command in next_commands(scenarios, parameters):
            print(f"  {command}")
    return result.exit_code
