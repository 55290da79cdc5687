"""Ask throughput and latency of server.actors beside plain asyncio queues and Pykka.

    python -m benchmarks.actor_bench [--asks N] [--actors N] [--repeat N]

Every runtime gets the same work: `--actors` echo actors, then `--asks` asks spread
over them by 1 client and by 100 concurrent clients. Each row is the median of
`--repeat` rounds (each column's own median); the rounds interleave the asyncio
runtimes. Latency is per ask, as the client sees it. "CPU µs/ask" is the process's CPU
time per ask: on a shared machine it moves far less than wall-clock figures. The
asyncio runtimes run on the default loop and on uvloop (when installed); Pykka is
thread-based (one thread per actor, clients are threads). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from server.actors import Actor, ActorKey, Registry, RuntimeConfig

CLIENTS = (1, 100)

AskFn = Callable[[int, Any], Awaitable[Any]]


class Run(NamedTuple):
    wall: float
    cpu: float
    """Process CPU seconds: unlike wall time, barely moved by other processes' load."""
    latencies: list[float]


class Result(NamedTuple):
    runtime: str
    loop: str
    clients: int
    asks_per_s: float
    cpu_us: float
    p50_us: float
    p99_us: float


def _summary(runtime: str, loop: str, clients: int, asks: int, runs: list[Run]) -> Result:
    """Median of each statistic over the runs."""

    def pct(lat: list[float], q: float) -> float:
        return sorted(lat)[min(len(lat) - 1, int(len(lat) * q))] * 1e6

    def med(values: list[float]) -> float:
        return statistics.median(values)

    return Result(
        runtime,
        loop,
        clients,
        med([asks / r.wall for r in runs]),
        med([r.cpu / asks * 1e6 for r in runs]),
        med([pct(r.latencies, 0.5) for r in runs]),
        med([pct(r.latencies, 0.99) for r in runs]),
    )


# -- the asyncio runtimes -----------------------------------------------------------


class _Echo(Actor):
    async def on_receive(self, message: Any) -> Any:
        return message


async def _setup_plain(actors: int):
    """One bounded asyncio.Queue and one consumer task per actor; a future per ask."""

    async def consume(queue: asyncio.Queue) -> None:
        while True:
            message, future = await queue.get()
            if not future.done():
                future.set_result(message)

    queues = [asyncio.Queue(maxsize=2000) for _ in range(actors)]
    tasks = [asyncio.create_task(consume(q)) for q in queues]
    loop = asyncio.get_running_loop()

    async def ask(i: int, message: Any) -> Any:
        future = loop.create_future()
        queues[i].put_nowait((message, future))
        return await future

    async def close() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return ask, close


def _setup_ours(config: RuntimeConfig):
    async def setup(actors: int):
        registry = Registry(config=config)
        refs = [
            await registry.get_or_spawn(ActorKey("bench", str(i)), _Echo) for i in range(actors)
        ]

        def ask(i: int, message: Any) -> Awaitable[Any]:
            return refs[i].ask(message)  # the ref's own coroutine, like plain's ask

        return ask, registry.shutdown

    return setup


async def _drive(ask: AskFn, *, actors: int, clients: int, asks: int) -> Run:
    per_client = asks // clients
    latencies: list[float] = []
    clock = time.perf_counter

    async def client(c: int) -> None:
        first = c * actors // clients
        record = latencies.append
        for j in range(per_client):
            t0 = clock()
            await ask((first + j) % actors, j)
            record(clock() - t0)

    start, cpu = clock(), time.process_time()
    await asyncio.gather(*(client(c) for c in range(clients)))
    return Run(clock() - start, time.process_time() - cpu, latencies)


async def _run_async_once(setup, *, actors: int, asks: int) -> dict[int, Run]:
    ask, close = await setup(actors)
    try:
        await _drive(ask, actors=actors, clients=10, asks=min(asks, 5000))  # warm-up
        return {c: await _drive(ask, actors=actors, clients=c, asks=asks) for c in CLIENTS}
    finally:
        await close()


