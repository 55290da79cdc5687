"""`mcops run` ends with the next commands, parameters filled in, secrets kept out."""

from __future__ import annotations

import shlex

from mcops.next_steps import next_commands
from mcops.params import parse_assignment


def test_next_commands_carry_the_parameters_and_run_as_printed():
    given = {
        "service_url": "http://127.0.0.1:8080",
        "window": "1h",
        "convo_id": "123",
        "database_url": "env:DB_URL",
        "apply_remediation": True,
        "until": "",
    }
    (command,) = next_commands(["mailbox_backlog"], given)
    words = shlex.split(command)
    assert words[:3] == ["mcops", "run", "mailbox_backlog"]
    pairs = dict(
        parse_assignment(value, raw=flag == "-r")
        for flag, value in zip(words[3::2], words[4::2], strict=True)
    )
    # the same parameters, typed as given; apply is never carried over; empty ones dropped
    assert pairs == {
        "service_url": "http://127.0.0.1:8080",
        "window": "1h",
        "convo_id": "123",
        "database_url": "env:DB_URL",
    }


def test_a_password_typed_on_the_command_line_is_not_printed():
    (command,) = next_commands(["db_consistency"], {"database_url": "postgresql://ops:s3cr3t@db/x"})
    assert "s3cr3t" not in command
    assert "ops:***@db/x" in command


def test_one_command_per_scenario_in_order():
    commands = next_commands(["epoch_conflicts", "db_consistency"], {})
    assert commands == ["mcops run epoch_conflicts", "mcops run db_consistency"]


def test_a_scenarios_own_parameters_are_not_carried_to_the_next():
    """service_restart's restart_command would be an unknown parameter to service_outage."""
    given = {"service_url": "http://127.0.0.1:8080", "restart_command": "systemctl restart mc"}
    (command,) = next_commands(["service_outage"], given)
    assert "restart_command" not in command
    assert "service_url=http://127.0.0.1:8080" in command
