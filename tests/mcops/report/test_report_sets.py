"""Report sets: declared once, resolved from mixed set and scenario names."""

from __future__ import annotations

import pytest

from mcops.errors import ParameterError
from mcops.report_sets import SETS, ReportSet, resolve
from mcops.runner import default_notebooks_dir, list_scenarios

KNOWN = ["triage", "actor_health", "db_consistency", "crash_loop"]
SMALL = {
    "daily": ReportSet(("actor_health", "triage"), {"window": "24h"}, "test"),
    "weekly": ReportSet(("db_consistency", "triage"), {"window": "7d"}, "test"),
}


def test_the_runbooks_maintenance_sets_name_scenarios_that_exist():
    scenarios = set(list_scenarios(default_notebooks_dir()))
    assert set(SETS) == {"daily", "weekly", "monthly"}
    for name, report_set in SETS.items():
        assert report_set.scenarios, name
        assert set(report_set.scenarios) <= scenarios, name
    assert {"triage", "actor_health"} <= set(SETS["daily"].scenarios)
    assert {"db_consistency", "performance_profile"} <= set(SETS["weekly"].scenarios)


def test_sets_and_scenarios_mix_each_scenario_once_in_first_named_order():
    chosen = resolve(["crash_loop", "daily", "weekly", "triage"], KNOWN, sets=SMALL)
    assert chosen.scenarios == ("crash_loop", "actor_health", "triage", "db_consistency")
    assert chosen.sets == ("daily", "weekly")
    assert chosen.defaults["crash_loop"] == {}
    assert chosen.defaults["triage"] == {"window": "24h"}  # the set that named it first
    assert chosen.defaults["db_consistency"] == {"window": "7d"}


def test_unknown_names_are_one_error_naming_each_and_the_choices():
    with pytest.raises(ParameterError) as caught:
        resolve(["daily", "nope", "triag"], KNOWN, sets=SMALL)
    message = str(caught.value)
    assert "'nope', 'triag'" in message
    assert "daily, weekly" in message and "triage" in message
    assert "\n" not in message


def test_a_set_naming_a_missing_notebook_says_where_notebooks_come_from():
    with pytest.raises(ParameterError, match="MCOPS_NOTEBOOKS"):
        resolve(["weekly"], ["triage"], sets=SMALL)
