"""The post-save hook refreshes git's record of a notebook and never stages anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcops.jupyter_save import refresh_git_index

NOTEBOOK = {"type": "notebook"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose clean filter drops "output" lines, as nbstripout drops outputs."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "filter.strip.clean", "grep -v '^output' || true")
    git(tmp_path, "config", "filter.strip.smudge", "cat")
    (tmp_path / ".gitattributes").write_text("*.ipynb filter=strip\n")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.ipynb").write_text("source\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_a_save_that_adds_only_what_the_filter_drops_leaves_status_clean(repo):
    path = repo / "nb" / "a.ipynb"
    path.write_text("source\noutput 1\noutput 2\n")
    assert git(repo, "status", "--porcelain") == " M nb/a.ipynb\n"  # git's size shortcut
    refresh_git_index(NOTEBOOK, str(path))
    assert git(repo, "status", "--porcelain") == ""
    assert "output" in path.read_text(), "the file keeps its outputs"


def test_a_real_change_stays_a_change_and_nothing_is_staged(repo):
    path = repo / "nb" / "a.ipynb"
    path.write_text("source changed\noutput 1\n")
    refresh_git_index(NOTEBOOK, str(path))
    assert git(repo, "status", "--porcelain") == " M nb/a.ipynb\n"
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_what_the_engineer_staged_stays_staged(repo):
    path = repo / "nb" / "a.ipynb"
    path.write_text("staged\n")
    git(repo, "add", "nb/a.ipynb")
    staged = git(repo, "ls-files", "--stage", "nb/a.ipynb")
    path.write_text("staged\nthen edited\noutput 1\n")
    refresh_git_index(NOTEBOOK, str(path))
    assert git(repo, "ls-files", "--stage", "nb/a.ipynb") == staged
    assert git(repo, "status", "--porcelain") == "MM nb/a.ipynb\n"


def test_untracked_files_other_types_and_paths_outside_git_are_left_alone(repo, tmp_path_factory):
    new = repo / "nb" / "b.ipynb"
    new.write_text("source\n")
    refresh_git_index(NOTEBOOK, str(new))
    assert git(repo, "status", "--porcelain") == "?? nb/b.ipynb\n"
    refresh_git_index({"type": "file"}, str(repo / "nb" / "a.ipynb"))
    outside = tmp_path_factory.mktemp("nogit") / "c.ipynb"
    outside.write_text("source\n")
    refresh_git_index(NOTEBOOK, str(outside))  # no error: a save must never fail on git
