"""Command line: ``python -m nst_grader {grade,merge,seed,student,exercises,check}``.

::

    python -m nst_grader grade PATH... [--out DIR] [--timeout S] [--jobs N] [--shard K/N --seed HEX] [--unsandboxed]
                                        # --jobs: students graded at once, each in their own sandbox
    python -m nst_grader merge RUN_DIR... [--out DIR]   # the shards' run folders -> one run folder
    python -m nst_grader seed           # a new secret seed (for the shards of one class)
    python -m nst_grader student [--notebooks DIR] [--out DIR]   # the hand-outs, without the solutions
    python -m nst_grader exercises      # the graded exercises and their points
    python -m nst_grader check [--python PY] [--unsandboxed]     # what the sandbox does on this machine

Exit status of ``grade``: 0 when every file was graded (whatever the scores), 1 when some file could
not be graded (its row in the gradebook says why), 2 when nothing was graded (no sandbox, bad options).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from nst_grader.assignments import ASSIGNMENTS, EXERCISES
from nst_grader.isolation import Limits, SandboxUnavailable


def repo_root() -> Path | None:
    """The course repository this grader sits in (``<repo>/tools/grader/nst_grader``), if it does."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "notebooks").is_dir() else None


def _grade(args: argparse.Namespace) -> int:
    from nst_grader.supervisor import grade_paths

    limits = Limits(timeout=args.timeout, memory_mb=args.memory_mb, grace=args.grace)
    if args.unsandboxed:
        print("WARNING: --unsandboxed: the students' code runs with YOUR user rights, without a sandbox. It can "
              "read, change and delete your files, reach the network and change the grades. Use it only on "
              "submissions you trust.", file=sys.stderr)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only and (bad := [g for g in only if g not in EXERCISES]):
        print(f"error: unknown exercise(s) {', '.join(bad)}; see `python -m nst_grader exercises`", file=sys.stderr)
        return 2
    out = args.out or ((repo_root() or Path.cwd()) / "grading-reports")
    from nst_grader.supervisor import parse_shard

    try:
        shard = parse_shard(args.shard)
        seed = int(args.seed, 16) if args.seed else None
    except ValueError as exc:
        print(f"error: {exc if 'shard' in str(exc) else f'--seed {args.seed!r} is not a hex number'}", file=sys.stderr)
        return 2
    if shard and seed is None:
        print("error: --shard needs --seed: every shard of a class must draw the same hidden inputs; make one "
              "with `python -m nst_grader seed` and give it to every shard", file=sys.stderr)
        return 2
    try:
        summary = grade_paths(args.paths, out, limits=limits, jobs=args.jobs, file_timeout=args.file_timeout,
                              only=only, seed=seed, unsandboxed=args.unsandboxed, python=args.python,
                              shard=shard)
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = len(summary.outcomes)
    print(f"graded {n} file(s) in {summary.seconds:g} s; reports in {summary.run_dir} "
          f"(gradebook.csv, lms-canvas.csv, lms-moodle.csv, students/, instructor/)")
    return 0 if summary.all_graded else 1


def _merge(args: argparse.Namespace) -> int:
    from nst_grader.supervisor import MergeError, merge_runs

    out = args.out or ((repo_root() or Path.cwd()) / "grading-reports")
    try:
        run = merge_runs(args.runs, out)
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"merged {len(args.runs)} run folder(s) into {run} (gradebook.csv, lms-canvas.csv, lms-moodle.csv)")
    return 0


def _seed(args: argparse.Namespace) -> int:
    import secrets

    print(f"{secrets.randbits(128):x}")
    return 0


def _student(args: argparse.Namespace) -> int:
    from nst_grader.handout import HandoutError, build_student_versions

    root = repo_root() or Path.cwd()
    notebooks = args.notebooks or root / "notebooks"
    out = args.out or root / "student"
    try:
        written = build_student_versions(notebooks, out)
    except HandoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in written:
        print(f"wrote {p}")
    if not written:
        print(f"no notebook in {notebooks} has exercises (nbgrader solution cells)")
    built = {p.parent.name for p in written}
    for a in ASSIGNMENTS.values():
        if a.id not in built:
            print(f"note: {a.id} is graded but {notebooks / a.notebook} has no solution cells: not built")
    return 0


