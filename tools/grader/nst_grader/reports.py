"""A run's folder: one report per student, the gradebook, and the instructor's records.

::

    <out>/<YYYYmmdd-HHMMSS>[-N]/        a new folder for every run: nothing is ever overwritten
        gradebook.csv                  one row per student: points per assignment, total, status, flags
        lms-canvas.csv, lms-moodle.csv the same points in the columns Canvas and Moodle import
        students/<id>.md, <id>.json    feedback for the student (no hidden input, shape or expected value)
        instructor/files.csv           one row per file: student, points per exercise, total, status, flags
        instructor/rows.json           the same rows, for ``merge``
        instructor/<id>.json           everything: cells run, inputs' shapes, values got and expected, outputs
        instructor/run.json            the seed of the hidden inputs (to re-grade identically), settings,
                                       the sandbox, the machine, timings

Files are created with ``open(..., "x")``: a name that exists is an error, never a silent overwrite.
Every JSON file is strict JSON (no NaN or Infinity: non-finite numbers are written as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"``) and every text is valid UTF-8 (text from the sandbox that
was not is written with ``\\x`` escapes).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from pathlib import Path

from nst_grader.assignments import ASSIGNMENTS
from nst_grader.runner import FileOutcome
from nst_grader.scoring import STATUS_TEXT

POLICY = ("Your graded functions may not call the library's own implementation of a graded exercise, whether "
          "through its nst_utils module or through nu: during grading, the library's reference "
          "implementations of every graded exercise are replaced by versions that raise an error (a whole "
          "module for some lessons, the functions and classes themselves for others), and an exercise whose "
          "function calls one scores 0.")
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


def clean_text(text: str) -> str:
    """``text`` encodable as UTF-8: lone surrogates (undecodable bytes, or escapes sent by the sandbox)
    become ``\\udcNN``-style escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def strict(obj):
    """``obj`` for strict JSON: non-finite floats as strings, text encodable, keys as text."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity"))
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_text(str(k)): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if hasattr(obj, "tolist"):  # NumPy values
        return strict(obj.tolist())
    return clean_text(str(obj))


def to_json(obj) -> str:
    return json.dumps(strict(obj), indent=2, allow_nan=False) + "\n"


def _write_new(path: Path, text: str) -> Path:
    with open(path, "x", encoding="utf-8") as f:
        f.write(clean_text(text))
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
    data.update(name=o.submission.name, group=o.submission.group, file=path_text(o.submission.path), sha256=o.sha256, id_origin=o.submission.note,
                seconds=o.seconds, sandbox=o.sandbox)
    for entry, r in zip(data["exercises"], o.results):
        entry["detail"] = r.detail
    return data


def write_file_reports(run: Path, o: FileOutcome, graded_at: str) -> tuple[Path, Path, Path]:
    sid = o.submission.student
    md = _write_new(run / "students" / f"{sid}.md", student_markdown(o, graded_at))
    js = _write_new(run / "students" / f"{sid}.json", to_json(student_json(o, graded_at)))
    ins = _write_new(run / "instructor" / f"{sid}.json", to_json(instructor_json(o, graded_at)))
    return md, js, ins


def _cell(value) -> str:
    """A CSV field that a spreadsheet will not run as a formula (and valid UTF-8)."""
    text = clean_text(str(value))
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


def path_text(path) -> str:
    """A path as text, whatever its bytes (undecodable ones as ``\\xNN``)."""
    import os

    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def file_rows(outcomes: list[FileOutcome], problems: list[tuple[str, str]]) -> list[dict]:
    """One row per file (and per path that could not be graded): what the gradebooks are made of."""
    rows = []
    for o in outcomes:
        rows.append({"report": o.submission.student, "student": o.submission.name or o.submission.student,
                     "group": o.submission.group or o.submission.student, "assignment": o.assignment or "",
                     "points": {r.grade_id: r.points for r in o.results}, "total": None if o.error else o.points,
                     "max_points": None if o.error else o.max_points, "error": o.error, "flags": flags(o),
                     "file": path_text(o.submission.path)})
    for sid, message in problems:
        rows.append({"report": "", "student": sid, "group": sid, "assignment": "", "points": {}, "total": None,
                     "max_points": None, "error": message, "flags": [], "file": ""})
    return sorted(rows, key=lambda r: (str(r["student"]), str(r["report"])))


def _csv(path: Path, header: list, rows: list[list]) -> Path:
    with open(path, "x", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([_cell(v) for v in header])
        for row in rows:
            w.writerow([_cell(v) for v in row])
    return path


def write_files_csv(run: Path, rows: list[dict], exercise_ids: list[str], name: str = "instructor/files.csv") -> Path:
    """One row per file: student, report id, assignment, points per exercise, total, status, flags, file."""
    return _csv(run / name, ["student", "report", "assignment", *exercise_ids, "total", "max_points", "status",
                             "flags", "file"],
                [[r["student"], r["report"], r["assignment"], *[r["points"].get(g, "") for g in exercise_ids],
                  "" if r["total"] is None else r["total"], "" if r["max_points"] is None else r["max_points"],
                  f"error: {r['error']}" if r["error"] else "graded", " ".join(r["flags"]), r["file"]]
                 for r in rows])


def assignment_columns(rows: list[dict]) -> list[str]:
    """The assignments of the run's files, in the registry's order (every one if no file was graded)."""
    seen = {r["assignment"] for r in rows if r["assignment"]}
    return [a for a in ASSIGNMENTS if a in seen] or list(ASSIGNMENTS)


def possible(rows: list[dict]) -> dict[str, int]:
    """The most points of each assignment column: as graded (fewer with ``--only``), else the registry's."""
    graded: dict[str, int] = {}
    for r in rows:
        if r["assignment"] and r["max_points"] is not None:
            graded[r["assignment"]] = max(graded.get(r["assignment"], 0), r["max_points"])
    return {a: graded.get(a, ASSIGNMENTS[a].points if a in ASSIGNMENTS else 0) for a in assignment_columns(rows)}


