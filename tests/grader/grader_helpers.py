"""Helpers for the grader's tests: simulated submissions, running the CLI, reading a run's reports.

Submissions are built at test time from ``notebooks/05_cost_functions.ipynb`` (its reference solutions),
with some solution bodies replaced by the code in ``tests/fixtures/grading/*.txt``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GRADER = ROOT / "tools" / "grader"
if str(GRADER) not in sys.path:
    sys.path.insert(0, str(GRADER))

SOURCE = ROOT / "notebooks" / "05_cost_functions.ipynb"
FIXTURES = ROOT / "tests" / "fixtures" / "grading"
POINTS = {"compute_content_cost": 2, "gram_matrix": 2, "compute_layer_style_cost": 3,
          "compute_style_cost": 2, "total_cost": 1, "total_variation_cost": 2}
SANDBOX_UIDS = range(2_000_000, 3_000_000)  # the random uids the sandboxes run as (root mode)
KNOWN_SEED = 0x7E8  # 2024, the old grader's fixed seed: what a student could have computed values with


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_bodies(name: str, **placeholders: str) -> dict[str, str]:
    """``{grade_id: code}`` from a fixture file (``# == grade_id`` starts each body); fills ``@@NAME@@``."""
    text = (FIXTURES / name).read_text()
    for key, value in placeholders.items():
        text = text.replace(f"@@{key}@@", str(value))
    left = re.findall(r"@@\w+@@", text)
    assert not left, f"{name}: placeholder(s) not filled in: {left}"
    bodies: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"^# == (\w+)\s*$", line):
            current = m[1]
            bodies[current] = []
        elif current is not None:
            bodies[current].append(line)
    return {k: "\n".join(v) for k, v in bodies.items()}


def source_of(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def grade_id(cell: dict) -> str | None:
    return ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")


def replace_solution(source: str, body: str) -> str:
    """``source`` with the lines from ### BEGIN SOLUTION to ### END SOLUTION replaced by ``body``."""
    lines = source.splitlines(keepends=True)
    begin = next(k for k, line in enumerate(lines) if "BEGIN SOLUTION" in line)
    end = next(k for k, line in enumerate(lines) if "END SOLUTION" in line)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    new = [indent + line + "\n" if line.strip() else "\n" for line in body.splitlines()]
    return "".join(lines[:begin] + new + lines[end + 1:])


def source_notebook() -> dict:
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def with_bodies(nb: dict, bodies: dict[str, str]) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) in bodies:
            cell["source"] = replace_solution(source_of(cell), bodies[grade_id(cell)])
    return nb


def write(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def submission(folder: Path, name: str, fixture: str | None = None, **placeholders: str) -> Path:
    nb = source_notebook()
    if fixture:
        nb = with_bodies(nb, read_bodies(fixture, **placeholders))
    return write(nb, folder / name)


def run_grader(*args: str | Path, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m nst_grader ARGS`` as an instructor runs it."""
    full_env = {**os.environ, "PYTHONPATH": str(GRADER), **(env or {})}
    return subprocess.run([sys.executable, "-m", "nst_grader", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=full_env)


def load_run(run_dir: Path) -> dict:
    """A run folder: its per-file rows (by report id), the gradebook (one row per student), the LMS files,
    student and instructor reports, run.json."""
    def table(name: str) -> list[dict]:
        with open(run_dir / name, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    rows = table("instructor/files.csv")
    return {
        "dir": run_dir,
        "rows": rows,
        "gradebook": table("gradebook.csv"),
        "canvas": table("lms-canvas.csv"),
        "moodle": table("lms-moodle.csv"),
        "by_report": {r["report"]: r for r in rows if r["report"]},
        "student": {p.stem: json.loads(p.read_text()) for p in (run_dir / "students").glob("*.json")},
        "markdown": {p.stem: p.read_text() for p in (run_dir / "students").glob("*.md")},
        "instructor": {p.stem: json.loads(p.read_text()) for p in (run_dir / "instructor").glob("*.json")
                       if p.name not in ("run.json", "rows.json")},
        "run": json.loads((run_dir / "instructor" / "run.json").read_text()),
    }


def by_id(report: dict) -> dict[str, dict]:
    return {e["grade_id"]: e for e in report["exercises"]}


def scores(report: dict) -> dict[str, int]:
    return {g: e["points"] for g, e in by_id(report).items()}


def sandbox_processes() -> list[int]:
    """Processes on this machine running as a sandbox uid (root mode)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        if uid in SANDBOX_UIDS and state not in ("Z", "X"):
            out.append(int(pid))
    return out


def hardcoded_bodies(seed: int, student: str) -> dict[str, str]:
    """Solutions that return the expected values of ``seed`` one after another (computed "offline")."""
    from nst_grader.assignments import EXERCISES
    from nst_grader.cases import cases_for

    result = {"compute_content_cost": "J_content", "gram_matrix": "GA", "compute_layer_style_cost": "J_style_layer",
              "compute_style_cost": "J_style", "total_cost": "J", "total_variation_cost": "J_tv"}
    bodies = {}
    for g, var in result.items():
        values = [np.asarray(c.expected).tolist() for c in cases_for(EXERCISES[g], seed, student)]
        bodies[g] = (f"global calls_{g}\ncalls_{g} = globals().get('calls_{g}', -1) + 1\n"
                     f"{var} = tf.constant({values!r}[calls_{g}], dtype=tf.float64)")
    return bodies
