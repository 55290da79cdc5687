"""Figures as PNG: opt-in, never fatal, drawn offline by headless Chromium."""

from __future__ import annotations

import json
import os
import shutil

import nbformat
import pytest

from mcops.bundle_figures import FIGURES_ENV, want_png, write_figures


def evidence_with_a_figure(tmp_path):
    out = tmp_path / "ev"
    out.mkdir()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plots.bars(...)")
    figure = {"data": [{"type": "bar", "x": ["c1", "c2"], "y": [2, 3]}], "layout": {}}
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"application/vnd.plotly.v1+json": figure, "text/plain": "fig"}
        )
    ]
    nb.cells.append(cell)
    (out / "db_consistency.ipynb").write_text(json.dumps(nb))
    return out


def test_no_png_unless_asked_for(tmp_path):
    out = evidence_with_a_figure(tmp_path)
    assert write_figures(out, environ={}) == []
    assert not (out / "figures").exists()


def test_no_png_and_no_error_without_a_browser(tmp_path):
    out = evidence_with_a_figure(tmp_path)
    missing = str(tmp_path / "no-chromium-here")
    assert write_figures(out, chromium=missing, environ={"MCOPS_FIGURES": "png"}) == []


@pytest.mark.slow
@pytest.mark.browser
def test_each_figure_becomes_a_png(tmp_path):
    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: make test installs it")
    out = evidence_with_a_figure(tmp_path)
    assert write_figures(out, environ={"MCOPS_FIGURES": "png"}) == ["figures/figure-01.png"]
    assert (out / "figures" / "figure-01.png").read_bytes().startswith(b"\x89PNG")


class _Stop(Exception):
    """Raised instead of running: the test only needs what the command asked for."""


def _stop(*args: object, **kwargs: object) -> None:
    raise _Stop


@pytest.mark.parametrize(
    ("argv", "png"),
    [
        (["report", "daily"], True),
        (["report", "daily", "--no-png"], False),
        (["run", "triage"], False),
        (["run", "triage", "--png"], True),
    ],
)
def test_a_report_asks_for_pngs_by_default_and_a_run_only_with_png(monkeypatch, argv, png):
    """`mcops report` makes attachments (PNGs unless --no-png); `mcops run` is an incident's
    first look and waits for no image unless --png."""
    from mcops.cli import build_parser

    monkeypatch.delenv(FIGURES_ENV, raising=False)
    monkeypatch.setattr("mcops.report_run.run_report", _stop)
    monkeypatch.setattr("mcops.runner.run_scenario", _stop)
    args = build_parser().parse_args(argv)
    with pytest.raises(_Stop):
        args.handler(args)
    assert (os.environ.get(FIGURES_ENV) == "png") is png


def test_an_explicit_figures_setting_wins(monkeypatch):
    monkeypatch.setenv(FIGURES_ENV, "off")
    want_png(True)
    assert os.environ[FIGURES_ENV] == "off"
