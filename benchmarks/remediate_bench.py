"""Guarded remediations on a realistic table: plan, apply, undo times on SQLite and PostgreSQL.

    python -m benchmarks.remediate_bench [--conversations N] [--dups N] [--repeat N]

Seeds `--conversations` conversations with 10 commits and 10 app messages each, then
`--dups` duplicate commits spread over them and every conversation's epoch off by one.
Times DeleteDuplicateCommits (all conversations, max_rows = dups) and ResetEpoch
(all=True), each plan → apply → undo, median of `--repeat` rounds. PostgreSQL runs on
the local cluster (a fresh database, dropped afterwards). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mcops.remediate import AuditLog, DeleteDuplicateCommits, ResetEpoch, SqlRowAction
from server.store import schema
from tests.support.postgres import fresh_database

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def seed(engine: sa.Engine, conversations: int, dups: int) -> None:
    schema.metadata.create_all(engine)
    convos = [
        {
            "id": f"c{i}",
            "creator_did": "did:plc:a",
            "current_epoch": 9,
            "created_at": T0,
            "updated_at": T0,
        }
        for i in range(conversations)
    ]
    msgs: list[dict[str, Any]] = []
    for i in range(conversations):
        for e in range(1, 11):
            msgs.append(
                {
                    "convo_id": f"c{i}",
                    "sender_did": "did:plc:a",
                    "message_type": "commit",
                    "epoch": e,
                    "seq": None,
                    "ciphertext": None,
                    "server_id": "s",
                    "created_at": T0 + dt.timedelta(seconds=e),
                }
            )
            msgs.append(
                {
                    "convo_id": f"c{i}",
                    "sender_did": "did:plc:a",
                    "message_type": "app",
                    "epoch": e,
                    "seq": e,
                    "ciphertext": "x",
                    "server_id": "s",
                    "created_at": T0 + dt.timedelta(seconds=e),
                }
            )
    for d in range(dups):
        msgs.append(
            {
                "convo_id": f"c{d % conversations}",
                "sender_did": "did:plc:b",
                "message_type": "commit",
                "epoch": 1 + d // conversations % 10,
                "seq": None,
                "ciphertext": None,
                "server_id": "legacy",
                "created_at": T0 + dt.timedelta(minutes=5, seconds=d),
            }
        )
    with engine.begin() as conn:
        conn.execute(schema.conversations.insert(), convos)
        conn.execute(schema.messages.insert(), msgs)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(action: SqlRowAction) -> tuple[float, float, float, int]:
    t_plan, plan = timed(action.plan)
    t_apply, result = timed(lambda: action.apply(plan))
    t_undo, _ = timed(lambda: action.undo(result))
    return t_plan, t_apply, t_undo, result.changed


def run(url: str, label: str, args: argparse.Namespace, tmp: Path) -> list[str]:
    engine = sa.create_engine(url)
    seed(engine, args.conversations, args.dups)
    audit = AuditLog(tmp / "audit.jsonl")
    rows = []
    makers: dict[str, Callable[[], SqlRowAction]] = {
        "DeleteDuplicateCommits": lambda: DeleteDuplicateCommits(
            url, max_rows=args.dups, audit=audit, backup_dir=str(tmp)
        ),
        "ResetEpoch(all)": lambda: ResetEpoch(
            url, all=True, max_rows=args.conversations, audit=audit, backup_dir=str(tmp)
        ),
    }
    for name, make in makers.items():
        rounds = [measure(make()) for _ in range(args.repeat)]
        med = [statistics.median(r[i] for r in rounds) * 1000 for i in range(3)]
        rows.append(
            f"| {label} | {name} | {rounds[0][3]} | {med[0]:.0f} | {med[1]:.0f} | {med[2]:.0f} |"
        )
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--dups", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{args.conversations} conversations, {args.conversations * 20 + args.dups} "
        f"messages, {args.dups} duplicate commits; median of {args.repeat}\n"
    )
    print("| database | action | rows changed | plan ms | apply ms | undo ms |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for row in run(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args, Path(tmp)):
            print(row)
        with fresh_database() as url:
            for row in run(url, "PostgreSQL", args, Path(tmp)):
                print(row)


if __name__ == "__main__":
    main()
