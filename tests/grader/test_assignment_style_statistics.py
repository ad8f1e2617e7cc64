"""Lesson 08's graded exercises, ``mean_std_cost`` and ``sliced_wasserstein_cost`` (NumPy only).

Unit tests check the float64 references against the library's ``nu.MeanStdStatistic`` and
``nu.SlicedWassersteinStatistic`` on the hidden cases, and that every classic mistake has its own value
and hint. One real grading run (sandboxed) then grades correct, multi-cell, mistaken, reference-calling
and hostile submissions built from the lesson's source notebook.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from assignment_helpers import (ESCAPE, FORGE_RESULTS, TAMPER_NUMPY, build_batch, by_id, check_batch_integrity, hints,
                                lesson_notebook, outputs, scores, solution_body, with_bodies)
from grader_helpers import ROOT, grade_id, source_of, write
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.assignments import style_statistics as st
from nst_grader.cases import cases_for

SOURCE = ROOT / "notebooks" / "08_what_is_style.ipynb"
ID = "08_what_is_style"
POINTS = {"mean_std_cost": 2, "sliced_wasserstein_cost": 3}


# ------------------------------------------------------------------ references and cases (no sandbox)


@pytest.mark.parametrize("seed", range(3))
def test_the_references_agree_with_the_library(seed):
    import nst_utils as nu
    import tensorflow as tf

    a = ASSIGNMENTS[ID]
    for case in cases_for(a.exercise("mean_std_cost"), seed, "ada"):
        lib = nu.MeanStdStatistic(**case.kwargs)
        a_S, a_G = (tf.constant(x) for x in case.args)
        assert np.isclose(float(lib.cost(lib.target(a_S), a_G)), case.expected, rtol=1e-5)
    for case in cases_for(a.exercise("sliced_wasserstein_cost"), seed, "ada"):
        a_S, a_G, V = case.args
        lib = nu.SlicedWassersteinStatistic(directions=V.shape[1], resample=False)
        target = lib.target(tf.constant(a_S))._replace(fixed=tf.constant(V / np.linalg.norm(V, axis=0), tf.float32))
        assert np.isclose(float(lib.cost(target, tf.constant(a_G))), case.expected, rtol=1e-5)


@pytest.mark.parametrize("seed", range(50))
def test_every_mistake_has_its_own_value_and_a_hint(seed):
    a = ASSIGNMENTS[ID]
    for ex in a.exercises:
        cases = cases_for(ex, seed, "student")
        names = st.MEAN_STD_MISTAKES if ex.grade_id == "mean_std_cost" else st.SWD_MISTAKES
        for k, case in enumerate(cases):  # every mistake that can be made on the case is recognised on it
            expected = set(names)
            if ex.grade_id == "mean_std_cost":
                if k < 2:  # eps (1e-5) matters only where a channel is nearly constant: required in cases 3-4
                    eps = {"eps outside the square root"}
                    expected = (expected - eps) | (set(case.mistakes) & eps)
                if case.args[0].shape != case.args[1].shape:  # that mistake needs two images of one size
                    expected -= {"moments over the channels"}
            assert set(case.mistakes) == expected, (ex.grade_id, k, case.detail)
        for case in cases:
            values = [float(case.expected), *case.mistakes.values()]
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

MOMENTS = """\
def moments(a):
    v = np.asarray(a, np.float64).reshape(-1, np.shape(a)[-1])
    return @@MU@@, @@SIGMA@@

