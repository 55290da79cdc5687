"""What a scenario notebook pays to import mcops, against pandas + plotly alone.

Each figure is the median time a fresh interpreter (so no module is cached in memory)
spends importing the list, measured inside it: the interpreter's own start and exit are
the same for every case, and on a shared machine they only add noise. The ratio is the
median of each round's ratio, the cases of a round run one after the other. Issue 15's goal:
what a scenario imports costs at most 1.2x importing pandas and plotly.

Like with like: pip compiles an installed package's bytecode, so pandas and plotly never
compile at import, while an editable mcops under ``PYTHONDONTWRITEBYTECODE`` (set on this
machine kind) would compile its sources on every start (about 80 ms). Each case is
therefore run once with bytecode writing allowed before it is timed, as a user's second
run (or an installed wheel) finds it. The cases take turns, so a slow moment of a shared
machine falls on all of them.

    .venv/bin/python -m benchmarks.import_bench [REPEATS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

#: The imports of the heaviest single-host scenario notebooks, as their first cells do.
SCENARIO = (
    "from mcops.investigation import Investigation\n"
    "from mcops import plots\n"
    "from mcops.checks import backlog, health, latency, leaks, nodes, resources\n"
    "from mcops.checks import database, epochs, replication\n"
    "from mcops.scenarios import resource_pressure, epoch_conflicts\n"
    "from mcops.remediate import RecreateConversation, ResetEpoch, StopStaleActors\n"
)
BASELINE = "import pandas\nimport plotly.graph_objects\n"
CASES = {
    "pandas + plotly": BASELINE,
    "a scenario's imports": SCENARIO,
    "the Kubernetes client": "import kubernetes",
}


def compile_bytecode(code: str) -> None:
    """Import ``code`` once with bytecode writing on: what it imports is compiled."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def seconds(code: str) -> float:
    """Seconds a fresh interpreter spends running ``code``, as it measures them."""
    timed = f"import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"
    done = subprocess.run([sys.executable, "-c", timed], check=True, capture_output=True)
    return float(done.stdout.decode().split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repeats", nargs="?", type=int, default=9)
    args = parser.parse_args(argv)
    for code in CASES.values():
        compile_bytecode(code)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):
        for name, code in CASES.items():
            times[name].append(seconds(code))
    base = times["pandas + plotly"]
    print("| imports | seconds | × pandas + plotly |\n|---|---:|---:|")
    for name, runs in times.items():
        paired = statistics.median(a / b for a, b in zip(runs, base, strict=True))
        print(f"| {name} | {statistics.median(runs):.3f} | {paired:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
