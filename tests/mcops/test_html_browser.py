"""The evidence HTML opens offline in a real browser: the verdict on the first screen,
its plots drawn.

Headless Debian Chromium through Selenium with the network blocked (every host name
resolves to nothing, every request goes to a dead proxy): if the page needed a CDN
(plotly.js, require.js, MathJax, fonts), the plot would not draw.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import offline_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def browser():
    with offline_chromium() as driver:
        yield driver


def test_executed_notebook_html_draws_its_plot_offline(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "ev"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcops.cli",
            "run",
            "ok_check",
            "--notebooks",
            str(HERE / "notebooks"),
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "plotly.js v" not in (out / "ok_check.ipynb").read_text()  # the figure's JSON only
    browser.get((out / "ok_check.html").as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
    )
    # the verdict is on the first screen
    verdict = browser.find_element(By.ID, "verdict")
    window_height = browser.execute_script("return window.innerHeight")
    assert verdict.rect["y"] < window_height and verdict.rect["height"] > 0
    assert verdict.is_displayed()
    assert "SEV3 (SEV): duplicate epochs in 2 conversations" in verdict.text
    assert "mcops run db_consistency" in verdict.text  # the next command
    assert "prometheus" in verdict.text and "not given" in verdict.text  # a source's state
    # the plot drew, with its data and plotly's toolbar (interactive)
    plot = browser.find_element(By.CSS_SELECTOR, ".plot-container .main-svg")
    assert plot.size["width"] > 0 and plot.size["height"] > 0
    bars = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .bars .point")
    assert len(bars) >= 1  # the data drew, not just an empty frame
    modebar = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .modebar")
    assert modebar  # interactive: plotly's toolbar is there
    # nothing to fetch from a network: every script, style sheet and image is a local file
    loaded = browser.execute_script(
        "return Array.from(document.querySelectorAll('script[src], link[href], img[src]'))"
        ".map(function (e) { return e.src || e.href; })"
    )
    assert loaded and all(url.startswith("file:") for url in loaded), loaded
    assert any(url.endswith("/plotly.min.js") for url in loaded)
    # code is folded until asked for, all of it with one click
    code = browser.find_elements(By.CSS_SELECTOR, "details.mcops-code")
    assert code and not any(d.get_attribute("open") for d in code)
    browser.find_element(By.CSS_SELECTOR, "button.mcops-toggle").click()
    assert all(d.get_attribute("open") for d in code)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Severity(" not in text and "of 2 rows" in text
