"""Lesson 02's graded exercises, ``channel_objective`` and ``layer_objective`` (NumPy only).

Unit tests check the float64 references against the library's ``nu.objective`` on the hidden cases, and
that every classic mistake has its own value and hint. One real grading run (sandboxed) then grades
correct, multi-cell, mistaken, reference-calling and hostile submissions built from the lesson's source
notebook.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from assignment_helpers import (ESCAPE, FORGE_RESULTS, TAMPER_NUMPY, build_batch, by_id, check_batch_integrity, hints,
                                lesson_notebook, outputs, scores, solution_body, with_bodies)
from grader_helpers import ROOT, grade_id, source_of, write
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.assignments import feature_visualisation as fv
from nst_grader.cases import cases_for

SOURCE = ROOT / "notebooks" / "02_feature_visualisation.ipynb"
ID = "02_feature_visualisation"
POINTS = {"channel_objective": 2, "layer_objective": 1}


# ------------------------------------------------------------------ references and cases (no sandbox)


@pytest.mark.parametrize("seed", range(3))
def test_the_references_agree_with_the_library(seed):
    import nst_utils as nu
    import tensorflow as tf

    a = ASSIGNMENTS[ID]
    for case in cases_for(a.exercise("channel_objective"), seed, "ada"):
        act, w = case.args
        mix = sum((float(w[c]) * nu.objective("conv1_1", c) for c in np.nonzero(w)[0][1:]),
                  float(w[np.nonzero(w)[0][0]]) * nu.objective("conv1_1", int(np.nonzero(w)[0][0])))
        acts = {"conv1_1": tf.constant(np.pad(act, [(0, 0)] * 3 + [(0, 64 - act.shape[-1])]))}  # conv1_1: 64 channels
        assert np.isclose(float(mix(acts)[0]), case.expected, rtol=1e-5)
    for case in cases_for(a.exercise("layer_objective"), seed, "ada"):
        assert np.isclose(float(nu.objective("conv1_1")({"conv1_1": tf.constant(case.args[0])})[0]), case.expected,
                          rtol=1e-5)


@pytest.mark.parametrize("seed", range(50))
def test_every_mistake_has_its_own_value_and_a_hint(seed):
    a = ASSIGNMENTS[ID]
    names = {"channel_objective": {"weights not applied", "mean of the squares"},
             "layer_objective": {"no square", "root mean square", "square of the mean"}}
    for ex in a.exercises:
        for case in cases_for(ex, seed, "student"):
            assert set(case.mistakes) == names[ex.grade_id], case.detail
            values = [float(case.expected), *case.mistakes.values(),
                      *(float(case.expected) * f for f in case.factors.values())]
            assert len({round(v, 9) for v in values}) == len(values), case.detail
            assert all(name in a.hints for name in case.mistakes)


def test_the_lesson_has_the_exercises_with_their_points():
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    cells = {grade_id(c): c for c in nb["cells"] if grade_id(c)}
    for gid, points in POINTS.items():
        assert cells[gid]["metadata"]["nbgrader"]["solution"] is True and "BEGIN SOLUTION" in source_of(cells[gid])
        assert cells[f"test_{gid}"]["metadata"]["nbgrader"]["points"] == points
    assert {e.grade_id: e.points for e in ASSIGNMENTS[ID].exercises} == POINTS
    assert ASSIGNMENTS[ID].needs_tensorflow is False


# ------------------------------------------------------------------ one grading run (real sandbox)

CHANNEL_MISTAKES = {
    "weights not applied": ("O = float(np.mean(a))", None),
    "mean of the squares": ("O = float(np.mean(np.square(np.asarray(a, np.float64)) @ np.asarray(w, np.float64)))",
                            None),
    "sum": ("O = float(np.sum(np.asarray(a, np.float64) @ np.asarray(w, np.float64)))", "n_H*n_W times too large"),
    "divided by n_C": ("O = float(np.mean(np.asarray(a, np.float64) * np.asarray(w, np.float64)))",
                       "n_C times too small"),
}
LAYER_MISTAKES = {
    "no square": ("O = float(np.mean(a))", None),
    "root mean square": ("O = float(np.sqrt(np.mean(np.square(np.asarray(a, np.float64)))))", None),
    "square of the mean": ("O = float(np.mean(np.asarray(a, np.float64)) ** 2)", None),
    "sum": ("O = float(np.sum(np.square(np.asarray(a, np.float64))))", "n_H*n_W*n_C times too large"),
}
PAIRS = {f"mistakes_{k}": (a, b) for k, (a, b) in enumerate(zip(CHANNEL_MISTAKES, LAYER_MISTAKES), start=1)}


def expected_hint(table: dict, name: str) -> str:
    body, factor_hint = table[name]
    return factor_hint or fv.HINTS[name]


def multi_cell_notebook() -> dict:
    """Correct work spread over cells: a helper in a cell of its own, a stray print, a failing scratch cell."""
    nb = with_bodies(lesson_notebook(SOURCE), {
        "channel_objective": "O = float(position_mean(weighted(a, w)))\nprint('a stray print')",
        "layer_objective": "O = float(position_mean(np.square(np.asarray(a, np.float64))).mean())"})
    cells = nb["cells"]

    def code(src: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}

    index = {grade_id(c): k for k, c in enumerate(cells) if grade_id(c)}
    cells.insert(index["layer_objective"], code("print(1 / 0)  # a scratch cell that fails\n"))
    cells.insert(index["channel_objective"], code(
        "import numpy as np\n\ndef weighted(a, w):\n"
        "    return np.tensordot(np.asarray(a, np.float64), np.asarray(w), axes=1)\n\n"
        "def position_mean(x):\n    return np.asarray(x).mean(axis=(0, 1, 2))\n"))
    return nb


def reference_notebook() -> dict:
    """Both exercises call the library's objective: one made in an earlier cell, one directly."""
    nb = with_bodies(lesson_notebook(SOURCE), {
        "channel_objective": ("O = float(sum(float(w[c]) * nu.objective('conv5_1', c)({'conv5_1': a})[0] "
                              "for c in range(len(w)) if w[c]))"),
        "layer_objective": "O = float(made_earlier({'conv5_1': a})[0])"})
    index = next(k for k, c in enumerate(nb["cells"]) if grade_id(c) == "layer_objective")
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import nst_utils as nu\nmade_earlier = nu.objective('conv5_1')\n"})
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    nb = lesson_notebook(SOURCE)
    correct = {g: solution_body(nb, g) for g in POINTS}
    files = {name: {"channel_objective": CHANNEL_MISTAKES[a][0], "layer_objective": LAYER_MISTAKES[b][0]}
             for name, (a, b) in PAIRS.items()}
    files["tamper"] = {"channel_objective": TAMPER_NUMPY.replace("@@VAR@@", "O"), "layer_objective": FORGE_RESULTS}
    files["escape"] = {"channel_objective": ESCAPE + "\n" + correct["channel_objective"]}
    tmp = tmp_path_factory.mktemp("lesson02")
    write(reference_notebook(), tmp / "subs" / "reference.ipynb")
    return build_batch(tmp, SOURCE, correct, files, multi_cell_notebook())


