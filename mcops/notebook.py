"""The one call at the top of every scenario notebook.

    from mcops.notebook import setup, parameters_in
    ctx = setup("db_consistency", **parameters_in(globals()))

It makes plotly figures survive headless runs (interactive in JupyterLab and in the
offline HTML export), shows DataFrames as tables that say "N of M rows", and returns
the evidence `Recorder`. Connect with
``ctx.params["database_url"]`` (``env:NAME`` resolved), never with the raw variable.

Run interactively (JupyterLab's Run All) with every source parameter empty, it takes the
running lab's (`mcops.lab.running_lab_parameters`) and says so in one line; with no lab
either, it shows what to write in the parameters cell and stops the run without a
traceback (`ParametersNeeded`). Headless runs (`mcops run`, replay, the alert receiver)
are left as they are: their parameters were checked before the kernel started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mcops.errors import McopsError
from mcops.evidence import Recorder
from mcops.params import SOURCE_PARAMETERS

__all__ = [
    "PLOTLY_RENDERER",
    "ParametersNeeded",
    "lab_fallback",
    "parameters_in",
    "setup",
    "use_offline_plotly",
    "use_report_tables",
]

#: Only the figure's JSON (``application/vnd.plotly.v1+json``): JupyterLab draws it, and
#: `mcops.export` draws it in the HTML with the one plotly.js of the evidence directory.
#: ("+notebook" would copy 4.8 MB of plotly.js into every executed notebook.)
PLOTLY_RENDERER = "plotly_mimetype"

#: Set by the runner (`mcops run`, `mcops report`, the alert receiver) and by replay: a
#: headless run, whose parameters were already checked and must not change under it.
HEADLESS_ENV = ("MCOPS_EVIDENCE_DIR", "MCOPS_REPLAY_DIR")

_EXAMPLES = {
    "service_url": '"http://127.0.0.1:8080"',
    "prometheus_url": '"http://127.0.0.1:9090"',
    "database_url": '"env:DB_URL"  # after: export DB_URL=postgresql://USER@HOST/DB',
    "log_source": '"file:/var/log/mls/server.log"',
}

_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
_SCALARS = (str, int, float, bool, type(None), list, dict)


def use_offline_plotly() -> None:
    """Set plotly's default renderer to `PLOTLY_RENDERER`."""
    import plotly.io as pio

    pio.renderers.default = PLOTLY_RENDERER


def use_report_tables(shell: Any = None) -> None:
    """Show DataFrames as `mcops.display.frame_table_html` in ``shell`` (default: this
    IPython session): the first rows, numbers rounded, and "N of M rows" under every
    table. No-op outside IPython."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return
    import pandas as pd

    from mcops.display import frame_table_html

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_table_html)


def parameters_in(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameters from its globals (call it right after the parameters cell).

    Public names holding plain values; modules, functions and IPython's own names are
    skipped.
    """
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and name not in _IPYTHON_NAMES and isinstance(value, _SCALARS)
    }


class ParametersNeeded(McopsError):
    """Nothing to investigate: every source parameter is empty and no lab runs.

    Raised to stop JupyterLab's Run All after the notebook has shown what to set; it
    renders as one line, not a traceback (IPython's ``_render_traceback_``).
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def lab_fallback(
    scenario: str, parameters: Mapping[str, Any], *, interactive: bool | None = None
) -> dict[str, Any]:
    """``parameters`` with the running lab's sources when every source is empty.

    Only for interactive runs (default: in an IPython kernel that no runner started): a
    headless run keeps exactly what it was given. Some sources given: left alone, so a
    production investigation never mixes in lab data. No source and no lab: shows what
    to set and raises ParametersNeeded.
    """
    if interactive is None:
        interactive = _interactive()
    if not interactive or any(parameters.get(name) for name in SOURCE_PARAMETERS):
        return dict(parameters)
    if not any(name in parameters for name in SOURCE_PARAMETERS):
        return dict(parameters)  # not a scenario that reads sources
    from mcops.lab import running_lab_parameters

    lab = running_lab_parameters()
    if lab is None:
        _show_markdown(_what_to_set(scenario))
        raise ParametersNeeded(
            f"{scenario}: no source to investigate — set one in the parameters cell "
            "(see above), or start the lab: mcops lab up"
        )
    filled = {
        name: value
        for name, value in lab.items()
        if value and name in parameters and not parameters[name]
    }
    print("parameters from the running lab: " + ", ".join(f"{k}={v}" for k, v in filled.items()))
    return {**parameters, **filled}


def _interactive() -> bool:
    if any(os.environ.get(name) for name in HEADLESS_ENV):
        return False
    from IPython import get_ipython

    return get_ipython() is not None


def _what_to_set(scenario: str) -> str:
    lines = "\n".join(f"{name} = {example}" for name, example in _EXAMPLES.items())
    return (
        f"**{scenario}: nothing to investigate yet** — every source parameter is empty.\n\n"
        "Set at least one in the parameters cell (the first code cell), then Run All again:"
        f"\n\n```python\n{lines}\n```\n\n"
        "Or start the local lab (`mcops lab up` in a terminal) and Run All again: empty "
        "parameters then come from the lab."
    )


def _show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


def setup(scenario: str, /, **parameters: Any) -> Recorder:
    """Prepare plotting and return the Recorder for ``scenario`` with these parameters
    (the running lab's sources when all are empty in an interactive run: `lab_fallback`)."""
    use_offline_plotly()
    use_report_tables()
    return Recorder(scenario=scenario, parameters=lab_fallback(scenario, parameters))
