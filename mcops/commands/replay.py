"""``mcops replay DIR [--out DIR2]``: re-judge a bundle's recorded data, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-execute an evidence directory's notebook offline on its recorded data",
        description="Re-execute DIR's scenario notebook with no source reachable: each check "
        "judges the frame kept in DIR/data. The replay's evidence goes to DIR2 (default "
        "DIR-replay). Exit 0 when its findings (check, level, title, count) are the "
        "recorded ones, 1 naming each that differs (or when DIR does not match its "
        "manifest.json), 2 when DIR is no evidence directory.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="evidence directory")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR2", help="replay's dir")
    parser.add_argument(
        "--ignore-manifest",
        action="store_true",
        help="replay even when DIR's files do not match its manifest.json",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=None, metavar="DIR", help="scenario notebooks dir"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mcops.replay import replay

    result = replay(
        args.directory,
        out_dir=args.out,
        notebooks_dir=args.notebooks,
        ignore_manifest=args.ignore_manifest,
    )
    for line in result.lines():
        print(line)
    return result.exit_code
