"""The one HTML table of rows, shared by findings and remediation plans."""

from __future__ import annotations

from mcops.display import findings_table_html, rows_table_html
from mcops.remediate import Plan


def test_the_table_says_how_many_rows_it_shows():
    rows = [{"id": i} for i in range(50)]
    html = rows_table_html(rows, total=61)
    assert html.count("<tr>") == 11  # header + 10 rows
    assert "10 of 61 rows" in html
    assert "mcops-rows-shown" not in rows_table_html(rows[:3])


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
