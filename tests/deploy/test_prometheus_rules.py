"""deploy/prometheus: promtool accepts the rules, their unit tests pass, and they agree
with the runbooks, mcops/thresholds.yaml and mcops.registry.ALERTS."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from mcops.registry import ALERTS as ALERT_SCENARIOS
from mcops.thresholds import default_thresholds, parse_duration
from tests.deploy.runbooks import REPO, RUNBOOK_ALERTS, alerts_named_in

RULES_DIR = REPO / "deploy" / "prometheus"
RULE_FILES = [RULES_DIR / "recording.rules.yml", RULES_DIR / "alerts.rules.yml"]
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yml"))
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def _rules(kind: str) -> list[dict]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(rule for rule in group["rules"] if kind in rule)
    return rules


def _alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for rule in _rules("alert")}


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: apt-get install -y --no-install-recommends prometheus")
    return subprocess.run(
        [PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules_passes():
    result = _promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules('record'))} rules found" in result.stdout
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass():
    assert TEST_FILES, "no promtool test files in deploy/prometheus/tests"
    result = _promtool("test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


@pytest.mark.parametrize("runbook", ["000", "004"])
def test_every_alert_named_in_the_runbook_is_a_rule(runbook):
    assert RUNBOOK_ALERTS[runbook] <= set(_alerts())
    assert {a for a, r in _alerts().items() if r["labels"]["runbook"] == runbook} >= (
        RUNBOOK_ALERTS[runbook]
    )


@pytest.mark.parametrize("runbook", ["000", "004"])
def test_the_alert_list_matches_the_runbook_text(runbook):
    assert alerts_named_in(runbook) == RUNBOOK_ALERTS[runbook]


def test_rules_thresholds_yaml_and_alert_scenarios_name_the_same_alerts():
    assert set(_alerts()) == set(ALERT_SCENARIOS) == set(default_thresholds().alerts)


def test_every_alert_is_tested_firing_and_not_firing():
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    assert set(_alerts()) - firing == set()
    assert set(_alerts()) - silent == set()


@pytest.mark.parametrize("name", sorted(ALERT_SCENARIOS))
def test_alert_labels_and_annotations(name):
    rule = _alerts()[name]
    scenario = ALERT_SCENARIOS[name]
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["labels"]["scenario"] == scenario
    assert rule["labels"]["runbook"] in ("000", "004")
    assert rule["annotations"]["runbook_url"] == f"notebooks/{scenario}.ipynb"
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()


_COMPARISON = re.compile(r"(?:>|<|==)\s*([0-9][0-9.e+]*)\s*$")


@pytest.mark.parametrize("name", sorted(ALERT_SCENARIOS))
def test_alert_agrees_with_thresholds_yaml(name):
    spec = default_thresholds().alerts[name]
    rule = _alerts()[name]
    assert rule["labels"]["severity"] == spec.severity
    assert parse_duration(rule.get("for", "0s")) == spec.for_duration
    match = _COMPARISON.search(rule["expr"].strip())
    if name == "MCLowConnectionCount":  # compares two series, no number
        assert match is None
    else:
        assert match is not None, rule["expr"]
        assert float(match[1]) == spec.threshold


def test_alerts_read_only_recorded_series_that_exist():
    recorded = {rule["record"] for rule in _rules("record")}
    used = set()
    for rule in _alerts().values():
        used.update(re.findall(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b", rule["expr"]))
    assert used
    assert used <= recorded


@pytest.mark.slow
def test_a_real_prometheus_loads_and_evaluates_every_rule():
    from tests.support.prometheus import running_prometheus

    with running_prometheus(rule_files=RULE_FILES) as url:
        deadline = time.monotonic() + 20
        while True:
            groups = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            evaluated = [r for r in rules if not r["lastEvaluation"].startswith("0001")]
            if len(evaluated) == len(rules) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert len(rules) == len(_rules("record")) + len(_alerts())
    assert len(evaluated) == len(rules)
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
