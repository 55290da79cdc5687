"""deploy/grafana/actor-health.json: runbook 000's panels verbatim, runbook 004's panels,
and every query valid PromQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.runbooks import REPO, runbook_text

DASHBOARD = REPO / "deploy" / "grafana" / "actor-health.json"
RULE_FILES = [
    REPO / "deploy" / "prometheus" / "recording.rules.yml",
    REPO / "deploy" / "prometheus" / "alerts.rules.yml",
]

#: Runbook 000 "Grafana Dashboard Setup", panels 1-4, copied verbatim.
RUNBOOK_000_PANELS = {
    "Actor Registry Health": [
        ("actor_registry_active_actors", "Active Actors"),
        ("rate(actor_spawns_total[5m])", "Spawn Rate"),
        ("rate(actor_stops_total[5m])", "Stop Rate"),
    ],
    "Message Processing Latency": [
        ("histogram_quantile(0.50, rate(actor_message_duration_bucket[5m]))", "P50"),
        ("histogram_quantile(0.95, rate(actor_message_duration_bucket[5m]))", "P95"),
        ("histogram_quantile(0.99, rate(actor_message_duration_bucket[5m]))", "P99"),
    ],
    "Actor Error Rate": [("rate(actor_errors_total[5m])", "{{error_type}}")],
    "Database Connection Pool": [
        ("db_pool_connections_active", "Active"),
        ("db_pool_connections_idle", "Idle"),
        ("db_pool_connections_max", "Max"),
    ],
}

#: Runbook 004's diagnostics: the metric each panel family must chart.
RUNBOOK_004_METRICS = {
    "mailbox": "mc_actor_mailbox_depth",
    "latency": "mc_message_processing_duration_seconds_bucket",
    "panic": "mc_actor_panics_total",
    "meeting": "mc_meetings_active",
    "connections": "mc_connections_active",
    "heartbeat failures": "mc_gc_heartbeats_total",
    "heartbeat latency": "mc_gc_heartbeat_duration_seconds_bucket",
    "drops": "mc_messages_dropped_total",
}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels() -> list[dict]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def test_dashboard_identity_and_layout():
    d = _dashboard()
    assert d["uid"] == "actor-health"  # runbook 000: grafana.catbird.com/d/actor-health
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, p["title"]
    for p in _panels():
        assert [t["refId"] for t in p["targets"]] == [chr(65 + i) for i in range(len(p["targets"]))]


@pytest.mark.parametrize("title", sorted(RUNBOOK_000_PANELS))
def test_runbook_000_panels_are_verbatim(title):
    (panel,) = [p for p in _panels() if p["title"] == title]
    got = [(t["expr"], t["legendFormat"]) for t in panel["targets"]]
    assert got == RUNBOOK_000_PANELS[title]


def test_runbook_000_panel_copy_matches_the_runbook_text():
    section = runbook_text("000").split("### Grafana Dashboard Setup", 1)[1].split("\n---", 1)[0]
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)]
    from_text = {b["title"]: [(t["expr"], t["legendFormat"]) for t in b["targets"]] for b in blocks}
    assert from_text == RUNBOOK_000_PANELS


@pytest.mark.parametrize(("family", "metric"), sorted(RUNBOOK_004_METRICS.items()))
def test_runbook_004_panels_chart_each_diagnostic(family, metric):
    assert any(metric in expr for expr in _exprs()), family


def test_every_query_parses_with_promtool(tmp_path: Path):
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query:{i}", "expr": expr}
                    for i, expr in enumerate(_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_exprs())} rules found" in result.stdout


def test_a_broken_query_is_caught_by_the_same_check(tmp_path: Path):
    path = tmp_path / "broken.rules.yml"
    path.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "x", "rules": [{"record": "a:b:c", "expr": "rate(x[5m]"}]}]}
        )
    )
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


@pytest.mark.slow
def test_a_real_prometheus_answers_every_query():
    from tests.support.prometheus import running_prometheus

    with running_prometheus(rule_files=RULE_FILES) as url:
        answers = {
            expr: httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
            for expr in _exprs()
        }
    failed = {expr: a.get("error") for expr, a in answers.items() if a["status"] != "success"}
    assert failed == {}
