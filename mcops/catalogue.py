"""notebooks/README.md: which notebook to open for a symptom or an alert, and what it checks.

Generated, never edited by hand, so it cannot drift from what it describes: the symptom
and the title come from each notebook (``metadata.mcops.symptom``, the first heading), the
alerts, checks and runbook section from `mcops.registry`. ``make catalogue`` (or
``python -m mcops.catalogue --write``) rewrites it; tests/mcops/test_catalogue.py fails
while the committed file differs from what this module generates.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mcops.registry import ALERTS, SCENARIOS, checks_of

__all__ = [
    "CATALOGUE",
    "NOTEBOOKS",
    "REGENERATE",
    "RUNBOOKS",
    "CatalogueError",
    "Entry",
    "entries",
    "main",
    "render",
]

#: The scenario notebooks, beside this package in the repository.
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: The generated catalogue.
CATALOGUE = NOTEBOOKS / "README.md"
#: The two runbooks by title (the registry and thresholds.yaml call them by number).
RUNBOOKS = {
    "000": "Actor System Operations Runbook",
    "004": "MC Service Incident Response Runbook",
}
#: How to bring the committed file up to date.
REGENERATE = "make catalogue  (or: .venv/bin/python -m mcops.catalogue --write)"


class CatalogueError(ValueError):
    """A notebook and the registry disagree, or a notebook lacks what the catalogue needs."""


@dataclass(frozen=True)
class Entry:
    """One row: a scenario notebook, what brings you to it, what it checks, where it is from."""

    scenario: str
    title: str
    symptom: str
    alerts: tuple[str, ...]
    checks: tuple[str, ...]
    section: str


def _title(cells: list[dict], name: str) -> str:
    """The first heading's subject: "Crash loop" of "# Crash loop — runbook 000 FM1 ..."."""
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell.get("source", ""))
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].split(" — ", 1)[0].strip()
    raise CatalogueError(f"{name}: no '# Title' heading in a markdown cell")


def _read(path: Path) -> tuple[str, str]:
    """(title, symptom) from a notebook file."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    symptom = nb.get("metadata", {}).get("mcops", {}).get("symptom", "").strip()
    if not symptom:
        raise CatalogueError(
            f"{path.name}: no metadata.mcops.symptom — fix: add the symptom that brings an "
            "engineer to this notebook (one line) to the notebook's metadata"
        )
    return _title(nb.get("cells", []), path.name), symptom


def entries(notebooks: Path = NOTEBOOKS) -> list[Entry]:
    """One entry per registered scenario, in registry order; CatalogueError on a mismatch."""
    found = {p.stem for p in notebooks.glob("*.ipynb")}
    if found != set(SCENARIOS):
        raise CatalogueError(
            "notebooks and mcops/registry SCENARIOS differ: "
            f"not registered {sorted(found - set(SCENARIOS))}, "
            f"no notebook {sorted(set(SCENARIOS) - found)}"
        )
    out = []
    for name, scenario in SCENARIOS.items():
        title, symptom = _read(notebooks / f"{name}.ipynb")
        alerts = tuple(sorted(alert for alert, target in ALERTS.items() if target == name))
        checks = tuple(spec.id for spec in checks_of(name))
        out.append(Entry(name, title, symptom, alerts, checks, scenario.section))
    return out


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _row(entry: Entry) -> str:
    why = _cell(entry.symptom)
    if entry.alerts:
        label = "alert" if len(entry.alerts) == 1 else "alerts"
        why += f"<br>{label} " + ", ".join(f"`{a}`" for a in entry.alerts)
    notebook = f"[{entry.scenario}]({entry.scenario}.ipynb)<br>{_cell(entry.title)}"
    checks = ", ".join(f"`{c}`" for c in entry.checks) or "none: drafts from other runs"
    return f"| {why} | {notebook} | {checks} | {_cell(entry.section)} |"


def render(notebooks: Path = NOTEBOOKS) -> str:
    """The catalogue's Markdown text."""
    rows = entries(notebooks)
    runbooks = "; ".join(f"{number} is the *{title}*" for number, title in RUNBOOKS.items())
    lines = [
        "# Scenario notebooks",
        "",
        "<!-- Generated from each notebook's metadata and mcops/registry by `make catalogue`. -->",
        "",
        "Find the symptom or the firing alert, open the notebook (`.venv/bin/jupyter lab",
        "notebooks/`) or run it headless (`.venv/bin/mcops run SCENARIO -p ...`). The checks",
        "are the ids its findings carry; the section is where in the runbooks the notebook",
        f"comes from ({runbooks}).",
        "",
        "| symptom or alert | notebook | checks it runs | runbook section |",
        "|---|---|---|---|",
        *(_row(entry) for entry in rows),
        "",
        "## By alert",
        "",
        "| alert | notebook |",
        "|---|---|",
        *(
            f"| `{alert}` | [{target}]({target}.ipynb) |"
            for alert, target in sorted(ALERTS.items())
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the catalogue, or write it to notebooks/README.md with ``--write``."""
    parser = argparse.ArgumentParser(prog="python -m mcops.catalogue", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {CATALOGUE.name}")
    args = parser.parse_args(argv)
    try:
        text = render()
    except CatalogueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.write:
        CATALOGUE.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
