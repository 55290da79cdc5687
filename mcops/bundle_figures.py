"""Figures of an evidence directory as PNG, drawn by a headless Chromium (optional).

A postmortem document or a ticket takes an image, not a plotly div. Each figure the
executed notebook keeps (its plotly JSON) is drawn offline by plotly.js in headless
Chromium and saved as ``figures/figure-NN.png``. Nothing here is ever fatal: without
Chromium, or when a figure does not draw in time, the directory simply has fewer PNGs.

Made when ``MCOPS_FIGURES=png``: `mcops report` sets it (a report is an attachment),
`mcops run --png` asks for it. Not by default for one run: each figure costs a browser
start (about a second), and a run during an incident should not wait for images.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["FIGURES_DIR", "FIGURES_ENV", "want_png", "write_figures"]

FIGURES_ENV = "MCOPS_FIGURES"
FIGURES_DIR = "figures"
_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_SIZE = (1000, 560)
_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="{plotly}"></script></head><body style="margin:0;background:white">
<div id="figure" style="width:{w}px;height:{h}px"></div>
<script>var f = {figure}; f.layout = Object.assign({{}}, f.layout || {{}},
{{width: {w}, height: {h}}}); Plotly.newPlot("figure", f.data || [], f.layout,
{{staticPlot: true}});</script></body></html>"""


def want_png(on: bool) -> None:
    """Ask the runs of this process (and the workers it starts) for PNGs, or not; an
    explicit ``MCOPS_FIGURES`` in the environment is left as it is."""
    if on:
        os.environ.setdefault(FIGURES_ENV, "png")


def _figures(out: Path) -> list[dict[str, Any]]:
    found = []
    for notebook in sorted(out.glob("*.ipynb")):
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []):
                figure = (output.get("data") or {}).get(_PLOTLY_MIME)
                if isinstance(figure, dict):
                    found.append(figure)
    return found


def write_figures(
    out: Path, *, chromium: str | None = None, environ: dict[str, str] | None = None
) -> list[str]:
    """``figures/figure-NN.png`` for each figure of the notebooks in ``out`` when
    ``MCOPS_FIGURES=png`` and Chromium is found; the names written (maybe none)."""
    env = os.environ if environ is None else environ
    if env.get(FIGURES_ENV, "").lower() != "png":
        return []
    browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    figures = _figures(Path(out)) if browser else []
    if not figures:
        return []
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    written: list[str] = []
    (Path(out) / FIGURES_DIR).mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcops-figures-") as scratch:
        for n, figure in enumerate(figures, start=1):
            page = Path(scratch) / f"figure-{n}.html"
            page.write_text(
                _PAGE.format(
                    plotly=plotly_js.as_uri(), figure=json.dumps(figure), w=_SIZE[0], h=_SIZE[1]
                ),
                encoding="utf-8",
            )
            name = f"{FIGURES_DIR}/figure-{n:02d}.png"
            if _screenshot(browser, page, Path(out) / name, Path(scratch) / "profile"):
                written.append(name)
    return written


def _screenshot(browser: str, page: Path, png: Path, profile: Path) -> bool:
    command = [
        browser,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={_SIZE[0]},{_SIZE[1]}",
        "--virtual-time-budget=5000",
        f"--screenshot={png}",
        page.as_uri(),
    ]
    try:
        subprocess.run(command, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return png.is_file() and png.stat().st_size > 0
