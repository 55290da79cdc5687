"""The evidence HTML opens offline in a real browser, with its plots drawn.

Headless Debian Chromium through Selenium, with background networking off: if the
page needed a CDN (plotly.js, require.js), the plot would not draw.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromium-driver are missing: make test installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="mcops-chromium-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


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
    browser.get((out / "ok_check.html").as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
    )
    bars = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .bars .point")
    assert len(bars) >= 1  # the data drew, not just an empty frame
    modebar = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .modebar")
    assert modebar  # interactive: plotly's toolbar is there
    assert "mcops summary" in browser.page_source
