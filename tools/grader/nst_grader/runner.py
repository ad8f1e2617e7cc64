"""Grading one student's files: which cells each exercise runs, and driving the student's sandbox.

For each exercise the sandbox's child runs, in notebook order, every code cell up to the exercise's
test cell **except the test cells** (a student who ran the notebook top to bottom had those cells
run too: helper functions in their own cells, an import cell moved down, a stray ``print`` all
work), tolerating errors in them; then the functions of *other* exercises that this one calls are
replaced by correct versions (one mistake costs points once), and the exercise's function is called
on the hidden inputs.

One sandbox per student (:class:`StudentSandbox`: every file of that student, never another's); if
it dies, hangs or passes its memory limit during an exercise, that exercise gets 0 and a fresh sandbox
grades the rest, within the file's total time limit. An exercise whose grading was attacked that way
has its solution cell left out of the later exercises' runs (their cells include it), so that an
attack written at the top level of a cell costs its own exercise only.
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
    group: str = ""  # the student's key: every file of one student has it (one gradebook row, one sandbox)

    def __post_init__(self) -> None:
        self.group = self.group or self.student


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


class StudentSandbox:
    """The sandbox of ONE student: started when first needed, restarted after a failure, closed at the end.

    It serves the files of that student only (every file of one ``Submission.group``), one exercise at a
    time; it is never handed to another student. Between exercises the zygote kills every process the
    exercise left and removes the files it created in ``/tmp``."""

    def __init__(self, ctx: Context, label: str, preload: str | None) -> None:
        self.ctx, self.label, self.preload = ctx, label, preload
        self.box: Sandbox | None = None
        self.starts: list[dict] = []
        self.teardowns: list[dict] = []
        self.peak = 0.0
        self.launches = 0

    def get(self, deadline: float) -> tuple[Sandbox | None, tuple[str, str] | None]:
        """The running sandbox (started if need be), or the failure to start one."""
        if self.box is not None:
            return self.box, None
        box = Sandbox(self.ctx.plan, self.ctx.limits, self.label)
        box.preload = self.preload
        self.launches += 1
        try:
            ready = box.start(min(deadline, time.monotonic() + self.ctx.limits.startup_timeout))
        except SandboxFailure as exc:
            self.teardowns.append(box.close())
            self.peak = max(self.peak, box.peak_mb)
            return None, ("start", f"{exc} {box.log_tail(800)}")
        self.starts.append({k: ready.get(k) for k in ("uid", "preload_seconds", "preload_failed", "limits",
                                                      "sysv_shm_capped")})
        self.box = box
        return box, None

    def discard(self) -> None:
        """End the sandbox (after a failure, or at the end): every process of it is gone on return."""
        if self.box is not None:
            self.teardowns.append(self.box.close())
            self.peak = max(self.peak, self.box.peak_mb)
            self.box = None

    def summary(self, since: tuple[int, int, int]) -> dict:
        """What happened to the sandbox since ``mark()`` returned ``since`` (for one file's report)."""
        s0, t0, l0 = since
        teardowns = self.teardowns[t0:]
        return {"starts": self.starts[s0:], "restarts": max(0, self.launches - l0 - (1 if l0 == 0 else 0)),
                "teardowns": teardowns, "peak_memory_mb": round(self.peak, 1), "shared_with_files_of": self.label,
                "all_processes_gone": all(t.get("processes_left", 0) == 0 for t in teardowns)}

    def mark(self) -> tuple[int, int, int]:
        return len(self.starts), len(self.teardowns), self.launches


#: statuses of an exercise whose code attacked the grading (its process or the sandbox): its solution cell
#: is left out of the later exercises' runs (retried with it if they then fail otherwise)
ATTACKS = ("memory", "timeout", "crashed")


def read_file(sub: Submission, ctx: Context) -> tuple[FileOutcome, Notebook | None]:
    """A file's outcome so far and its notebook (``None`` with ``outcome.error`` if it cannot be graded)."""
    out = FileOutcome(sub)
    try:
        nb = read_submission(sub.path)
        out.sha256 = nb.sha256
        out.assignment = ctx.assignment or detect_assignment(nb)
    except NotebookError as exc:
        out.error = str(exc)
        return out, None
    return out, nb


def grade_student(subs: list[Submission], ctx: Context) -> list[FileOutcome]:
    """Grade every file of ONE student with one sandbox (TensorFlow imported once for all of them).

    The sandbox is closed, and all its processes gone, before this returns."""
    read = [read_file(s, ctx) for s in subs]
    assignments = [ASSIGNMENTS[o.assignment] for o, nb in read if nb is not None]
    cells = [c for o, nb in read if nb is not None for c in nb.cells if c.is_code]
    slot = StudentSandbox(ctx, subs[0].group if subs else "", preload_for(assignments, cells))
    outcomes, marks = [], []
    try:
        for o, nb in read:
            marks.append(slot.mark())
            outcomes.append(grade_file(o.submission, ctx, slot, (o, nb)))
    finally:
        slot.discard()
    graded = [k for k, o in enumerate(outcomes) if o.sandbox]
    if graded:  # the last graded file's record includes the final teardown
        outcomes[graded[-1]].sandbox = slot.summary(marks[graded[-1]])
    return outcomes


def _run_exercise(slot: StudentSandbox, ctx: Context, task: dict, deadline: float):
    """(frame, failure) of one exercise in the student's sandbox."""
    box, failure = slot.get(deadline)
    if failure is not None:
        return None, failure
    try:
        frame = box.run(task, min(deadline, time.monotonic() + ctx.limits.timeout + ctx.limits.grace))
        if frame.get("type") != "done" or frame.get("id") != task["id"]:
            raise SandboxFailure("protocol", "the sandbox answered out of turn")
        return frame, None
    except SandboxFailure as exc:
        failure = (exc.kind, str(exc))
        if exc.kind == "hung" and time.monotonic() >= deadline:
            failure = ("file-time", f"the file's time limit of {ctx.file_timeout:g} s was reached")
        slot.discard()
        return None, failure


def grade_file(sub: Submission, ctx: Context, slot: StudentSandbox | None = None,
               read: tuple[FileOutcome, Notebook | None] | None = None) -> FileOutcome:
    """Grade one file, in ``slot`` (its student's sandbox) or a sandbox of its own. Never raises for a bad
    file; with its own sandbox, the sandbox is gone on return."""
    t0 = time.monotonic()
    out, nb = read or read_file(sub, ctx)
    if nb is None:
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
    own = slot is None
    if slot is None:
        slot = StudentSandbox(ctx, sub.group, preload_for([assignment], [c for _, p, _ in work for c in p.cells]))
    mark = slot.mark()
    cell_errors: dict[int, str] = {}
    quarantined: dict[int, str] = {}  # solution cell -> the exercise whose grading it attacked
    file_deadline = t0 + ctx.file_timeout
    try:
        for k, p, cases in work:
            frame, failure = None, None
            left_out = {c.number for c in p.cells if c.number in quarantined and c.number != p.solution.number}
            runs = ([[c for c in p.cells if c.number not in left_out]] if left_out else []) + [p.cells]
            for n_run, cells in enumerate(runs):
                if time.monotonic() >= file_deadline:
                    frame, failure = None, ("file-time", f"the file's time limit of {ctx.file_timeout:g} s was reached")
                else:
                    frame, failure = _run_exercise(slot, ctx, _task(k, assignment, Planned(p.exercise, p.solution,
                                                                                             p.test, cells),
                                                                    cases, ctx.limits.timeout), file_deadline)
                r = score(p.exercise, cases, frame, failure, ctx.limits.timeout, ctx.limits.file_size_mb,
                          p.solution.number, assignment.hints)
                if n_run == 0 and len(runs) == 2:
                    if r.status == "passed" or r.status in ATTACKS or failure is not None:
                        r.notes.append("Cell(s) " + ", ".join(map(str, sorted(left_out))) + " were not run for this "
                                       "exercise: they stopped the grading of " + ", ".join(
                                           sorted({quarantined[c] for c in left_out})) + ".")
                        break
                    first = (r, frame, failure)
                elif n_run == 1 and r.points < first[0].points:
                    r, frame, failure = first
            if r.status in ATTACKS:
                quarantined.setdefault(p.solution.number, p.exercise.function)
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
        if own:
            slot.discard()
    solutions = {p.solution.number for p in planned if p.solution is not None}
    for cell, error in sorted(cell_errors.items()):
        if cell in solutions:
            continue  # reported with its exercise
        first = error.splitlines()[0] if error else "an error"
        why = (" (it calls a reference implementation, which raises during grading)" if zygote.BLOCKED in error else "")
        out.notes.append(f"Cell {cell} raised an error when the grader ran it{why}; it is not graded and the "
                         f"grading went on: {first}")
    out.results = [results[p.exercise.grade_id] for p in planned]
    out.sandbox = slot.summary(mark)
    out.seconds = round(time.monotonic() - t0, 2)
    return out
