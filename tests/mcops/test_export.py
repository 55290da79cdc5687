"""The evidence HTML is a report first, fully offline, with one plotly.js per directory.

Built from a hand-made executed notebook (no kernel): the browser test in
test_html_browser.py opens a real run's page.
"""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import plotly.express as px
import plotly.io as pio
import pytest

from mcops.display import PLOTLY_MIME, finding_bundle, severity_bundle, summary_bundle
from mcops.export import PLOTLY_JS, notebook_to_html, write_report
from mcops.notebook import PLOTLY_RENDERER
from mcops.severity import assess

SUMMARY = {
    "scenario": "triage",
    "status": "ok",
    "started_at": "2026-11-30T05:00:00Z",
    "finished_at": "2026-11-30T05:00:09Z",
    "parameters": {"service_url": "http://127.0.0.1:8080", "window": "1h", "database_url": ""},
    "severity": {
        "scheme": "SEV",
        "level": "SEV3",
        "reason": "Degraded: p95_latency (p95 0.9042486090583017 s).",
        "response_time": None,
        "escalation": "Escalate if it lasts.",
        "next_scenarios": ["high_latency"],
    },
    "findings": [
        {"check": "health", "level": "ok", "title": "healthy", "count": 0, "data": []},
        {
            "check": "key_metrics",
            "level": "warning",
            "title": "2 metrics out of range",
            "count": 2,
            "data": [{"metric": f"m{i}", "value": i / 7} for i in range(13)],
        },
    ],
    "sources": {
        "service": {"state": "ok", "detail": ""},
        "logs": {"state": "unreachable", "detail": "no such file"},
    },
    "remediations": [],
}


def figure_bundle() -> dict:
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    return pio.renderers[PLOTLY_RENDERER].to_mimebundle(
        px.bar(frame, x="x", y="y", title="</script><b>x</b>")
    )


