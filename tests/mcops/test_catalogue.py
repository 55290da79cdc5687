"""notebooks/README.md is the catalogue generated from the notebooks and the registry."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mcops.catalogue import CATALOGUE, NOTEBOOKS, REGENERATE, CatalogueError, entries, render
from mcops.registry import ALERTS, SCENARIOS, checks_of


def test_the_committed_catalogue_is_the_generated_one():
    assert CATALOGUE.read_text(encoding="utf-8") == render(), (
        f"notebooks/README.md is out of date — regenerate it: {REGENERATE}"
    )


def test_every_scenario_has_one_row_with_its_alerts_checks_and_section():
    rows = {entry.scenario: entry for entry in entries()}
    assert list(rows) == list(SCENARIOS)
    for name, entry in rows.items():
        assert entry.symptom and entry.title
        assert entry.checks == tuple(spec.id for spec in checks_of(name))
        assert entry.section == SCENARIOS[name].section
    routed = {alert for entry in rows.values() for alert in entry.alerts}
    assert routed == set(ALERTS), "every alert names the notebook it opens"


def test_every_link_in_the_catalogue_opens_a_notebook_beside_it():
    targets = re.findall(r"\]\(([^)]+)\)", render())
    assert targets
    for target in targets:
        assert (NOTEBOOKS / target).is_file(), f"{target} does not exist"


def _copy_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def test_a_notebook_without_a_symptom_is_refused_with_the_fix(tmp_path):
    folder = _copy_notebooks(tmp_path)
    path = folder / "triage.ipynb"
    nb = json.loads(path.read_text())
    del nb["metadata"]["mcops"]
    path.write_text(json.dumps(nb))
    with pytest.raises(CatalogueError, match=r"triage.ipynb: no metadata.mcops.symptom — fix"):
        render(folder)


def test_a_notebook_the_registry_does_not_declare_is_refused(tmp_path):
    folder = _copy_notebooks(tmp_path)
    shutil.copy(folder / "triage.ipynb", folder / "stray.ipynb")
    (folder / "postmortem.ipynb").unlink()
    with pytest.raises(
        CatalogueError, match=r"not registered \['stray'\], no notebook \['postmortem'\]"
    ):
        render(folder)
