"""The ``mcops`` command line: ``mcops run``, ``mcops list`` and the subcommands others add.

Each subcommand is a module in `mcops.commands` with ``register(subparsers)``; to add
one, write the module and add its name to `COMMANDS`. Errors mcops raises on purpose
print as one paragraph (no traceback) and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mcops.errors import McopsError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand modules, in the order `mcops --help` lists them.
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except McopsError as exc:
        print(f"mcops {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(
            f"mcops {args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"mcops {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
