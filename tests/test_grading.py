"""The instructor tools of nst_utils.grading: student versions and grading with hidden tests.

Submissions are built at test time from notebooks/04_cost_functions.ipynb: the reference solutions,
or those with some solution bodies replaced by the code in tests/fixtures/grading/*.txt. Four of them
are graded together once (a module-scoped fixture: one TensorFlow start-up), two more through the
command line, one exercise in "spawn" isolation.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nst_utils import grading

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "04_cost_functions.ipynb"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "grading"
TIMEOUT = 8.0  # seconds per exercise; the student code of the fixtures needs well under one
POINTS = {"compute_content_cost": 2, "gram_matrix": 2, "compute_layer_style_cost": 3,
          "compute_style_cost": 2, "total_cost": 1, "total_variation_cost": 2}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_bodies(name: str) -> dict[str, str]:
    """``{grade_id: code}`` from a fixture file (``# == grade_id`` starts each body)."""
    bodies: dict[str, list[str]] = {}
    current = None
    for line in (FIXTURES / name).read_text().splitlines():
        if m := re.match(r"^# == (\w+)\s*$", line):
            current = m[1]
            bodies[current] = []
        elif current is not None:
            bodies[current].append(line)
    return {k: "\n".join(v) for k, v in bodies.items()}


def replace_solution(source: str, body: str) -> str:
    """``source`` with the lines from ### BEGIN SOLUTION to ### END SOLUTION replaced by ``body``."""
    lines = source.splitlines(keepends=True)
    begin = next(k for k, l in enumerate(lines) if grading.BEGIN_SOLUTION in l)
    end = next(k for k, l in enumerate(lines) if grading.END_SOLUTION in l)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    new = [indent + l + "\n" if l.strip() else "\n" for l in body.splitlines()]
    return "".join(lines[:begin] + new + lines[end + 1:])


def submission(folder: Path, name: str, bodies: dict[str, str] | None = None) -> Path:
    """The source notebook with the given solution bodies, outputs cleared, written to folder/name."""
    nb = grading.read_notebook(SOURCE)
    for cell in nb["cells"]:
        gid = grading.nbgrader_meta(cell).get("grade_id")
        if bodies and gid in bodies:
            cell["source"] = replace_solution(grading.cell_source(cell), bodies[gid]).splitlines(keepends=True)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return grading.write_notebook(nb, folder / name)


NAMES = ["correct", "more_mistakes", "crashing", "looping"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The four submissions, graded together (one TensorFlow start-up): {name: (report, path, sha256)}."""
    folder = tmp_path_factory.mktemp("submissions")
    paths = [submission(folder, f"{n}.ipynb", read_bodies(f"{n}.txt") if n != "correct" else None) for n in NAMES]
    before = [sha256(p) for p in paths]
    reports = grading.grade_notebooks(paths, timeout=TIMEOUT, jobs=2)
    assert [sha256(p) for p in paths] == before, "grading modified a student's file"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.ipynb" for n in NAMES), "grading wrote files"
    return {n: (r, p, d) for n, r, p, d in zip(NAMES, reports, paths, before)}


def by_id(report: dict) -> dict[str, dict]:
    return {e["grade_id"]: e for e in report["exercises"]}


def scores(report: dict) -> dict[str, int]:
    return {g: e["points"] for g, e in by_id(report).items()}


# ------------------------------------------------------------------ the notebook and the registry


def test_notebook_exercises_match_the_registry():
    nb = grading.read_notebook(SOURCE)
    solutions = [grading.nbgrader_meta(c) for c in nb["cells"] if grading.is_solution_cell(c)]
    tests = [grading.nbgrader_meta(c) for c in nb["cells"] if grading.is_test_cell(c)]
    assert [m["grade_id"] for m in solutions] == list(grading.ASSIGNMENTS["04_cost_functions"])
    assert {m["grade_id"]: m["points"] for m in tests} == {f"test_{g}": p for g, p in POINTS.items()}
    assert {g: grading.EXERCISES[g].points for g in POINTS} == POINTS
    for m in solutions:
        assert m == {"grade": False, "grade_id": m["grade_id"], "locked": False, "schema_version": 3,
                     "solution": True, "task": False}
    for m in tests:
        assert m["grade"] is True and m["locked"] is True and m["solution"] is False and m["schema_version"] == 3
    assert grading.setup_cells(nb) and "import tensorflow as tf" in grading.setup_cells(nb)[0]


# ------------------------------------------------------------------ student version


def test_student_version(tmp_path):
    before = sha256(SOURCE)
    written = grading.build_student_versions(ROOT / "notebooks", tmp_path / "student")
    assert sha256(SOURCE) == before
    assert tmp_path / "student" / SOURCE.name in written
    src, out = grading.read_notebook(SOURCE), grading.read_notebook(tmp_path / "student" / SOURCE.name)
    assert len(src["cells"]) == len(out["cells"])
    text = "".join(grading.cell_source(c) for c in out["cells"] if c["cell_type"] == "code")
    assert grading.BEGIN_SOLUTION not in text and grading.END_SOLUTION not in text
    for s, o in zip(src["cells"], out["cells"]):
        if o["cell_type"] == "code":
            assert o["outputs"] == [] and o["execution_count"] is None
        if grading.is_solution_cell(s):
            gid = grading.nbgrader_meta(s)["grade_id"]
            assert "# YOUR CODE HERE" in grading.cell_source(o)
            assert f'raise NotImplementedError("Write {gid}:' in grading.cell_source(o)
            assert f"def {gid}(" in grading.cell_source(o)  # the signature and docstring stay
            solution = grading.cell_source(s).split(grading.BEGIN_SOLUTION)[1].split(grading.END_SOLUTION)[0]
            code_lines = [l.strip() for l in solution.splitlines() if l.strip() and not l.strip().startswith("#")]
            assert code_lines and not any(l in grading.cell_source(o) for l in code_lines), gid
        elif grading.is_test_cell(s):
            assert grading.cell_source(o) == grading.cell_source(s)  # tests kept as they are
            assert o["metadata"]["editable"] is False and o["metadata"]["deletable"] is False
        else:
            assert grading.cell_source(o) == grading.cell_source(s)
    # the placeholder is only in the generated version
    assert "NotImplementedError" not in "".join(grading.cell_source(c) for c in src["cells"] if c["cell_type"] == "code")
    assert text.count("raise NotImplementedError(") == len(POINTS)


def test_student_version_refuses_the_source_folder(tmp_path):
    with pytest.raises(grading.GradingError, match="inside the source"):
        grading.build_student_versions(ROOT / "notebooks", ROOT / "notebooks" / "student")
    assert not (ROOT / "notebooks" / "student").exists()


def test_unbalanced_markers_are_reported():
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["def f():\n", "    ### BEGIN SOLUTION\n", "    return 1\n"]}]}
    with pytest.raises(grading.GradingError, match="without"):
        grading.student_version(nb)


# ------------------------------------------------------------------ grading


@pytest.fixture(scope="module")
def correct(batch):
    return batch["correct"]


@pytest.fixture(scope="module")
def more_mistakes(batch):
    return batch["more_mistakes"]


@pytest.fixture(scope="module")
def crashing(batch):
    return batch["crashing"]


@pytest.fixture(scope="module")
def looping(batch):
    return batch["looping"]


def test_correct_submission_gets_full_marks(correct):
    report, path, digest = correct
    assert (report["points"], report["max_points"]) == (12, 12)
    assert scores(report) == POINTS
    assert all(e["status"] == "passed" and e["hidden_tests"].split("/")[0] == e["hidden_tests"].split("/")[1]
               for e in report["exercises"])
    assert report["assignment"] == "04_cost_functions" and report["sha256"] == digest


def test_command_line_partly_wrong_and_handed_out_version(tmp_path):
    """Three files on one command line: a partly wrong submission, the student version as handed out
    (placeholders: 0 points) and a file that is not a notebook (reported; the others still graded)."""
    path = submission(tmp_path / "in", "partly_wrong.ipynb", read_bodies("partly_wrong.txt"))
    handout = grading.build_student_versions(ROOT / "notebooks", tmp_path / "handout")
    handout = [p for p in handout if p.name == SOURCE.name][0]
    junk = tmp_path / "in" / "junk.ipynb"
    junk.write_text("not a notebook")
    before = sha256(path), sha256(handout)
    run = subprocess.run([sys.executable, "-m", "nst_utils.grading", "grade", str(path), str(handout), str(junk),
                          "--out", str(tmp_path / "reports"), "--timeout", str(TIMEOUT), "--jobs", "2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 1, run.stderr[-3000:]  # 1: one file could not be graded
    assert "junk.ipynb: not a readable notebook" in run.stderr
    assert (sha256(path), sha256(handout)) == before
    assert f"{path}: 7 / 12 points" in run.stdout and f"{handout}: 0 / 12 points" in run.stdout

    report = json.loads((tmp_path / "reports" / "partly_wrong.json").read_text())
    assert scores(report) == {**POINTS, "compute_content_cost": 0, "compute_layer_style_cost": 0}
    e = by_id(report)
    assert e["compute_content_cost"]["status"] == "failed"
    assert "factor 4" in e["compute_content_cost"]["message"]  # got / expected = 4: the 4 is missing
    assert e["compute_layer_style_cost"]["status"] == "failed"
    md = (tmp_path / "reports" / "partly_wrong.md").read_text()
    assert "**7 / 12 points**" in md and "| `compute_layer_style_cost` | 0 / 3 | wrong result |" in md

    handed_out = json.loads((tmp_path / "reports" / f"{SOURCE.stem}.json").read_text())
    assert handed_out["points"] == 0 and handed_out["batch_files"] == 2
    assert {e["status"] for e in handed_out["exercises"]} == {"not implemented"}


def test_each_mistake_costs_its_exercise_only(more_mistakes):
    report, _, _ = more_mistakes
    assert report["points"] == 3
    assert scores(report) == {**{g: 0 for g in POINTS}, "compute_content_cost": 2, "total_cost": 1}
    e = by_id(report)
    assert all(e[g]["status"] == "failed" for g in ["gram_matrix", "compute_layer_style_cost",
                                                    "compute_style_cost", "total_variation_cost"])
    assert "A^T A" in e["gram_matrix"]["message"]
    assert "n_H*n_W" in e["compute_layer_style_cost"]["message"]  # off by a factor n_H*n_W
    assert "n_H*n_W" in e["total_variation_cost"]["message"]


def test_crashes_cost_only_their_exercise(crashing):
    report, _, _ = crashing
    assert report["points"] == 6
    assert scores(report) == {**POINTS, "compute_content_cost": 0, "gram_matrix": 0, "total_variation_cost": 0}
    e = by_id(report)
    assert e["gram_matrix"]["status"] == "error"
    assert "ValueError: I give up on this one" in e["gram_matrix"]["message"]
    assert "<your gram_matrix cell>, line" in e["gram_matrix"]["message"]  # where, in the student's cell
    assert e["compute_content_cost"]["status"] == "crashed" and "SIGSEGV" in e["compute_content_cost"]["message"]
    assert e["total_variation_cost"]["status"] == "crashed" and "code 3" in e["total_variation_cost"]["message"]


def test_endless_loop_costs_only_its_exercise(looping):
    report, _, _ = looping
    assert report["points"] == 11
    assert scores(report) == {**POINTS, "total_cost": 0}
    e = by_id(report)["total_cost"]
    assert e["status"] == "timeout" and f"{TIMEOUT:g} s" in e["message"]
    assert TIMEOUT <= e["seconds"] < TIMEOUT + 10
    flagged = by_id(report)["gram_matrix"]
    assert flagged["points"] == 2 and "nst_utils's own cost functions" in flagged["flag"]
    assert [g for g, x in by_id(report).items() if x.get("flag")] == ["gram_matrix"]


def test_spawn_isolation_and_only(correct, tmp_path):
    _, path, _ = correct
    report = grading.grade_notebook(path, timeout=TIMEOUT, isolation="spawn", only=["total_cost"])
    assert report["isolation"] == "spawn"
    assert [(e["grade_id"], e["points"]) for e in report["exercises"]] == [("total_cost", 1)]


def test_report_files(crashing, tmp_path):
    report, _, _ = crashing
    js, md = grading.write_report(report, tmp_path, "alice")
    assert json.loads(js.read_text())["points"] == 6
    text = md.read_text()
    assert text.startswith("# Grading report: crashing.ipynb") and "**6 / 12 points**" in text
    assert "| `compute_content_cost` | 0 / 2 | process died |" in text
    assert "## Details" in text and "I give up on this one" in text


def test_a_notebook_without_exercises_is_refused(tmp_path):
    path = tmp_path / "other.ipynb"
    grading.write_notebook({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                       "execution_count": None, "source": ["x = 1\n"]}],
                            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, path)
    with pytest.raises(grading.GradingError, match="none of the graded exercises"):
        grading.grade_notebook(path)
    with pytest.raises(grading.GradingError, match="no such file"):
        grading.grade_notebook(tmp_path / "missing.ipynb")


def test_missing_exercise_is_reported(tmp_path):
    nb = grading.read_notebook(SOURCE)
    nb["cells"] = [c for c in nb["cells"] if grading.nbgrader_meta(c).get("grade_id") != "total_cost"]
    path = grading.write_notebook(nb, tmp_path / "no_total.ipynb")
    report = grading.grade_notebook(path, timeout=TIMEOUT, only=["total_cost"])
    assert by_id(report)["total_cost"]["status"] == "missing" and report["points"] == 0
