"""Lesson 01's graded exercises, ``receptive_field`` and ``output_size`` (NumPy only).

Unit tests check the float64 references against independent computations (the lesson's gradient-measured
fields of VGG19, counting kernel positions one by one) and the hidden cases (every classic mistake has its
own value and hint). One real grading run (sandboxed) then grades correct, multi-cell, mistaken and
hostile submissions built from the lesson's source notebook. ``nst_utils`` has no implementation of
either quantity, so there is no reference to block (see the assignment's docstring).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from assignment_helpers import (ESCAPE, FORGE_RESULTS, TAMPER_NUMPY, build_batch, by_id, check_batch_integrity, hints,
                                lesson_notebook, outputs, scores, solution_body)
from grader_helpers import ROOT, grade_id, source_of
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.assignments import receptive_field as rf
from nst_grader.cases import NumPyArray, cases_for

SOURCE = ROOT / "notebooks" / "01_cnn_feature_maps.ipynb"
POINTS = {"receptive_field": 2, "output_size": 2}
VGG19_BLOCKS = (2, 2, 4, 4, 4)


def vgg19_stack():
    """(names, kernels, strides) of VGG19's 16 convs (3x3 /1) and 5 pools (2x2 /2), in order."""
    names, kernels, strides = [], [], []
    for b, convs in enumerate(VGG19_BLOCKS, start=1):
        for i in range(1, convs + 1):
            names.append(f"conv{b}_{i}"), kernels.append(3), strides.append(1)
        names.append(f"pool{b}"), kernels.append(2), strides.append(2)
    return names, kernels, strides


def field_by_intervals(kernels, strides) -> int:
    """The input pixels one unit of the last layer depends on, traced back layer by layer (no padding)."""
    lo, hi = 0, 0
    for k, s in reversed(list(zip(kernels, strides))):
        lo, hi = lo * s, hi * s + k - 1
    return hi - lo + 1


def size_by_positions(n, kernels, strides, paddings) -> int:
    """Count the kernel's positions inside the padded input, layer by layer."""
    for k, s, p in zip(kernels, strides, paddings):
        n = len(range(0, n + 2 * p - k + 1, s))
    return n


# ------------------------------------------------------------------ references and cases (no sandbox)


def test_the_receptive_field_reference_gives_vgg19s_measured_fields():
    names, kernels, strides = vgg19_stack()
    at = {n: rf.receptive_field(kernels[:i + 1], strides[:i + 1]) for i, n in enumerate(names)}
    assert [at[f"conv{b}_1"] for b in range(1, 6)] == [3, 10, 24, 68, 156]  # lesson 01, by the gradient
    assert (at["conv5_4"], at["pool5"]) == (252, 268)


@pytest.mark.parametrize("seed", range(20))
def test_the_references_agree_with_counting(seed):
    rng = np.random.default_rng(seed)
    for case in rf._rf_cases(rng):
        kernels, strides = (np.asarray(a.value if isinstance(a, NumPyArray) else a) for a in case.args)
        assert case.expected == field_by_intervals(kernels, strides)
    for case in rf._size_cases(rng):
        n, *stack = case.args
        stack = [np.asarray(a.value if isinstance(a, NumPyArray) else a) for a in stack]
        assert case.expected == size_by_positions(n, *stack) >= 2


@pytest.mark.parametrize("seed", range(50))
def test_every_mistake_has_its_own_value_and_a_hint(seed):
    a = ASSIGNMENTS["01_cnn_feature_maps"]
    for ex in a.exercises:
        for case in cases_for(ex, seed, "student"):
            names = rf.RF_MISTAKES if ex.grade_id == "receptive_field" else rf.SIZE_MISTAKES
            assert set(case.mistakes) == set(names), (ex.grade_id, case.detail)
            values = [float(case.expected), *case.mistakes.values()]
            assert len({round(v, 9) for v in values}) == len(values)
            assert all(name in a.hints for name in case.mistakes)


def test_cases_depend_on_the_student_and_the_seed_only():
    ex = ASSIGNMENTS["01_cnn_feature_maps"].exercise("receptive_field")
    first = [c.detail for c in cases_for(ex, 7, "ada")]
    assert first == [c.detail for c in cases_for(ex, 7, "ada")]
    assert first != [c.detail for c in cases_for(ex, 7, "grace")]
    assert first != [c.detail for c in cases_for(ex, 8, "ada")]
    kinds = [type(a) for c in cases_for(ex, 7, "ada") for a in c.args]
    assert list in kinds and NumPyArray in kinds  # lists of ints and int64 arrays, as the exercise says


def test_the_lesson_has_the_exercises_with_their_points():
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    cells = {grade_id(c): c for c in nb["cells"] if grade_id(c)}
    for gid, points in POINTS.items():
        assert cells[gid]["metadata"]["nbgrader"]["solution"] is True
        assert cells[f"test_{gid}"]["metadata"]["nbgrader"]["points"] == points
        assert "BEGIN SOLUTION" in source_of(cells[gid])
    assert {e.grade_id: e.points for e in ASSIGNMENTS["01_cnn_feature_maps"].exercises} == POINTS
    assert ASSIGNMENTS["01_cnn_feature_maps"].needs_tensorflow is False


# ------------------------------------------------------------------ one grading run (real sandbox)

