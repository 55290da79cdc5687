"""``mcops postmortem DIR... [--out FILE] [--template 004|000]``: draft the postmortem."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "postmortem",
        help="draft the postmortem (Markdown and HTML) from evidence directories",
        description="Fill the runbooks' postmortem template from the evidence directories "
        "`mcops run` wrote: severity, duration, timeline, impact figures, root-cause "
        "candidates, action items and the evidence files' SHA-256. With --out FILE, write "
        "FILE (Markdown) and FILE's .html; without it, print the Markdown.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="evidence directory")
    parser.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="Markdown file to write (+ .html)"
    )
    parser.add_argument(
        "--template",
        choices=("004", "000"),
        default=None,
        help="004: Meeting Controller (P1-P4); 000: Actor System (SEV1-SEV4); "
        "default: the scheme most runs used",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mcops.postmortem import build, write
    from mcops.storage import storage_errors

    draft = build(args.dirs, template=args.template)
    if args.out is None:
        print(draft.markdown, end="")
        return 0
    with storage_errors(args.out, elsewhere="pass another --out FILE"):  # a full disk: one line
        markdown, page = write(draft, args.out)
    print(f"postmortem ({draft.template}, {draft.status}): {markdown} and {page}")
    return 0
