"""`mcops report` runs two scenarios against the real server into one indexed report.

One execution only (triage and actor_health, the daily set's two): CI time is tight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.notebooks.support import ROOT, TOKEN_VARIABLE
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow


def test_report_of_two_scenarios_writes_both_and_an_index_naming_their_severity(
    sqlite_url, tmp_path
):
    out = tmp_path / "reports" / "daily-test"
    with running_server(sqlite_url) as server:
        with server.client("did:plc:alice") as alice:  # something for the checks to see
            created = alice.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": "c1"})
            assert created.status_code == 200, created.text
        params = [
            f"service_url={server.url}",
            f"log_source=file:{server.log_file}",
            f"admin_token=env:{TOKEN_VARIABLE}",
            "window=10m",
        ]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mcops.cli",
                "report",
                "triage",
                "actor_health",
                "--out",
                str(out),
                "--fail-on",
                "critical",
                "--no-progress",
                *[part for value in params for part in ("-p", value)],
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, TOKEN_VARIABLE: ADMIN_TOKEN},
            timeout=280,
            check=False,
        )
    output = proc.stdout + proc.stderr
    index = json.loads((out / "index.json").read_text())
    entries = {e["scenario"]: e for e in index["scenarios"]}
    assert list(entries) == ["triage", "actor_health"], output
    summaries = {name: json.loads((out / name / "summary.json").read_text()) for name in entries}
    assert {name: s["status"] for name, s in summaries.items()} == {
        "triage": "ok",
        "actor_health": "ok",
    }, output
    critical = any(f["level"] == "critical" for s in summaries.values() for f in s["findings"])
    assert proc.returncode == index["exit_code"] == (1 if critical else 0), output

    page = (out / "index.html").read_text()
    for name, summary in summaries.items():
        assert (out / name / f"{name}.html").is_file()
        assert f'href="{name}/{name}.html"' in page
        assert entries[name]["severity"]["level"] == summary["severity"]["level"]
        assert summary["severity"]["level"] in page
        # a report is an attachment: each figure as PNG too (Chromium is a test dependency)
        pngs = sorted((out / name / "figures").glob("figure-*.png"))
        assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert ADMIN_TOKEN not in page + (out / "index.json").read_text()
    assert f"index: {out / 'index.html'}" in proc.stdout
