"""Lesson 09's graded exercises, ``instance_norm``, ``reflect_pad`` and ``residual_block`` (NumPy only).

Unit tests check the float64 references against the library's layers (``nu.InstanceNormalization``,
``nu.ReflectionPadding2D``, and a residual block assembled from them and Keras' ``Conv2D``) on the hidden
cases, that every classic mistake has its own value and hint, and that array-valued mistakes are told
apart by ``scoring.compare``. One real grading run (sandboxed) then grades correct, float32, multi-cell,
mistaken, reference-calling and hostile submissions built from the lesson's source notebook.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from assignment_helpers import (ESCAPE, FORGE_RESULTS, TAMPER_NUMPY, build_batch, by_id, check_batch_integrity, hints,
                                lesson_notebook, outputs, scores, solution_body, with_bodies)
from grader_helpers import ROOT, grade_id, source_of, write
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.assignments import transformation_network as tn
from nst_grader.cases import Case, cases_for
from nst_grader.scoring import compare

SOURCE = ROOT / "notebooks" / "09_fast_style_transfer.ipynb"
ID = "09_fast_style_transfer"
POINTS = {"instance_norm": 2, "reflect_pad": 1, "residual_block": 2}
MISTAKES = {"instance_norm": tn.IN_MISTAKES, "reflect_pad": tn.PAD_MISTAKES, "residual_block": tn.BLOCK_MISTAKES}


# ------------------------------------------------------------------ references and cases (no sandbox)


def _library_block(x, W1, W2, g1, b1, g2, b2):
    """Johnson et al.'s block from the library's layers: reflect, conv (no bias), instance norm, ReLU; twice; add."""
    import keras
    import nst_utils as nu

    def conv_norm(h, W, gamma, beta, relu):
        h = nu.ReflectionPadding2D(1)(h)
        conv = keras.layers.Conv2D(W.shape[-1], 3, padding="valid", use_bias=False)
        conv.build(h.shape)
        conv.set_weights([W])
        h = conv(h)
        norm = nu.InstanceNormalization()
        norm.build(h.shape)
        norm.gamma.assign(gamma)
        norm.beta.assign(beta)
        h = norm(h)
        return keras.ops.relu(h) if relu else h

    y = conv_norm(conv_norm(x, W1, g1, b1, relu=True), W2, g2, b2, relu=False)
    return np.asarray(x, np.float64) + np.asarray(y, np.float64)


@pytest.mark.parametrize("seed", range(3))
def test_the_references_agree_with_the_library(seed):
    import nst_utils as nu

    a = ASSIGNMENTS[ID]
    for case in cases_for(a.exercise("instance_norm"), seed, "ada"):
        x, gamma, beta = case.args  # float32, as the sandbox gives them
        layer = nu.InstanceNormalization(epsilon=case.kwargs.get("eps", 1e-5))
        layer.build(x.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        for batch in (x, x[:1]):  # several images (tf.nn.moments) and one (the fused kernel)
            np.testing.assert_allclose(np.asarray(layer(batch)), tn.instance_norm(batch, gamma, beta, **case.kwargs),
                                       rtol=1e-4, atol=1e-4)
    for case in cases_for(a.exercise("reflect_pad"), seed, "ada"):
        x, p = case.args
        np.testing.assert_array_equal(np.asarray(nu.ReflectionPadding2D(p)(x)), case.expected)
    for case in cases_for(a.exercise("residual_block"), seed, "ada"):
        np.testing.assert_allclose(_library_block(*case.args), case.expected, rtol=1e-4,
                                   atol=1e-4 * float(np.max(np.abs(case.expected))))


@pytest.mark.parametrize("seed", range(50))
def test_every_mistake_has_its_own_value_and_a_hint(seed):
    a = ASSIGNMENTS[ID]
    for ex in a.exercises:
        for k, case in enumerate(cases_for(ex, seed, "student")):
            expected = set(MISTAKES[ex.grade_id])
            if ex.grade_id == "instance_norm":
                if case.args[0].shape[0] == 1:  # batch statistics of one image are its own
                    expected -= {"batch statistics"}
                if k != 2:  # eps (1e-5) matters only where a channel is flat: required in case 3
                    expected = (expected - {"eps outside the square root"}) | (
                        set(case.mistakes) & {"eps outside the square root"})
            if ex.grade_id == "reflect_pad" and case.args[1] == 1:  # by 1 px, "edge" and "symmetric" agree
                expected -= {"edge copied"}
            assert set(case.mistakes) == expected, (ex.grade_id, k, case.detail)
            values = [case.expected, *case.mistakes.values()]
            for i in range(len(values)):
                for j in range(i + 1, len(values)):
                    assert not np.allclose(values[i], values[j], rtol=1e-3), (ex.grade_id, case.detail)
            assert all(name in a.hints for name in case.mistakes)
            right = compare(np.asarray(case.expected, np.float32).astype(np.float64), case, a.hints, ex.rtol)
            assert right.ok, (ex.grade_id, case.detail, right)  # a float32 answer passes
            for name, value in case.mistakes.items():  # every mistake fails with its own hint
                verdict = compare(np.asarray(value), case, a.hints, ex.rtol)
                assert not verdict.ok and verdict.hint == a.hints[name], (ex.grade_id, name, verdict)


def test_array_mistakes_are_checked_and_shapes_told_without_sizes():
    right = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="shape"):
        Case("k", "d", (), {}, right, mistakes={"wrong": np.zeros(3)})
    case = Case("k", "d", (), {}, right, mistakes={"same": right.copy(), "doubled": 2 * right})
    assert set(case.mistakes) == {"doubled"}  # a "mistake" equal to the right value is none
    verdict = compare(np.zeros((2, 4)), case, {"doubled": "h"})
    assert not verdict.ok and "axis 1" in verdict.message and "4" not in verdict.message
    assert compare(2 * right, case, {"doubled": "h"}).hint == "h"
    assert compare(2 * right + 1, case, {"doubled": "h"}).hint == ""


def test_the_lesson_has_the_exercises_with_their_points():
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    cells = {grade_id(c): c for c in nb["cells"] if grade_id(c)}
    for gid, points in POINTS.items():
        assert cells[gid]["metadata"]["nbgrader"]["solution"] is True and "BEGIN SOLUTION" in source_of(cells[gid])
        assert cells[f"test_{gid}"]["metadata"]["nbgrader"]["points"] == points
    assert {e.grade_id: e.points for e in ASSIGNMENTS[ID].exercises} == POINTS
    assert ASSIGNMENTS[ID].needs_tensorflow is False
    given = [c for c in nb["cells"] if c["cell_type"] == "code" and "def conv2d_valid(" in source_of(c)]
    assert len(given) == 1 and not grade_id(given[0])  # the given convolution: not graded, defined once


def test_the_given_convolution_is_keras_conv2d():
    """The lesson's ``conv2d_valid`` (run here from the notebook) and the grader's helper agree with Keras."""
    import keras

    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    ns: dict = {"np": np}
    exec(next(source_of(c) for c in nb["cells"] if "def conv2d_valid(" in source_of(c)), ns)
    helper: dict = {}
    exec(tn.HELPER_IMPORTS + tn.HELPERS["conv2d_valid"], helper)
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    conv = keras.layers.Conv2D(4, 3, padding="valid", use_bias=False, dtype="float64")
    conv.build(x.shape)
    conv.set_weights([W])
    for fn in (ns["conv2d_valid"], helper["conv2d_valid"], tn.conv2d_valid):
        np.testing.assert_allclose(fn(x, W), np.asarray(conv(x)), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ one grading run (real sandbox)

NORM = """\
x = np.asarray(x, np.float64)
mu = x.mean(axis=@@AX@@, keepdims=True)
var = x.var(axis=@@AX@@, keepdims=True@@DDOF@@)
return @@OUT@@"""


def _norm(ax="(1, 2)", ddof="", out="gamma * (x - mu) / np.sqrt(var + eps) + beta") -> str:
    return NORM.replace("@@AX@@", ax).replace("@@DDOF@@", ddof).replace("@@OUT@@", out)


IN_BODIES = {
    "batch statistics": _norm(ax="(0, 1, 2)"),
    "layer statistics": _norm(ax="(1, 2, 3)"),
    "sample variance": _norm(ddof=", ddof=1"),
    "eps outside the square root": _norm(out="gamma * (x - mu) / (np.sqrt(var) + eps) + beta"),
    "no scale and shift": _norm(out="(x - mu) / np.sqrt(var + eps)"),
    "gamma and beta swapped": _norm(out="beta * (x - mu) / np.sqrt(var + eps) + gamma"),
}
PAD_BODIES = {
    "edge repeated": "return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode='symmetric')",
    "edge copied": "return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode='edge')",
    "zeros": "return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))",
}
BLOCK = """\
h = np.maximum(instance_norm(conv2d_valid(@@PAD@@(x, 1), W1), gamma1, beta1, eps), 0.0)
y = instance_norm(conv2d_valid(@@PAD@@(h, 1), W2), gamma2, beta2, eps)
return @@OUT@@"""
ZERO_PAD = "(lambda a, p: np.pad(a, ((0, 0), (p, p), (p, p), (0, 0))))"


def _block(pad="reflect_pad", out="x + y") -> str:
    return BLOCK.replace("@@PAD@@", pad).replace("@@OUT@@", out)


BLOCK_BODIES = {
    "no skip connection": _block(out="y"),
    "relu after the sum": _block(out="np.maximum(x + y, 0.0)"),
    "relu after the second normalisation": _block(out="x + np.maximum(y, 0.0)"),
    "zero padding": _block(pad=ZERO_PAD),
    "no normalisation": ("h = np.maximum(conv2d_valid(reflect_pad(x, 1), W1), 0.0)\n"
                         "return x + conv2d_valid(reflect_pad(h, 1), W2)"),
}
# one file per instance-norm mistake, with a padding and a block mistake beside it while they last
PAIRS = {f"mistakes_{k}": (a, b, c) for k, (a, b, c) in enumerate(
    zip(IN_BODIES, [*PAD_BODIES, None, None, None], [*BLOCK_BODIES, None]), start=1)}
FLOAT32 = {
    "instance_norm": ("x = np.asarray(x, np.float32)\nmu = x.mean(axis=(1, 2), keepdims=True)\n"
                      "var = ((x - mu) ** 2).mean(axis=(1, 2), keepdims=True)\n"
                      "return (np.float32(1) / np.sqrt(var + np.float32(eps))) * (x - mu) * gamma + beta"),
    "reflect_pad": ("x = np.asarray(x, np.float32)\nx = np.concatenate([x[:, p:0:-1], x, x[:, -2:-p - 2:-1]], axis=1)\n"
                    "return np.concatenate([x[:, :, p:0:-1], x, x[:, :, -2:-p - 2:-1]], axis=2)"),
    "residual_block": _block(),
}


def multi_cell_notebook() -> dict:
    """Correct work spread over cells: helpers in cells of their own, a stray print, a failing scratch cell."""
    nb = with_bodies(lesson_notebook(SOURCE), {
        "instance_norm": "print('a stray print')\nreturn normalise_positions(x, eps) * gamma + beta",
        "reflect_pad": "return mirror(mirror(x, p, 1), p, 2)"})

    def code(src: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}

    cells = nb["cells"]
    index = {grade_id(c): k for k, c in enumerate(cells) if grade_id(c)}
    cells.insert(index["reflect_pad"], code(
        "def mirror(a, p, axis):\n    a = np.asarray(a)\n    n = a.shape[axis]\n"
        "    order = list(range(p, 0, -1)) + list(range(n)) + list(range(n - 2, n - 2 - p, -1))\n"
        "    return np.take(a, order, axis=axis)\n"))
    cells.insert(index["instance_norm"], code("print(undefined_name)  # a scratch cell that fails\n"))
    cells.insert(index["instance_norm"], code(
        "def normalise_positions(a, eps):\n    a = np.asarray(a, np.float64)\n"
        "    return (a - a.mean(axis=(1, 2), keepdims=True)) / np.sqrt(a.var(axis=(1, 2), keepdims=True) + eps)\n"))
    return nb


def reference_notebook() -> dict:
    """Every exercise calls the library: a layer made in an earlier cell, a new layer, the whole network."""
    nb = with_bodies(lesson_notebook(SOURCE), {
        "instance_norm": ("made_earlier.build(np.shape(x))\nmade_earlier.gamma.assign(gamma)\n"
                          "made_earlier.beta.assign(beta)\nreturn np.asarray(made_earlier(np.asarray(x)))"),
        "reflect_pad": "return np.asarray(nu.ReflectionPadding2D(p)(np.asarray(x)))",
        "residual_block": "net = nu.transformation_network(width=np.shape(x)[-1], padding='reflect')\nreturn net"})
    index = next(k for k, c in enumerate(nb["cells"]) if grade_id(c) == "instance_norm")
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": "import nst_utils as nu\nmade_earlier = nu.InstanceNormalization()\n"})
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    nb = lesson_notebook(SOURCE)
    correct = {g: solution_body(nb, g) for g in POINTS}
    files = {name: {"instance_norm": IN_BODIES[a], "reflect_pad": PAD_BODIES[b] if b else correct["reflect_pad"],
                    "residual_block": BLOCK_BODIES[c] if c else correct["residual_block"]}
             for name, (a, b, c) in PAIRS.items()}
    files["float32"] = FLOAT32
    files["tamper"] = {"instance_norm": TAMPER_NUMPY.replace("@@VAR@@", "x") + "\nreturn x",
                       "reflect_pad": FORGE_RESULTS}
    files["escape"] = {"instance_norm": ESCAPE + "\n" + correct["instance_norm"]}
    tmp = tmp_path_factory.mktemp("lesson09")
    write(reference_notebook(), tmp / "subs" / "reference.ipynb")
    return build_batch(tmp, SOURCE, correct, files, multi_cell_notebook(), timeout=60)


def test_the_batch_is_graded_and_nothing_outside_changes(batch):
    check_batch_integrity(batch, ["correct", "multi_cell", "reference", *PAIRS, "float32", "tamper", "escape"])


def test_correct_float32_and_multi_cell_work_get_full_marks(batch):
    for name in ("correct", "float32", "multi_cell"):
        rep = batch["instructor"][name]
        assert scores(rep) == POINTS, (name, {g: e["message"] for g, e in by_id(rep).items()})
        assert all(e["hidden_tests_passed"] == e["hidden_tests"] >= 3 for e in rep["exercises"])
    assert "NameError" in " ".join(batch["instructor"]["multi_cell"]["notes"])  # the scratch cell, reported
    assert batch["by_report"]["correct"]["total"] == "5"


@pytest.mark.parametrize("name", list(PAIRS))
def test_each_classic_mistake_gets_its_hint(batch, name):
    rep = batch["instructor"][name]
    norm, pad, block = PAIRS[name]
    assert scores(rep) == {"instance_norm": 0, "reflect_pad": 0 if pad else 1, "residual_block": 0 if block else 2}
    assert tn.HINTS[norm] in hints(rep, "instance_norm"), by_id(rep)["instance_norm"]
    if pad:  # by one pixel "edge copied" is "edge repeated": either hint is right there
        said = hints(rep, "reflect_pad")
        assert tn.HINTS[pad] in said or (pad == "edge copied" and tn.HINTS["edge repeated"] in said), said
    if block:  # the block's mistake alone costs its points: the grader gives it correct norm and padding
        assert tn.HINTS[block] in hints(rep, "residual_block"), by_id(rep)["residual_block"]


def test_calling_the_library_scores_zero(batch):
    rep = batch["instructor"]["reference"]
    assert scores(rep) == {g: 0 for g in POINTS}
    e = by_id(rep)
    assert {e[g]["status"] for g in POINTS} == {"reference"}, {g: e[g]["message"] for g in POINTS}
    assert "nst_utils.fast.network.InstanceNormalization" in e["instance_norm"]["message"]
    assert "nst_utils.fast.network.ReflectionPadding2D" in e["reflect_pad"]["message"]
    assert "nst_utils.fast.network.transformation_network" in e["residual_block"]["message"]


def test_tampering_and_forged_results_get_nothing(batch):
    rep = batch["instructor"]["tamper"]
    assert scores(rep)["instance_norm"] == scores(rep)["reflect_pad"] == 0
    e = by_id(rep)
    assert e["instance_norm"]["status"] == "failed"  # patched comparisons: compared outside the sandbox
    assert e["reflect_pad"]["status"] == "crashed"  # forged events on every fd, then os._exit
    assert scores(rep)["residual_block"] == 2  # the attacks cost the attacking exercises only
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
                for v in np.ravel(case["expected"])[:5]:
                    if abs(float(v)) > 1e-3:
                        assert f"{float(v):.5g}" not in text