def test_the_batch_is_graded_and_nothing_outside_changes(batch):
    check_batch_integrity(batch, ["correct", "multi_cell", "reference", *PAIRS, "tamper", "escape"])


def test_correct_and_multi_cell_work_get_full_marks(batch):
    for name in ("correct", "multi_cell"):
        rep = batch["instructor"][name]
        assert scores(rep) == POINTS, {g: e["message"] for g, e in by_id(rep).items()}
        assert all(e["hidden_tests_passed"] == e["hidden_tests"] >= 3 for e in rep["exercises"])
    assert "ZeroDivisionError" in " ".join(batch["instructor"]["multi_cell"]["notes"])
    assert batch["by_report"]["correct"]["total"] == "3"


@pytest.mark.parametrize("name", list(PAIRS))
def test_each_classic_mistake_gets_its_hint(batch, name):
    rep = batch["instructor"][name]
    assert scores(rep) == {g: 0 for g in POINTS}
    ch, la = PAIRS[name]
    for gid, table, mistake in (("channel_objective", CHANNEL_MISTAKES, ch), ("layer_objective", LAYER_MISTAKES, la)):
        assert by_id(rep)[gid]["status"] == "failed"
        assert expected_hint(table, mistake) in hints(rep, gid), (gid, mistake, by_id(rep)[gid])


def test_calling_the_library_scores_zero(batch):
    rep = batch["instructor"]["reference"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert e["channel_objective"]["status"] == e["layer_objective"]["status"] == "reference"
    assert "nst_utils.visualise.objective" in e["channel_objective"]["message"]
    assert "nst_utils.visualise.Objective" in e["layer_objective"]["message"]


def test_tampering_and_forged_results_get_nothing(batch):
    rep = batch["instructor"]["tamper"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert e["channel_objective"]["status"] == "failed"
    assert e["layer_objective"]["status"] == "crashed"
    assert "LEAK" not in outputs(rep)


def test_writing_outside_the_sandbox_fails(batch):
    rep = batch["instructor"]["escape"]
    assert scores(rep) == POINTS, {g: x["message"] for g, x in by_id(rep).items()}
    out = outputs(rep)
    assert "LEAK" not in out and out.count("blocked:") >= 4


def test_student_reports_reveal_no_hidden_input(batch):
    for name, rep in batch["instructor"].items():
        text = batch["markdown"][name] + json.dumps(batch["student"][name])
        for e in rep["exercises"]:
            for case in e["detail"].get("cases", []):
                assert case["detail"] not in text
                if abs(float(np.ravel(case["expected"])[0])) > 1e-3:
                    assert f"{float(np.ravel(case['expected'])[0]):.5g}" not in text
