"""HTML export of an executed scenario notebook: a report first, offline, plots interactive.

The page opens with the verdict (severity and why, response time, escalation, next
commands, the state of each source), then the findings, then the runbook's steps with
their outputs and plots; code is folded away (one click per cell, or one button for all).
Nothing is loaded from a network: nbconvert's JupyterLab template (``templates/mcops_html``)
without its CDN scripts, and plotly.js from ``plotly.min.js`` beside the HTML, written once
per evidence directory. The executed notebook keeps each figure as its JSON only
(``application/vnd.plotly.v1+json``, see `mcops.notebook.PLOTLY_RENDERER`); the page draws
it from there.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcops.display import (
    LEVEL_COLOURS,
    PLOTLY_MIME,
    SUMMARY_MIME,
    findings_table_html,
    human_text,
    rows_shown,
    severity_colour,
    severity_lines,
)
from mcops.storage import write_atomic

__all__ = ["PLOTLY_JS", "TEMPLATE_DIR", "TEMPLATE_NAME", "notebook_to_html", "write_report"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "mcops_html"
#: plotly.js beside the HTML pages of an evidence directory, shared by all of them.
PLOTLY_JS = "plotly.min.js"
_PLOT_HEIGHT = 450
_LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2, "ok": 3}


def write_report(
    nb: Any, out: Path, name: str, *, summary: Mapping[str, Any] | None = None
) -> list[str]:
    """Write ``out/NAME.html`` (and ``out/plotly.min.js`` when a figure needs it, unless
    it is already there); return the names of the files written, for ``artifacts``."""
    html = notebook_to_html(nb, summary=summary)
    write_atomic(out / f"{name}.html", html)  # whole or not at all (a full disk)
    written = [f"{name}.html"]
    if _has_plots(nb):
        from plotly.offline import get_plotlyjs

        path, source = out / PLOTLY_JS, get_plotlyjs()
        if not path.is_file() or path.read_text(encoding="utf-8") != source:
            write_atomic(path, source)
        written.append(PLOTLY_JS)
    return written


def notebook_to_html(nb: Any, *, summary: Mapping[str, Any] | None = None) -> str:
    """Render an nbformat notebook to one report page.

    ``summary`` is the run's summary.json dict (the runner's, which knows a failed run);
    without it the summary the notebook displayed is used.
    """
    from mcops.evidence import summary_from_notebook

    if summary is None:
        summary = summary_from_notebook(nb) or {}
    exporter = _exporter()
    level = (summary.get("severity") or {}).get("level") or summary.get("status", "")
    resources = {
        "metadata": {"name": f"{summary.get('scenario', 'mcops')}: {level} — mcops evidence"},
        "mcops": {
            "header": report_header_html(summary),
            "plotly_src": PLOTLY_JS if _has_plots(nb) else "",
        },
    }
    _plot_ids.count = itertools.count(1)  # each page numbers its figures from 1
    body, _resources = exporter.from_notebook_node(nb, resources=resources)
    return body


#: This thread's exporter and the figure counter of the page it renders: the exporter
#: compiles its templates once (0.4 s), so a report or an alert receiver pays it once.
_plot_ids = threading.local()
_exporters = threading.local()


def _exporter() -> Any:
    exporter = getattr(_exporters, "html", None)
    if exporter is not None:
        return exporter
    from nbconvert import HTMLExporter
    from nbconvert.utils.base import NbConvertBase
    from traitlets.config import Config

    config = Config()
    # Set through Config: filter_data_type reads the priority from the config object.
    priority = [SUMMARY_MIME, PLOTLY_MIME, *NbConvertBase().display_data_priority]
    config.NbConvertBase.display_data_priority = priority
    exporter = HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_filter("mcops_plot_html", _plot_html)
    _exporters.html = exporter
    return exporter


def report_header_html(summary: Mapping[str, Any]) -> str:
    """The first screen: verdict, what to do, sources; then the findings, worst first."""
    from mcops.next_steps import next_commands

    scenario = str(summary.get("scenario", ""))
    severity = summary.get("severity") or {}
    level = str(severity.get("level", ""))
    colour = LEVEL_COLOURS[severity_colour(level)] if severity else LEVEL_COLOURS["info"]
    parts = [f'<section class="mcops-verdict" id="verdict" style="border-left-color:{colour}">']
    status = str(summary.get("status", ""))
    title = f"{scenario}: {level}" if severity else f"{scenario}: no verdict"
    parts.append(f"<h1>{_esc(title)}</h1>")
    if severity:
        first, *rest = severity_lines({**severity, "next_scenarios": []})
        parts.append(f'<p class="mcops-reason"><b>{_esc(first)}</b></p>')
        parts += [f"<p>{_esc(line)}</p>" for line in rest]
        if severity.get("upgraded_from"):
            triggers = "; ".join(severity.get("triggers") or [])
            parts.append(
                f"<p>Upgraded from {_esc(severity['upgraded_from'])}: {_esc(triggers)}</p>"
            )
    else:
        parts.append("<p><b>The notebook stopped before it reached a verdict.</b></p>")
    error = summary.get("error") or {}
    if status == "error" or error:
        parts.append(
            f'<p class="mcops-error"><b>Run status: error.</b> {_esc(error.get("message", ""))}</p>'
        )
    scenarios = list(severity.get("next_scenarios") or [])
    if scenarios:
        commands = next_commands(scenarios, summary.get("parameters") or {})
        items = "".join(f"<li><code>{_esc(command)}</code></li>" for command in commands)
        parts.append(f'<div class="mcops-next"><b>Next:</b><ol>{items}</ol></div>')
    parts.append(_sources_html(summary.get("sources") or {}))
    run = " · ".join(
        f"{key.replace('_', ' ')} {summary[key]}"
        for key in ("status", "started_at", "finished_at")
        if summary.get(key)
    )
    parts.append(f'<p class="mcops-run">{_esc(run)}</p></section>')
    findings = sorted(
        summary.get("findings") or [], key=lambda f: _LEVEL_ORDER.get(f.get("level"), 4)
    )
    parts.append(
        f'<section class="mcops-findings-section" id="findings"><h2>Findings '
        f"<small>{_esc(rows_shown(len(findings), len(findings)))}, worst first</small></h2>"
        f"{findings_table_html(findings, fold_rows=True)}</section>"
    )
    parts.append(_remediations_html(summary.get("remediations") or []))
    parts.append(_parameters_html(summary.get("parameters") or {}))
    return "".join(parts)


def _sources_html(sources: Mapping[str, Mapping[str, Any]]) -> str:
    if not sources:
        return ""
    rows = "".join(
        f'<tr><td><code>{_esc(name)}</code></td><td class="mcops-state-{_esc(_state_class(s))}">'
        f"{_esc(s.get('state', ''))}</td><td>{_esc(human_text(s.get('detail', '')))}</td></tr>"
        for name, s in sources.items()
    )
    return (
        '<table class="mcops-sources"><thead><tr><th>source</th><th>state</th><th>detail</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f'<div class="mcops-rows-shown">{rows_shown(len(sources), len(sources))}</div>'
    )


def _state_class(state: Mapping[str, Any]) -> str:
    """ok; "not given" (a choice, not trouble); anything else failed when it was asked."""
    text = str(state.get("state", ""))
    return {"ok": "ok", "not given": "unused"}.get(text, "bad")


def _remediations_html(remediations: list[Mapping[str, Any]]) -> str:
    if not remediations:
        return ""
    items = "".join(
        f"<li><code>{_esc(r.get('action', ''))}</code> {_esc(r.get('mode', ''))}: "
        f"{_esc(r.get('changes', 0))} change(s)"
        f"{_esc(' — ' + str(r['error'])) if r.get('error') else ''}</li>"
        for r in remediations
    )
    return f'<section class="mcops-remediations"><h2>Remediations</h2><ul>{items}</ul></section>'


def _parameters_html(parameters: Mapping[str, Any]) -> str:
    given = {name: value for name, value in parameters.items() if value not in ("", None)}
    if not given:
        return ""
    rows = "".join(
        f"<tr><td><code>{_esc(name)}</code></td><td>{_esc(value)}</td></tr>"
        for name, value in given.items()
    )
    return (
        f'<details class="mcops-parameters"><summary>Parameters ({len(given)} set)</summary>'
        f'<table class="mcops-data"><tbody>{rows}</tbody></table>'
        f'<div class="mcops-rows-shown">{rows_shown(len(given), len(given))}</div></details>'
    )


def _plot_html(figure: Mapping[str, Any]) -> str:
    """A Jinja filter drawing one figure; ids count up per page, so it is reproducible."""
    div_id = f"mcops-plot-{next(_plot_ids.count)}"
    layout = dict(figure.get("layout") or {})
    config = {k: v for k, v in (figure.get("config") or {}).items() if k != "plotlyServerURL"}
    config.setdefault("responsive", True)
    height = layout.get("height") or _PLOT_HEIGHT
    return (
        f'<div id="{div_id}" class="plotly-graph-div mcops-plot" '
        f'style="height:{int(height)}px;width:100%"></div>'
        f"<script>mcopsPlot({_script_json(div_id)}, {_script_json(figure.get('data', []))}, "
        f"{_script_json(layout)}, {_script_json(config)});</script>"
    )


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no ``</script>`` can end it early."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _has_plots(nb: Any) -> bool:
    return any(
        PLOTLY_MIME in (output.get("data") or {})
        for cell in nb.get("cells", [])
        for output in cell.get("outputs", [])
    )


def _esc(value: Any) -> str:
    import html

    return html.escape(str(value))
