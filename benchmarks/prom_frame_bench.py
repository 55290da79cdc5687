"""Prometheus range result → DataFrame: ours (vectorised) vs MetricRangeDataFrame.

Builds a synthetic /api/v1/query_range response in memory (default 2000 series x 720
points, 3 labels each, values as strings incl. NaN/+Inf like Prometheus sends), then
measures (wall time, best of --repeat; peak traced memory via tracemalloc, one
separate run):
  * frame build from the same parsed ``result`` list, ours vs MetricRangeDataFrame —
    the step the two differ in; the target applies here: ours >= 8x faster and <= 1/4
    the peak memory;
  * end to end, JSON bytes -> frame (json.loads included; ours pauses the GC during
    the parse, as FIELD-NOTES recommends), to show what a notebook actually waits for.

    .venv/bin/python benchmarks/prom_frame_bench.py [--series 2000] [--points 720]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
import warnings

from mcops.sources.promframe import frame_from_result, gc_paused


def response_bytes(series: int, points: int) -> bytes:
    rng = random.Random(3)
    start = 1_763_888_400
    result = []
    for i in range(series):
        values = []
        for j in range(points):
            r = rng.random()
            value = "NaN" if r < 0.001 else "+Inf" if r < 0.002 else f"{rng.uniform(0, 500):.6g}"
            values.append([start + 15 * j, value])
        result.append(
            {
                "metric": {
                    "__name__": "actor_message_duration_bucket",
                    "instance": f"mc-{i % 20}:8080",
                    "message_type": ["add_members", "send_message", "get_epoch"][i % 3],
                    "le": str(2 ** (i % 12)),
                },
                "values": values,
            }
        )
    payload = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(payload).encode()


def parse(raw: bytes, *, pause_gc: bool):
    if not pause_gc:
        return json.loads(raw)["data"]
    with gc_paused():
        return json.loads(raw)["data"]


def build_ours(data):
    return frame_from_result(data["resultType"], data["result"])


def build_baseline(data):
    from prometheus_api_client import MetricRangeDataFrame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MetricRangeDataFrame(data["result"])


def measure(fn, arg, repeat: int) -> tuple[float, float, int]:
    times = []
    rows = 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        frame = fn(arg)
        times.append(time.perf_counter() - start)
        rows = len(frame)
        del frame
    gc.collect()
    tracemalloc.start()
    frame = fn(arg)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del frame
    return min(times), peak / 1e6, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--points", type=int, default=720)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    raw = response_bytes(args.series, args.points)
    print(f"{args.series} series x {args.points} points, response {len(raw) / 1e6:.0f} MB")
    data = parse(raw, pause_gc=True)
    rows = {
        "build: ours (frame_from_result)": measure(build_ours, data, args.repeat),
        "build: MetricRangeDataFrame": measure(build_baseline, data, max(1, args.repeat - 1)),
        "end to end: ours (gc paused)": measure(
            lambda r: build_ours(parse(r, pause_gc=True)), raw, args.repeat
        ),
        "end to end: MetricRangeDataFrame": measure(
            lambda r: build_baseline(parse(r, pause_gc=False)), raw, 1
        ),
    }
    print(f"{'method':<36} {'seconds':>8} {'peak MB':>9} {'rows':>10}")
    for name, (seconds, peak, n) in rows.items():
        print(f"{name:<36} {seconds:>8.2f} {peak:>9.0f} {n:>10,}")
    (t_ours, m_ours, _), (t_base, m_base, _), (e_ours, _, _), (e_base, _, _) = rows.values()
    speed, memory = t_base / t_ours, m_ours / m_base
    verdict = "PASS" if speed >= 8 and memory <= 0.25 else "BELOW TARGET"
    print(
        f"build: speed-up {speed:.1f}x (target >= 8x), peak memory {memory:.2f} of "
        f"baseline (target <= 0.25): {verdict}"
    )
    print(f"end to end: speed-up {e_base / e_ours:.1f}x")


if __name__ == "__main__":
    main()
