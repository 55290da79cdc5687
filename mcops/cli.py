"""The ``mcops`` command line: ``mcops run``, ``mcops list`` and the subcommands others add.

Each subcommand is a module in `mcops.commands` with ``register(subparsers)``; to add
one, write the module (`COMMANDS` orders the first ones in `mcops --help`; the rest follow
by name). Errors mcops raises on purpose print as one paragraph (no traceback) and exit 2;
so does an OSError, and a full disk, quota or read-only filesystem also names the fix.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mcops.errors import McopsError

__all__ = ["COMMANDS", "build_parser", "main", "version_line"]

#: The first subcommand modules, in the order `mcops --help` lists them.
COMMANDS: tuple[str, ...] = (
    "mcops.commands.run",
    "mcops.commands.listing",
    "mcops.commands.lab",
    "mcops.commands.alerts",
    "mcops.remediate.cli",
)

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand in `COMMANDS` registered."""
    parser = argparse.ArgumentParser(
        prog="mcops",
        description="Investigate actor-based services with scenario notebooks.",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show the version, Python and location"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (*COMMANDS, *_more_commands()):
        importlib.import_module(module).register(subparsers)
    return parser


class _Version(argparse.Action):
    """``--version`` printed as one unwrapped line (argparse's own wraps a long path),
    computed only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_line())
        parser.exit(0)


def version_line() -> str:
    """``mcops X.Y.Z (Python A.B.C, PATH)``: which mcops answers, for a bug report."""
    import platform
    from pathlib import Path

    import mcops

    try:
        from importlib.metadata import version

        number = version("mcops")
    except ImportError:  # PackageNotFoundError: run from a tree nobody installed
        number = mcops.__version__
    where = Path(mcops.__file__).resolve().parent
    return f"mcops {number} (Python {platform.python_version()}, {where})"


def _more_commands() -> list[str]:
    """The modules of `mcops.commands` that `COMMANDS` does not name, by name."""
    import pkgutil

    from mcops import commands

    found = (f"{commands.__name__}.{m.name}" for m in pkgutil.iter_modules(commands.__path__))
    return sorted(name for name in found if name not in COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    from mcops import slow_imports

    slow_imports.skip()  # before any command imports nbformat
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except McopsError as exc:
        print(f"mcops {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"mcops {args.command}: {_os_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"mcops {args.command}: interrupted", file=sys.stderr)
        return 130


def _os_error(exc: OSError) -> str:
    """One line for an OSError no command turned into an McopsError."""
    from mcops.storage import DISK_ERRNOS, describe

    if exc.errno in DISK_ERRNOS:
        return describe(exc, exc.filename, elsewhere="write to another disk")
    return f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")


if __name__ == "__main__":
    sys.exit(main())