def _exercises(args: argparse.Namespace) -> int:
    for a in ASSIGNMENTS.values():
        print(f"{a.id}: {a.points} points ({a.title}; {a.notebook}; "
              f"{'TensorFlow' if a.needs_tensorflow else 'NumPy only'})")
        for ex in a.exercises:
            calls = f" (given correct: {', '.join(ex.needs)})" if ex.needs else ""
            print(f"  {ex.grade_id:<26} {ex.points} point(s){calls}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Start one sandbox with TensorFlow and print what it is."""
    import tempfile

    from nst_grader.isolation import plan_sandbox
    from nst_grader.sandbox import Sandbox, SandboxFailure

    limits = Limits()
    with tempfile.TemporaryDirectory() as work:
        try:
            plan = plan_sandbox(Path(work), limits, args.python, args.unsandboxed)
        except SandboxUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        box = Sandbox(plan, limits, "check")
        t0 = time.monotonic()
        try:
            ready = box.start(time.monotonic() + limits.startup_timeout)
        except SandboxFailure as exc:
            print(f"error: the sandbox does not start: {exc}\n{box.log_tail()}", file=sys.stderr)
            return 2
        finally:
            gone = box.close()
    print("\n".join(plan.description))
    print(f"started in {time.monotonic() - t0:.1f} s (TensorFlow {ready.get('tensorflow')}, Python {ready.get('python')})")
    for key in ("uid", "capabilities", "limits", "pid_namespace", "preload_failed"):
        print(f"{key}: {json.dumps(ready.get(key))}")
    print(f"after closing: {gone['processes_left']} process(es) left")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nst_grader", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade submitted notebooks (files or folders) with hidden tests")
    g.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders (nbgrader's submitted/ too)")
    g.add_argument("--out", type=Path, help="where the run folders go (default <repo>/grading-reports)")
    g.add_argument("--timeout", type=float, default=30.0, help="seconds per exercise (default 30)")
    g.add_argument("--file-timeout", type=float, help="seconds per file in all (default 60 + (--timeout + 10) per exercise of "
                                                          "the largest assignment)")
    g.add_argument("--jobs", type=int, help="students graded at the same time, each in their own sandbox that "
                                            "grades all their files (default: cores, at most 4)")
    g.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                   help=f"memory of one student's sandbox, all its processes together (default {Limits.memory_mb})")
    g.add_argument("--grace", type=float, default=Limits.grace,
                   help=f"seconds to wait beyond --timeout for a sandbox that stopped answering (default {Limits.grace:g})")
    g.add_argument("--only", help="comma-separated grade_ids to grade (default: all)")
    g.add_argument("--seed", help="hex seed of the hidden inputs, from an earlier run's instructor/run.json "
                                  "(default: a new secret seed)")
    g.add_argument("--python", help="the Python that runs the notebooks (default: this one)")
    g.add_argument("--unsandboxed", action="store_true",
                   help="run the students' code WITHOUT a sandbox (platforms without bubblewrap; trusted files only)")
    g.add_argument("--shard", help="K/N: grade only the K-th of N slices of the students (needs --seed); "
                                   "`merge` then combines the N run folders")
    m = sub.add_parser("merge", help="combine the run folders of the shards of one class into one run folder")
    m.add_argument("runs", nargs="+", type=Path, help="the shards' run folders")
    m.add_argument("--out", type=Path, help="where the merged run folder goes (default <repo>/grading-reports)")
    sub.add_parser("seed", help="print a new secret seed (hex) for the shards of one class")
    s = sub.add_parser("student", help="write the student version of every notebook with exercises")
    s.add_argument("--notebooks", type=Path, help="source notebooks (default <repo>/notebooks)")
    s.add_argument("--out", type=Path, help="where to write them (default <repo>/student)")
    sub.add_parser("exercises", help="list the graded exercises and their points")
    c = sub.add_parser("check", help="start one sandbox and print what it does on this machine")
    c.add_argument("--python", help="the Python the sandbox starts, as grade's --python (default: this one)")
    c.add_argument("--unsandboxed", action="store_true",
                   help="start it WITHOUT a sandbox, as grade's --unsandboxed would (to compare)")
    args = parser.parse_args(argv)
    return {"grade": _grade, "merge": _merge, "seed": _seed, "student": _student, "exercises": _exercises,
            "check": _check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
