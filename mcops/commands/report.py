"""``mcops report SET|SCENARIO... [-p NAME=VALUE]... [--out DIR] [--jobs N] [--fail-on LEVEL]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "summary_lines"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from mcops.report_sets import SETS

    sets = "; ".join(f"{name}: {', '.join(s.scenarios)} ({s.runbook})" for name, s in SETS.items())
    parser = subparsers.add_parser(
        "report",
        help="run several scenarios (or a maintenance set) into one report with an index",
        description="Run scenarios and report sets into DIR/<scenario>/ and write "
        f"DIR/index.html and DIR/index.json. Sets — {sets}. The report is compared with "
        "the latest earlier report of the same request beside DIR (or --compare). "
        "Exit 0 when all ran, 1 when --fail-on is reached, 2 when a scenario failed.",
    )
    parser.add_argument("names", nargs="+", metavar="SET|SCENARIO", help="sets and scenarios")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter for every scenario, parsed as `mcops run` does; env:NAME reads "
        "the value from the environment",
    )
    parser.add_argument(
        "-r",
        "--raw",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter passed as text, unparsed",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="report directory (default evidence/reports/<names>-<UTC stamp>/)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="scenarios at a time (default 2)"
    )
    parser.add_argument(
        "--fail-on",
        choices=["warning", "critical"],
        default=None,
        help="exit 1 when a finding reaches this level",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="PREVIOUS_DIR",
        help="compare with this earlier report",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks dir"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-png",
        action="store_true",
        help="skip the PNG of each figure (by default made when Chromium is installed)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mcops.bundle_figures import want_png
    from mcops.errors import ParameterError
    from mcops.params import parse_assignments
    from mcops.report_index import INDEX_HTML
    from mcops.report_run import run_report

    want_png(not args.no_png)  # a report is an attachment: images by default
    if args.jobs is not None and args.jobs < 1:
        raise ParameterError("--jobs must be 1 or more — fix: e.g. --jobs 2", name="jobs")
    parameters = parse_assignments(args.parameter, args.raw)
    bars: list[Any] = []  # made once the parameters are checked: a typo prints no bar

    def start(total: int) -> None:
        bars.append(tqdm(total=total, unit="scenario", desc="mcops report"))

    def done(scenario: str, status: str) -> None:
        for bar in bars:
            bar.set_postfix_str(f"{scenario}: {status}")
            bar.update(1)

    try:
        report = run_report(
            args.names,
            parameters,
            out_dir=args.out,
            notebooks_dir=args.notebooks,
            jobs=args.jobs,
            fail_on=args.fail_on,
            compare_with=args.compare,
            on_start=None if args.no_progress else start,
            on_done=done,
        )
    finally:
        for bar in bars:
            bar.close()
    for line in summary_lines(report.index):
        print(line)
    print(f"index: {report.out_dir / INDEX_HTML}")
    if report.exit_code == 1:
        print(f"a finding reached {args.fail_on} (--fail-on): exit 1")
    elif report.exit_code == 2:
        print("a scenario failed: exit 2")
    return report.exit_code


def summary_lines(index: dict[str, Any]) -> list[str]:
    """One line per scenario, then what changed since the previous report."""
    lines = []
    for entry in index["scenarios"]:
        severity = entry.get("severity") or {}
        verdict = f"{severity.get('level', '—')} — {severity.get('reason', '')}".rstrip(" —")
        lines.append(f"{entry['scenario']}: {entry['status']} {verdict}")
        if entry.get("error"):
            lines.append(f"  error: {entry['error']}")
    comparison = index.get("comparison")
    if comparison:
        lines.append(f"compared with {comparison['previous']}:")
        changed = False
        for item in comparison["scenarios"]:
            for change in item["changes"]:
                lines.append(f"  {item['scenario']} {change['check']}: {change['change']}")
                changed = True
            if item["severity_change"] != "same":
                lines.append(f"  {item['scenario']} severity: {item['severity_change']}")
                changed = True
        if not changed:
            lines.append("  nothing changed")
    return lines
