"""The one call at the top of every scenario notebook.

    from mcops.notebook import setup, parameters_in
    ctx = setup("db_consistency", **parameters_in(globals()))

It makes plotly figures survive headless runs (interactive in JupyterLab and in the
offline HTML export), shows DataFrames as tables that say "N of M rows", and returns
the evidence `Recorder`. Connect with
``ctx.params["database_url"]`` (``env:NAME`` resolved), never with the raw variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcops.evidence import Recorder

__all__ = [
    "PLOTLY_RENDERER",
    "parameters_in",
    "setup",
    "use_offline_plotly",
    "use_report_tables",
]

#: Only the figure's JSON (``application/vnd.plotly.v1+json``): JupyterLab draws it, and
#: `mcops.export` draws it in the HTML with the one plotly.js of the evidence directory.
#: ("+notebook" would copy 4.8 MB of plotly.js into every executed notebook.)
PLOTLY_RENDERER = "plotly_mimetype"

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


def setup(scenario: str, /, **parameters: Any) -> Recorder:
    """Prepare plotting and return the Recorder for ``scenario`` with these parameters."""
    use_offline_plotly()
    use_report_tables()
    return Recorder(scenario=scenario, parameters=parameters)
