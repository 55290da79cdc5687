"""Per-notebook cost of `mcops run`: papermill API vs our runner (redaction + HTML).

    .venv/bin/python -m benchmarks.run_bench [REPEATS]

Prints a table of medians. Floor on this machine kind (FIELD-NOTES): a 10-cell
pandas+plotly notebook through papermill's API takes ~1.9 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from mcops.params import COMMON_PARAMETERS
from mcops.runner import ScenarioRun, run_many, run_scenario

CELLS = [
    "from mcops.notebook import parameters_in, setup\n"
    'ctx = setup("bench", **parameters_in(globals()))',
    "import pandas as pd\nimport plotly.express as px\nfrom mcops.findings import Finding",
    'df = pd.DataFrame({"x": range(100), "y": [i * i for i in range(100)]})',
    "df.describe()",
    'px.line(df, x="x", y="y")',
    'px.bar(df.head(10), x="x", y="y")',
    'ctx.source("database", "ok")',
    'ctx.add(Finding.make("health", "ok", "fine", rows=df.head(3)))',
    'ctx.add(Finding.make("p95_latency", "warning", "slow", rows=df.tail(3)))',
    "ctx.finish()",
]


def make_notebook(directory: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell(
        "\n".join(f"{p.name} = {p.default}" for p in COMMON_PARAMETERS)
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in CELLS)]
    path = directory / "bench.ipynb"
    nbformat.write(nb, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=3)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notebook = make_notebook(root)
        rows: dict[str, list[float]] = {"papermill API only": [], "mcops run_scenario": []}
        # warm-up: first kernel start and imports in this process
        run_scenario("bench", {}, out_dir=root / "warm", notebooks_dir=root, progress=False)
        for i in range(repeats):
            start = time.perf_counter()
            papermill.execute_notebook(
                str(notebook), str(root / f"pm{i}.ipynb"), kernel_name="python3",
                progress_bar=False,
            )  # fmt: skip
            rows["papermill API only"].append(time.perf_counter() - start)
            result = run_scenario(
                "bench", {}, out_dir=root / f"ev{i}", notebooks_dir=root, progress=False
            )
            rows["mcops run_scenario"].append(result.seconds)
        start = time.perf_counter()
        run_many(
            [ScenarioRun("bench", {}, root / f"many{i}") for i in range(repeats)],
            notebooks_dir=root,
            progress=False,
        )
        rows["mcops run_many (per notebook)"] = [(time.perf_counter() - start) / repeats]
        html = (root / "ev0" / "bench.html").stat().st_size / 1e6
    print(f"{'what':<32} {'median s':>9} {'min s':>7} {'n':>3}")
    for name, values in rows.items():
        print(f"{name:<32} {statistics.median(values):>9.2f} {min(values):>7.2f} {len(values):>3}")
    print(f"HTML size per notebook: {html:.1f} MB (plotly.js embedded once)")


if __name__ == "__main__":
    main()
