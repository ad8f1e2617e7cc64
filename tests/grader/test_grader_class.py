"""Grading a class: nbgrader's submitted/ layout, a folder argument, the gradebook, runs that never
overwrite each other, the hand-out, the command line's refusals and ``--unsandboxed``."""

from __future__ import annotations

import json

import pytest

from grader_helpers import (KNOWN_SEED, POINTS, ROOT, SOURCE, hardcoded_bodies, load_run, run_grader, sha256,
                            source_notebook, submission, with_bodies, write)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """nbgrader's layout for three students, graded with the old fixed seed (2024), as a re-grade would."""
    root = tmp_path_factory.mktemp("course")
    sub = root / "submitted"
    submission(sub / "alice" / "ps05", "05_cost_functions.ipynb")
    (sub / "alice" / "ps05" / ".ipynb_checkpoints").mkdir()
    submission(sub / "alice" / "ps05" / ".ipynb_checkpoints", "05_cost_functions-checkpoint.ipynb")
    submission(sub / "bob" / "ps05", "05_cost_functions.ipynb", "partly_wrong.txt")
    write({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}, sub / "bob" / "ps05" / "scratch.ipynb")
    write(with_bodies(source_notebook(), hardcoded_bodies(KNOWN_SEED, "mallory")),
          sub / "mallory" / "ps05" / "05_cost_functions.ipynb")
    out = root / "reports"
    run = run_grader("grade", root, "--out", out, "--seed", f"{KNOWN_SEED:x}", "--timeout", 8, "--jobs", 2)
    runs = sorted(out.iterdir())
    assert len(runs) == 1, (run.stdout, run.stderr[-3000:])
    return {"root": root, "out": out, "proc": run, **load_run(runs[0])}


def test_nbgrader_layout_grades_into_one_gradebook(course):
    assert course["proc"].returncode == 1, course["proc"].stderr[-2000:]  # bob's scratch.ipynb is not gradable
    rows = course["rows"]
    assert [r["student"] for r in rows] == ["alice", "bob", "bob", "mallory"]
    by = course["by_report"]
    assert set(by) == {"alice", "bob__05_cost_functions", "bob__scratch", "mallory"}
    assert by["alice"]["total"] == "12" and by["alice"]["max_points"] == "12"
    assert [by["alice"][g] for g in POINTS] == [str(p) for p in POINTS.values()]
    assert by["bob__05_cost_functions"]["total"] == "7"
    assert by["bob__scratch"]["status"].startswith("error:") and "scratch.ipynb" in by["bob__scratch"]["status"]
    assert "checkpoint" not in json.dumps(rows)  # .ipynb_checkpoints is skipped
    header = list(rows[0])
    assert header == ["student", "report", "assignment", *POINTS, "total", "max_points", "status", "flags", "file"]


def test_values_computed_offline_match_only_their_seed(course):
    """mallory's file returns the values expected with seed 2024: right with that seed, 0 with a secret one
    (test_grader_batch.test_values_computed_offline_are_worthless)."""
    assert course["by_report"]["mallory"]["total"] == "12"
    assert course["run"]["seed"] == f"{KNOWN_SEED:x}"


def test_a_new_run_never_overwrites_an_earlier_one(course, tmp_path):
    first = course["dir"]
    before = {p: sha256(p) for p in first.rglob("*") if p.is_file()}
    run = run_grader("grade", tmp_path / "missing.ipynb", "--out", course["out"])
    assert run.returncode == 1 and "missing.ipynb" in run.stdout
    runs = sorted(course["out"].iterdir())
    assert len(runs) == 2 and first in runs
    assert {p: sha256(p) for p in first.rglob("*") if p.is_file()} == before
    second = load_run(next(r for r in runs if r != first))
    assert [r["status"] for r in second["rows"]] == [f"error: {tmp_path / 'missing.ipynb'}: No such file or directory"]


