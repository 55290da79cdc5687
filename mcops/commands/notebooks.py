"""``mcops notebooks export DIR [--force] [--no-kernel]``: the scenario notebooks, into a
workspace to open in JupyterLab (`mcops.notebook_export`)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notebooks",
        help="copy the scenario notebooks into a workspace for JupyterLab",
        description="Work with the scenario notebooks this mcops carries.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    exporter = actions.add_parser(
        "export",
        help="copy the notebooks (and their README) into DIR and register their kernel",
        description="Copy the scenario notebooks and their README into DIR (created if "
        "missing) and register the Jupyter kernel they name for this Python, so `jupyter lab "
        "DIR` opens them with a kernel that imports this mcops. A copy edited since the last "
        "export is never overwritten without --force (exit 2 naming it).",
    )
    exporter.add_argument("directory", type=Path, metavar="DIR", help="workspace directory")
    exporter.add_argument(
        "--force", action="store_true", help="overwrite copies edited since the last export"
    )
    exporter.add_argument(
        "--no-kernel", action="store_true", help="do not register the notebooks' kernel"
    )
    exporter.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks dir"
    )
    exporter.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from mcops.notebook_export import export, notebook_kernel, register_kernel
    from mcops.runner import notebooks_dir_and_origin

    source, origin = notebooks_dir_and_origin(args.notebooks)
    done = export(source, args.directory, force=args.force)
    count = len(
        [n for n in (*done.written, *done.unchanged, *done.overwritten) if n.endswith(".ipynb")]
    )
    print(f"exported {count} notebooks from {source} ({origin}) to {args.directory}")
    if done.overwritten:
        print(f"replaced edited copies (--force): {', '.join(done.overwritten)}")
    if args.no_kernel:
        print("kernel: not registered (--no-kernel)")
    else:
        first = next(args.directory.glob("*.ipynb"))
        spec = register_kernel(*notebook_kernel(first))
        print(f"kernel {spec.name!r} ({spec.display_name}) registered ({spec.where}): {spec.path}")
    print(f"open them: jupyter lab {args.directory}")
    return 0
