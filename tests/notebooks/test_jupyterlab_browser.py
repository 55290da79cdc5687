"""`make lab` as a user meets it: JupyterLab against a running lab, triage opened with its
default (empty) parameters, Run All, and the findings table and a plotly figure with the
runbooks' threshold bands drawn in a real browser.

Headless Debian Chromium through Selenium. The lab lives in the test's own directory
(MCOPS_LAB_DIR), JupyterLab is `mcops.lab_jupyter.jupyterlab` (what `mcops lab jupyter`
starts) in a temporary copy of notebooks/, so Run All's outputs never reach the
repository. Every host name but loopback's resolves to nothing and every other request
goes to a dead proxy: JupyterLab and the plots need no network. The screenshot is kept in
test-artifacts/jupyterlab-triage.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcops.lab import LAB_DIR_ENV, Lab
from mcops.lab_jupyter import JupyterLab, jupyterlab, lab_session
from tests.notebooks.support import ROOT
from tests.support.browser import offline_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACT = ROOT / "test-artifacts" / "jupyterlab-triage.png"
RUN_ALL_TIMEOUT = 180  # seconds from Run All to the findings table and the banded plot


def mcops_lab(*args: str, home: Path) -> subprocess.CompletedProcess:
    """`mcops lab ...` in a subprocess, on the lab in ``home``."""
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", "lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, LAB_DIR_ENV: str(home)},
    )


@pytest.fixture
def jupyter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JupyterLab]:
    """A running lab (started as a user would, `mcops lab up`, so its Prometheus is not
    this process's child) with the little load, and JupyterLab on it; all stopped after."""
    home = tmp_path / "lab-home"
    monkeypatch.setenv(LAB_DIR_ENV, str(home))
    for name in ("MCOPS_EVIDENCE_DIR", "MCOPS_REPLAY_DIR"):
        monkeypatch.delenv(name, raising=False)
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)  # no "get notified about Jupyter news?" over the screenshot
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    up = mcops_lab("up", home=home)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        lab = Lab(home)
        with (
            lab_session(lab) as session,
            jupyterlab(
                notebooks,
                lab_home=home,
                extra_args=[
                    "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: Run All
                    f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
                    f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
                ],
            ) as server,
        ):
            assert not session.started  # already running: the session leaves it up
            yield server
        assert lab.running() is not None, "a lab that was already running is left running"
    finally:
        down = mcops_lab("down", home=home)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture
def browser() -> Iterator:
    with offline_chromium(loopback=True, size="1400,1000") as driver:
        yield driver


KERNEL_IDLE = """
const app = window.jupyterapp;
const widget = app && app.shell.currentWidget;
const session = widget && widget.sessionContext && widget.sessionContext.session;
return !!(session && session.kernel && session.kernel.status === 'idle'
          && widget.content && widget.content.widgets.length > 0);
"""

BANDED_PLOTS = """
return Array.from(document.querySelectorAll('.jp-Notebook .js-plotly-plot')).filter(
    p => p.layout && p.layout.shapes && p.layout.shapes.length > 0
          && p.querySelector('.main-svg')).length;
"""

DRAWN_SHAPES = """
return document.querySelectorAll('.jp-Notebook .js-plotly-plot .shapelayer path').length;
"""

ERRORS = """
return Array.from(document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
)).map(e => e.innerText.slice(0, 500));
"""


def test_run_all_triage_draws_findings_and_threshold_bands(jupyter, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(jupyter.url("triage.ipynb"))
    try:
        WebDriverWait(browser, 90, poll_frequency=0.5).until(
            lambda d: d.execute_script(KERNEL_IDLE)
        )
        kernel = browser.execute_script(
            "return window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name"
        )
        assert kernel == "mcops", "the notebook's kernelspec (make setup registers it)"
        browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.monotonic() + RUN_ALL_TIMEOUT

        def done(d) -> bool:
            if d.execute_script(ERRORS):
                return True  # fail fast below, with the error
            tables = d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea table.mcops-findings")
            return bool(tables) and d.execute_script(BANDED_PLOTS) > 0

        WebDriverWait(browser, RUN_ALL_TIMEOUT, poll_frequency=1).until(done)
        assert browser.execute_script(ERRORS) == []
        # the last cell (the verdict) has finished: the kernel is idle again
        WebDriverWait(browser, max(5, deadline - time.monotonic()), poll_frequency=1).until(
            lambda d: d.execute_script(KERNEL_IDLE)
        )
        text = browser.find_element(By.CSS_SELECTOR, ".jp-Notebook").text
        assert "parameters from the running lab: service_url=http://127.0.0.1:" in text
        table = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea table.mcops-findings")[-1]
        assert table.find_elements(By.CSS_SELECTOR, "td.mcops-level"), "a finding row"
        assert browser.execute_script(DRAWN_SHAPES) > 0, "the threshold bands are drawn"
        browser.execute_script(
            "Array.from(document.querySelectorAll('.jp-Notebook .js-plotly-plot'))"
            ".find(p => p.layout && p.layout.shapes && p.layout.shapes.length)"
            ".scrollIntoView({block: 'center'})"
        )
        time.sleep(1)  # let the scrolled-to cells paint
    finally:
        ARTIFACT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACT))
        print(f"screenshot: {ARTIFACT}")