(mu_S, sigma_S), (mu_G, sigma_G) = moments(a_S), moments(a_G)
J = float(np.sum((mu_S - mu_G) ** 2) + np.sum((sigma_S - sigma_G) ** 2)) / np.shape(a_S)[-1]"""
MEAN_STD_MISTAKES = {
    "sample standard deviation": MOMENTS.replace("@@MU@@", "v.mean(axis=0)").replace(
        "@@SIGMA@@", "np.sqrt(v.var(axis=0, ddof=1) + eps)"),
    "moments of the whole activation": ("mu_S, mu_G = np.mean(a_S), np.mean(a_G)\n"
                                        "sigma_S, sigma_G = np.sqrt(np.var(a_S) + eps), np.sqrt(np.var(a_G) + eps)\n"
                                        "J = float((mu_S - mu_G) ** 2 + (sigma_S - sigma_G) ** 2)"),
    "moments over the channels": MOMENTS.replace("@@MU@@", "v.mean(axis=1)").replace(
        "@@SIGMA@@", "np.sqrt(v.var(axis=1) + eps)").replace(
        "J = float(np.sum((mu_S - mu_G) ** 2) + np.sum((sigma_S - sigma_G) ** 2)) / np.shape(a_S)[-1]",
        "J = float(np.mean((mu_S - mu_G) ** 2 + (sigma_S - sigma_G) ** 2))"),
    "variance instead of standard deviation": MOMENTS.replace("@@MU@@", "v.mean(axis=0)").replace(
        "@@SIGMA@@", "v.var(axis=0) + eps"),
    "eps outside the square root": MOMENTS.replace("@@MU@@", "v.mean(axis=0)").replace(
        "@@SIGMA@@", "np.sqrt(v.var(axis=0)) + eps"),
}
PROJECT = """\
V = np.asarray(V, np.float64)
@@NORMALISE@@
F_S = np.asarray(a_S, np.float64).reshape(-1, V.shape[0])
F_G = np.asarray(a_G, np.float64).reshape(-1, V.shape[0])
J = float(np.mean((@@SORT_S@@ - @@SORT_G@@) ** 2))"""


def _swd(normalise="V = V / np.linalg.norm(V, axis=0)", sort_s="np.sort(F_S @ V, axis=0)",
         sort_g="np.sort(F_G @ V, axis=0)") -> str:
    return (PROJECT.replace("@@NORMALISE@@", normalise).replace("@@SORT_S@@", sort_s)
            .replace("@@SORT_G@@", sort_g))


SWD_MISTAKES = {
    "unsorted projections": _swd(sort_s="(F_S @ V)", sort_g="(F_G @ V)"),
    "directions not normalised": _swd(normalise="pass"),
    "rows normalised": _swd(normalise="V = V / np.linalg.norm(V, axis=1, keepdims=True)"),
    "sorted across the directions": _swd(sort_s="np.sort(F_S @ V, axis=1)", sort_g="np.sort(F_G @ V, axis=1)"),
}
PAIRS = {f"mistakes_{k}": (a, b) for k, (a, b) in enumerate(zip(MEAN_STD_MISTAKES, [*SWD_MISTAKES, None]), start=1)}


def multi_cell_notebook() -> dict:
    """Correct work spread over cells: helpers in cells of their own, a stray print, a failing scratch cell."""
    nb = lesson_notebook(SOURCE)
    cells = nb["cells"]

    def code(src: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}

    nb = with_bodies(nb, {
        "mean_std_cost": ("(mu_S, sigma_S), (mu_G, sigma_G) = channel_moments(a_S, eps), channel_moments(a_G, eps)\n"
                          "J = squared(mu_S - mu_G) + squared(sigma_S - sigma_G)\nprint('a stray print')"),
        "sliced_wasserstein_cost": ("P_S, P_G = sorted_projections(a_S, V), sorted_projections(a_G, V)\n"
                                    "J = float(np.mean((P_S - P_G) ** 2))")})
    cells = nb["cells"]
    index = {grade_id(c): k for k, c in enumerate(cells) if grade_id(c)}
    cells.insert(index["sliced_wasserstein_cost"], code(
        "def sorted_projections(a, V):\n    V = np.asarray(V, np.float64) / np.linalg.norm(V, axis=0)\n"
        "    F = np.asarray(a, np.float64).reshape(-1, V.shape[0])\n    return np.sort(F @ V, axis=0)\n"))
    cells.insert(index["mean_std_cost"], code("print(undefined_name)  # a scratch cell that fails\n"))
    cells.insert(index["mean_std_cost"], code(
        "def channel_moments(a, eps):\n    v = np.asarray(a, np.float64).reshape(-1, np.shape(a)[-1])\n"
        "    return v.mean(axis=0), np.sqrt(v.var(axis=0) + eps)\n\n"
        "def squared(d):\n    return float(np.sum(d ** 2)) / len(d)\n"))
    return nb


def reference_notebook() -> dict:
    """Both exercises call the library: one through an instance made in an earlier cell, one directly."""
    nb = with_bodies(lesson_notebook(SOURCE), {
        "mean_std_cost": "J = float(made_earlier.cost(made_earlier.target(a_S), a_G))",
        "sliced_wasserstein_cost": ("lib = nu.SlicedWassersteinStatistic(directions=np.shape(V)[1], resample=False)\n"
                                    "J = float(lib.cost(lib.target(a_S), a_G))")})
    index = next(k for k, c in enumerate(nb["cells"]) if grade_id(c) == "mean_std_cost")
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import nst_utils as nu\nmade_earlier = nu.MeanStdStatistic()\n"})
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    nb = lesson_notebook(SOURCE)
    correct = {g: solution_body(nb, g) for g in POINTS}
    files = {name: {"mean_std_cost": MEAN_STD_MISTAKES[a], "sliced_wasserstein_cost": SWD_MISTAKES[b] if b else
                    correct["sliced_wasserstein_cost"]} for name, (a, b) in PAIRS.items()}
    files["tamper"] = {"mean_std_cost": TAMPER_NUMPY.replace("@@VAR@@", "J"), "sliced_wasserstein_cost": FORGE_RESULTS}
    files["escape"] = {"mean_std_cost": ESCAPE + "\n" + correct["mean_std_cost"]}
    tmp = tmp_path_factory.mktemp("lesson08")
    write(reference_notebook(), tmp / "subs" / "reference.ipynb")
    return build_batch(tmp, SOURCE, correct, files, multi_cell_notebook())


def test_the_batch_is_graded_and_nothing_outside_changes(batch):
    check_batch_integrity(batch, ["correct", "multi_cell", "reference", *PAIRS, "tamper", "escape"])


def test_correct_and_multi_cell_work_get_full_marks(batch):
    for name in ("correct", "multi_cell"):
        rep = batch["instructor"][name]
        assert scores(rep) == POINTS, {g: e["message"] for g, e in by_id(rep).items()}
        assert all(e["hidden_tests_passed"] == e["hidden_tests"] == 4 for e in rep["exercises"])
    assert "NameError" in " ".join(batch["instructor"]["multi_cell"]["notes"])  # the scratch cell, reported
    assert batch["by_report"]["correct"]["total"] == "5"


@pytest.mark.parametrize("name", list(PAIRS))
def test_each_classic_mistake_gets_its_hint(batch, name):
    rep = batch["instructor"][name]
    ms, swd = PAIRS[name]
    assert scores(rep) == {"mean_std_cost": 0, "sliced_wasserstein_cost": 0 if swd else 3}
    assert by_id(rep)["mean_std_cost"]["status"] == "failed"
    assert st.HINTS[ms] in hints(rep, "mean_std_cost"), by_id(rep)["mean_std_cost"]
    if swd:
        assert st.HINTS[swd] in hints(rep, "sliced_wasserstein_cost"), by_id(rep)["sliced_wasserstein_cost"]


def test_calling_the_library_scores_zero(batch):
    rep = batch["instructor"]["reference"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert e["mean_std_cost"]["status"] == e["sliced_wasserstein_cost"]["status"] == "reference"
    assert "nst_utils.statistics.MeanStdStatistic" in e["mean_std_cost"]["message"]
    assert "nst_utils.statistics.SlicedWassersteinStatistic" in e["sliced_wasserstein_cost"]["message"]


def test_tampering_and_forged_results_get_nothing(batch):
    rep = batch["instructor"]["tamper"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert e["mean_std_cost"]["status"] == "failed"  # patched comparisons: compared outside the sandbox
    assert e["sliced_wasserstein_cost"]["status"] == "crashed"  # forged events on every fd, then os._exit
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
