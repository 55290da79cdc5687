"""The one call at the top of every scenario notebook.

    from mcops.notebook import setup, parameters_in
    ctx = setup("db_consistency", **parameters_in(globals()))

It makes plotly figures survive headless runs (interactive in JupyterLab and in the
offline HTML export) and returns the evidence `Recorder`. Connect with
``ctx.params["database_url"]`` (``env:NAME`` resolved), never with the raw variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcops.evidence import Recorder

__all__ = ["PLOTLY_RENDERER", "parameters_in", "setup", "use_offline_plotly"]

#: The mimetype keeps the figure in the .ipynb for JupyterLab; "notebook" adds HTML
#: with plotly.js embedded once, which nbconvert's HTML draws offline (FIELD-NOTES).
PLOTLY_RENDERER = "plotly_mimetype+notebook"

_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
_SCALARS = (str, int, float, bool, type(None), list, dict)


def use_offline_plotly() -> None:
    """Set plotly's default renderer to `PLOTLY_RENDERER`."""
    import plotly.io as pio

    pio.renderers.default = PLOTLY_RENDERER


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
    return Recorder(scenario=scenario, parameters=parameters)
