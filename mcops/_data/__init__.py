"""Where the files mcops ships beside its code are: scenario notebooks, Prometheus rules
(and their promtool tests), the Grafana dashboard.

The repository keeps one copy of each, at the top (``notebooks/``, ``deploy/prometheus/``,
``deploy/grafana/``); ``setup.py`` maps them into this package when a wheel or sdist is
built, so an installed mcops finds them here. A source checkout (editable install, or
``python -m mcops.cli`` from the tree) has no copy here and uses the top-level ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

__all__ = ["SOURCES", "DataDir", "data_dir"]

#: name inside this package -> the repository directory it is built from
SOURCES: dict[str, str] = {
    "notebooks": "notebooks",
    "prometheus": "deploy/prometheus",
    "grafana": "deploy/grafana",
}

PACKAGE = "the installed package"
SOURCE_TREE = "the source tree"


class DataDir(NamedTuple):
    """A shipped directory and where it was found (`PACKAGE` or `SOURCE_TREE`)."""

    path: Path
    origin: str


def data_dir(name: str) -> DataDir | None:
    """The directory ``name`` (a key of `SOURCES`) from the installed package, else from
    the source tree this package sits in; None when neither has it (a broken install)."""
    if name not in SOURCES:
        raise KeyError(f"no shipped directory {name!r}; known: {', '.join(SOURCES)}")
    packaged = Path(__file__).resolve().parent / name
    if packaged.is_dir():
        return DataDir(packaged, PACKAGE)
    tree = Path(__file__).resolve().parents[2] / SOURCES[name]
    if tree.is_dir():
        return DataDir(tree, SOURCE_TREE)
    return None
