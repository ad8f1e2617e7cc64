"""One grading run over a batch of honest, mistaken, hostile and malformed files (real TensorFlow, real sandbox).

All the files are graded together by one ``python -m nst_grader grade`` (two at a time), so the batch
also checks that one bad or hostile file never stops the others. Each attack class of issue 11 is a
file: scoring tampering, forged results, writes outside the sandbox, signals to the grader, floods;
the fair cases (helper cells, a stray print, the import cell moved down) are another.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grader_helpers import (GRADER, KNOWN_SEED, POINTS, ROOT, by_id, grade_id, hardcoded_bodies, load_run, run_grader,
                            sandbox_processes, scores, sha256, source_notebook, source_of, submission, with_bodies,
                            write)

TIMEOUT = 8
NEW_HOLES = ["top_level_attacks", "odd_text", "big_outputs", "memfd", "caf_-not-utf8"]
HOSTILE = ["tamper_scoring", "cross_student", "signals", "floods"]
FIXTURED = ["partly_wrong", "more_mistakes", "crashing", "looping", "reference_use"]
JUNK = {  # file -> a few words the error message must contain
    "deep.ipynb": "nested too deeply",
    "huge.ipynb": "MB the grader reads",
    "latin1.ipynb": "not UTF-8",
    "empty.ipynb": "invalid JSON",
    "v3.ipynb": "nbformat 3",
    "nocells.ipynb": "no 'cells' list",
    "list.ipynb": "not an object",
    "other.ipynb": "none of the graded exercises",
    "evil.ipynb": "symbolic link",
    "dir.ipynb": "no .ipynb file",
}


def multi_cell_notebook() -> dict:
    """Correct work laid out as students do: helper cells, a stray print, the imports below exercise 1."""
    nb = source_notebook()
    cells = nb["cells"]
    setup = next(c for c in cells if c["cell_type"] == "code" and "import tensorflow as tf" in source_of(c))
    cells.remove(setup)

    def code(src: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}

    def index(gid: str) -> int:
        return next(k for k, c in enumerate(cells) if grade_id(c) == gid)

    for c in cells:
        if grade_id(c) == "compute_content_cost":
            c["source"] = replace_body(c, "J_content = squared_sum(a_C - a_G) / (4 * n_H * n_W * n_C)",
                                       "_, n_H, n_W, n_C = a_G.shape")
        if grade_id(c) == "gram_matrix":
            c["source"] = source_of(c) + '\nprint("check:", gram_matrix(tf.ones((2, 3))).shape)\nprint(undefined_name)\n'
        if grade_id(c) == "compute_layer_style_cost":
            c["source"] = source_of(c).replace("(4 * n_C**2 * (n_H * n_W) ** 2)", "normaliser(n_H, n_W, n_C)")
    cells.insert(index("compute_content_cost"), code("def squared_sum(x):\n    return tf.reduce_sum(tf.square(x))\n"))
    cells.insert(index("compute_content_cost") + 1, setup)  # the imports, below exercise 1's cell
    cells.insert(index("compute_layer_style_cost"), code("%matplotlib inline\n!echo hello\nfiles = !ls\nx = 1\n"))
    cells.insert(index("compute_layer_style_cost") + 1,
                 code("def normaliser(n_H, n_W, n_C):\n    return 4 * n_C**2 * (n_H * n_W) ** 2\n"))
    cells.insert(index("compute_style_cost"), code("print(1 / 0)  # a scratch cell that fails\n"))
    return nb


def replace_body(cell: dict, line: str, first: str) -> str:
    src = source_of(cell)
    begin, end = src.index("### BEGIN SOLUTION"), src.index("### END SOLUTION")
    return src[:begin] + f"### BEGIN SOLUTION\n    {first}\n    {line}\n    " + src[end:]


def malformed_but_gradable() -> dict:
    nb = source_notebook()
    for c in nb["cells"]:
        if grade_id(c) == "gram_matrix":
            c["metadata"] = None  # grade_id lost: found by its def
        if grade_id(c) == "total_cost":
            c["source"] = 42  # unreadable source: total_cost is not defined
    nb["cells"].insert(3, 42)
    nb["cells"].insert(5, {"cell_type": "code", "metadata": {"nbgrader": None}, "source": ["x = 1\n"]})
    return nb


def attacks_at_top_level() -> dict:
    """Correct functions, but their cells attack the grading at top level (outside the function), so the
    attack runs again with every later exercise (whose run includes the cells above it): a memory flood
    in exercise 1's cell, stopping the grading process in exercise 2's, killing it in exercise 5's."""
    nb = source_notebook()
    attacks = {"compute_content_cost": "import numpy\n_blocks = []\nwhile True:\n    _blocks.append(numpy.ones(25_000_000))\n",
               "gram_matrix": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",
               "total_cost": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"}
    for c in nb["cells"]:
        if grade_id(c) in attacks:
            c["source"] = source_of(c) + "\n" + attacks[grade_id(c)]
    return nb


def odd_values_and_text() -> dict:
    """Text that is not valid UTF-8 sent from the sandbox (an exception message with lone surrogates,
    raw bytes written into the grader's channel, printed bytes) and an integer too large for a float."""
    nb = source_notebook()
    bodies = {
        "compute_content_cost": 'raise ValueError("bad text \\udcff\\ud800 here")',
        "gram_matrix": ("import os, sys\nsys.stdout.buffer.write(b'\\xff\\xfe raw bytes\\n')\n"
                        "for fd in os.listdir('/proc/self/fd'):\n"
                        "    try:\n"
                        "        if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
                        "            os.write(int(fd), b'{\"ev\": \"case\", \"k\": 0, \"error\": \"\\xc3\\x28\\xff\"}\\n')\n"
                        "    except OSError:\n"
                        "        pass\n"
                        "GA = tf.matmul(A, A, transpose_b=True)"),
        "total_cost": "J = 10 ** 400",
    }
    return with_bodies(nb, bodies)


def big_outputs() -> dict:
    """Correct work saved with 25 MB of outputs (a notebook full of images)."""
    nb = source_notebook()
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": "iVBORw0KGgo" + "A" * (25 << 20), "text/plain": "<Figure>"}}]
    return nb


def write_junk(folder: Path) -> None:
    (folder / "deep.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    with open(folder / "huge.ipynb", "wb") as f:  # 250 MB (sparse): refused before reading
        f.write(b'{"cells": [], "pad": "')
        f.truncate(250 << 20)
    (folder / "latin1.ipynb").write_bytes(b'{"cells": [], "name": "\xe9l\xe8ve"}')
    (folder / "empty.ipynb").write_text("")
    (folder / "v3.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": []}))
    (folder / "nocells.ipynb").write_text(json.dumps({"nbformat": 4, "cells": {}}))
    (folder / "list.ipynb").write_text("[1, 2, 3]")
    write({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "x = 1"}]},
        folder / "other.ipynb")
    os.symlink("/etc/passwd", folder / "evil.ipynb")
    (folder / "dir.ipynb").mkdir()


