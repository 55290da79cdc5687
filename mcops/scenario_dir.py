"""Where scenario notebooks are found, and which one a scenario name means.

First found: ``--notebooks DIR``, ``$MCOPS_NOTEBOOKS``, the notebooks the installed
package carries (`mcops._data`), the repository's ``notebooks/`` in a source checkout.
`mcops.runner` re-exports these.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import mcops
from mcops.errors import ParameterError

__all__ = [
    "NOTEBOOKS_ENV",
    "NotebooksDir",
    "default_notebooks_dir",
    "find_notebook",
    "list_scenarios",
    "notebooks_dir_and_origin",
]

NOTEBOOKS_ENV = "MCOPS_NOTEBOOKS"


class NotebooksDir(NamedTuple):
    """The scenario notebooks directory and which source named it (`mcops list` says)."""

    path: Path
    origin: str


def notebooks_dir_and_origin(given: Path | None = None) -> NotebooksDir:
    """Where scenarios come from, first found: ``given`` (``--notebooks DIR``),
    ``$MCOPS_NOTEBOOKS``, the installed package, the source tree (a checkout)."""
    if given is not None:
        return NotebooksDir(Path(given), "--notebooks")
    configured = os.environ.get(NOTEBOOKS_ENV)
    if configured:
        return NotebooksDir(Path(configured), f"${NOTEBOOKS_ENV}")
    from mcops._data import PACKAGE, data_dir

    shipped = data_dir("notebooks")
    if shipped is None:  # a broken install: find_notebook names the fix
        return NotebooksDir(Path(mcops.__file__).resolve().parent / "_data" / "notebooks", PACKAGE)
    return NotebooksDir(shipped.path, shipped.origin)


def default_notebooks_dir() -> Path:
    """``$MCOPS_NOTEBOOKS``, else the notebooks the installed package carries (in a source
    checkout: the repository's ``notebooks/``)."""
    return notebooks_dir_and_origin().path


def list_scenarios(notebooks_dir: Path) -> list[str]:
    """Scenario names: the ``*.ipynb`` files in ``notebooks_dir``, sorted."""
    return sorted(p.stem for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def find_notebook(scenario: str, notebooks_dir: Path) -> Path:
    """The notebook of ``scenario``; ParameterError listing the known ones if absent."""
    path = notebooks_dir / f"{scenario}.ipynb"
    if not path.is_file():
        known = ", ".join(list_scenarios(notebooks_dir)) or "(none)"
        raise ParameterError(
            f"no scenario {scenario!r} in {notebooks_dir} — fix: use one of: {known}, or "
            f"point --notebooks / ${NOTEBOOKS_ENV} at the right directory (an install with "
            "no notebooks at all: reinstall mcops from its wheel)",
            name="scenario",
        )
    return path
