"""manifest.json and `mcops verify`: each changed, missing or extra file is named."""

from __future__ import annotations

import json

import pytest

from mcops.bundle_manifest import MANIFEST, seal, verify
from mcops.cli import main


@pytest.fixture
def bundle(tmp_path):
    out = tmp_path / "ev"
    (out / "data").mkdir(parents=True)
    (out / "summary.json").write_text('{"scenario": "db_consistency"}\n')
    (out / "db_consistency.html").write_text("<html></html>\n")
    (out / "data" / "duplicate_epochs.parquet").write_bytes(b"PAR1 rows PAR1")
    seal(out)
    return out


def test_the_manifest_holds_the_sha256_of_every_file_but_itself(bundle):
    files = json.loads((bundle / MANIFEST).read_text())["files"]
    assert sorted(files) == ["data/duplicate_epochs.parquet", "db_consistency.html", "summary.json"]
    assert all(len(digest) == 64 for digest in files.values())
    assert verify(bundle).ok


def test_verify_passes_an_untouched_directory(bundle, capsys):
    assert main(["verify", str(bundle)]) == 0
    assert "every file matches" in capsys.readouterr().out


def test_verify_names_each_changed_missing_and_extra_file(bundle, capsys):
    (bundle / "data" / "duplicate_epochs.parquet").write_bytes(b"PAR1 other rows PAR1")
    (bundle / "db_consistency.html").unlink()
    (bundle / "notes.txt").write_text("added later\n")
    assert main(["verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "changed: data/duplicate_epochs.parquet" in out
    assert "missing: db_consistency.html" in out
    assert "extra: notes.txt" in out
    assert "summary.json" not in out


def test_a_directory_without_a_manifest_is_exit_2(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "has no manifest.json" in capsys.readouterr().err
