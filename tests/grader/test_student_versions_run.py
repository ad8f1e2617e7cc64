"""Every graded lesson's student version, as `course.py student` hands it out, runs in a fresh kernel (quick
mode) up to its first exercise and stops there with the hand-out's own message, not earlier with an error.

A student version that fails before the first exercise (a cell that needs a solution the student has not
written yet, a name defined only inside a removed solution region) is what a student meets first; the
grader's tests would not notice it, because they grade the source notebook's solutions.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from grader_helpers import ROOT
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.handout import build_student_versions, has_solutions
from nst_grader.notebook import cell_source, is_solution_cell, is_test_cell, nbgrader_meta

GRADED = sorted(a.notebook for a in ASSIGNMENTS.values()
                if has_solutions(json.loads((ROOT / "notebooks" / a.notebook).read_text(encoding="utf-8"))))


def test_at_least_five_lessons_are_graded():
    assert len(GRADED) >= 5, GRADED


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    build_student_versions(ROOT / "notebooks", out)
    return out / "release"


@pytest.mark.parametrize("notebook", GRADED)
def test_the_student_version_runs_to_its_first_exercise(release, notebook, monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = release / Path(notebook).stem / notebook
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if is_solution_cell(c))
    grade_id = nbgrader_meta(nb.cells[first])["grade_id"]
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as stop:
        client.execute()
    assert stop.value.ename == "NotImplementedError", (notebook, stop.value.ename, str(stop.value)[-1500:])
    assert f"Write {grade_id}:" in stop.value.evalue, (notebook, stop.value.evalue)
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(failed) == 1, (notebook, failed)
    # it stops at the first exercise's own test cell, after every cell before it ran
    assert failed[0] > first and is_test_cell(nb.cells[failed[0]]), (notebook, failed, cell_source(nb.cells[failed[0]])[:300])
    assert nbgrader_meta(nb.cells[failed[0]])["grade_id"] == f"test_{grade_id}", (notebook, failed)
    ran = [c for c in nb.cells[:failed[0]] if c.cell_type == "code" and cell_source(c).strip()]
    assert all(c.get("execution_count") for c in ran), notebook