def students(rows: list[dict]) -> list[dict]:
    """One record per student (``group``): points per assignment (the best file if there are several),
    total, the most points possible over the run's assignments, status and flags."""
    columns = assignment_columns(rows)
    by: dict[str, dict] = {}
    for r in rows:
        s = by.setdefault(r["group"], {"id": r["group"], "student": r["student"], "points": {}, "errors": [],
                                        "flags": [], "files": 0})
        s["files"] += 1
        if r["error"]:
            s["errors"].append((r["assignment"] or r["report"] or r["student"]) + ": " + r["error"])
            continue
        a = r["assignment"]
        if a in s["points"]:
            s["flags"].append(f"several-files:{a}")
        s["points"][a] = max(s["points"].get(a, 0), r["total"] or 0)
        s["flags"] += [f"{a}/{f}" for f in r["flags"]]
    max_points = sum(possible(rows).values())
    out = []
    for s in sorted(by.values(), key=lambda s: (s["student"], s["id"])):
        s["total"] = sum(s["points"].get(a, 0) for a in columns)
        s["max_points"] = max_points
        s["status"] = ("error: " + "; ".join(s["errors"])) if s["errors"] else "graded"
        out.append(s)
    return out


def write_gradebook(run: Path, rows: list[dict]) -> Path:
    """``gradebook.csv``: one row per student, one column per assignment, the total (a missing assignment
    is an empty cell and counts 0)."""
    columns = assignment_columns(rows)
    return _csv(run / "gradebook.csv", ["student", "id", *columns, "total", "max_points", "status", "flags"],
                [[s["student"], s["id"], *[s["points"].get(a, "") for a in columns], s["total"], s["max_points"],
                  s["status"], " ".join(s["flags"])] for s in students(rows)])


def write_lms(run: Path, rows: list[dict]) -> tuple[Path, Path]:
    """The gradebook in the columns an LMS imports.

    * ``lms-canvas.csv``: Canvas's gradebook import: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
      ``Section``, then one column per assignment (a new name creates the assignment in Canvas), and a
      second row ``Points Possible``. The student's id goes into ``SIS Login ID``; ``ID`` (Canvas's own
      number) is left empty.
    * ``lms-moodle.csv``: Moodle's "Import grades from CSV": ``Username`` (choose "Identify user by:
      Username" when importing) and ``Full name``, then one column per assignment, mapped to grade items
      during the import. No total: Moodle computes its own.
    """
    columns = assignment_columns(rows)
    titles = [ASSIGNMENTS[a].title if a in ASSIGNMENTS else a for a in columns]
    recs = students(rows)
    canvas = _csv(run / "lms-canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles],
                  [["    Points Possible", "", "", "", "", *possible(rows).values()]] +
                  [[s["student"], "", "", s["id"], "", *[s["points"].get(a, "") for a in columns]] for s in recs])
    moodle = _csv(run / "lms-moodle.csv", ["Username", "Full name", *titles],
                  [[s["id"], s["student"], *[s["points"].get(a, "") for a in columns]] for s in recs])
    return canvas, moodle


def write_tables(run: Path, rows: list[dict]) -> None:
    """Every table of a run from its rows: gradebook, LMS files, the per-file table and ``rows.json``."""
    ids = [g for a in assignment_columns(rows) for g in ASSIGNMENTS[a].grade_ids]
    _write_new(run / "instructor" / "rows.json", to_json(rows))
    write_files_csv(run, rows, ids)
    write_gradebook(run, rows)
    write_lms(run, rows)
