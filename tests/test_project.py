"""Project-level contracts: dependency lists agree, notebooks are stored clean."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# conda-forge names that differ from PyPI names
CONDA_NAMES = {"python-kubernetes": "kubernetes", "prometheus_client": "prometheus-client"}


def _name(requirement: str) -> str:
    name = re.split(r"[<>=!;\[ ]", requirement, maxsplit=1)[0].strip().lower()
    return CONDA_NAMES.get(name, name).replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        else:
            have.add(_name(dep))
    have -= {"python", "pip", "greenlet"}  # greenlet: conda's spelling of sqlalchemy[asyncio]
    assert wanted - have == set(), f"missing from environment.yml: {sorted(wanted - have)}"
    assert have - wanted == set(), f"missing from pyproject.toml: {sorted(have - wanted)}"


def test_notebooks_are_committed_without_outputs_and_with_parameters():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no scenario notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} has outputs committed"
                assert cell.get("execution_count") is None, f"{path.name} has execution counts"
        tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
        assert "parameters" in tags, f"{path.name} has no cell tagged 'parameters'"


def test_no_module_of_the_toolkit_is_over_400_lines():
    """STYLE: one concept per module, a few hundred lines at most."""
    toolkit = ROOT / "mcops"
    long = {
        str(path.relative_to(ROOT)): n
        for path in toolkit.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}, f"split these by concept: {long}"