# -- Pykka --------------------------------------------------------------------------


def _run_pykka(*, actors: int, asks: int, repeat: int) -> dict[int, list]:
    import pykka

    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            return message

    refs = [Echo.start() for _ in range(actors)]
    try:

        def drive(clients: int, n: int) -> Run:
            per_client = n // clients
            latencies: list[float] = []
            lock = threading.Lock()
            clock = time.perf_counter

            def client(c: int) -> None:
                first = c * actors // clients
                mine = []
                for j in range(per_client):
                    t0 = clock()
                    refs[(first + j) % actors].ask(j)
                    mine.append(clock() - t0)
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
            start, cpu = clock(), time.process_time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return Run(clock() - start, time.process_time() - cpu, latencies)

        drive(10, min(asks, 2000))  # warm-up
        return {clients: [drive(clients, asks) for _ in range(repeat)] for clients in CLIENTS}
    finally:
        pykka.ActorRegistry.stop_all()


# -- main ---------------------------------------------------------------------------


def _median_run(runtime: str, loop: str, asks: int, runs: dict[int, list[Run]]) -> list[Result]:
    return [
        _summary(runtime, loop, clients, (asks // clients) * clients, measured)
        for clients, measured in runs.items()
    ]


def _loops() -> list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]]:
    loops: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [
        ("asyncio", asyncio.new_event_loop)
    ]
    try:
        import uvloop
    except ImportError:
        return loops
    loops.append(("uvloop", uvloop.new_event_loop))
    return loops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asks", type=int, default=20_000, help="asks per run (default 20000)")
    parser.add_argument("--actors", type=int, default=1000, help="actors (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row, median shown")
    parser.add_argument("--no-pykka", action="store_true", help="skip the Pykka rows")
    args = parser.parse_args(argv)

    runtimes = [
        ("plain asyncio queues", _setup_plain),
        ("server.actors", _setup_ours(RuntimeConfig())),
        ("server.actors, no timeout", _setup_ours(RuntimeConfig(message_timeout=None))),
    ]
    started = time.perf_counter()
    load = os.getloadavg()[0]
    rows: list[Result] = []
    for loop_name, factory in _loops():
        # rounds interleave the runtimes, so that a change in background load during the
        # benchmark touches all of them alike
        runs: dict[str, dict[int, list]] = {name: {c: [] for c in CLIENTS} for name, _ in runtimes}
        for _ in range(args.repeat):
            for name, setup in runtimes:
                with asyncio.Runner(loop_factory=factory) as runner:
                    once = runner.run(_run_async_once(setup, actors=args.actors, asks=args.asks))
                for clients, measured in once.items():
                    runs[name][clients].append(measured)
        for name, _ in runtimes:
            rows += _median_run(name, loop_name, args.asks, runs[name])
    if not args.no_pykka:
        runs = _run_pykka(actors=args.actors, asks=args.asks, repeat=args.repeat)
        rows += _median_run("Pykka (threads)", "threads", args.asks, runs)

    print(
        f"{args.actors} echo actors, {args.asks} asks per run, median of {args.repeat} runs; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load:.2f} at start\n"
    )
    print("| runtime | loop | clients | asks/s | CPU µs/ask | p50 µs | p99 µs |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.runtime} | {r.loop} | {r.clients} | {r.asks_per_s:,.0f} | "
            f"{r.cpu_us:.1f} | {r.p50_us:,.0f} | {r.p99_us:,.0f} |"
        )
    plain = {(r.loop, r.clients): r for r in rows if r.runtime.startswith("plain")}
    print()
    for r in rows:
        if r.runtime == "server.actors":
            base = plain[(r.loop, r.clients)]
            print(
                f"- {r.loop}, {r.clients} client(s): server.actors at "
                f"{r.asks_per_s / base.asks_per_s:.2f}× plain's asks/s, "
                f"{r.cpu_us / base.cpu_us:.2f}× its CPU per ask"
            )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