def grader_files() -> dict[str, str]:
    return {str(p.relative_to(GRADER)): sha256(p) for p in sorted(GRADER.rglob("*.py"))}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    subs, out, hosttmp = tmp / "subs", tmp / "out", tmp / "host"
    hosttmp.mkdir()
    token = secrets.token_hex(8)
    classmate = submission(subs, "correct.ipynb")
    places = dict(CLASSMATE=classmate, OUT=out, PROJECT=ROOT, GRADER=GRADER, VENV=sys.prefix, TOKEN=token,
                  HOSTTMP=hosttmp, HOSTPID=os.getpid(), HOSTPPID=os.getppid())
    for name in FIXTURED + HOSTILE:
        submission(subs, f"{name}.ipynb", f"{name}.txt", **{k: v for k, v in places.items()
                                                           if f"@@{k}@@" in (ROOT / "tests/fixtures/grading" /
                                                                             f"{name}.txt").read_text()})
    write(multi_cell_notebook(), subs / "multi_cell.ipynb")
    write(with_bodies(source_notebook(), hardcoded_bodies(KNOWN_SEED, "mallory")), subs / "mallory.ipynb")
    write(malformed_but_gradable(), subs / "malformed_cells.ipynb")
    write(attacks_at_top_level(), subs / "top_level_attacks.ipynb")
    write(odd_values_and_text(), subs / "odd_text.ipynb")
    write(big_outputs(), subs / "big_outputs.ipynb")
    submission(subs, "memfd.ipynb", "memfd.txt")
    nb = json.dumps(source_notebook()).encode()
    with open(os.path.join(os.fsencode(subs), b"caf\xe9-not-utf8.ipynb"), "wb") as f:  # a name that is not UTF-8
        f.write(nb)
    write_junk(subs)
    before = {p.name: sha256(p) for p in subs.iterdir() if p.is_file() and not p.is_symlink()}
    grader_before = grader_files()
    costs_before = (ROOT / "nst_utils" / "costs.py").read_text()
    t0 = time.monotonic()
    run = run_grader("grade", subs, subs / "dir.ipynb", "--out", out, "--timeout", TIMEOUT, "--grace", 4,
                     "--jobs", 2, "--memory-mb", 1500)
    seconds = time.monotonic() - t0
    time.sleep(5)  # longer than the late writer of cross_student waits
    runs = list(out.iterdir())
    assert len(runs) == 1, (runs, run.stdout[-2000:], run.stderr[-3000:])
    data = load_run(runs[0])
    data.update(proc=run, seconds=seconds, subs=subs, out=out, token=token, hosttmp=hosttmp, before=before,
                classmate=classmate, grader_before=grader_before, costs_before=costs_before,
                leftover=sandbox_processes())
    return data


