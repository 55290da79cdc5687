"""After Jupyter saves a notebook, tell git it is unchanged when its filter says so.

git passes ``*.ipynb`` through nbstripout (.gitattributes), so a notebook saved with its
outputs is, to git, the committed notebook: ``git diff`` is empty. ``git status`` still
calls it modified, because git trusts a file whose size differs from the index's record
without asking the filter. This post-save hook refreshes that record: it re-adds the
notebook through the filter and, when what would be staged is not exactly what was
staged, puts the staged entry back. So it never stages anything; it only spares the
engineer a "modified" that is not one. The module is a Jupyter server extension that
registers the hook; ``make setup`` enables it for the venv's Jupyter
(``etc/jupyter/jupyter_server_config.d/mcops.json``).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["refresh_git_index"]

log = logging.getLogger(__name__)


def _git(cwd: Path, *args: str) -> str | None:
    """git's output, or None when git is missing, fails or hangs (never an error on save)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _staged(cwd: Path, name: str) -> tuple[str, str] | None:
    """(mode, blob) of ``name``'s index entry; None when git does not track it."""
    line = _git(cwd, "ls-files", "--stage", "--", name)
    if not line:
        return None
    mode, blob, _stage = line.split("\t", 1)[0].split()
    return mode, blob


def refresh_git_index(model: dict[str, Any], os_path: str, contents_manager: Any = None) -> None:
    """Jupyter's ``post_save_hook``: refresh a saved notebook's git index entry.

    Does nothing outside a git work tree, for untracked files and for anything but a
    notebook; a notebook whose filtered content changed keeps its staged entry unchanged.
    """
    if model.get("type") != "notebook":
        return
    path = Path(os_path).resolve()
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if not top:
        return
    cwd = Path(top.strip()).resolve()
    name = path.relative_to(cwd).as_posix()
    before = _staged(cwd, name)
    if before is None:
        return
    if _git(cwd, "update-index", "--", name) is None:
        return
    after = _staged(cwd, name)
    if after != before:  # a real change: leave what was staged exactly as it was
        mode, blob = before
        _git(cwd, "update-index", "--cacheinfo", f"{mode},{blob},{name}")
    else:
        log.debug("%s: unchanged for git after its filter; index refreshed", path)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server's entry: this module is the extension."""
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the hook beside any the user configured (never in place of one)."""
    contents = serverapp.contents_manager
    if hasattr(contents, "register_post_save_hook"):
        contents.register_post_save_hook(refresh_git_index)
    elif contents.post_save_hook is None:  # jupyter_server before multiple hooks
        contents.post_save_hook = refresh_git_index
