"""Every lesson's first code cell (``tools/first_cell.py``): the same in all lessons, and what it does.

The cell is run here as a lesson runs it, with ``nst_utils`` made unimportable (``sys.modules`` entry
``None``, as an uninstalled package looks to ``importlib.util.find_spec``) and ``subprocess.check_call``
captured, so no network and no pip run: the test checks the command it would run and what it prints.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("nst_first_cell_tool", ROOT / "tools" / "first_cell.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def test_every_lesson_has_it():
    paths = tool.lessons()
    assert len(paths) >= 11 and paths[0].name.startswith("00_") and paths[-1].name.startswith("10_")
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        cell = nb.cells[tool.first_code_cell(nb)]
        assert cell.source == tool.cell_source(), (
            f"{path.relative_to(ROOT)}: its first code cell is not what tools/first_cell.py writes "
            f"(with NST_SOURCE = {tool.SOURCE!r}); run `.venv/bin/python tools/first_cell.py`")
        assert cell.outputs == [], f"{path.relative_to(ROOT)}: the install cell has stored outputs"
        following = nb.cells[tool.first_code_cell(nb) + 1:]
        assert any(c.cell_type == "code" and "import nst_utils as nu" in c.source for c in following)


def test_the_source_is_the_one_place():
    """The constant the cells carry comes from pyproject.toml's [project.urls] Repository, and nowhere else."""
    assert tool.SOURCE == tool.source(tool.repository_url())
    assert tool.source("") == ""
    assert tool.source("https://example.org/owner/course") == "nst_utils @ git+https://example.org/owner/course"
    assert tool.source("git+https://example.org/c@v1") == "git+https://example.org/c@v1"
    assert f"NST_SOURCE = \"{tool.SOURCE}\"" in tool.cell_source()


@pytest.fixture()
def lesson(monkeypatch, tmp_path):
    """Run a cell like a fresh kernel without nst_utils; returns (run(source, cwd) -> stdout, pip calls)."""
    calls: list[list[str]] = []
    monkeypatch.setitem(sys.modules, "nst_utils", None)   # find_spec -> None, import -> ImportError
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, *a, **k: calls.append(list(cmd)) or 0)
    monkeypatch.setattr(sys, "path", list(sys.path))

    def run(source: str, cwd: Path, capsys) -> str:
        monkeypatch.chdir(cwd)
        exec(compile(source, "<first cell>", "exec"), {"__name__": "__main__"})
        return capsys.readouterr().out

    return run, calls


def test_without_nst_utils_it_installs_from_the_source(lesson, tmp_path, capsys):
    run, calls = lesson
    src = "nst_utils @ git+https://example.org/owner/course"
    out = run(tool.cell_source(src), tmp_path, capsys)          # Colab: /content, no checkout
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", src]]
    assert out.startswith(f"nst_utils was missing: installed it from {src} in ")
    assert "mixed float16" in out and out.count("\n") == 1


def test_in_a_checkout_it_installs_the_checkout(lesson, tmp_path, capsys):
    run, calls = lesson
    (tmp_path / "nst_utils").mkdir()
    (tmp_path / "nst_utils" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'nst_utils'\n")
    (tmp_path / "notebooks").mkdir()
    out = run(tool.cell_source("nst_utils @ git+https://example.org/c"), tmp_path / "notebooks", capsys)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", "-e", str(tmp_path)]]
    assert sys.path[0] == str(tmp_path)         # importable in this kernel, not only in new ones
    assert f"installed it from {tmp_path} in " in out


def test_without_a_source_it_says_what_to_do(lesson, tmp_path, capsys):
    run, calls = lesson
    with pytest.raises(RuntimeError, match=r"no place to install it from.*%pip install"):
        run(tool.cell_source(""), tmp_path, capsys)
    assert calls == []


def test_with_nst_utils_it_does_nothing(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, *a, **k: calls.append(cmd) or 0)
    monkeypatch.chdir(tmp_path)
    exec(compile(tool.cell_source("nst_utils @ git+https://example.org/c"), "<first cell>", "exec"), {})
    assert calls == [] and capsys.readouterr() == ("", "")


def test_the_tool_inserts_once_and_checks(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · A lesson"),
                                         nbformat.v4.new_code_cell("import nst_utils as nu")])
    path = tmp_path / "99_lesson.ipynb"
    nbformat.write(nb, path)
    assert tool.stamp(path, check=True) and tool.main(["--check", str(path)]) == 1
    assert tool.stamp(path) == "it has no install cell before its set-up cell"
    assert tool.stamp(path) is None and tool.main(["--check", str(path)]) == 0
    cells = nbformat.read(path, as_version=4).cells
    assert [c.source.splitlines()[0] for c in cells] == ["# 99 · A lesson", tool.MARK, "import nst_utils as nu"]
    cells[1].source += "\nprint('edited')"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    assert tool.stamp(path) == "its first code cell differs from tools/first_cell.py"
    assert nbformat.read(path, as_version=4).cells[1].source == tool.cell_source()
