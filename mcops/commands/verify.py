"""``mcops verify DIR``: does an evidence directory still hold what was written?"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]

EXIT_OK = 0
EXIT_DRIFT = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check an evidence directory against its manifest.json",
        description="Compare every file of DIR with the SHA-256 recorded in DIR/manifest.json. "
        "Exit 0 when all match, 1 naming each file that changed, is missing or is extra, "
        "2 when DIR has no manifest.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="evidence directory")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mcops.bundle_manifest import verify

    drift = verify(args.directory)  # McopsError (exit 2) without a manifest
    if drift.ok:
        print(f"{args.directory}: every file matches manifest.json")
        return EXIT_OK
    print(f"{args.directory}: does not match manifest.json")
    for line in drift.lines():
        print(f"  {line}")
    return EXIT_DRIFT
