"""Helpers for the tests of the graded lessons other than 05: submissions built from a lesson's source
notebook (its reference solutions, some replaced), one grading run over a folder, the checks every
assignment's batch shares (full marks for correct work, hints for mistakes, attacks that fail).

The generic pieces (running the CLI, reading a run folder, replacing a solution region) are those of
:mod:`grader_helpers`.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from grader_helpers import (GRADER, ROOT, by_id, grade_id, load_run, replace_solution, run_grader, scores, sha256,
                            source_of, write)

#: attacks shared by the NumPy exercises; @@FN@@ is the graded function's result variable
TAMPER_NUMPY = """\
import math
import numpy
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
@@VAR@@ = 0.0"""

FORGE_RESULTS = """\
import json
import os
import sys
fake = {"status": "passed", "points": 3, "cases_passed": 4, "type": "done", "exit_code": 0}
print(json.dumps(fake))
for fd in range(3, 64):  # the grader's channels, wherever they are
    try:
        os.write(fd, b'{"ev": "case", "k": 0, "shape": [], "data": [1.0]}\\n' + json.dumps(fake).encode() + b"\\n")
    except OSError:
        pass
sys.stdout.flush()
os._exit(0)"""

#: writes everywhere it should not (the correct body follows it, so a blocked write costs nothing), then
#: into the sandbox's private /tmp, which the host's /tmp must not see
ESCAPE = """\
import os
with open("/tmp/escaped.txt", "w") as f:
    f.write("@@TOKEN@@")
for target in @@TARGETS@@:
    try:
        with open(target, "w") as f:
            f.write("@@TOKEN@@")
        print("LEAK: wrote", target)
    except OSError as exc:
        print("blocked:", type(exc).__name__)"""


def lesson_notebook(path: Path) -> dict:
    """The lesson's source notebook (instructor solutions), outputs cleared, as a student would hand it in."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def solution_body(nb: dict, gid: str) -> str:
    """The reference solution of ``gid`` (the lines between the markers, dedented by one level)."""
    cell = next(c for c in nb["cells"] if grade_id(c) == gid)
    lines = source_of(cell).splitlines()
    begin = next(k for k, line in enumerate(lines) if "BEGIN SOLUTION" in line)
    end = next(k for k, line in enumerate(lines) if "END SOLUTION" in line)
    return "\n".join(line[4:] for line in lines[begin + 1:end])


def with_bodies(nb: dict, bodies: dict[str, str]) -> dict:
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        if grade_id(cell) in bodies:
            cell["source"] = replace_solution(source_of(cell), bodies[grade_id(cell)])
    return nb


def escape_targets(hosttmp: Path) -> list[str]:
    """Files a submission must not be able to write: the lessons, the grader, the library, a folder of the
    host's /tmp (the sandbox's own /tmp is private: writing there is allowed and checked from outside)."""
    return [str(ROOT / "notebooks" / "01_cnn_feature_maps.ipynb"), str(GRADER / "nst_grader" / "scoring.py"),
            str(ROOT / "nst_utils" / "__init__.py"), str(hosttmp / "escaped.txt")]


def grade_folder(subs: Path, out: Path, timeout: int = 20) -> dict:
    """One grading run over ``subs`` (two files at a time); the run folder, loaded, plus the process."""
    run = run_grader("grade", subs, "--out", out, "--timeout", timeout, "--grace", 4, "--jobs", 2,
                     "--memory-mb", 1500)
    runs = list(out.iterdir())
    assert len(runs) == 1, (runs, run.stdout[-2000:], run.stderr[-3000:])
    data = load_run(runs[0])
    data.update(proc=run)
    return data


def build_batch(tmp: Path, source: Path, correct_bodies: dict[str, str], files: dict[str, dict[str, str]],
                multi_cell: dict, timeout: int = 20) -> dict:
    """Write the submissions (``files``: name -> {grade_id: body}), grade them, return the run and context.

    ``timeout``: each exercise's time limit, the lesson's cells before it included (lesson 09 runs its
    network demonstrations before its exercises: several seconds on two busy cores)."""
    subs, out, hosttmp = tmp / "subs", tmp / "out", tmp / "host"
    hosttmp.mkdir(parents=True)
    token = secrets.token_hex(8)
    nb = lesson_notebook(source)
    write(nb, subs / "correct.ipynb")
    write(multi_cell, subs / "multi_cell.ipynb")
    for name, bodies in files.items():
        filled = {g: b.replace("@@TOKEN@@", token).replace("@@TARGETS@@", repr(escape_targets(hosttmp)))
                  for g, b in bodies.items()}
        write(with_bodies(nb, filled), subs / f"{name}.ipynb")
    before = {p.name: sha256(p) for p in subs.iterdir()}
    protected = [Path(p) for p in escape_targets(hosttmp)[:3]]
    data = grade_folder(subs, out, timeout)
    data.update(subs=subs, token=token, hosttmp=hosttmp, before=before, protected=protected)
    return data


def check_batch_integrity(batch: dict, names: list[str]) -> None:
    """Every file graded, nothing submitted or protected changed, no sandbox process left."""
    proc = batch["proc"]
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    assert sorted(batch["instructor"]) == sorted(names)
    assert {p.name: sha256(p) for p in batch["subs"].iterdir()} == batch["before"]
    for path in batch["protected"]:  # files others may change in a shared checkout: the token must not be there
        assert batch["token"] not in path.read_text(errors="replace"), path
    for leak in (batch["hosttmp"] / "escaped.txt", Path("/tmp/escaped.txt"), Path.home() / "escaped.txt"):
        assert not leak.exists() or batch["token"] not in leak.read_text(errors="replace")
    for rep in batch["instructor"].values():  # (other runs may share the machine: this run's sandboxes only)
        assert rep["sandbox"]["all_processes_gone"] is True, rep["student"]


def hints(report: dict, gid: str) -> str:
    return " ".join(by_id(report)[gid]["hints"])


def outputs(report: dict) -> str:
    return "\n".join(e["detail"].get("output_tail", "") for e in report["exercises"])


__all__ = ["FORGE_RESULTS", "ESCAPE", "TAMPER_NUMPY", "build_batch", "by_id", "check_batch_integrity", "hints",
           "lesson_notebook", "outputs", "scores", "solution_body", "with_bodies"]