def test_unsandboxed_runs_only_when_asked_and_says_so(tmp_path):
    path = submission(tmp_path / "in", "alice.ipynb")
    refused = run_grader("grade", path, "--out", tmp_path / "out", env={"NST_GRADER_BWRAP": str(tmp_path / "no-bwrap")})
    assert refused.returncode == 2
    assert "apt-get install bubblewrap" in refused.stderr and "--unsandboxed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()

    run = run_grader("grade", path, "--out", tmp_path / "out", "--unsandboxed", "--only", "total_cost",
                     env={"NST_GRADER_BWRAP": str(tmp_path / "no-bwrap")})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "WARNING: --unsandboxed" in run.stderr
    data = load_run(next((tmp_path / "out").iterdir()))
    assert data["by_report"]["alice"]["total"] == "1" and data["run"]["sandbox"]["sandboxed"] is False


def test_student_version(tmp_path):
    from nst_grader.handout import HandoutError, build_student_versions, student_version
    from nst_grader.notebook import cell_source, is_solution_cell, is_test_cell, nbgrader_meta

    before = sha256(SOURCE)
    written = build_student_versions(ROOT / "notebooks", tmp_path / "student")
    release = tmp_path / "student" / "release" / SOURCE.stem / SOURCE.name  # nbgrader's source/ -> release/
    assert sha256(SOURCE) == before and release in written
    assert tmp_path / "student" / "source" / SOURCE.stem / SOURCE.name in written
    src = json.loads(SOURCE.read_text())
    out = json.loads(release.read_text())
    assert out["metadata"]["nst_grader"] == {"assignment": "05_cost_functions"}  # how grade recognises it
    source_copy = json.loads((tmp_path / "student" / "source" / SOURCE.stem / SOURCE.name).read_text())
    assert [cell_source(c) for c in source_copy["cells"]] == [cell_source(c) for c in src["cells"]]
    assert len(src["cells"]) == len(out["cells"])
    text = "".join(cell_source(c) for c in out["cells"] if c["cell_type"] == "code")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for s, o in zip(src["cells"], out["cells"]):
        if o["cell_type"] == "code":
            assert o["outputs"] == [] and o["execution_count"] is None
        if is_solution_cell(s):
            gid = nbgrader_meta(s)["grade_id"]
            assert "# YOUR CODE HERE" in cell_source(o) and f'raise NotImplementedError("Write {gid}:' in cell_source(o)
            assert f"def {gid}(" in cell_source(o)
            solution = cell_source(s).split("BEGIN SOLUTION")[1].split("END SOLUTION")[0]
            code = [line.strip() for line in solution.splitlines() if line.strip() and not line.strip().startswith("#")]
            assert code and not any(line in cell_source(o) for line in code), gid
        elif is_test_cell(s):
            assert cell_source(o) == cell_source(s)
            assert o["metadata"]["editable"] is False and o["metadata"]["deletable"] is False
        else:
            assert cell_source(o) == cell_source(s)
    assert text.count("raise NotImplementedError(") == len(POINTS)
    with pytest.raises(HandoutError, match="inside the source"):
        build_student_versions(ROOT / "notebooks", ROOT / "notebooks" / "student")
    assert not (ROOT / "notebooks" / "student").exists()
    with pytest.raises(HandoutError, match="without"):
        student_version({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                    "source": ["def f():\n", "    ### BEGIN SOLUTION\n", "    return 1\n"]}]})


def test_the_notebook_matches_the_registry():
    from nst_grader.assignments import ASSIGNMENTS, EXERCISES
    from nst_grader.notebook import is_solution_cell, is_test_cell, nbgrader_meta

    nb = json.loads(SOURCE.read_text())
    solutions = [nbgrader_meta(c) for c in nb["cells"] if is_solution_cell(c)]
    tests = [nbgrader_meta(c) for c in nb["cells"] if is_test_cell(c)]
    assert [m["grade_id"] for m in solutions] == list(ASSIGNMENTS[SOURCE.stem].grade_ids)
    assert {m["grade_id"]: m["points"] for m in tests} == {f"test_{g}": p for g, p in POINTS.items()}
    assert {g: EXERCISES[g].points for g in POINTS} == POINTS