def executed_notebook() -> nbformat.NotebookNode:
    verdict = assess([], scheme="SEV")
    value = verdict._repr_mimebundle_()
    out = nbformat.v4.new_output
    cells = [
        nbformat.v4.new_markdown_cell("# Triage\nThe first minutes."),
        nbformat.v4.new_code_cell('service_url = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## Step 1 — Is it alive?"),
        nbformat.v4.new_code_cell(
            "health = inv.probe_health()",
            outputs=[out("display_data", finding_bundle(SUMMARY["findings"][0]))],
        ),
        nbformat.v4.new_markdown_cell("## Step 2 — A plot"),
        nbformat.v4.new_code_cell("plots.bar(...)", outputs=[out("display_data", figure_bundle())]),
        nbformat.v4.new_code_cell(
            "inv.conclude(severity_scheme)",
            outputs=[
                out("display_data", severity_bundle(SUMMARY["severity"])),
                out("display_data", summary_bundle(SUMMARY)),
                out("execute_result", value, execution_count=7),
            ],
        ),
    ]
    return nbformat.v4.new_notebook(cells=cells)


@pytest.fixture(scope="module")
def page() -> str:
    return notebook_to_html(executed_notebook(), summary=SUMMARY)


def test_the_verdict_comes_before_the_findings_and_the_steps(page):
    verdict = page.index('id="verdict"')
    assert page.index("SEV3 (SEV): Degraded") > verdict
    findings = page.index('id="findings"')
    steps = page.index("Step 1 — Is it alive?")
    assert verdict < findings < steps
    first_code = page.index('class="mcops-code"')
    assert findings < first_code
    head = page[verdict:findings]
    assert "mcops run high_latency -p service_url=http://127.0.0.1:8080 -p window=1h" in head
    assert "logs" in head and "unreachable" in head and "no such file" in head
    # worst first in the findings table
    assert page.index("key_metrics", findings) < page.index("<code>health</code>", findings)


def test_code_is_folded_and_one_button_unfolds_it(page):
    assert page.count('<details class="mcops-code">') == 4  # one per code cell
    assert "<details open" not in page
    assert 'onclick="mcopsToggleCode(this)"' in page
    assert "In&nbsp;[" not in page  # no prompts: a report, not a notebook


def test_tables_say_how_many_rows_numbers_are_rounded_and_no_repr(page):
    assert "10 of 13 rows" in page
    # the overview folds each finding's rows behind that line; the steps show them
    assert '<details class="mcops-rows"><summary>10 of 13 rows</summary>' in page
    assert "0.9042486090583017" not in page and "0.904" in page
    assert "Severity(" not in page and "timedelta(" not in page
    assert "mcops-severity-value" in page  # the cell's value, hidden: it repeats the verdict


def test_nothing_is_loaded_from_a_network(page):
    sources = re.findall(
        r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"']?([^\"' >]+)", page
    )
    assert sources == [PLOTLY_JS]
    assert not re.search(r"@import|url\(\s*[\"']?https?:", page)
    assert not re.search(r"cdnjs|unpkg|jsdelivr|cdn\.plot\.ly|fonts\.googleapis", page)


def test_a_figure_is_drawn_from_its_json_by_the_one_plotly_js(page):
    assert page.count(f'src="{PLOTLY_JS}"') == 1
    assert page.count("mcopsPlot(") == 2  # the function and one call
    assert 'id="mcops-plot-1"' in page
    assert "</script><b>" not in page  # the title cannot end the script early
    assert "plotly.js v" not in page  # the library is not in the page


def test_pages_rendered_in_turn_or_in_threads_are_the_same_page():
    """The exporter is kept per thread (templates compiled once); each page still numbers
    its figures from 1, and renders from other threads at the same time are identical."""
    import copy
    from concurrent.futures import ThreadPoolExecutor

    notebook = executed_notebook()

    def render(_: object = None) -> str:
        return notebook_to_html(copy.deepcopy(notebook), summary=SUMMARY)

    first, second = render(), render()
    assert first == second and 'id="mcops-plot-1"' in second
    assert 'id="mcops-plot-2"' not in second
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(render, range(8))) == {first}


def test_the_notebook_keeps_the_figure_json_without_plotly_js():
    bundle = figure_bundle()
    assert set(bundle) == {PLOTLY_MIME}
    notebook = nbformat.writes(executed_notebook())
    assert "plotly.js v" not in notebook and "Plotly.newPlot" not in notebook
    assert len(notebook) < 100_000


def test_plotly_js_is_written_once_per_directory(tmp_path):
    nb = executed_notebook()
    assert write_report(nb, tmp_path, "triage", summary=SUMMARY) == ["triage.html", PLOTLY_JS]
    stamp = (tmp_path / PLOTLY_JS).stat().st_mtime_ns
    assert write_report(nb, tmp_path, "other", summary=SUMMARY) == ["other.html", PLOTLY_JS]
    assert (tmp_path / PLOTLY_JS).stat().st_mtime_ns == stamp  # shared, not rewritten
    assert "plotly.js v" in (tmp_path / PLOTLY_JS).read_text()
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("no plots")])
    (tmp_path / "plain").mkdir()
    assert write_report(plain, tmp_path / "plain", "p", summary=SUMMARY) == ["p.html"]
    assert not (tmp_path / "plain" / PLOTLY_JS).exists()


def test_a_run_that_failed_before_its_verdict_says_so_first():
    failed = {**SUMMARY, "status": "error", "severity": None, "error": {"message": "cell 3 raised"}}
    page = notebook_to_html(executed_notebook(), summary=failed)
    head = page[page.index('id="verdict"') : page.index('id="findings"')]
    assert "no verdict" in head and "Run status: error." in head and "cell 3 raised" in head


def test_without_a_summary_the_notebooks_own_is_used():
    page = notebook_to_html(executed_notebook())
    assert "SEV3 (SEV): Degraded" in page[: page.index('id="findings"')]