def report(batch, name: str) -> dict:
    return batch["instructor"][name]


def outputs(rep: dict) -> str:
    return "\n".join(e["detail"].get("output_tail", "") for e in rep["exercises"])


# ------------------------------------------------------------------ the batch as a whole


def test_the_batch_completes_and_every_file_has_a_row(batch):
    proc = batch["proc"]
    assert proc.returncode == 1, proc.stderr[-3000:]  # 1: some files could not be graded (the junk)
    graded = {"correct", "multi_cell", "mallory", "malformed_cells", *FIXTURED, *HOSTILE, *NEW_HOLES}
    assert graded <= set(batch["by_report"]), sorted(batch["by_report"])
    assert all(batch["by_report"][n]["status"] == "graded" for n in graded)
    assert len(batch["rows"]) == len(graded) + len(JUNK)
    unreadable = [n[: -len(".ipynb")] for n in JUNK if n not in ("evil.ipynb", "dir.ipynb")]
    assert sorted(batch["student"]) == sorted(batch["instructor"]) == sorted([*graded, *unreadable])
    assert f"graded {len(graded) + len(unreadable)} file(s)" in proc.stdout


def test_submitted_files_and_grader_are_untouched(batch):
    subs = batch["subs"]
    assert {p.name: sha256(p) for p in subs.iterdir() if p.is_file() and not p.is_symlink()} == batch["before"]
    assert grader_files() == batch["grader_before"]


def test_no_process_is_left_after_the_run(batch):
    assert batch["leftover"] == []
    for rep in batch["instructor"].values():
        if rep["error"]:  # not a notebook: no sandbox was started
            assert "starts" not in rep["sandbox"]
            continue
        assert rep["sandbox"]["all_processes_gone"] is True, rep["student"]
        assert all(t["processes_left"] == 0 for t in rep["sandbox"]["teardowns"])


# ------------------------------------------------------------------ fair to correct work


def test_correct_file_gets_full_marks(batch):
    rep = report(batch, "correct")
    assert (rep["points"], rep["max_points"]) == (12, 12)
    assert scores(rep) == POINTS
    assert all(e["hidden_tests_passed"] == e["hidden_tests"] >= 3 for e in rep["exercises"])
    assert rep["sha256"] == batch["before"]["correct.ipynb"]
    assert batch["by_report"]["correct"]["total"] == "12" and batch["by_report"]["correct"]["flags"] == ""


def test_work_spread_over_several_cells_gets_full_marks(batch):
    rep = report(batch, "multi_cell")
    assert scores(rep) == POINTS, {g: e["message"] for g, e in by_id(rep).items()}
    notes = " ".join(rep["notes"])
    assert "ZeroDivisionError" in notes and "not graded" in notes  # the failing scratch cell, reported
    assert "NameError" not in notes  # ... but the stray print's error only once, with its exercise
    gram = by_id(rep)["gram_matrix"]
    assert any("NameError" in n for n in gram["notes"])  # the stray print after the def, reported