def test_exercises_command():
    run = run_grader("exercises")
    assert run.returncode == 0 and "05_cost_functions: 12 points" in run.stdout
    assert "compute_style_cost         2 point(s) (given correct: gram_matrix, compute_layer_style_cost)" in run.stdout


def test_shards_run_as_separate_processes_merge_into_the_gradebook_of_one_run(tmp_path):
    """Three nbgrader students with two files each: graded in one run, and as two shards started at the same
    time as separate processes (a job array), then merged: the same gradebook, LMS files and per-file table.
    One sandbox per student (TensorFlow imported once for both files), never one for two students."""
    import os
    import subprocess
    import sys

    from grader_helpers import GRADER

    sub = tmp_path / "submitted"
    for student, fixture in (("ana", None), ("ben", "partly_wrong.txt"), ("zoë", None)):
        submission(sub / student / "ps05", "05_cost_functions.ipynb", fixture)
        submission(sub / student / "ps05-resubmitted", "05_cost_functions.ipynb", "partly_wrong.txt")
    seed = run_grader("seed").stdout.strip()
    only = "gram_matrix,compute_layer_style_cost,total_cost"
    common = ["--seed", seed, "--only", only, "--timeout", "8", "--jobs", "1"]
    whole = run_grader("grade", sub, "--out", tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(GRADER)}
    procs = [subprocess.Popen([sys.executable, "-m", "nst_grader", "grade", str(sub), "--out", str(tmp_path / f"s{k}"),
                               "--shard", f"{k}/2", *common], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    shards = [next((tmp_path / f"s{k}").iterdir()) for k in (1, 2)]
    sizes = [len(load_run(d)["rows"]) for d in shards]
    assert sorted(sizes) == [2, 4]  # whole students: 1 and 2 of the 3
    refused = run_grader("merge", shards[0], "--out", tmp_path / "merged")
    assert refused.returncode == 2 and "missing [2]" in refused.stderr
    merged = run_grader("merge", *shards, "--out", tmp_path / "merged")
    assert merged.returncode == 0, merged.stderr[-2000:]
    one, both = load_run(next((tmp_path / "whole").iterdir())), load_run(next((tmp_path / "merged").iterdir()))
    for name in ("gradebook.csv", "lms-canvas.csv", "lms-moodle.csv", "instructor/files.csv"):
        assert (one["dir"] / name).read_text(encoding="utf-8") == (both["dir"] / name).read_text(encoding="utf-8"), name
    def undated(reports: dict) -> dict:
        return {k: {f: v for f, v in r.items() if f != "graded_at"} for k, r in reports.items()}

    assert undated(one["student"]) == undated(both["student"]) and one["markdown"].keys() == both["markdown"].keys()
    book = {r["id"]: r for r in one["gradebook"]}
    assert set(book) == {"ana", "ben", "zoë"} and book["zoë"]["student"] == "zoë"
    files = {}
    for r in one["rows"]:
        files.setdefault(r["report"].split("__")[0], []).append(int(r["total"]))
    assert {k: sorted(v) for k, v in files.items()} == {"ana": [3, 6], "ben": [3, 3], "zoë": [3, 6]}
    assert (book["ana"]["05_cost_functions"], book["ben"]["05_cost_functions"], book["ana"]["max_points"]) == \
        ("6", "3", "6")  # the best of a student's files; the most points graded (--only: 6 of 12)
    assert "several-files:05_cost_functions" in book["ana"]["flags"]
    assert both["run"]["seed"] == seed and len(both["run"]["shards"]) == 2
    uids = {}
    for rid, rep in one["instructor"].items():  # one start per student, for the first of its two files
        uids.setdefault(rep["group"], []).extend(s["uid"] for s in rep["sandbox"]["starts"])
        assert rep["sandbox"]["all_processes_gone"] is True
    assert sorted(len(v) for v in uids.values()) == [1, 1, 1]
    if os.geteuid() == 0:  # root mode: a random uid per sandbox; three sandboxes, none served two students
        assert len({v[0] for v in uids.values()}) == 3
