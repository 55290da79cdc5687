"""Project-level contracts: dependency lists agree, notebooks are stored clean."""

from __future__ import annotations

import json
import re
import sys
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


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"the Makefile defines no {name}"
    return match.group(1).strip()


#: language_info as ipykernel reports it, less the Python version (the git filter drops that)
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


def test_every_notebook_names_the_kernel_make_setup_registers():
    """JupyterLab rewrites a kernelspec that differs from the running kernel's: git dirt."""
    registered = {
        "display_name": _make_variable("KERNEL_DISPLAY_NAME"),
        "language": "python",
        "name": _make_variable("KERNEL_NAME"),
    }
    setup = (ROOT / "Makefile").read_text()
    assert "ipykernel install --sys-prefix --name $(KERNEL_NAME)" in setup
    assert '--display-name "$(KERNEL_DISPLAY_NAME)"' in setup
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        metadata = json.loads(path.read_text())["metadata"]
        assert metadata["kernelspec"] == registered, f"{path.name}: not the registered kernel"
        assert metadata["language_info"] == LANGUAGE_INFO, f"{path.name}: language_info"
    installed = Path(sys.prefix) / "share/jupyter/kernels" / registered["name"] / "kernel.json"
    if installed.is_file():  # after make setup: the venv's own spec says the same
        spec = json.loads(installed.read_text())
        assert (spec["display_name"], spec["language"]) == (
            registered["display_name"],
            registered["language"],
        )


def test_notebooks_pass_through_nbstripout_which_make_setup_configures():
    attributes = (ROOT / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout" in attributes
    assert "*.ipynb diff=ipynb" in attributes
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^setup:.*\bgit-filter\b.*\bjupyter-config\b", makefile, re.MULTILINE)
    assert '"mcops.jupyter_save": true' in makefile, "the post-save hook that keeps status clean"
    for key in ("clean", "smudge", "required", "extrakeys"):
        assert f"git config filter.nbstripout.{key} " in makefile
    keys = _make_variable("NBSTRIPOUT_KEYS").split()
    assert "metadata.language_info.version" in keys
    assert not any("tags" in key for key in keys), "cell tags (parameters) must stay"


RUNBOOK_TITLES = ("Actor System Operations Runbook", "MC Service Incident Response Runbook")
#: a path that leaves the repository: where the runbooks lived beside it, or a machine's own
OUTSIDE = re.compile(r"(\.\./)+shared|shared/runbooks|file://|(?<![\w.])/(work|home|tmp)/")
LINK = re.compile(r"\]\(([^)\s]+)[^)]*\)|href=\"([^\"]+)\"")
SKIP_DIRS = {".git", ".venv", "evidence", "build", "dist", "node_modules", ".lab"}


def _documents() -> list[Path]:
    """Every Markdown file and notebook of the repository."""
    out = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIP_DIRS or p.startswith(".") or p.endswith(".egg-info") for p in parts):
            continue
        if path.suffix in (".md", ".ipynb") and path.is_file():
            out.append(path)
    return out


def _text_and_links(path: Path) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        text = "\n".join("".join(c["source"]) for c in cells)
        markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        markdown = text
    return text, [a or b for a, b in LINK.findall(markdown)]


def test_the_readme_names_the_runbooks_by_title():
    readme = " ".join((ROOT / "README.md").read_text().split())  # titles wrap across lines
    for title in RUNBOOK_TITLES:
        assert title in readme, f"README.md does not name the {title!r}"


def test_no_document_points_outside_the_repository():
    """A clone has no ../shared: a link or path there is a dead end for its reader, and a
    link to the web is one an on-call engineer may not reach; documents link each other."""
    documents = _documents()
    names = {str(p.relative_to(ROOT)) for p in documents}
    assert {"README.md", "notebooks/README.md", "notebooks/triage.ipynb"} <= names
    for path in documents:
        text, links = _text_and_links(path)
        where = path.relative_to(ROOT)
        assert not (m := OUTSIDE.search(text)), f"{where} points outside: {m.group(0)!r}"
        for link in links:
            if link.startswith("#"):  # an anchor of this page
                continue
            assert not re.match(r"[a-z][a-z0-9+.-]*:", link), f"{where} links out: {link}"
            target = (path.parent / link.split("#", 1)[0]).resolve()
            assert target.is_relative_to(ROOT), f"{where}: {link} leaves the repository"
            assert target.exists(), f"{where}: {link} does not exist"
