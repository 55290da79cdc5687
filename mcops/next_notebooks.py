"""The next scenarios as notebooks one click away, this run's parameters filled in.

In JupyterLab a verdict's "run crash_loop next" is a link: the next scenario's notebook,
copied into ``.mcops-next/`` beside this one with papermill's injected-parameters cell
(the common parameters, as `mcops.next_steps` carries them on the command line), opens
in a new tab ready for Run All. A parameter whose value holds a secret is not copied
(pass it as ``env:NAME`` and it is); the link says which to fill in. Headless runs get
the commands instead (`mcops.next_steps`); nothing is written there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NEXT_DIR", "NextNotebook", "next_links_markdown", "write_next_notebooks"]

#: Beside the notebook that links to them; the project's .gitignore leaves it out.
NEXT_DIR = ".mcops-next"
_NOT_CARRIED = frozenset({"apply_remediation"})


@dataclass(frozen=True)
class NextNotebook:
    """One written next notebook and the parameters left for the engineer to fill."""

    scenario: str
    path: Path
    left_out: tuple[str, ...] = ()


def carried_parameters(parameters: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the common parameters the next notebook gets, the names left out as secrets)."""
    from mcops.params import COMMON_PARAMETERS
    from mcops.secrets import redactor_for

    common = {p.name for p in COMMON_PARAMETERS}
    redactor = redactor_for(dict(parameters))
    carried, secret = {}, []
    for name, value in parameters.items():
        if name in _NOT_CARRIED or name not in common or value is None or value == "":
            continue
        if isinstance(value, str) and redactor.parameter(value) != value:
            secret.append(name)
            continue
        carried[name] = value
    return carried, secret


def write_next_notebooks(
    scenarios: Sequence[str],
    parameters: Mapping[str, Any],
    *,
    directory: Path,
    notebooks_dir: Path | None = None,
) -> list[NextNotebook]:
    """Write each scenario's notebook with these parameters injected into ``directory``."""
    import nbformat  # here: importing it costs a notebook's start ~2 s (jsonschema)
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from mcops.runner import default_notebooks_dir, find_notebook

    source_dir = notebooks_dir or default_notebooks_dir()
    carried, secret = carried_parameters(parameters)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in scenarios:
        notebook = load_notebook_node(str(find_notebook(scenario, source_dir)))
        filled = parameterize_notebook(notebook, carried, comment="From the run that sent you here")
        path = directory / f"{scenario}.ipynb"
        nbformat.write(filled, path)
        written.append(NextNotebook(scenario, path, tuple(secret)))
    return written


def next_links_markdown(notebooks: Sequence[NextNotebook], *, relative_to: Path) -> str:
    """Markdown links (relative, as JupyterLab opens them) to each next notebook."""
    lines = ["**Next** (opens with this run's parameters; Run All there):", ""]
    for item in notebooks:
        link = item.path.relative_to(relative_to).as_posix()
        fill = f" — fill in {', '.join(item.left_out)} (not copied: a secret)"
        lines.append(f"- [{item.scenario}]({link}){fill if item.left_out else ''}")
    return "\n".join(lines)


def show_next_notebooks(scenarios: Sequence[str], parameters: Mapping[str, Any]) -> None:
    """In an interactive kernel, write the next notebooks beside this one and link them."""
    from mcops.notebook import _interactive

    if not scenarios or not _interactive():
        return
    from IPython.display import Markdown, display

    here = Path.cwd()
    written = write_next_notebooks(scenarios, parameters, directory=here / NEXT_DIR)
    display(Markdown(next_links_markdown(written, relative_to=here)))
