"""The grader's parts on their own (no sandbox): reference formulas, hidden cases, reading untrusted
notebooks and untrusted answers, feedback, student ids, the gradebook, the reference stubs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nst_grader import reference as ref
from nst_grader import zygote
from nst_grader.assignments import ASSIGNMENTS, EXERCISES
from nst_grader.cases import cases_for, encode_case
from nst_grader.discover import discover, safe_id
from nst_grader.notebook import NotebookError, parse_notebook, read_submission
from nst_grader.reports import file_rows, new_run_dir, strict, write_file_reports, write_gradebook, write_tables
from nst_grader.runner import FileOutcome, Submission
from nst_grader.isolation import make_stub
from nst_grader.scoring import compare, parse_events

from grader_helpers import ROOT

# ------------------------------------------------------------------ the reference formulas


def test_numpy_reference_matches_nst_utils_costs():
    from nst_utils import costs

    rng = np.random.default_rng(0)
    for n_H, n_W, n_C in [(1, 1, 3), (7, 2, 9), (3, 5, 4)]:
        a, b = (rng.standard_normal((1, n_H, n_W, n_C)).astype(np.float32) for _ in range(2))
        assert np.isclose(ref.content_cost(a, b), float(costs.content_cost(a, b)), rtol=1e-5)
        assert np.isclose(ref.layer_style_cost(a, b), float(costs.layer_style_cost(a, b)), rtol=1e-5)
        assert np.allclose(ref.unroll(a), costs.unroll(a).numpy(), rtol=1e-6)
        assert np.isclose(ref.total_variation_cost(a), float(costs.total_variation_cost(a)), rtol=1e-5)
        A = ref.unroll(a).astype(np.float32)
        assert np.allclose(ref.gram_matrix(A), costs.gram_matrix(A).numpy(), rtol=1e-5, atol=1e-5)
    a_S = {n: rng.standard_normal((1, 4, 3, 5)).astype(np.float32) for n in ("conv1_1", "conv2_1", "conv4_2")}
    a_G = {n: rng.standard_normal((1, 4, 3, 5)).astype(np.float32) for n in a_S}
    weights = {"conv1_1": 0.3, "conv2_1": 0.7}
    assert np.isclose(ref.style_cost(a_S, a_G, weights), float(costs.style_cost(a_S, a_G, weights)), rtol=1e-5)
    assert np.isclose(ref.total_cost(0.7, 0.05, 1.0, 1000.0), float(costs.total_cost(0.7, 0.05, alpha=1, beta=1000)))
    trap = ref.layer_style_cost(a, b, ref.unroll_trap)
    assert not np.isclose(trap, ref.layer_style_cost(a, b))


# ------------------------------------------------------------------ hidden cases


def test_hidden_cases_depend_on_the_seed_and_the_student():
    for g in ASSIGNMENTS["05_cost_functions"].grade_ids:
        ex = EXERCISES[g]
        a, b = cases_for(ex, 123, "alice"), cases_for(ex, 123, "alice")
        assert json.dumps([encode_case(c) for c in a]) == json.dumps([encode_case(c) for c in b])
        for other in (cases_for(ex, 124, "alice"), cases_for(ex, 123, "bob")):
            assert json.dumps([encode_case(c) for c in a]) != json.dumps([encode_case(c) for c in other])
        assert len(a) >= 3
        for c in a:
            assert len(set(c.factors.values())) == len(c.factors)  # feedback names one factor only
            for value in c.mistakes.values():
                assert not np.isclose(value, float(c.expected), rtol=1e-3)


def test_total_cost_cases_always_give_alpha_and_beta():
    for c in cases_for(EXERCISES["total_cost"], 5, "x"):
        assert set(c.kwargs) == {"alpha", "beta"}


# ------------------------------------------------------------------ untrusted notebooks


def nb_bytes(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize("data, words", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"", "invalid JSON"),
    (b"42", "not an object"),
    (nb_bytes({"nbformat": 3, "worksheets": []}), "nbformat 3"),
    (nb_bytes({"cells": None}), "no 'cells' list"),
    (nb_bytes({"cells": [{"cell_type": "code", "source": "x" * 10}] * 500_000}), "characters of code"),
])
def test_unreadable_notebooks_are_refused_with_the_file_name(data, words):
    with pytest.raises(NotebookError, match=words) as err:
        parse_notebook(data, Path("sub/alice.ipynb"))
    assert "sub/alice.ipynb" in str(err.value)


def test_damaged_cells_are_skipped_with_a_warning():
    nb = parse_notebook(nb_bytes({"cells": [
        42, None, {"cell_type": "code", "metadata": None, "source": "x = 1"},
        {"cell_type": "code", "metadata": {"nbgrader": "oops"}, "source": 7},
        {"cell_type": "weird", "source": ""},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "test_x"}}, "source": ["a", "b"]},
    ]}), Path("n.ipynb"))
    assert [c.number for c in nb.cells] == [3, 4, 6]
    assert nb.cells[0].source == "x = 1" and nb.cells[1].source == "" and nb.cells[2].is_test
    assert len(nb.warnings) == 5


def test_files_that_are_not_regular_are_refused(tmp_path):
    os.symlink("/etc/passwd", tmp_path / "link.ipynb")
    with pytest.raises(NotebookError, match="symbolic link"):
        read_submission(tmp_path / "link.ipynb")
    (tmp_path / "dir.ipynb").mkdir()
    with pytest.raises(NotebookError, match="a folder"):
        read_submission(tmp_path / "dir.ipynb")
    os.mkfifo(tmp_path / "fifo.ipynb")
    with pytest.raises(NotebookError, match="not a regular file"):
        read_submission(tmp_path / "fifo.ipynb")
    (tmp_path / "big.ipynb").write_bytes(b" " * 2000)
    with pytest.raises(NotebookError, match="MB the grader reads"):
        read_submission(tmp_path / "big.ipynb", max_bytes=1000)


# ------------------------------------------------------------------ untrusted answers


def test_events_from_the_sandbox_are_validated():
    lines = [
        "not json", "[" * 50_000, json.dumps([1, 2]), json.dumps({"ev": "case", "k": 99, "shape": [], "data": [1.0]}),
        json.dumps({"ev": "case", "k": 0, "shape": [2], "data": [1.0]}),  # wrong length: refused
        json.dumps({"ev": "case", "k": 0, "shape": [], "data": [1.5]}),  # the first valid answer counts...
        json.dumps({"ev": "case", "k": 1, "shape": [], "data": [True]}),  # booleans are not numbers
        json.dumps({"ev": "case", "k": 2, "shape": [-1], "data": []}),
        json.dumps({"ev": "case", "k": 0, "shape": [], "data": [2.0]}),
        json.dumps({"ev": "status", "passed": True, "points": 12}),  # no such thing as a verdict
        json.dumps({"ev": "end"}),
    ]
    p = parse_events("\n".join(lines), 3)
    assert p.ended and p.malformed == 5
    assert 0 in p.errors and p.errors[0][0] == "unreadable"  # the wrong-length one came first
    assert p.errors[1][0] == "unreadable" and p.errors[2][0] == "unreadable"
    assert p.values == {}


def test_a_huge_integer_is_a_wrong_answer_not_a_grader_error():
    """An integer too large for a float (forged by a hostile process, or returned as a Python int) is an
    infinite value: that hidden test fails, the file is graded."""
    from nst_grader.scoring import score

    ex = EXERCISES["total_cost"]
    cases = cases_for(ex, 3, "eve")
    big = 10 ** 400
    events = [json.dumps({"ev": "start", "offset": 0})]
    events += [json.dumps({"ev": "case", "k": k, "shape": [], "data": [big if k == 1 else float(c.expected)]})
               for k, c in enumerate(cases)]
    events.append(json.dumps({"ev": "end"}))
    frame = {"type": "done", "id": 0, "events": "\n".join(events), "exit_code": 0}
    r = score(ex, cases, frame, None, 30, 16, 5)
    assert r.status == "failed" and r.points == 0 and r.passed == len(cases) - 1
    assert "Hidden test 2" in r.message and "infinity" in r.message
    assert r.detail["cases"][1]["got"] == float("inf")


def test_feedback_names_the_mistake_without_numbers():
    cases = cases_for(EXERCISES["compute_layer_style_cost"], 1, "s")
    c = cases[0]
    v = compare(np.asarray(c.mistakes["unrolling trap"]), c)
    assert not v.ok and "unrolling trap" in v.hint
    hw = c.factors["n_H*n_W"]
    v = compare(np.asarray(float(c.expected) * hw), c)
    assert not v.ok and v.hint == "Your value is n_H*n_W times too large: check the normalisation."
    assert compare(np.asarray(float(c.expected) * (1 + 1e-6)), c).ok
    assert not compare(np.asarray(float(c.expected) * (1 + 1e-3)), c).ok
    assert not compare(np.asarray(np.nan), c).ok
    g = cases_for(EXERCISES["gram_matrix"], 1, "s")[0]
    A = g.args[0].astype(np.float64)
    v = compare(A.T @ A, g)
    assert "A^T A" in v.hint and str(A.shape[1]) not in v.message
    for text in (v.message, v.hint):
        assert f"{float(c.expected):.4g}" not in text


# ------------------------------------------------------------------ student ids and the gradebook


def test_student_ids_are_unique_and_safe(tmp_path):
    def touch(rel: str) -> Path:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{}")
        return p

    touch("c/submitted/alice/ps05/05_cost_functions.ipynb")
    touch("c/submitted/bob/ps05/05_cost_functions.ipynb")
    touch("x/alice/sub/x.ipynb")
    touch("x/bob/sub/x.ipynb")
    touch("y/.ipynb_checkpoints/z.ipynb")
    weird = touch("y/=HYPERLINK(evil) ..\n\u00e9.ipynb")
    os.symlink("/etc/passwd", tmp_path / "y" / "link.ipynb")
    subs, problems = discover([tmp_path / "c", tmp_path / "x", tmp_path / "y", weird, tmp_path / "nope.ipynb"])
    ids = {s.student: s for s in subs}
    assert set(ids) == {"alice", "bob", "alice_sub_x", "bob_sub_x", "HYPERLINK_evil_\u00e9"}
    assert ids["alice"].origin == "nbgrader" and ids["alice_sub_x"].name == "x"
    assert sorted(m.split(": ")[-1] for _, m in problems) == ["No such file or directory", "a symbolic link; not followed"]
    for sid in [*ids, *(p for p, _ in problems)]:
        assert sid == safe_id(sid) and "/" not in sid and not sid.startswith((".", "-"))
    assert safe_id("../../etc/passwd") == "etc_passwd" and safe_id("...") == "student"


def test_gradebook_is_a_csv_a_spreadsheet_cannot_run(tmp_path):
    run = new_run_dir(tmp_path)
    assert new_run_dir(tmp_path) != run  # a second run the same second gets its own folder
    o = FileOutcome(Submission(Path("=cmd|' /C calc'!A0.ipynb"), "cmd_C_calc_A0", "file name", name="=1+1"),
                    error="=HYPERLINK(\"x\")")
    write_tables(run, file_rows([o], [("-2+3", "@evil")]))
    for name in ("gradebook.csv", "lms-canvas.csv", "lms-moodle.csv", "instructor/files.csv"):
        rows = list(csv.reader((run / name).open(encoding="utf-8")))
        assert len(rows) >= 3, name
        for row in rows[1:]:
            assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), (name, row)
    with pytest.raises(FileExistsError):
        write_gradebook(run, [])


def _outcome(student: str, group: str, a, points: dict[str, int], name: str = "", error=None):
    from nst_grader.scoring import Result

    o = FileOutcome(Submission(Path(f"{student}.ipynb"), student, "nbgrader", name=name or group, group=group),
                    error=error, assignment=a.id)
    if not error:
        o.results = [Result(e.grade_id, e.function, e.points, "passed" if points.get(e.grade_id) else "failed",
                            points=points.get(e.grade_id, 0)) for e in a.exercises]
    return o


def test_one_gradebook_across_assignments_one_row_per_student(tmp_path, monkeypatch):
    """Two assignments, three students: one gradebook row per student, one column per assignment and the
    total; Canvas's and Moodle's import columns; a missing assignment is empty and counts 0."""
    from nst_grader import reports
    from nst_grader.cases import Assignment, Exercise

    second = Assignment("01_cnn_feature_maps_test", "01_x.ipynb", "Lesson 01: a test assignment",
                        (Exercise("rf_test", "rf_test", 3, lambda rng: []),), needs_tensorflow=False)
    monkeypatch.setattr(reports, "ASSIGNMENTS", {**ASSIGNMENTS, second.id: second})
    first = ASSIGNMENTS["05_cost_functions"]
    full = {e.grade_id: e.points for e in first.exercises}
    outcomes = [
        _outcome("ann__05", "ann", first, full, name="Ann"),
        _outcome("ann__01", "ann", second, {"rf_test": 3}, name="Ann"),
        _outcome("bo__05", "bo", first, {"gram_matrix": 2}, name="Bo"),
        _outcome("bo__01", "bo", second, {}, name="Bo", error="bo.ipynb: not a notebook"),
        _outcome("cy__01", "cy", second, {"rf_test": 3}, name="Cy"),
    ]
    run = new_run_dir(tmp_path)
    write_tables(run, file_rows(outcomes, []))
    book = list(csv.DictReader((run / "gradebook.csv").open(encoding="utf-8")))
    assert list(book[0]) == ["student", "id", "05_cost_functions", second.id, "total", "max_points", "status", "flags"]
    by = {r["id"]: r for r in book}
    assert len(book) == 3
    assert (by["ann"]["05_cost_functions"], by["ann"][second.id], by["ann"]["total"], by["ann"]["max_points"]) == \
        ("12", "3", "15", "15")
    assert by["bo"]["total"] == "2" and by["bo"]["status"].startswith("error: ") and "not a notebook" in by["bo"]["status"]
    assert by["cy"]["05_cost_functions"] == "" and by["cy"]["total"] == "3"
    canvas = list(csv.reader((run / "lms-canvas.csv").open(encoding="utf-8")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lesson 05: the cost functions",
                         second.title]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][5:] == ["12", "3"]
    assert ["Ann", "", "", "ann", "", "12", "3"] in canvas
    moodle = list(csv.DictReader((run / "lms-moodle.csv").open(encoding="utf-8")))
    assert moodle[0] == {"Username": "ann", "Full name": "Ann", "Lesson 05: the cost functions": "12", second.title: "3"}
    files = list(csv.DictReader((run / "instructor" / "files.csv").open(encoding="utf-8")))
    assert len(files) == 5


def test_names_differing_in_accents_or_script_stay_distinct(tmp_path):
    names = ["Zo\u00eb", "Zo\u00e9", "Zoe", "\u5f20\u4f1f", "\u674e\u5a1c", "\u0410\u043d\u043d\u0430"]
    for n in names:
        p = tmp_path / "submitted" / n / "ps05" / "05_cost_functions.ipynb"
        p.parent.mkdir(parents=True)
        p.write_text("{}")
    subs, problems = discover([tmp_path / "submitted"])
    assert not problems
    assert sorted(s.name for s in subs) == sorted(names)
    assert len({s.student for s in subs}) == len({s.group for s in subs}) == len(names)
    run = new_run_dir(tmp_path / "out")
    write_tables(run, file_rows([FileOutcome(s, error="x") for s in subs], []))
    book = list(csv.DictReader((run / "gradebook.csv").open(encoding="utf-8")))
    assert sorted(r["student"] for r in book) == sorted(names) and len({r["id"] for r in book}) == len(names)


def test_a_file_name_that_is_not_utf8_is_graded_and_reported(tmp_path):
    folder = os.fsencode(tmp_path / "in")
    os.makedirs(folder)
    bad = os.path.join(folder, b"caf\xe9-\xff.ipynb")
    with open(bad, "w") as f:
        f.write("{}")
    subs, problems = discover([tmp_path / "in"])
    assert len(subs) == 1 and not problems
    s = subs[0]
    assert s.student == "caf" and s.name == "caf\\xe9-\\xff"
    o = FileOutcome(s, error="not a notebook: " + str(s.path))
    run = new_run_dir(tmp_path / "out")
    write_file_reports(run, o, "now")
    write_tables(run, file_rows([o], []))
    files = list(csv.DictReader((run / "instructor" / "files.csv").open(encoding="utf-8")))
    assert files[0]["file"].endswith("caf\\xe9-\\xff.ipynb")
    json.loads((run / "instructor" / "caf.json").read_text(encoding="utf-8"))


def test_reports_are_strict_json():
    data = {"got": [float("nan"), float("inf"), -float("inf"), 1.5], "text": "bad \udcff byte", 3: np.float64("nan")}
    text = json.dumps(strict(data), allow_nan=False)
    assert json.loads(text) == {"got": ["NaN", "Infinity", "-Infinity", 1.5], "text": "bad \\udcff byte", "3": "NaN"}


# ------------------------------------------------------------------ the reference stubs


def test_reference_stubs_raise_for_every_public_name():
    for module in ("costs", "loss"):
        source = (ROOT / "nst_utils" / f"{module}.py").read_text()
        ns: dict = {}
        exec(compile(make_stub(module, source), f"<stub {module}>", "exec"), ns)
        real = [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
        real += [line.split("(")[0].split(":")[0][6:] for line in source.splitlines() if line.startswith("class ")]
        assert real
        for name in real:
            assert name in ns, (module, name)
            with pytest.raises(Exception, match="reference implementation") as err:
                ns[name]()
            assert type(err.value).__name__ == zygote.BLOCKED
        assert "reduce_sum" not in make_stub(module, source)


def test_frames_from_the_sandbox_are_size_limited():
    reader = zygote.FrameReader(100)
    assert reader.feed(zygote.pack({"a": 1})[:3]) == []
    assert [json.loads(f) for f in reader.feed(zygote.pack({"a": 1})[3:] + zygote.pack([2]))] == [{"a": 1}, [2]]
    with pytest.raises(ValueError, match="more than the 100"):
        zygote.FrameReader(100).feed(zygote.pack("x" * 200))


def test_the_assignment_of_a_submission_comes_from_its_metadata_not_its_name():
    from nst_grader.runner import detect_assignment

    def nb(metadata: dict, cells: list[dict]) -> bytes:
        return nb_bytes({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})

    code = {"cell_type": "code", "metadata": {}, "source": "x = 1"}
    named = parse_notebook(nb({"nst_grader": {"assignment": "05_cost_functions"}}, [code]), Path("whatever.ipynb"))
    assert detect_assignment(named) == "05_cost_functions"
    by_ids = parse_notebook(nb({}, [code, {"cell_type": "code", "source": "pass",
                                           "metadata": {"nbgrader": {"grade_id": "test_total_cost", "grade": True}}}]),
                            Path("01_cnn_feature_maps.ipynb"))  # the file name says 01: the grade_id says 05
    assert detect_assignment(by_ids) == "05_cost_functions"
    unknown = parse_notebook(nb({"nst_grader": {"assignment": "../../etc"}}, [code]), Path("05_cost_functions.ipynb"))
    with pytest.raises(NotebookError, match="none of the graded exercises"):
        detect_assignment(unknown)
