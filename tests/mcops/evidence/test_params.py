"""Parameter parsing and checking against a notebook's parameters cell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcops.errors import ParameterError
from mcops.params import (
    COMMON_PARAMETERS,
    check_parameters,
    describe_notebook,
    missing_common,
    parse_assignment,
)

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.fixture(scope="module")
def declared():
    return describe_notebook(NOTEBOOKS / "ok_check.ipynb")


def test_values_parse_as_papermill_does():
    assert parse_assignment("n=5") == ("n", 5)
    assert parse_assignment("x=1.5") == ("x", 1.5)
    assert parse_assignment("apply_remediation=True") == ("apply_remediation", True)
    assert parse_assignment("until=None") == ("until", None)
    assert parse_assignment("url=http://a:1/b?c=d") == ("url", "http://a:1/b?c=d")
    assert parse_assignment("convo_id=123", raw=True) == ("convo_id", "123")


@pytest.mark.parametrize("text", ["novalue", "=5", "not-a-name=1"])
def test_malformed_assignment_is_a_parameter_error(text):
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_assignment(text)


def test_notebook_declares_common_set_and_types(declared):
    assert missing_common(declared) == []
    assert declared["window"].type_name == "str"
    assert declared["apply_remediation"].type_name == "bool"
    assert declared["level"].help == "level of the duplicate_epochs finding"
    assert len(COMMON_PARAMETERS) == 18  # DESIGN "Common parameters"


def test_unknown_name_lists_the_known_ones(declared):
    with pytest.raises(ParameterError) as err:
        check_parameters({"windwo": "1h"}, declared, scenario="ok_check")
    assert err.value.name == "windwo"
    assert "until, window (see" in str(err.value)  # the declared names are listed
    assert "mcops list" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("window", 5, "expects str"), ("apply_remediation", "maybe", "expects bool")],
)
def test_wrong_type_names_parameter_type_and_value(declared, name, value, expected):
    with pytest.raises(ParameterError) as err:
        check_parameters({name: value}, declared, scenario="ok_check")
    message = str(err.value)
    assert expected in message and repr(value) in message and name in message


def test_good_values_pass_through(declared):
    given = {"window": "15m", "apply_remediation": True, "database_url": "env:DB", "until": None}
    assert check_parameters(given, declared, scenario="ok_check") == given


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("service_url", "localhost:8080", "not an http(s) URL"),
        ("prometheus_url", "prometheus:9090", "not an http(s) URL"),
        ("database_url", "db.internal/catbird", "not a SQLAlchemy URL"),
        ("window", "yesterday", "not a duration"),
        ("window", "0m", "must be positive"),
        ("until", "yesterday", "not an ISO 8601 time"),
        ("incident_started", "10 minutes ago", "not an ISO 8601 time"),
        ("severity_scheme", "SEV1", "not one of SEV or P"),
        ("platform", "k8s", "not one of local or kubernetes"),
        ("log_source", "files:/var/log/x.log", "not understood"),
        ("log_source", "k8s:dark-tower", "namespace and a label selector"),
    ],
)
def test_values_are_judged_before_any_kernel(declared, name, value, expected):
    with pytest.raises(ParameterError, match=re.escape(expected)) as err:
        check_parameters({name: value}, declared, scenario="ok_check")
    assert "\n" not in str(err.value) and err.value.name == name


def test_well_formed_values_pass_and_a_url_password_is_not_repeated(declared):
    given = {
        "service_url": "https://mc.example:8443",
        "prometheus_url": "http://127.0.0.1:9090",
        "database_url": "postgresql+psycopg://ops@db/catbird",
        "window": "2d",
        "until": "2026-11-23T10:00:00Z",
        "incident_started": "2026-11-23T09:00:00+00:00",
        "severity_scheme": "P",
        "platform": "kubernetes",
        "log_source": "k8s:dark-tower/app=meeting-controller",
    }
    assert check_parameters(given, declared, scenario="ok_check") == given
    with pytest.raises(ParameterError) as err:
        check_parameters({"service_url": "//ops:s3cret@host"}, declared, scenario="ok_check")
    assert "s3cret" not in str(err.value)


def test_an_env_value_is_judged_as_the_kernel_would_see_it(declared, monkeypatch):
    monkeypatch.setenv("MCOPS_TEST_DB", "ops:s3cret@db.internal/catbird")
    with pytest.raises(ParameterError, match="not a SQLAlchemy URL") as err:
        check_parameters({"database_url": "env:MCOPS_TEST_DB"}, declared, scenario="ok_check")
    assert "s3cret" not in str(err.value)
    monkeypatch.setenv("MCOPS_TEST_DB", "postgresql://ops:s3cret@db.internal/catbird")
    given = {"database_url": "env:MCOPS_TEST_DB", "service_url": "env:MCOPS_UNSET_HERE"}
    assert check_parameters(given, declared, scenario="ok_check") == given
