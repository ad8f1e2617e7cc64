"""A run's folder: one report per student, the gradebook, and the instructor's records.

::

    <out>/<YYYYmmdd-HHMMSS>[-N]/        a new folder for every run: nothing is ever overwritten
        gradebook.csv                  one row per file: student, points per exercise, total, status, flags
        students/<id>.md, <id>.json    feedback for the student (no hidden input, shape or expected value)
        instructor/<id>.json           everything: cells run, inputs' shapes, values got and expected, outputs
        instructor/run.json            the seed of the hidden inputs (to re-grade identically), settings,
                                       the sandbox, the machine, timings

Files are created with ``open(..., "x")``: a name that exists is an error, never a silent overwrite.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

from nst_grader.runner import FileOutcome
from nst_grader.scoring import STATUS_TEXT

POLICY = ("Calling the library's own implementation of a graded function (anything in nst_utils.costs or "
          "nst_utils.loss, including the short names such as nu.gram_matrix or nu.content_cost) is not allowed "
          "in the graded exercises: during grading those functions raise an error, and an exercise whose "
          "function calls them scores 0.")
HIDDEN = ("The hidden tests call your functions on inputs drawn at random for this grading, different from "
          "the notebook's tests and from other students'; an exercise earns its points when every hidden test "
          "passes. Functions of other exercises that a function calls are replaced by correct ones, so one "
          "mistake costs points once.")


def new_run_dir(out: Path) -> Path:
    """A new, empty folder under ``out`` (created atomically; ``-2``, ``-3``... if the name is taken)."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = out / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / "students").mkdir()
        (path / "instructor").mkdir()
        return path
    raise RuntimeError(f"cannot create a new run folder in {out}")


def _write_new(path: Path, text: str) -> Path:
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)
    return path


def _fence(text: str) -> str:
    """``text`` in a Markdown code block that nothing inside it can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _hidden_tests(r) -> str:
    return f"{r.passed} / {r.total}" if r.total else "-"


def student_json(o: FileOutcome, graded_at: str) -> dict:
    return {
        "student": o.submission.student, "assignment": o.assignment, "graded_at": graded_at,
        "points": o.points, "max_points": o.max_points, "error": o.error,
        "exercises": [{"grade_id": r.grade_id, "function": r.function, "points": r.points,
                       "max_points": r.max_points, "status": r.status, "result": STATUS_TEXT.get(r.status, r.status),
                       "hidden_tests_passed": r.passed, "hidden_tests": r.total, "message": r.message,
                       "hints": r.hints, "notes": r.notes, "output": r.detail.get("output_shown", "")}
                      for r in o.results],
        "notes": o.notes, "policy": POLICY,
    }


def student_markdown(o: FileOutcome, graded_at: str) -> str:
    title = f"# {o.assignment or 'Assignment'}: feedback for {o.submission.student}"
    if o.error:
        return f"{title}\n\nThis file could not be graded:\n\n{_fence(o.error)}\n"
    lines = [title, "", f"**{o.points} / {o.max_points} points** · graded {graded_at}", "",
             "| Exercise | Points | Result | Hidden tests passed |", "|---|---:|---|---:|"]
    for r in o.results:
        lines.append(f"| `{r.function}` | {r.points} / {r.max_points} | {STATUS_TEXT.get(r.status, r.status)} | "
                     f"{_hidden_tests(r)} |")
    problems = [r for r in o.results if r.status != "passed" or r.notes]
    if problems:
        lines += ["", "## Details", ""]
        for r in problems:
            lines += [f"### `{r.function}` ({r.points} / {r.max_points})", ""]
            if r.message:
                lines += [_fence(r.message), ""]
            lines += [f"**Hint:** {h}" for h in r.hints] + ([""] if r.hints else [])
            for note in r.notes:
                lines += ["Note:", "", _fence(note), ""]
            if r.detail.get("output_shown"):
                lines += ["What your cells printed (last lines):", "", _fence(r.detail["output_shown"]), ""]
    if o.notes:
        lines += ["## Notes", ""]
        for note in o.notes:
            lines += [_fence(note), ""]
    lines += ["---", "", HIDDEN, "", f"**Policy.** {POLICY}"]
    return "\n".join(lines).rstrip() + "\n"


def instructor_json(o: FileOutcome, graded_at: str) -> dict:
    data = student_json(o, graded_at)
    data.update(name=o.submission.name, file=str(o.submission.path), sha256=o.sha256, id_origin=o.submission.note,
                seconds=o.seconds, sandbox=o.sandbox)
    for entry, r in zip(data["exercises"], o.results):
        entry["detail"] = r.detail
    return data


def write_file_reports(run: Path, o: FileOutcome, graded_at: str) -> tuple[Path, Path, Path]:
    sid = o.submission.student
    md = _write_new(run / "students" / f"{sid}.md", student_markdown(o, graded_at))
    js = _write_new(run / "students" / f"{sid}.json", json.dumps(student_json(o, graded_at), indent=2) + "\n")
    ins = _write_new(run / "instructor" / f"{sid}.json", json.dumps(instructor_json(o, graded_at), indent=2,
                                                                      default=str) + "\n")
    return md, js, ins


def _cell(value) -> str:
    """A CSV field that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def flags(o: FileOutcome) -> list[str]:
    out = [f"{r.status.replace(' ', '-')}:{r.grade_id}" for r in o.results
           if r.status not in ("passed", "failed", "not implemented")]
    if any("raised an error when the grader ran it" in n for n in o.notes):
        out.append("cell-errors")
    if any(n.startswith("Notebook:") for n in o.notes):
        out.append("malformed-cells")
    if o.sandbox.get("restarts"):
        out.append(f"sandbox-restarts={o.sandbox['restarts']}")
    if o.sandbox and not o.sandbox.get("all_processes_gone", True):
        out.append("processes-left")
    return out


def write_gradebook(run: Path, outcomes: list[FileOutcome], problems: list[tuple[str, str]],
                    exercise_ids: list[str]) -> Path:
    path = run / "gradebook.csv"
    with open(path, "x", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "report", "assignment", *exercise_ids, "total", "max_points", "status", "flags", "file"])
        rows = []
        for o in outcomes:
            points = {r.grade_id: r.points for r in o.results}
            status = f"error: {o.error}" if o.error else "graded"
            rows.append([o.submission.name or o.submission.student, o.submission.student, o.assignment or "",
                         *[points.get(g, "") for g in exercise_ids], "" if o.error else o.points,
                         "" if o.error else o.max_points, status, " ".join(flags(o)), str(o.submission.path)])
        for sid, message in problems:
            rows.append([sid, "", "", *["" for _ in exercise_ids], "", "", f"error: {message}", "", ""])
        for row in sorted(rows, key=lambda r: (str(r[0]), str(r[1]))):
            w.writerow([_cell(v) for v in row])
    return path
