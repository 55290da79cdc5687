"""`mcops replay` without a kernel: what it compares, what it runs with, what it refuses."""

from __future__ import annotations

import json

from mcops.bundle_manifest import seal
from mcops.cli import main
from mcops.replay import compare, replay_parameters


def finding(check: str, level: str = "ok", title: str = "fine", count: int = 0) -> dict:
    return {"check": check, "level": level, "title": title, "count": count, "checked": True}


def test_compare_names_what_differs_and_what_could_not_be_replayed():
    recorded = [
        finding("duplicate_epochs", "critical", "2 duplicates", 2),
        finding("sequence_gaps"),
        finding("health", "critical", "unreachable"),
        finding("actor_panics"),
        finding("db_pool", "warning", "pool 9 of 10", 9),  # derived from a checked frame
        finding("readiness", "ok", "ready"),  # derived, not judged in the replay
        finding("duplicates_removed", "ok", "0 left"),  # judges the remediation's result
    ]
    replayed = [
        finding("db_pool", "warning", "pool 9 of 10", 9),
        finding("duplicate_epochs", "ok", "no duplicates", 0),
        finding("sequence_gaps"),
        finding("health", "info", "not checked: service_url is empty"),
        finding("epoch_consistency"),
    ]
    checks = {
        "duplicate_epochs": {"data": "data/duplicate_epochs.parquet"},
        "sequence_gaps": {"data": "data/sequence_gaps.parquet"},
        "actor_panics": {"data": None, "error": "not saved as Parquet: ArrowTypeError: mixed"},
        "epoch_consistency": {"data": "data/epoch_consistency.parquet"},
    }
    identical, differences, not_replayable = compare(recorded, replayed, checks)
    assert identical == ["sequence_gaps", "db_pool"]
    assert differences == [
        "duplicate_epochs: level 'critical' → 'ok'; title '2 duplicates' → 'no duplicates'; "
        "count 2 → 0",
        "epoch_consistency: only in the replay (ok: fine)",
    ]
    assert not_replayable == [
        "health: recorded outside inv.check; judged differently",
        "actor_panics: not saved as Parquet: ArrowTypeError: mixed",
        "readiness: recorded outside inv.check; not judged in the replay",
        "duplicates_removed: judges a remediation's result (none in a replay)",
    ]


def test_a_replay_reaches_no_source_applies_nothing_and_ends_where_the_run_ended():
    summary = {
        "parameters": {
            "database_url": "postgresql://ops:***@db/catbird",
            "service_url": "http://mc:8080",
            "gc_url": "http://gc:8080",
            "log_source": "file:/var/log/mc.log",
            "admin_token": "env:MCOPS_ADMIN_TOKEN",
            "apply_remediation": True,
            "window": "2h",
            "until": "",
            "convo_id": "c1",
            "not_a_parameter": 3,
        }
    }
    queries = {"window": {"since": "x", "until": "2026-11-30T10:00:00+00:00"}}
    declared = [n for n in summary["parameters"] if n != "not_a_parameter"]
    assert replay_parameters(summary, queries, declared) == {
        "database_url": "",
        "service_url": "",
        "gc_url": "",
        "log_source": "",
        "admin_token": "",
        "apply_remediation": False,
        "window": "2h",
        "until": "2026-11-30T10:00:00+00:00",
        "convo_id": "c1",
    }


def test_replay_refuses_a_bundle_that_does_not_match_its_manifest(tmp_path, capsys):
    bundle = tmp_path / "ev"
    (bundle / "data").mkdir(parents=True)
    (bundle / "summary.json").write_text(json.dumps({"scenario": "db_consistency"}))
    (bundle / "data" / "duplicate_epochs.parquet").write_bytes(b"recorded")
    seal(bundle)
    (bundle / "data" / "duplicate_epochs.parquet").write_bytes(b"tampered")
    assert main(["replay", str(bundle), "--out", str(tmp_path / "again")]) == 1
    out = capsys.readouterr().out
    assert "changed: data/duplicate_epochs.parquet" in out
    assert "not replayed" in out
    assert not (tmp_path / "again").exists()  # refused before any kernel started


def test_replay_of_a_directory_without_a_summary_is_exit_2(tmp_path, capsys):
    assert main(["replay", str(tmp_path)]) == 2
    assert "has no summary.json" in capsys.readouterr().err
