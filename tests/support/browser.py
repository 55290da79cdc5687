"""Headless Debian Chromium through Selenium, cut off from the network.

Every host name resolves to nothing and every request goes to a dead proxy, so a page
that needs a CDN (plotly.js, fonts, MathJax) shows it by not drawing. With
``loopback=True`` 127.0.0.1 stays reachable (a JupyterLab or server under test).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def offline_chromium(*, loopback: bool = False, size: str = "1280,800") -> Iterator[Any]:
    """A WebDriver for a fresh profile; quit and its profile removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromium-driver are missing: make test installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="mcops-chromium-")
    resolver = "MAP * ~NOTFOUND" + (" , EXCLUDE 127.0.0.1" if loopback else "")
    arguments = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--host-resolver-rules={resolver}",
        "--proxy-server=127.0.0.1:9",
        *(["--proxy-bypass-list=127.0.0.1"] if loopback else []),
        f"--window-size={size}",
        f"--user-data-dir={profile}",
    ]
    for argument in arguments:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
