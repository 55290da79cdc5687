"""The check registry is the one source of truth: everything that names a scenario or a
check id points at something that exists.

Each test reads the other artefact itself (the notebooks folder, the alert rules, the
README, the notebooks' code), so a route to a missing notebook, an alert whose
runbook_url dangles or a check id a notebook invents fails here.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from mcops.evidence import Recorder
from mcops.findings import Finding
from mcops.registry import (
    ALERTS,
    CHECKS,
    KINDS,
    SCENARIOS,
    UnknownCheck,
    check_spec,
    checks_of,
    metric_checks,
    routes_for,
)
from mcops.severity import assess
from mcops.thresholds import default_thresholds

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ON_DISK = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}


def test_every_declared_scenario_is_a_notebook_and_every_notebook_is_declared():
    assert set(SCENARIOS) == ON_DISK


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_every_route_and_home_of_a_check_is_a_notebook(check):
    spec = CHECKS[check]
    assert set(spec.routes) <= ON_DISK, f"{check} routes to a missing notebook"
    assert set(spec.scenarios) <= ON_DISK
    assert spec.kind in KINDS


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_every_route_severity_can_name_is_a_notebook(check):
    """What `assess` proposes for a firing check, in both schemes."""
    for scheme in ("SEV", "P"):
        nexts = assess([Finding.make(check, "critical", "x")], scheme=scheme).next_scenarios
        assert set(nexts) <= ON_DISK


def test_every_alert_opens_a_notebook():
    assert set(ALERTS.values()) <= ON_DISK


def test_every_alert_rule_runbook_url_is_a_notebook():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.rules.yml").read_text())
    urls = {
        rule["alert"]: rule["annotations"]["runbook_url"]
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert urls, "no alert rules read"
    for alert, url in urls.items():
        assert (ROOT / url).is_file(), f"{alert}: runbook_url {url} is not a notebook"
        assert Path(url).stem == ALERTS[alert]


def test_the_readme_scenario_table_names_real_notebooks():
    text = (ROOT / "README.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| `")]
    named = {name for line in table for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])}
    assert named, "README has no scenario table"
    assert named <= ON_DISK
    assert set(SCENARIOS) <= named, f"README misses {sorted(set(SCENARIOS) - named)}"


def _check_ids_in(notebook: Path) -> set[str]:
    """String literals passed as the first argument of inv.check(...) in code cells."""
    ids: set[str] = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "check"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                ids.add(node.args[0].value)
    return ids


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_check_a_notebook_names_is_declared_for_it(notebook):
    for check in _check_ids_in(notebook):
        spec = check_spec(check)
        assert notebook.stem in spec.scenarios, f"{check} is not declared for {notebook.stem}"


def test_the_recorder_refuses_an_undeclared_check():
    recorder = Recorder(scenario="triage", display=lambda bundle: None)
    with pytest.raises(UnknownCheck, match="declare it in mcops/registry"):
        recorder.add(Finding.make("duplicate_epoch", "ok", "typo"))


def test_metric_keys_are_thresholds_metrics_and_owned_once():
    metrics = set(default_thresholds().metrics) | {"gc_registered"}
    owned = [key for spec in CHECKS.values() for key in spec.metric_keys]
    assert len(owned) == len(set(owned))
    assert set(owned) <= metrics
    assert metric_checks()["db_pool_active"] == "db_pool"


def test_routes_put_the_runbooks_own_scenarios_first_and_drop_none():
    assert routes_for("p95_latency", runbook="000") == ("performance_profile", "high_latency")
    assert routes_for("p95_latency", runbook="004") == ("high_latency", "performance_profile")
    assert routes_for("actor_panics", runbook="000") == ("actor_panics",)


def test_checks_of_a_scenario():
    assert {"health", "readiness", "error_logs", "key_metrics"} <= {
        s.id for s in checks_of("triage")
    }
