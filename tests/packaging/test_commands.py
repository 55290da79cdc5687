"""`mcops notebooks export`, `mcops doctor`, `mcops --version` and where `mcops list`
takes its notebooks from, in this process (no kernel, no build)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcops import doctor
from mcops._data import PACKAGE, SOURCE_TREE, data_dir
from mcops.cli import main
from mcops.notebook_export import RECORD, ExportRefused, export, notebook_kernel
from mcops.scenario_dir import notebooks_dir_and_origin

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "mcops" / "notebooks"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Two small notebooks and a README, as the package would carry them."""
    src = tmp_path / "shipped"
    src.mkdir()
    for name in ("ok_check.ipynb", "raises.ipynb"):
        (src / name).write_bytes((SMALL / name).read_bytes())
    (src / "README.md").write_text("# the notebooks\n")
    return src


def test_export_copies_the_notebooks_and_readme_and_records_them(source, tmp_path):
    out = tmp_path / "ws"
    done = export(source, out)
    assert sorted(done.written) == ["README.md", "ok_check.ipynb", "raises.ipynb"]
    for name in done.written:
        assert (out / name).read_bytes() == (source / name).read_bytes()
    assert set(json.loads((out / RECORD).read_text())["files"]) == set(done.written)
    again = export(source, out)
    assert again.written == [] and sorted(again.unchanged) == sorted(done.written)


def test_export_updates_an_untouched_copy_and_refuses_an_edited_one(source, tmp_path):
    out = tmp_path / "ws"
    export(source, out)
    (source / "raises.ipynb").write_text((source / "raises.ipynb").read_text() + "\n")
    assert export(source, out).written == ["raises.ipynb"]  # a new version, not an edit
    (out / "ok_check.ipynb").write_text("{}")  # the engineer's own work
    (source / "ok_check.ipynb").write_text((source / "ok_check.ipynb").read_text() + " ")
    (source / "README.md").write_text("# changed\n")
    with pytest.raises(ExportRefused, match=r"ok_check\.ipynb — fix: .*--force"):
        export(source, out)
    assert (out / "ok_check.ipynb").read_text() == "{}"
    assert (out / "README.md").read_text() == "# the notebooks\n", "nothing written on refusal"
    forced = export(source, out, force=True)
    assert forced.overwritten == ["ok_check.ipynb"]
    assert (out / "ok_check.ipynb").read_bytes() == (source / "ok_check.ipynb").read_bytes()


def test_export_refuses_a_file_it_did_not_write(source, tmp_path):
    out = tmp_path / "ws"
    out.mkdir()
    (out / "raises.ipynb").write_text("mine")
    with pytest.raises(ExportRefused, match=r"raises\.ipynb"):
        export(source, out)


def test_export_of_nothing_or_into_a_file_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(ExportRefused, match="no notebooks in"):
        export(tmp_path, tmp_path / "ws")
    file = tmp_path / "file"
    file.write_text("")
    assert main(["notebooks", "export", str(file), "--notebooks", str(SMALL)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcops notebooks: ") and "is a file — fix:" in err
    assert err.count("\n") == 1


def test_the_cli_exports_without_registering_a_kernel_when_asked(tmp_path, capsys):
    out = tmp_path / "ws"
    assert main(["notebooks", "export", str(out), "--no-kernel", "--notebooks", str(SMALL)]) == 0
    printed = capsys.readouterr().out
    assert "(--notebooks)" in printed and "kernel: not registered" in printed
    assert (out / "ok_check.ipynb").is_file()


def test_the_notebooks_name_the_kernel_export_registers():
    assert notebook_kernel(ROOT / "notebooks" / "triage.ipynb") == ("mcops", "mcops (Python 3)")


def test_notebooks_come_from_the_flag_then_the_environment_then_the_package(monkeypatch):
    monkeypatch.setenv("MCOPS_NOTEBOOKS", str(SMALL))
    assert notebooks_dir_and_origin(Path("x")) == (Path("x"), "--notebooks")
    assert notebooks_dir_and_origin() == (SMALL, "$MCOPS_NOTEBOOKS")
    monkeypatch.delenv("MCOPS_NOTEBOOKS")
    found = notebooks_dir_and_origin()
    here = data_dir("notebooks")
    assert here is not None and found == (here.path, here.origin)
    assert here.origin in (PACKAGE, SOURCE_TREE)
    if here.origin == SOURCE_TREE:
        assert here.path == ROOT / "notebooks"
    with pytest.raises(KeyError, match="known: notebooks, prometheus, grafana"):
        data_dir("nope")


def test_list_says_where_its_notebooks_come_from(monkeypatch, capsys):
    monkeypatch.setenv("MCOPS_NOTEBOOKS", str(SMALL))
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"scenario notebooks: {SMALL} (from $MCOPS_NOTEBOOKS)"
    )


def test_version_is_one_line_naming_python_and_where_mcops_is(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("mcops 0.1.0 (Python 3.") and out.count("\n") == 1
    assert str(ROOT / "mcops") in out or "site-packages" in out


def test_doctor_fails_only_on_a_required_check_and_names_the_fix(monkeypatch, capsys):
    def broken() -> doctor.Check:
        raise RuntimeError("boom")

    optional = doctor.Check("chromium", False, "not on PATH", "apt-get install chromium", False)
    monkeypatch.setattr(doctor, "all_checks", lambda: [lambda: optional])
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "missing  chromium" in out and "(optional) — fix: apt-get install chromium" in out
    monkeypatch.setattr(doctor, "all_checks", lambda: [lambda: optional, broken])
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "MISSING  broken             RuntimeError: boom — fix: pip install" in out
    assert out.splitlines()[-1].startswith("not ready: broken")


def test_doctor_here_is_ready():
    results = {c.name: c for c in doctor.run_checks()}
    assert [n for n, c in results.items() if c.required and not c.ok] == []
    assert {"python", "dependencies", "notebooks", "kernel python3", "chromium"} <= set(results)
