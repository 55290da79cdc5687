"""How fast do server-format JSON log lines become a DataFrame?

Generates N lines like the server writes them (default 1M, ~160 MB) into a temp
file, then times: mcops.sources.logs.read_logs (ours), pandas.read_json(lines=True),
a json.loads loop, pyarrow.json.read_json raw, and polars if it happens to be
installed. Prints lines/s. Target: ours >= 1M lines/s.

    .venv/bin/python benchmarks/logs_bench.py [--lines 1000000] [--skip-slow]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.json as pj

from mcops.sources.logs import read_logs

MESSAGES = [
    ("INFO", "actors::registry", "Spawning new actor for conversation {c}"),
    ("INFO", "actors::conversation", "ConversationActor {c} starting at epoch 4"),
    ("INFO", "actors::conversation", "Members added, new epoch: 5 for conversation {c}"),
    ("DEBUG", "http", "Using actor system for add_members"),
    (
        "ERROR",
        "actors::supervisor",
        "Actor crashed: database transaction failed for conversation {c}",
    ),
    ("ERROR", "meeting", "Actor panicked: index out of range for meeting {m}"),
]


def generate(path: Path, lines: int) -> int:
    rng = random.Random(7)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            level, target, msg = MESSAGES[rng.randrange(len(MESSAGES))]
            convo = f"convo-{rng.randrange(5000):05d}"
            meeting = f"meeting-{rng.randrange(500):04d}"
            record = {
                "ts": (start + timedelta(microseconds=i * 3000)).isoformat().replace("+00:00", "Z"),
                "level": level,
                "target": target,
                "msg": msg.format(c=convo, m=meeting),
                "convo_id": convo if "{c}" in msg else None,
                "meeting_id": meeting if "{m}" in msg else None,
                "actor_type": "meeting" if "{m}" in msg else None,
            }
            out.write(json.dumps({k: v for k, v in record.items() if v is not None}) + "\n")
    return path.stat().st_size


def timed(fn):
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def json_loop(path: Path) -> int:
    gc.disable()
    try:
        with path.open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        return len(pd.DataFrame.from_records(rows))
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is reported)")
    parser.add_argument("--skip-slow", action="store_true", help="skip the pandas/json baselines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "server.log"
        size = generate(path, args.lines)
        print(f"{args.lines:,} lines, {size / 1e6:.0f} MB, {os.cpu_count()} CPUs")
        results: list[tuple[str, float, int]] = []
        best = min(
            (timed(lambda: read_logs(f"file:{path}")) for _ in range(args.repeat)),
            key=lambda r: r[0],
        )
        results.append(("mcops read_logs (ours)", best[0], len(best[1])))
        t, table = timed(lambda: pj.read_json(io.BytesIO(path.read_bytes())))
        results.append(("pyarrow.json.read_json (raw table)", t, table.num_rows))
        try:
            import polars as pl  # optional, not a dependency
        except ImportError:
            pl = None
        if pl is not None:
            t, df = timed(lambda: pl.read_ndjson(path))
            results.append(("polars.read_ndjson", t, df.height))
        if not args.skip_slow:
            t, df = timed(lambda: pd.read_json(path, lines=True))
            results.append(("pandas.read_json(lines=True)", t, len(df)))
            t, n = timed(lambda: json_loop(path))
            results.append(("json.loads loop (gc off) + DataFrame", t, n))
        print(f"{'method':<40} {'seconds':>8} {'lines/s':>12} {'rows':>10}")
        for name, seconds, rows in results:
            print(f"{name:<40} {seconds:>8.2f} {rows / seconds:>12,.0f} {rows:>10,}")
        ours = results[0]
        verdict = "PASS" if ours[2] / ours[1] >= 1_000_000 else "BELOW TARGET"
        print(f"target >= 1,000,000 lines/s for ours: {verdict}")


if __name__ == "__main__":
    main()
