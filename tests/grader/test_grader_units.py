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
from nst_grader.reports import new_run_dir, write_gradebook
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
    with pytest.raises(NotebookError, match="MB allowed"):
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
    assert set(ids) == {"alice", "bob", "alice_sub_x", "bob_sub_x", "HYPERLINK_evil"}
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
    path = write_gradebook(run, [o], [("-2+3", "@evil")], ["gram_matrix"])
    rows = list(csv.reader(path.open()))
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row
    with pytest.raises(FileExistsError):
        write_gradebook(run, [], [], ["gram_matrix"])


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
