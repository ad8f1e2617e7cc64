"""Grading one student's file: which cells each exercise runs, and driving the file's sandbox.

For each exercise the sandbox's child runs, in notebook order, every code cell up to the exercise's
test cell **except the test cells** (a student who ran the notebook top to bottom had those cells
run too: helper functions in their own cells, an import cell moved down, a stray ``print`` all
work), tolerating errors in them; then the functions of *other* exercises that this one calls are
replaced by correct versions (one mistake costs points once), and the exercise's function is called
on the hidden inputs.

One sandbox per file; if it dies, hangs or passes its memory limit during an exercise, that
exercise gets 0 and a fresh sandbox grades the rest, within the file's total time limit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from nst_grader.assignments import ASSIGNMENTS, METADATA_KEY
from nst_grader.cases import Assignment, Case, Exercise, cases_for, encode_case
from nst_grader.notebook import Cell, Notebook, NotebookError, read_submission
from nst_grader.isolation import Limits, Plan
from nst_grader.sandbox import Sandbox, SandboxFailure
from nst_grader.scoring import Result, parse_events, score
from nst_grader import zygote


@dataclass
class Submission:
    path: Path
    student: str  # unique in the run, safe as a file name
    origin: str  # how the id was found: "nbgrader", "file name", ...
    note: str = ""
    name: str = ""  # the student's name as found (nbgrader's folder or the file name), for the gradebook


@dataclass
class Context:
    """Settings shared by every file of a run."""

    seed: int
    plan: Plan
    limits: Limits
    file_timeout: float
    only: list[str] | None = None
    assignment: str | None = None


@dataclass
class Planned:
    exercise: Exercise
    solution: Cell | None
    test: Cell | None
    cells: list[Cell]


@dataclass
class FileOutcome:
    submission: Submission
    error: str | None = None
    assignment: str | None = None
    sha256: str = ""
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sandbox: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.results)


def detect_assignment(nb: Notebook) -> str:
    """The assignment of a notebook, from its metadata (not its file name).

    In order: the notebook-level ``metadata.nst_grader.assignment`` that ``course.py student`` writes
    into every student version; else the assignment with most of the cells' nbgrader grade_ids
    (solution and test cells); else the one whose graded functions the cells define most of."""
    meta = nb.metadata.get(METADATA_KEY)
    named = meta.get("assignment") if isinstance(meta, dict) else None
    if isinstance(named, str) and named in ASSIGNMENTS:
        return named
    ids = {c.grade_id.removeprefix("test_") for c in nb.cells if c.grade_id}
    defs = {name for c in nb.cells if c.is_code for name in c.defines()}
    for count in (lambda a: sum(g in ids for g in a.grade_ids),
                  lambda a: sum(e.function in defs for e in a.exercises)):
        found = {a.id: count(a) for a in ASSIGNMENTS.values()}
        best = max(found, key=lambda k: (found[k], k))
        if found[best]:
            return best
    known = "; ".join(f"{a.id}: {', '.join(e.function for e in a.exercises)}" for a in ASSIGNMENTS.values())
    raise NotebookError(f"{nb.path}: none of the graded exercises is in this notebook ({known}): is it the right file?")


def plan_exercises(nb: Notebook, assignment: str, only: list[str] | None = None) -> list[Planned]:
    code = [c for c in nb.cells if c.is_code]
    out = []
    for ex in ASSIGNMENTS[assignment].exercises:
        g = ex.grade_id
        if only and g not in only:
            continue
        sols = [c for c in code if c.grade_id == g and not c.is_test] or \
               [c for c in code if not c.is_test and ex.function in c.defines()]
        sol = sols[-1] if sols else None
        tests = [c for c in code if c.is_test and c.grade_id == f"test_{g}"]
        test = tests[0] if tests else None
        if sol is None:
            out.append(Planned(ex, None, test, []))
            continue
        end = max(sol.number, test.number if test else sol.number)
        out.append(Planned(ex, sol, test, [c for c in code if c.number <= end and not c.is_test]))
    return out


_IMPORTS = re.compile(r"^\s*(?:import|from)\s+(tensorflow|keras|nst_utils|matplotlib)\b", re.M)


def preload_for(assignments: list[Assignment], cells: list[Cell]) -> str | None:
    """The modules a sandbox imports before forking (``None``: the zygote's default, TensorFlow included).

    TensorFlow assignments get the default. A NumPy-only one gets NumPy, plus Matplotlib and TensorFlow
    when the cells it runs import them (each exercise's process would import them again otherwise)."""
    if any(a.needs_tensorflow for a in assignments):
        return None
    imported = {m for c in cells for m in _IMPORTS.findall(c.source)}
    if imported & {"tensorflow", "keras", "nst_utils"}:
        return None
    return "numpy" + (",matplotlib,matplotlib.pyplot" if "matplotlib" in imported else "")


def _task(k: int, a: Assignment, p: Planned, cases: list[Case], timeout: float) -> dict:
    helpers, names = a.helpers_for(p.exercise)
    return {"type": "run", "id": k, "function": p.exercise.function, "timeout": timeout, "helpers": helpers,
            "helper_names": names, "cells": [{"number": c.number, "source": c.source} for c in p.cells],
            "cases": [encode_case(c, a.needs_tensorflow) for c in cases]}


def _outputs(frame: dict | None, start_offset: int | None) -> tuple[str, str]:
    """(what the cells printed before the hidden tests, everything kept), from the zygote's answer.

    The zygote sends the end of the output; ``start_offset`` (from the child's ``start`` event) is where
    the hidden tests began, so output printed during them is never taken for the cells' output."""
    if not isinstance(frame, dict) or not isinstance(frame.get("output_tail"), str):
        return "", ""
    tail = frame["output_tail"]
    tail_start = frame.get("output_tail_start") if type(frame.get("output_tail_start")) is int else 0
    marker = tail.find(zygote.HIDDEN_TESTS_MARKER)
    if marker >= 0:
        before = tail[:marker]
    elif start_offset is not None:
        before = tail[: max(0, start_offset - tail_start)]
    else:
        before = tail
    return before, tail


def grade_file(sub: Submission, ctx: Context) -> FileOutcome:
    """Grade one file in its own sandbox. Never raises for a bad file; the sandbox is gone on return."""
    t0 = time.monotonic()
    out = FileOutcome(sub)
    try:
        nb = read_submission(sub.path)
        out.sha256 = nb.sha256
        out.assignment = ctx.assignment or detect_assignment(nb)
    except NotebookError as exc:
        out.error = str(exc)
        return out
    out.notes += [f"Notebook: {w}." for w in nb.warnings]
    assignment = ASSIGNMENTS[out.assignment]
    planned = plan_exercises(nb, out.assignment, ctx.only)
    results: dict[str, Result] = {}
    work: list[tuple[int, Planned, list[Case]]] = []
    for k, p in enumerate(planned):
        if p.solution is None:
            results[p.exercise.grade_id] = Result(
                p.exercise.grade_id, p.exercise.function, p.exercise.points, "missing",
                message=f"No cell with grade_id {p.exercise.grade_id!r} or defining {p.exercise.function} was found.")
        else:
            work.append((k, p, cases_for(p.exercise, ctx.seed, sub.student)))
    cell_errors: dict[int, str] = {}
    box: Sandbox | None = None
    starts, teardowns, peak, launches = [], [], 0.0, 0
    file_deadline = t0 + ctx.file_timeout
    try:
        for k, p, cases in work:
            frame, failure = None, None
            if time.monotonic() >= file_deadline:
                failure = ("file-time", f"the file's time limit of {ctx.file_timeout:g} s was reached")
            elif box is None:
                box = Sandbox(ctx.plan, ctx.limits, sub.student)
                box.preload = preload_for([assignment], [c for _, p, _ in work for c in p.cells])
                launches += 1
                try:
                    ready = box.start(min(file_deadline, time.monotonic() + ctx.limits.startup_timeout))
                    starts.append({k2: ready.get(k2) for k2 in ("uid", "preload_seconds", "preload_failed", "limits")})
                except SandboxFailure as exc:
                    failure = ("start", f"{exc} {box.log_tail(800)}")
                    teardowns.append(box.close())
                    peak, box = max(peak, box.peak_mb), None
            if failure is None and box is not None:
                try:
                    frame = box.run(_task(k, assignment, p, cases, ctx.limits.timeout),
                                    min(file_deadline, time.monotonic() + ctx.limits.timeout + ctx.limits.grace))
                    if frame.get("type") != "done" or frame.get("id") != k:
                        raise SandboxFailure("protocol", "the sandbox answered out of turn")
                except SandboxFailure as exc:
                    frame, failure = None, (exc.kind, str(exc))
                    if exc.kind == "hung" and time.monotonic() >= file_deadline:
                        failure = ("file-time", f"the file's time limit of {ctx.file_timeout:g} s was reached")
                    teardowns.append(box.close())
                    peak, box = max(peak, box.peak_mb), None
            r = score(p.exercise, cases, frame, failure, ctx.limits.timeout, ctx.limits.file_size_mb, p.solution.number,
                      assignment.hints)
            parsed = parse_events(frame.get("events", "") if isinstance(frame, dict) and
                                  isinstance(frame.get("events"), str) else "", len(cases))
            before, everything = _outputs(frame, parsed.start_offset)
            if r.status in ("error", "crashed", "timeout", "output limit", "memory") and before.strip():
                shown = [line[:300] for line in before.rstrip().splitlines()[-15:]]
                r.detail["output_shown"] = "\n".join(shown)[-3000:]
            if everything:
                r.detail["output_tail"] = everything
            if isinstance(frame, dict):
                r.detail.update(seconds=frame.get("seconds"), leftover_processes=frame.get("leftover_processes"))
            results[p.exercise.grade_id] = r
            for cell, error in parsed.cell_errors.items():
                if cell != p.solution.number:
                    cell_errors.setdefault(cell, error)
    finally:
        if box is not None:
            teardowns.append(box.close())
            peak = max(peak, box.peak_mb)
    solutions = {p.solution.number for p in planned if p.solution is not None}
    for cell, error in sorted(cell_errors.items()):
        if cell in solutions:
            continue  # reported with its exercise
        first = error.splitlines()[0] if error else "an error"
        why = (" (it calls a reference implementation, which raises during grading)" if zygote.BLOCKED in error else "")
        out.notes.append(f"Cell {cell} raised an error when the grader ran it{why}; it is not graded and the "
                         f"grading went on: {first}")
    out.results = [results[p.exercise.grade_id] for p in planned]
    out.sandbox = {"starts": starts, "restarts": max(0, launches - 1), "teardowns": teardowns,
                   "peak_memory_mb": round(peak, 1),
                   "all_processes_gone": all(t.get("processes_left", 0) == 0 for t in teardowns)}
    out.seconds = round(time.monotonic() - t0, 2)
    return out