RF_MISTAKES = {
    "stride product forgotten": "r = 1\nfor k in kernels:\n    r = r + (k - 1)",
    "jump of the layer itself": ("r, j = 1, 1\nfor k, s in zip(kernels, strides):\n    j = j * s\n"
                                 "    r = r + (k - 1) * j"),
    "one stride only": ("r, previous = 1, 1\nfor k, s in zip(kernels, strides):\n    r = r + (k - 1) * previous\n"
                        "    previous = s"),
    "field starts at 0": "r, j = 0, 1\nfor k, s in zip(kernels, strides):\n    r = r + (k - 1) * j\n    j = j * s",
}
SIZE_MISTAKES = {
    "no floor": "n_out = n\nfor k, s, p in zip(kernels, strides, paddings):\n    n_out = (n_out + 2 * p - k) / s + 1",
    "padding counted once": ("n_out = n\nfor k, s, p in zip(kernels, strides, paddings):\n"
                             "    n_out = (n_out + p - k) // s + 1"),
    "+1 forgotten": "n_out = n\nfor k, s, p in zip(kernels, strides, paddings):\n    n_out = (n_out + 2 * p - k) // s",
    "rounded up": ("n_out = n\nfor k, s, p in zip(kernels, strides, paddings):\n"
                   "    n_out = -(-(n_out + 2 * p - k) // s) + 1"),
}
PAIRS = {f"mistakes_{k}": (a, b) for k, (a, b) in enumerate(zip(RF_MISTAKES, SIZE_MISTAKES), start=1)}


def multi_cell_notebook() -> dict:
    """Correct work spread over cells: helpers in cells of their own, a stray print, a failing scratch cell."""
    nb = lesson_notebook(SOURCE)
    cells = nb["cells"]

    def code(src: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}

    index = {grade_id(c): k for k, c in enumerate(cells) if grade_id(c)}
    for c in cells:
        if grade_id(c) == "receptive_field":
            c["source"] = (source_of(c).split("### BEGIN SOLUTION")[0] + "### BEGIN SOLUTION\n"
                           "    r = 1\n    for l in range(len(kernels)):\n"
                           "        r = widen(r, kernels[l], jump(strides[:l]))\n"
                           "    ### END SOLUTION\n    return r\n\nprint('r =', receptive_field([3], [1]))\n")
        if grade_id(c) == "output_size":
            c["source"] = (source_of(c).split("### BEGIN SOLUTION")[0] + "### BEGIN SOLUTION\n"
                           "    n_out = n\n    for k, s, p in zip(kernels, strides, paddings):\n"
                           "        n_out = one_layer(n_out, k, s, p)\n    ### END SOLUTION\n    return n_out\n")
    cells.insert(index["output_size"], code("import math\n\ndef one_layer(n, k, s, p):\n"
                                            "    return math.floor((n + 2 * p - k) / s) + 1\n"))
    cells.insert(index["output_size"], code("print(1 / 0)  # a scratch cell that fails\n"))
    cells.insert(index["receptive_field"], code("import numpy as np\n\ndef jump(strides):\n"
                                                "    return int(np.prod(strides))\n\ndef widen(r, k, j):\n"
                                                "    return r + (k - 1) * j\n"))
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    nb = lesson_notebook(SOURCE)
    correct = {g: solution_body(nb, g) for g in POINTS}
    files = {name: {"receptive_field": RF_MISTAKES[a], "output_size": SIZE_MISTAKES[b]}
             for name, (a, b) in PAIRS.items()}
    files["tamper"] = {"receptive_field": TAMPER_NUMPY.replace("@@VAR@@", "r"), "output_size": FORGE_RESULTS}
    files["escape"] = {"receptive_field": ESCAPE + "\n" + correct["receptive_field"],
                       "output_size": correct["output_size"]}
    return build_batch(tmp_path_factory.mktemp("lesson01"), SOURCE, correct, files, multi_cell_notebook())


def test_the_batch_is_graded_and_nothing_outside_changes(batch):
    check_batch_integrity(batch, ["correct", "multi_cell", *PAIRS, "tamper", "escape"])


def test_correct_and_multi_cell_work_get_full_marks(batch):
    for name in ("correct", "multi_cell"):
        rep = batch["instructor"][name]
        assert scores(rep) == POINTS, {g: e["message"] for g, e in by_id(rep).items()}
        assert all(e["hidden_tests_passed"] == e["hidden_tests"] == 4 for e in rep["exercises"])
    notes = " ".join(batch["instructor"]["multi_cell"]["notes"])
    assert "ZeroDivisionError" in notes  # the failing scratch cell, reported and not graded
    assert batch["by_report"]["correct"]["total"] == "4"


@pytest.mark.parametrize("name", list(PAIRS))
def test_each_classic_mistake_gets_its_hint(batch, name):
    rep = batch["instructor"][name]
    assert scores(rep) == {g: 0 for g in POINTS}
    for gid, mistake in zip(POINTS, PAIRS[name]):
        assert by_id(rep)[gid]["status"] == "failed"
        assert rf.HINTS[mistake] in hints(rep, gid), (gid, mistake, by_id(rep)[gid])


def test_tampering_and_forged_results_get_nothing(batch):
    rep = batch["instructor"]["tamper"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert e["receptive_field"]["status"] == "failed"  # patched comparisons: compared outside the sandbox
    assert e["output_size"]["status"] == "crashed"  # forged events on every fd, then os._exit
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
