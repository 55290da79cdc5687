"""The local lab as a user drives it: `mcops lab up|inject|status|down`, and the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.notebooks.support import ROOT

pytestmark = pytest.mark.slow


def mcops(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ},
    )


def test_lab_up_inject_status_down(tmp_path):
    root = tmp_path / "lab"
    up = mcops("lab", "--root", str(root), "up")
    try:
        assert up.returncode == 0, up.stderr
        params = json.loads(mcops("lab", "--root", str(root), "status").stdout)
        assert params["service_url"].startswith("http://127.0.0.1:")
        assert params["database_url"] == f"sqlite:///{root.resolve() / 'server.db'}"
        assert httpx.get(params["service_url"] + "/health").status_code == 200
        if params["prometheus_url"]:
            assert httpx.get(params["prometheus_url"] + "/-/ready").status_code == 200

        inject = mcops("lab", "--root", str(root), "inject", "slow_db", "--param", "latency_ms=50")
        assert inject.returncode == 0, inject.stderr
        assert json.loads(inject.stdout)["slow_db"] == {"latency_ms": 50}
        again = mcops("lab", "--root", str(root), "up")  # idempotent while running
        assert again.returncode == 0 and params["service_url"] in again.stdout
    finally:
        down = mcops("lab", "--root", str(root), "down")
    assert down.returncode == 0, down.stderr
    with pytest.raises(httpx.HTTPError):
        httpx.get(params["service_url"] + "/health", timeout=1)
    gone = mcops("lab", "--root", str(root), "status")
    assert gone.returncode == 2 and "mcops lab up" in gone.stderr


def test_demo_reproduces_and_finds_both_incidents(tmp_path):
    """What `make demo` runs, end to end."""
    result = mcops(
        "lab", "--root", str(tmp_path / "lab"), "demo", "--out", str(tmp_path / "ev"), timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "ev").glob("*/summary.json")]
    by_scenario = {s["scenario"]: s for s in summaries}
    assert set(by_scenario) == {"triage", "db_consistency"}
    dup = [f for f in by_scenario["db_consistency"]["findings"] if f["check"] == "duplicate_epochs"]
    assert dup[0]["level"] == "critical"
    errors = [f for f in by_scenario["triage"]["findings"] if f["check"] == "error_logs"]
    assert errors[0]["level"] == "critical"
    assert not (tmp_path / "lab" / "state.json").exists()  # the demo stopped its lab
