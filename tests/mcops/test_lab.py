"""The local lab as a user drives it: `mcops lab up|inject|status|down`, and the demo.

Every lab here lives in the test's own directory (``--root`` or ``MCOPS_LAB_DIR``),
never in the user's lab home.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.notebooks.support import ROOT

pytestmark = pytest.mark.slow


def mcops(
    *args: str, timeout: float = 120, home: Path | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; ``home`` is the lab home it sees (MCOPS_LAB_DIR)."""
    env = {**os.environ, "MCOPS_LAB_DIR": str(home or cwd / "no-lab-here")}
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
    )


DUPLICATES = (
    "SELECT convo_id, epoch, COUNT(*) FROM messages WHERE message_type = 'commit' "
    "GROUP BY convo_id, epoch HAVING COUNT(*) > 1"
)


def duplicates(root: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(root / "server.db") as conn:
        return [tuple(row) for row in conn.execute(DUPLICATES)]


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
        assert "already running" in again.stdout

        # the lab home, not the working directory: status from anywhere finds it
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        found = mcops("lab", "status", home=root, cwd=elsewhere)
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout) == params
        assert f"lab home: {root.resolve()}" in found.stderr
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


def test_up_reuses_the_previous_data_saying_so_and_fresh_starts_clean(tmp_path):
    """The epoch race from the CLI writes duplicates; a restarted lab keeps (and says it
    keeps) them; --fresh drops them."""
    home = tmp_path / "home"
    first = mcops("lab", "up", "--no-prometheus", home=home, cwd=tmp_path)
    try:
        assert first.returncode == 0, first.stderr
        assert "reusing" not in first.stdout  # nothing to reuse yet
        race = mcops("lab", "inject", "epoch_race", home=home, cwd=tmp_path)
        assert race.returncode == 0, race.stdout + race.stderr
        reported = json.loads(race.stdout)["epoch_race"]
        found = duplicates(home)
        assert found, "the race wrote no duplicate epoch"
        assert {c for c, _, _ in found} == {reported["convo_id"]}
        assert [(d["epoch"], d["commits"]) for d in reported["duplicate_epochs"]] == [
            (e, n) for _, e, n in found
        ]
        params = json.loads(mcops("lab", "status", home=home, cwd=tmp_path).stdout)
        faults = httpx.get(params["service_url"] + "/admin/faults", headers=admin(home))
        assert faults.json() == {}, "the race leaves the actor system on"

        busy = mcops("lab", "up", "--fresh", home=home, cwd=tmp_path)
        assert busy.returncode == 2 and "mcops lab down" in busy.stderr
        assert duplicates(home) == found  # refused: nothing deleted
    finally:
        mcops("lab", "down", home=home, cwd=tmp_path)

    reused = mcops("lab", "up", "--no-prometheus", home=home, cwd=tmp_path)
    try:
        assert reused.returncode == 0, reused.stderr
        assert (
            f"reusing the database and log of the previous lab in {home.resolve()}; "
            "`mcops lab up --fresh` starts clean" in reused.stdout
        )
        assert duplicates(home) == found
    finally:
        mcops("lab", "down", home=home, cwd=tmp_path)

    log = home / "server.log"
    assert "Using legacy path" in log.read_text()
    fresh = mcops("lab", "up", "--fresh", "--no-prometheus", home=home, cwd=tmp_path)
    try:
        assert fresh.returncode == 0, fresh.stderr
        assert "fresh lab in" in fresh.stdout and "server.db" in fresh.stdout
        assert duplicates(home) == []
        assert "Using legacy path" not in log.read_text()
        assert (home / "admin-token").exists()  # credentials are not the lab's data
    finally:
        down = mcops("lab", "down", home=home, cwd=tmp_path)
    assert down.returncode == 0, down.stderr


def admin(home: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(home / 'admin-token').read_text().strip()}"}


def test_lost_meetings_and_an_outage_from_the_cli(tmp_path):
    """004 Scenario 3 and 4 without a server switch: meetings the MC lost, a killed server
    whose lab still answers for its parameters, and `clear outage` bringing it back."""
    home = tmp_path / "home"
    up = mcops("lab", "up", "--no-prometheus", home=home, cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        inject = ("lab", "inject", "lost_meetings", "--param", "count=3")
        lost = mcops(*inject, home=home, cwd=tmp_path)
        assert lost.returncode == 0, lost.stdout + lost.stderr
        meetings = json.loads(lost.stdout)["lost_meetings"]
        assert len(meetings["lost"]) == 3
        with sqlite3.connect(home / "server.db") as conn:
            rows = dict(conn.execute("SELECT meeting_id, status FROM meetings"))
            idle = "updated_at < datetime('now', '-90 minutes')"
            old = f"SELECT meeting_id FROM meetings WHERE {idle}"
            stale = {m for (m,) in conn.execute(old)}
        assert stale == set(meetings["lost"])
        assert rows[meetings["nobody_joined"]] == rows[meetings["joined"]] == "active"
        bad = mcops("lab", "inject", "lost_meetings", "--param", "nope=1", home=home, cwd=tmp_path)
        assert bad.returncode == 2 and "no such --param" in bad.stderr

        params = json.loads(mcops("lab", "status", home=home, cwd=tmp_path).stdout)
        outage = mcops("lab", "inject", "outage", home=home, cwd=tmp_path)
        assert outage.returncode == 0, outage.stdout + outage.stderr
        with pytest.raises(httpx.HTTPError):
            httpx.get(params["service_url"] + "/health", timeout=1)
        during = mcops("lab", "status", home=home, cwd=tmp_path)
        assert during.returncode == 0 and json.loads(during.stdout) == params  # still the lab's
        refused = mcops("lab", "inject", "slow_db", "--param", "latency_ms=5", home=home)
        assert refused.returncode == 2 and "mcops lab restart" in refused.stderr

        back = mcops("lab", "clear", "outage", home=home, cwd=tmp_path)
        assert back.returncode == 0, back.stderr
        assert httpx.get(params["service_url"] + "/health", timeout=5).status_code == 200
    finally:
        down = mcops("lab", "down", home=home, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
