"""A postmortem can stand on the evidence: `mcops run db_consistency` on a SQLite database,
the database deleted, then `mcops replay` gives the same findings from the bundle alone,
`mcops verify` passes, and a tampered data file is named by both."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.notebooks.support import ROOT, mcops_run
from tests.notebooks.test_runbook_schema_diagnostics import seed

pytestmark = pytest.mark.slow

CHECKS = ("epoch_consistency", "duplicate_epochs", "sequence_gaps", "left_member_unread")


def mcops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
        timeout=240,
    )


def test_a_bundle_replays_to_the_same_findings_after_its_database_is_gone(tmp_path):
    db = tmp_path / "runbook.db"
    seed(f"sqlite:///{db}")
    run = mcops_run("db_consistency", tmp_path / "ev", "-p", f"database_url=sqlite:///{db}")
    assert run.exit_code == 0, run.output
    bundle = run.out_dir

    # the bundle: a frame per check, the SQL behind it, and a manifest of every file
    queries = json.loads((bundle / "queries.json").read_text())
    for check in CHECKS:
        assert queries["checks"][check]["data"] == f"data/{check}.parquet"
        [sql] = [q for q in queries["queries"] if q["check"] == check]
        assert sql["source"] == "sql" and sql["name"] == check and "SELECT" in sql["query"]
    duplicates = pd.read_parquet(bundle / "data" / "duplicate_epochs.parquet")
    assert duplicates[["convo_id", "epoch", "count"]].values.tolist() == [["dup", 2, 2]]
    manifest = json.loads((bundle / "manifest.json").read_text())["files"]
    assert {"summary.json", "queries.json", "db_consistency.ipynb"} <= set(manifest)
    assert mcops("verify", str(bundle)).returncode == 0

    db.unlink()
    replayed = mcops("replay", str(bundle), "--out", str(tmp_path / "replayed"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "remediations: not planned in a replay" in replayed.stdout
    again = json.loads((tmp_path / "replayed" / "summary.json").read_text())
    fields = ("check", "level", "title", "count", "checked")
    assert [{k: f[k] for k in fields} for f in again["findings"]] == [
        {k: f[k] for k in fields} for f in run.summary["findings"]
    ]
    assert again["parameters"]["database_url"] == ""  # no source was reachable
    assert mcops("verify", str(bundle)).returncode == 0  # a replay leaves the bundle alone

    # a tampered frame: verify names it, and replay refuses to stand on it
    frame = pd.read_parquet(bundle / "data" / "duplicate_epochs.parquet")
    frame.iloc[:0].to_parquet(bundle / "data" / "duplicate_epochs.parquet")
    verified = mcops("verify", str(bundle))
    assert verified.returncode == 1
    assert "changed: data/duplicate_epochs.parquet" in verified.stdout
    refused = mcops("replay", str(bundle), "--out", str(tmp_path / "tampered"))
    assert refused.returncode == 1
    assert "changed: data/duplicate_epochs.parquet" in refused.stdout
    assert not (tmp_path / "tampered").exists()
