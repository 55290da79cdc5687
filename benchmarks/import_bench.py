"""What a scenario notebook pays to import mcops, against pandas + plotly alone.

Each figure is the median wall time of a fresh interpreter importing the list (so no
module is cached), minus the bare interpreter's start. Issue 15's goal: what a scenario
imports costs at most 1.2x importing pandas and plotly.

    .venv/bin/python -m benchmarks.import_bench [REPEATS]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

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
    "bare interpreter": "pass",
    "pandas + plotly": BASELINE,
    "a scenario's imports": SCENARIO,
    "the Kubernetes client": "import kubernetes",
}


def seconds(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repeats", nargs="?", type=int, default=5)
    args = parser.parse_args(argv)
    measured = {name: seconds(code, args.repeats) for name, code in CASES.items()}
    bare = measured.pop("bare interpreter")
    base = measured["pandas + plotly"] - bare
    print("| imports | seconds | × pandas + plotly |\n|---|---:|---:|")
    for name, total in measured.items():
        print(f"| {name} | {total - bare:.2f} | {(total - bare) / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