def test_classic_mistakes_get_hints(batch):
    rep = report(batch, "partly_wrong")
    assert scores(rep) == {**POINTS, "compute_content_cost": 0, "compute_layer_style_cost": 0}
    e = by_id(rep)
    assert e["compute_content_cost"]["status"] == "failed"
    assert "4 times too large" in " ".join(e["compute_content_cost"]["hints"])
    assert "unrolling trap" in " ".join(e["compute_layer_style_cost"]["hints"])
    md = batch["markdown"]["partly_wrong"]
    assert "**7 / 12 points**" in md and "| `compute_layer_style_cost` | 0 / 3 | wrong result |" in md

    rep = report(batch, "more_mistakes")
    assert rep["points"] == 3
    e = by_id(rep)
    assert "A^T A" in " ".join(e["gram_matrix"]["hints"])
    assert "n_H*n_W times too large" in " ".join(e["compute_layer_style_cost"]["hints"])
    assert "weights" in " ".join(e["compute_style_cost"]["hints"])
    assert "n_H*n_W times too large" in " ".join(e["total_variation_cost"]["hints"])


def test_crashes_and_loops_cost_their_exercise_only(batch):
    rep = report(batch, "crashing")
    assert scores(rep) == {**POINTS, "compute_content_cost": 0, "gram_matrix": 0, "total_variation_cost": 0}
    e = by_id(rep)
    assert e["compute_content_cost"]["status"] == "crashed" and "SIGSEGV" in e["compute_content_cost"]["message"]
    assert e["gram_matrix"]["status"] == "error" and "ValueError: I give up on this one" in e["gram_matrix"]["message"]
    assert "<cell " in e["gram_matrix"]["message"]  # where, in the student's notebook
    assert e["total_variation_cost"]["status"] == "crashed" and "exit code 3" in e["total_variation_cost"]["message"]

    rep = report(batch, "looping")
    assert scores(rep) == {**POINTS, "total_cost": 0}
    e = by_id(rep)["total_cost"]
    assert e["status"] == "timeout" and f"{TIMEOUT} s" in e["message"]
    assert TIMEOUT <= e["detail"]["seconds"] < TIMEOUT + 3


# ------------------------------------------------------------------ the reference policy


def test_calling_the_reference_scores_zero(batch):
    rep = report(batch, "reference_use")
    assert scores(rep) == {**{g: 0 for g in POINTS}, "total_cost": 1, "total_variation_cost": 2}
    e = by_id(rep)
    for g in ("compute_content_cost", "gram_matrix", "compute_layer_style_cost", "compute_style_cost"):
        assert e[g]["status"] == "reference", (g, e[g])
    assert "nst_utils.costs.content_cost" in e["compute_content_cost"]["message"]
    assert "nst_utils.costs.gram_matrix" in e["gram_matrix"]["message"]
    assert "LEAK" not in outputs(rep)
    assert "reference:gram_matrix" in batch["by_report"]["reference_use"]["flags"]


# ------------------------------------------------------------------ attacks


def test_tampering_with_the_scoring_gets_nothing(batch):
    rep = report(batch, "tamper_scoring")
    assert scores(rep) == {**{g: 0 for g in POINTS}, "total_variation_cost": 2}
    e = by_id(rep)
    assert e["compute_content_cost"]["status"] == "failed"  # patched np.allclose: compared elsewhere
    assert e["gram_matrix"]["status"] == "failed"  # no expected value in its process to find
    assert e["compute_layer_style_cost"]["status"] == "failed"  # emptied the cases: they all must run
    assert "Only 1 of 4 hidden tests ran" in e["compute_layer_style_cost"]["message"]
    assert e["compute_style_cost"]["status"] == "failed"  # __array__ found nothing to copy
    assert e["total_cost"]["status"] == "crashed"  # forged results, then os._exit(0)
    assert "LEAK" not in outputs(rep)


def test_values_computed_offline_are_worthless(batch):
    rep = report(batch, "mallory")  # right for seed 2024 (see test_grader_class: 12 / 12 with that seed)
    assert rep["points"] == 0
    assert {e["status"] for e in rep["exercises"]} == {"failed"}


