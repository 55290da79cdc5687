"""``mcops run SCENARIO... [-p NAME=VALUE]... [--lab] [--out DIR] [--fail-on LEVEL]``.

Several scenarios run one after another with the same parameters (each checked against
every notebook before the first kernel starts); while one runs, the next one's kernel
starts and imports mcops (`mcops.kernel_pool`). With ``--out DIR`` each goes to DIR/SCENARIO.

``--lab`` fills every source parameter left empty from the running lab
(`mcops.lab.running_lab_parameters`) and says which, in one line.

What it prints: an errored run states its error once, first, and no verdict (a
severity computed from checks that could not run would read as "all clear"); a run
that ran prints its verdict and findings.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["register", "report_lines", "secret_warnings", "with_lab_parameters"]

DEFAULT_CELL_TIMEOUT = 300.0
"""Seconds one notebook cell may run (a blocked log source must not hang a run)."""

_SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_?key|credential)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="execute scenario notebooks headless and write their evidence",
        description="Execute notebooks/SCENARIO.ipynb with papermill and write SCENARIO.ipynb, "
        "SCENARIO.html and summary.json (and audit.jsonl if anything was applied) into DIR. "
        "Several scenarios run one after another, each next kernel warmed while one runs. "
        "Exit 0 when they ran, 1 when --fail-on is reached, 2 when one failed.",
    )
    parser.add_argument(
        "scenario", nargs="+", help="scenario name (see `mcops list`); several run in turn"
    )
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
    parser.add_argument(
        "--lab",
        action="store_true",
        help="take the running lab's service, Prometheus, database, log and admin token for "
        "every one of them not given with -p (see `mcops lab status`)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="evidence dir (several scenarios: DIR/SCENARIO each)",
    )
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
    parser.add_argument(
        "--cell-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="longest one notebook cell may run (default 300, mcops.runner.CELL_TIMEOUT); "
        "a cell that takes longer fails the run, evidence is still written",
    )
    parser.set_defaults(handler=run)


def secret_warnings(parameters: Mapping[str, Any]) -> list[str]:
    """One line per parameter that carries a secret in clear on the command line (shell
    history, ``ps``): a URL password, a password flag, a token given literally."""
    from mcops.secrets import is_env_reference, redact_text

    lines = []
    for name, value in parameters.items():
        if not isinstance(value, str) or not value or is_env_reference(value):
            continue
        if redact_text(value) != value or _SECRET_NAME.search(name):
            env = name.upper()
            lines.append(
                f"warning: -p {name} carries a secret on the command line (shell history, ps); "
                f"export {env}=... and pass -p {name}=env:{env} instead"
            )
    return lines


def with_lab_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with each empty or missing source (and ``admin_token``) taken from
    the running lab, naming them in one line; LabError when no lab runs."""
    from mcops.lab import LabError, lab_home, running_lab_parameters

    lab = running_lab_parameters()
    if lab is None:
        raise LabError(
            f"--lab: no lab is running in {lab_home()} — fix: start one with `mcops lab up` "
            "(or give the sources with -p NAME=VALUE and drop --lab)"
        )
    filled = {name: value for name, value in lab.items() if value and not parameters.get(name)}
    if filled:
        shown = ", ".join(f"{name}={value}" for name, value in filled.items())
        print(f"parameters from the running lab: {shown}")
    return {**parameters, **filled}


def report_lines(summary: Mapping[str, Any], *, error: str) -> list[str]:
    """The verdict and findings of a run — or, for an errored run, its error once and
    the findings that did run, with no verdict."""
    from mcops.display import findings_table_text, severity_lines

    if error:
        lines = [f"error: {error}"]
        ran = [f for f in summary.get("findings", []) if f.get("checked", True)]
        if ran:
            lines += ["checked before the error:", findings_table_text(ran)]
        return lines
    lines = []
    severity = summary.get("severity")
    if severity:
        first, *rest = severity_lines({**severity, "next_scenarios": []})
        lines.append(f"severity {first}")
        lines += [f"  {line}" for line in rest]
    if summary.get("findings"):
        lines.append(findings_table_text(summary["findings"]))
    return lines


def run(args: argparse.Namespace) -> int:
    from mcops.bundle_figures import want_png
    from mcops.params import parse_assignments

    want_png(args.png)
    parameters = parse_assignments(args.parameter, args.raw)
    for line in secret_warnings(parameters):
        print(line, file=sys.stderr)
    given = dict(parameters)
    if args.lab:
        parameters = with_lab_parameters(parameters)
    scenarios = list(dict.fromkeys(args.scenario))  # once each, in the order given
    if len(scenarios) == 1:
        result = _run_one(args, scenarios[0], parameters, out_dir=args.out)
        return _print_result(args, result, parameters, given)
    _check_all(scenarios, parameters, notebooks_dir=args.notebooks)
    from mcops.runner import kernel_pool

    exit_codes = []
    with kernel_pool(1) as kernels:
        for scenario in scenarios:
            out = args.out / scenario if args.out is not None else None
            result = _run_one(args, scenario, parameters, out_dir=out, kernels=kernels)
            exit_codes.append(_print_result(args, result, parameters, given))
    return max(exit_codes)


def _check_all(
    scenarios: list[str], parameters: Mapping[str, Any], *, notebooks_dir: Path | None
) -> None:
    """Every parameter against every scenario, before the first kernel starts."""
    from mcops.params import check_parameters, describe_notebook
    from mcops.runner import default_notebooks_dir, find_notebook

    notebooks = notebooks_dir or default_notebooks_dir()
    for scenario in scenarios:
        notebook = find_notebook(scenario, notebooks)
        check_parameters(parameters, describe_notebook(notebook), scenario=scenario)


def _run_one(
    args: argparse.Namespace,
    scenario: str,
    parameters: Mapping[str, Any],
    *,
    out_dir: Path | None,
    kernels: Any = None,
) -> Any:
    from mcops.runner import run_scenario

    return run_scenario(
        scenario,
        parameters,
        out_dir=out_dir,
        notebooks_dir=args.notebooks,
        fail_on=args.fail_on,
        progress=not args.no_progress,
        kernels=kernels,
        **({"cell_timeout": args.cell_timeout} if args.cell_timeout else {}),
    )


def _print_result(
    args: argparse.Namespace, result: Any, parameters: Mapping[str, Any], given: Mapping[str, Any]
) -> int:
    """What one run says: verdict or error, evidence, hints and the next commands."""
    from mcops.next_steps import next_commands
    from mcops.params import SOURCE_PARAMETERS

    summary = result.summary
    print(f"{result.scenario}: {result.status} in {result.seconds:.1f} s")
    for line in report_lines(summary, error=result.error):
        print(line)
    print(f"evidence: {result.out_dir}")
    if result.error and not args.lab and not any(parameters.get(n) for n in SOURCE_PARAMETERS):
        from mcops.lab import running_lab_parameters

        if running_lab_parameters() is not None:
            print(f"hint: a lab is running; `mcops run --lab {result.scenario}` investigates it")
    if result.exit_code == 1:
        print(f"a finding reached {args.fail_on} (--fail-on): exit 1")
    scenarios = [] if result.error else (summary.get("severity") or {}).get("next_scenarios")
    if scenarios:
        print("next:")
        # with --lab, the next commands take the lab's too (a new shell lacks its token)
        program = "mcops run --lab" if args.lab else "mcops run"
        for command in next_commands(scenarios, given if args.lab else parameters):
            print(f"  {program}{command.removeprefix('mcops run')}")
    return int(result.exit_code)
