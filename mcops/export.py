"""HTML export of an executed scenario notebook: offline, plots interactive.

nbconvert's JupyterLab template, extended (``templates/mcops_html``) so that the
``application/vnd.mcops.summary+json`` output is drawn as the summary table instead of
falling back to its text. Plotly figures need the kernel to have used
`mcops.notebook.PLOTLY_RENDERER`, which embeds plotly.js in the notebook itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcops.display import SUMMARY_MIME, summary_html

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAME", "notebook_to_html"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "mcops_html"


def notebook_to_html(nb: Any) -> str:
    """Render an nbformat notebook to one self-contained HTML page."""
    from nbconvert import HTMLExporter
    from nbconvert.utils.base import NbConvertBase
    from traitlets.config import Config

    config = Config()
    # Set through Config: filter_data_type reads the priority from the config object.
    priority = [SUMMARY_MIME, *NbConvertBase().display_data_priority]
    config.NbConvertBase.display_data_priority = priority
    exporter = HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
    )
    exporter.register_filter("mcops_summary_html", summary_html)
    body, _resources = exporter.from_notebook_node(nb)
    return body