def test_nothing_outside_the_sandbox_can_be_reached(batch):
    rep = report(batch, "cross_student")
    assert scores(rep) == POINTS, {g: e["message"] for g, e in by_id(rep).items()}
    out = outputs(rep)
    assert "LEAK" not in out and "LATE WRITE" not in out
    assert out.count("blocked:") >= 15
    token = batch["token"]
    assert sha256(batch["classmate"]) == batch["before"]["correct.ipynb"]
    assert report(batch, "correct")["points"] == 12
    assert token not in (ROOT / "nst_utils" / "costs.py").read_text()
    for folder in (ROOT / "nst_utils", GRADER, batch["out"], batch["hosttmp"], batch["subs"]):
        hits = [p for p in folder.rglob("*") if token in p.name or (p.is_file() and p.stat().st_size < 1 << 20
                                                                     and token.encode() in p.read_bytes())]
        hits = [p for p in hits if "instructor" not in p.parts  # the output tails quote the attempts
                and p != batch["subs"] / "cross_student.ipynb"]  # the attacker's own file names it
        assert hits == [], hits
    assert sorted(p.name for p in (batch["dir"] / "students").iterdir()) == sorted(
        f"{n}.{ext}" for n in batch["student"] for ext in ("json", "md"))


def test_the_sandbox_keeps_no_privilege(batch):
    pre = batch["run"]["sandbox"]["preflight"]
    assert batch["run"]["sandbox"]["sandboxed"] is True
    assert pre["uid"] != 0
    assert pre["capabilities"] and all(int(v, 16) == 0 for k, v in pre["capabilities"].items()
                                       if k in ("CapInh", "CapPrm", "CapEff", "CapAmb")), pre["capabilities"]
    if os.geteuid() == 0:  # root mode: the zygote also emptied the bounding set
        assert int(pre["capabilities"]["CapBnd"], 16) == 0, pre["capabilities"]


def test_signalling_the_grader_costs_that_exercise_only(batch):
    rep = report(batch, "signals")
    assert scores(rep) == {**{g: 0 for g in POINTS}, "total_cost": 1, "total_variation_cost": 2}
    e = by_id(rep)
    assert e["compute_content_cost"]["status"] == "crashed"  # killed its grading process
    assert e["gram_matrix"]["status"] == "crashed"  # killed its own process group
    assert e["compute_layer_style_cost"]["status"] == "timeout"  # stopped its grading process
    assert "stopped answering" in e["compute_layer_style_cost"]["message"]
    assert e["compute_style_cost"]["status"] == "crashed"  # kill(-1): everything it could see
    assert "LEAK" not in outputs(rep)
    assert rep["sandbox"]["restarts"] == 3
    assert "sandbox-restarts=3" in batch["by_report"]["signals"]["flags"]


def test_floods_are_stopped_by_limits(batch):
    rep = report(batch, "floods")
    assert scores(rep) == {**{g: 0 for g in POINTS}, "total_variation_cost": 2}
    e = by_id(rep)
    assert e["compute_content_cost"]["status"] == "output limit"
    assert "flood flood" not in batch["markdown"]["floods"]  # printed during the hidden tests: not shown
    # a flood is stopped by the memory limit, or by the time limit when allocating is that slow (seen on 2 busy cores)
    assert e["gram_matrix"]["status"] in ("memory", "timeout"), e["gram_matrix"]
    assert e["compute_layer_style_cost"]["status"] in ("error", "crashed", "failed")  # fork bomb, bounded
    disk = by_id(rep)["compute_style_cost"]["detail"]["output_tail"]
    assert "disk full after" in disk and int(disk.split("disk full after")[1].split()[0]) <= 67  # 64 MiB of 1 MB files
    assert e["total_cost"]["status"] == "error" and "20000000 numbers" in e["total_cost"]["message"]
    assert rep["sandbox"]["peak_memory_mb"] < 1500 + 1200  # killed soon after the limit
    assert batch["run"]["supervisor_max_rss_mb"] < 400  # the grader itself never held the floods


