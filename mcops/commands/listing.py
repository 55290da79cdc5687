"""``mcops list [SCENARIO]``: scenarios, what they are for, and their parameters."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["describe", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list scenarios and their parameters",
        description="List scenario notebooks with their description and parameters "
        "(type and default). With SCENARIO, show every parameter of that one. The first "
        "line says where the notebooks come from: --notebooks DIR, else $MCOPS_NOTEBOOKS, "
        "else the installed package.",
    )
    parser.add_argument("scenario", nargs="?", default=None, help="show only this scenario")
    parser.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks dir"
    )
    parser.set_defaults(handler=run)


def describe(notebook: Path) -> str:
    """The first line of the notebook's first markdown cell, without ``#``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.strip():
                    return line.strip().lstrip("#").strip()
    return ""


def run(args: argparse.Namespace) -> int:
    from mcops.params import COMMON_PARAMETERS, describe_notebook, missing_common
    from mcops.runner import find_notebook, list_scenarios, notebooks_dir_and_origin

    notebooks, origin = notebooks_dir_and_origin(args.notebooks)
    names = [args.scenario] if args.scenario else list_scenarios(notebooks)
    if not names:
        print(f"no scenario notebooks in {notebooks} (from {origin})")
        return 0
    print(f"scenario notebooks: {notebooks} (from {origin})\n")
    common = {p.name for p in COMMON_PARAMETERS}
    for name in names:
        path = find_notebook(name, notebooks)
        declared = describe_notebook(path)
        print(f"{name} — {describe(path)}")
        shown = (
            declared.values()
            if args.scenario
            else [p for p in declared.values() if p.name not in common]
        )
        for p in shown:
            comment = f"  # {p.help}" if p.help else ""
            print(f"    {p.name}: {p.type_name} = {p.default}{comment}")
        missing = missing_common(declared)
        if missing:
            print(f"    (missing common parameters: {', '.join(missing)})")
        elif not args.scenario:
            print(f"    (+ the {len(common)} common parameters)")
    if not args.scenario:
        print("\ncommon parameters (every scenario):")
        for p in COMMON_PARAMETERS:
            print(f"    {p.name}: {p.type_name} = {p.default}  # {p.help}")
    return 0
