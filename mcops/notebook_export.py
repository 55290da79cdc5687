"""Copy the scenario notebooks into a workspace to open in JupyterLab.

An installed mcops keeps its notebooks inside the package, where nobody should edit
them; ``mcops notebooks export DIR`` puts a copy (and their README) where an engineer
works, and registers the Jupyter kernel the notebooks name so they open with a kernel
that imports this mcops. ``DIR/.mcops-export.json`` records the SHA-256 of each file as
exported: a later export updates the files left as they were and refuses, naming them,
to overwrite one that was edited, unless forced.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mcops.errors import McopsError
from mcops.storage import write_atomic

__all__ = ["RECORD", "ExportRefused", "Exported", "KernelSpec", "export", "register_kernel"]

RECORD = ".mcops-export.json"
README = "README.md"


class ExportRefused(McopsError):
    """The export would overwrite a copy someone edited (or one it did not write)."""


@dataclass(frozen=True)
class KernelSpec:
    """The kernel the notebooks' metadata names, as it was registered."""

    name: str
    display_name: str
    where: str
    """``sys-prefix`` (inside a virtual environment) or ``user``."""
    path: Path


@dataclass
class Exported:
    """What an export did, file by file."""

    directory: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    """Edited copies replaced because the export was forced."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record(directory: Path) -> dict[str, str]:
    path = directory / RECORD
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (json.JSONDecodeError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def export(source: Path, directory: Path, *, force: bool = False) -> Exported:
    """Copy ``source``'s notebooks and README into ``directory``.

    A file already there is replaced only when it is as the last export left it (or
    already identical); otherwise ExportRefused names every such file and nothing is
    written, unless ``force``.
    """
    names = sorted(p.name for p in source.glob("*.ipynb") if not p.name.startswith("."))
    if not names:
        raise ExportRefused(
            f"no notebooks in {source} to export — fix: reinstall mcops from its wheel, or "
            "point --notebooks / $MCOPS_NOTEBOOKS at the scenario notebooks"
        )
    if (source / README).is_file():
        names.append(README)
    if directory.exists() and not directory.is_dir():
        raise ExportRefused(f"{directory} is a file — fix: give a directory to export into")
    recorded = _record(directory)
    new = {name: (source / name).read_bytes() for name in names}
    done = Exported(directory)
    edited: list[str] = []
    for name, data in new.items():
        target = directory / name
        if not target.exists():
            done.written.append(name)
            continue
        have = _sha256(target.read_bytes())
        if have == _sha256(data):
            done.unchanged.append(name)
        elif recorded.get(name) == have:
            done.written.append(name)  # as exported last time: an update, not an edit
        else:
            edited.append(name)
    if edited and not force:
        shown = ", ".join(edited)
        raise ExportRefused(
            f"{directory} has edited copies that the export would overwrite: {shown} — fix: "
            "move them away (or export into another directory), or pass --force to replace them"
        )
    done.overwritten = edited
    directory.mkdir(parents=True, exist_ok=True)
    for name in [*done.written, *edited]:
        write_atomic(directory / name, new[name])
    files = {name: _sha256(data) for name, data in new.items()}
    write_atomic(directory / RECORD, json.dumps({"source": str(source), "files": files}, indent=2))
    return done


def notebook_kernel(notebook: Path) -> tuple[str, str]:
    """(name, display name) of the kernelspec ``notebook``'s metadata names."""
    spec = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
    name = spec.get("name") or "python3"
    return name, spec.get("display_name") or name


def register_kernel(name: str, display_name: str) -> KernelSpec:
    """Register kernel ``name`` for this interpreter (the one that imports this mcops):
    inside a virtual environment for that environment only, else for the user."""
    from ipykernel.kernelspec import install

    from mcops.slow_imports import skip_in_kernelspec

    in_venv = sys.prefix != sys.base_prefix
    path = install(
        kernel_name=name,
        display_name=display_name,
        user=not in_venv,
        prefix=sys.prefix if in_venv else None,
    )
    skip_in_kernelspec(Path(path) / "kernel.json")
    return KernelSpec(name, display_name, "sys-prefix" if in_venv else "user", Path(path))