def test_an_attack_in_a_cell_costs_its_own_exercise_only(batch):
    """Exercise 1's cell floods memory, exercise 2's stops the grading process, exercise 5's kills it, all
    at top level (so again in every later exercise's run): those three score 0, the four others full."""
    rep = report(batch, "top_level_attacks")
    e = by_id(rep)
    assert scores(rep) == {**POINTS, "compute_content_cost": 0, "gram_matrix": 0, "total_cost": 0}, \
        {g: (x["status"], x["message"]) for g, x in e.items()}
    # the flood is stopped by the memory limit (or, on a machine so loaded that it cannot allocate 1.5 GB in
    # 8 s, by the time limit): either way an attack, and its cell is left out of the later runs
    assert e["compute_content_cost"]["status"] in ("memory", "timeout")
    assert e["gram_matrix"]["status"] == "timeout" and e["total_cost"]["status"] == "crashed"
    assert any("were not run for this exercise" in n for n in e["total_variation_cost"]["notes"])


def test_memory_held_in_anonymous_files_is_counted(batch):
    rep = report(batch, "memfd")
    e = by_id(rep)
    assert scores(rep) == {**POINTS, "compute_content_cost": 0}
    # stopped by the memory limit before it held 3 x 1500 MB (on a machine too loaded to fill 1.5 GB in 8 s,
    # by the time limit first; test_grader_isolation checks the counting with a small limit and more time)
    assert e["compute_content_cost"]["status"] in ("memory", "timeout"), e["compute_content_cost"]
    assert "LEAK" not in outputs(rep)
    assert rep["sandbox"]["peak_memory_mb"] < 1500 + 1200


def test_text_that_is_not_utf8_and_huge_integers_cost_their_exercise_only(batch):
    rep = report(batch, "odd_text")
    e = by_id(rep)
    assert scores(rep) == {**POINTS, "compute_content_cost": 0, "gram_matrix": 0, "total_cost": 0}
    assert e["compute_content_cost"]["status"] == "error" and "bad text" in e["compute_content_cost"]["message"]
    assert e["gram_matrix"]["status"] == "error"  # its forged answer for hidden test 1 counted first
    assert e["total_cost"]["status"] == "failed" and "infinity" in e["total_cost"]["message"]
    for folder in ("students", "instructor"):  # strict JSON, valid UTF-8 (the reader raises otherwise)
        for path in (batch["dir"] / folder).iterdir():
            text = path.read_bytes().decode("utf-8")
            if path.suffix == ".json":
                json.loads(text, parse_constant=lambda name: pytest.fail(f"{path.name}: {name} in JSON"))


def test_outputs_over_20_mb_are_ignored_and_the_code_graded(batch):
    rep = report(batch, "big_outputs")
    assert rep["points"] == 12
    assert any("outputs were ignored" in n for n in rep["notes"])


def test_a_file_name_that_is_not_utf8_is_graded(batch):
    rep = report(batch, "caf_-not-utf8")
    assert rep["points"] == 12 and rep["file"].endswith("caf\\xe9-not-utf8.ipynb")
    assert batch["by_report"]["caf_-not-utf8"]["file"].endswith("caf\\xe9-not-utf8.ipynb")


# ------------------------------------------------------------------ malformed files


def test_malformed_files_cost_that_file_only(batch):
    rows = {r["student"]: r for r in batch["rows"]}
    for name, words in JUNK.items():
        row = rows[name[: -len(".ipynb")]]
        assert row["status"].startswith("error:") and words in row["status"], (name, row["status"])
        assert name in row["status"]  # the message names the file
    rep = report(batch, "malformed_cells")
    assert scores(rep) == {**POINTS, "total_cost": 0}
    assert by_id(rep)["total_cost"]["status"] == "no function"
    notes = " ".join(rep["notes"])
    assert "cell 4 is not a notebook cell" in notes and "metadata is not an object" in notes


# ------------------------------------------------------------------ what students see


def test_student_reports_reveal_no_hidden_input_or_expected_value(batch):
    seed = batch["run"]["seed"]
    for name, rep in batch["instructor"].items():
        text = batch["markdown"][name] + json.dumps(batch["student"][name])
        assert seed not in text
        assert "shape (1," not in text and '"detail"' not in text and '"cases"' not in text
        for e in rep["exercises"]:
            for case in e["detail"].get("cases", []):
                assert case["detail"] not in text
                for v in np.ravel(case["expected"])[:20]:
                    if abs(v) > 1e-3:
                        shown = f"{v:.5g}"
                        # a value that prints as one or two digits ("4") also occurs in dates and counts
                        assert len(shown) < 3 or shown not in text, (name, e["grade_id"], v)
        assert "Policy" in batch["markdown"][name] or rep["error"]
