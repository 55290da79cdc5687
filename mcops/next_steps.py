"""The commands to run next, with the same parameters filled in.

`mcops run` ends with them so that an on-call engineer copies one line instead of
retyping URLs. Secrets stay out of the terminal: a password typed on the command line is
shown as ``***`` (pass it as ``env:NAME`` and the line runs as printed), and
``apply_remediation`` is never carried over: the next notebook plans first. Only the
common parameters are carried: a scenario's own (``restart_command``, ``gc_url``) would
be an unknown parameter to the next one.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from mcops.secrets import redactor_for

__all__ = ["next_commands"]

_NOT_CARRIED = frozenset({"apply_remediation"})


def next_commands(
    scenarios: Sequence[str], parameters: Mapping[str, Any], *, program: str = "mcops"
) -> list[str]:
    """``mcops run SCENARIO -p NAME=VALUE ...`` for each scenario, in order."""
    from mcops.params import COMMON_PARAMETERS

    common = {p.name for p in COMMON_PARAMETERS}
    redactor = redactor_for(dict(parameters))
    options = []
    for name, value in parameters.items():
        if name in _NOT_CARRIED or name not in common or value is None or value == "":
            continue
        shown = redactor.parameter(value)
        flag = "-r" if isinstance(value, str) and _parses_as_other(value) else "-p"
        options.append(f"{flag} {shlex.quote(f'{name}={shown}')}")
    return [" ".join([program, "run", shlex.quote(s), *options]) for s in scenarios]


def _parses_as_other(text: str) -> bool:
    """A string papermill would read as a number or bool (``-p convo_id=123``) needs -r."""
    from mcops.params import parse_value

    return not isinstance(parse_value(text), str)
