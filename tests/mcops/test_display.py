"""The one HTML table of rows, shared by findings and remediation plans."""

from __future__ import annotations

import pandas as pd

from mcops.display import findings_table_html, frame_table_html, human_text, rows_table_html
from mcops.remediate import Plan
from mcops.severity import assess


def test_the_table_says_how_many_rows_it_shows():
    rows = [{"id": i} for i in range(50)]
    html = rows_table_html(rows, total=61)
    assert html.count("<tr>") == 11  # header + 10 rows
    assert "10 of 61 rows" in html
    assert "3 of 3 rows" in rows_table_html(rows[:3])  # every table says, cut or not
    assert "1 of 1 row<" in rows_table_html(rows[:1])


def test_every_cell_is_escaped_and_numbers_are_rounded_for_people():
    html = rows_table_html(
        [
            {"<col>": "<b>x</b>", "ratio": 0.9042486090583017, "n": 12, "ms": 1234.5678},
            {"ratio": 12.3456, "n": None, "ms": float("nan"), "tags": {"a": "<i>"}},
        ]
    )
    assert "&lt;col&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert "0.9042486090583017" not in html and "<td>0.904</td>" in html
    assert "<td>12.35</td>" in html and "<td>1235</td>" in html and "<td>12</td>" in html
    assert "nan" not in html.lower() and "None" not in html
    assert "&lt;i&gt;" in html


def test_findings_and_plans_use_the_same_table():
    finding = {"level": "warning", "check": "c", "title": "t", "count": 61}
    finding["data"] = [{"id": i, "ratio": 1 / 3} for i in range(50)]
    shown = findings_table_html([finding])
    assert "10 of 61 rows" in shown and "<td>0.333</td>" in shown
    plan = Plan(
        action="a",
        target="t",
        changes=tuple({"id": i, "ratio": 2 / 3} for i in range(60)),
        fingerprint="f",
        summary="s",
    )
    html = plan._repr_html_()
    assert "50 of 60 rows" in html and "<td>0.667</td>" in html
    empty = Plan(action="a", target="t", changes=(), fingerprint="f", summary="s")
    assert "no changes" in empty._repr_html_()


def test_a_findings_count_is_not_its_rows_unless_the_rows_were_capped():
    # 63 error lines in 2 patterns: the table has 2 rows, not "2 of 63"
    grouped = {"level": "warning", "check": "error_logs", "title": "t", "count": 63}
    grouped["data"] = [{"pattern": "a", "n": 61}, {"pattern": "b", "n": 2}]
    assert "2 of 2 rows" in findings_table_html([grouped])
    # 13 metrics of which 2 are out of range: 10 of the 13 rows are shown
    metrics = {"level": "warning", "check": "key_metrics", "title": "t", "count": 2}
    metrics["data"] = [{"metric": f"m{i}", "value": i / 7} for i in range(13)]
    assert "10 of 13 rows" in findings_table_html([metrics])


def test_long_decimals_in_free_text_are_rounded_and_ids_are_not():
    assert human_text("p95 0.9042486090583017 s") == "p95 0.904 s"
    assert human_text("1234.56789 ms at 10.0.0.12, v1.2.3, 12:00:00.123456") == (
        "1235 ms at 10.0.0.12, v1.2.3, 12:00:00.123456"
    )


def test_a_dataframe_is_the_same_table_and_says_how_much_of_it_is_shown():
    frame = pd.DataFrame({"a": range(30), "ratio": [2 / 3] * 30})
    html = frame_table_html(frame)
    assert "20 of 30 rows" in html and "<td>0.667</td>" in html
    indexed = frame_table_html(frame.set_index("a").head(2))
    assert "<th>a</th>" in indexed and "2 of 2 rows" in indexed
    assert "0 rows (a, b)" in frame_table_html(pd.DataFrame({"a": [], "b": []}))


def test_severity_shows_as_the_verdict_not_its_repr():
    verdict = assess([], scheme="P")
    bundle = verdict._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}  # no mcops mimetype: not read back
    assert bundle["text/plain"].startswith("P4 (P): No check found a problem.")
    assert "Respond within 24 h." in bundle["text/plain"]
    assert all("Severity(" not in text and "timedelta" not in text for text in bundle.values())


def test_notebooks_show_dataframes_as_that_table():
    from types import SimpleNamespace

    from IPython.core.formatters import DisplayFormatter

    from mcops.notebook import use_report_tables

    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    use_report_tables(shell)
    data, _ = shell.display_formatter.format(pd.DataFrame({"ratio": [0.9042486090583017] * 25}))
    assert "20 of 25 rows" in data["text/html"] and "<td>0.904</td>" in data["text/html"]
    use_report_tables()  # outside IPython: nothing to do
