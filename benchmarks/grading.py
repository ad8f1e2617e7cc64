#!/usr/bin/env python3
"""How long the sandboxed grader takes: one file, and a class of 30, as an instructor runs it; or a
class of students with every graded assignment each.

    python benchmarks/grading.py                 # 1 file, then 30 files (about 4 minutes on 2 cores)
    python benchmarks/grading.py --files 10      # another class size
    python benchmarks/grading.py --jobs 1
    python benchmarks/grading.py --students 100  # 100 students x every graded assignment, in nbgrader's layout
    python benchmarks/grading.py --per-student 10   # 10 students x 2 files: one sandbox per student vs per file

``--students N``: every registered assignment whose notebook has its solutions is handed in by each of
N students (``submitted/<student>/<assignment>/``), correct (8 in 10), partly wrong (1 in 10: lesson 05's
``partly_wrong.txt``, elsewhere the first exercise returns 0.0) or hostile (1 in 10: lesson 05's
``floods.txt``, elsewhere the first exercise kills its grading process and the second floods memory),
mixed over students and assignments. It reports the wall time, the time per file and per student, the
sandbox starts (one per student), the grader's peak memory and the peak memory of everything the run
started (the sum of the PSS of its processes, sampled every 0.5 s).

The 30 files are submissions of ``notebooks/05_cost_functions.ipynb``: 24 correct, 3 with the
mistakes of ``tests/fixtures/grading/partly_wrong.txt`` and 3 with those of ``more_mistakes.txt``
(no endless loop: a loop costs its time limit, 30 s, on top). Each run is ``python -m nst_grader grade``
in a fresh process, in the default sandbox. Writes JSON into ``benchmarks/results/`` (git-ignored) with
the wall-clock times, the time per file inside the run (sandbox start with TensorFlow's import, the
six exercises, teardown) and the machine. Run it on an otherwise idle machine; on a shared one, under
``flock /tmp/nst-heavy.lock``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "grader"))
sys.path.insert(0, str(ROOT / "tools" / "grader"))

from grader_helpers import submission, write  # noqa: E402  (submissions from the source notebooks)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def grade(folder: Path, out: Path, jobs: int | None) -> dict:
    cmd = [sys.executable, "-m", "nst_grader", "grade", str(folder), "--out", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "tools" / "grader")})
    wall = time.monotonic() - t0
    if run.returncode != 0:
        raise SystemExit(f"grading failed ({run.returncode}):\n{run.stdout}\n{run.stderr[-3000:]}")
    run_dir = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    info = json.loads((run_dir / "instructor" / "run.json").read_text())
    per_file = list(info["per_file_seconds"].values())
    starts, exercises = [], []
    for p in (run_dir / "instructor").glob("*.json"):
        if p.name in ("run.json", "rows.json"):
            continue
        rep = json.loads(p.read_text())
        starts += [s["preload_seconds"] for s in rep["sandbox"]["starts"]]
        exercises += [e["detail"]["seconds"] for e in rep["exercises"] if e["detail"].get("seconds") is not None]
    return {"files": len(per_file), "wall_s": round(wall, 1), "grader_s": info["seconds"], "sandbox_starts": len(starts),
            "per_file_s": {"mean": round(statistics.mean(per_file), 2), "max": round(max(per_file), 2)},
            "sandbox_start_s": {"mean": round(statistics.mean(starts), 2), "max": round(max(starts), 2)},
            "exercise_s": {"mean": round(statistics.mean(exercises), 3), "max": round(max(exercises), 3)},
            "jobs": info["jobs"], "supervisor_max_rss_mb": info["supervisor_max_rss_mb"],
            "totals": sorted(int(r["total"]) for r in csv.DictReader((run_dir / "gradebook.csv").open()) if r["total"])}



def _pss_tree_mb(root: int) -> float:
    """The PSS of ``root`` and every process below it, in MB."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            pass
    return total / 1024


def _class_submissions(folder: Path, students: int) -> dict:
    """``submitted/<student>/<assignment>/<notebook>`` for every gradable assignment; returns the mix."""
    import re

    from nst_grader.assignments import ASSIGNMENTS
    from nst_grader.handout import has_solutions

    used, mix = [], {"correct": 0, "partly wrong": 0, "hostile": 0}
    for a in ASSIGNMENTS.values():
        path = ROOT / "notebooks" / a.notebook
        if path.is_file() and has_solutions(json.loads(path.read_text(encoding="utf-8"))):
            used.append(a)
    for k in range(students):
        for j, a in enumerate(used):
            kind = {3: "partly wrong", 7: "hostile"}.get((k + j) % 10, "correct")
            mix[kind] += 1
            dest = folder / "submitted" / f"student{k:03d}" / a.id
            if a.id == "05_cost_functions":
                submission(dest, a.notebook, {"partly wrong": "partly_wrong.txt", "hostile": "floods.txt"}.get(kind))
                continue
            nb = json.loads((ROOT / "notebooks" / a.notebook).read_text(encoding="utf-8"))
            bodies = {}
            if kind == "partly wrong":
                bodies = {a.exercises[0].grade_id: "return 0.0"}
            elif kind == "hostile":
                bodies = {a.exercises[0].grade_id: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"}
                if len(a.exercises) > 1:
                    bodies[a.exercises[1].grade_id] = "blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))"
            for cell in nb["cells"]:
                gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
                if cell["cell_type"] == "code":
                    cell["outputs"], cell["execution_count"] = [], None
                if gid in bodies:
                    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    lines = src.splitlines(keepends=True)
                    b = next(i for i, line in enumerate(lines) if "BEGIN SOLUTION" in line)
                    e = next(i for i, line in enumerate(lines) if "END SOLUTION" in line)
                    indent = re.match(r"\s*", lines[b])[0]
                    cell["source"] = "".join(lines[:b] + [indent + x + "\n" for x in bodies[gid].splitlines()]
                                             + lines[e + 1:])
            write(nb, dest / a.notebook)
    return {"assignments": [a.id for a in used], "files": mix}


def grade_class(students: int, jobs: int | None, tmp: Path) -> dict:
    """Grade ``students`` x every gradable assignment in one run; wall time, per file, memory."""
    import threading

    mix = _class_submissions(tmp / "course", students)
    out = tmp / "out-course"
    cmd = [sys.executable, "-m", "nst_grader", "grade", str(tmp / "course" / "submitted"), "--out", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "tools" / "grader")})
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _pss_tree_mb(proc.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - t0
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"grading failed ({proc.returncode}):\n{stdout[-2000:]}\n{stderr[-3000:]}")
    run_dir = next(out.iterdir())
    info = json.loads((run_dir / "instructor" / "run.json").read_text())
    per_file = list(info["per_file_seconds"].values())
    starts, restarts = [], 0
    for p in (run_dir / "instructor").glob("*.json"):
        if p.name in ("run.json", "rows.json"):
            continue
        rep = json.loads(p.read_text())
        starts += [s["preload_seconds"] for s in rep["sandbox"].get("starts", [])]
        restarts += rep["sandbox"].get("restarts", 0)
    book = list(csv.DictReader((run_dir / "gradebook.csv").open(encoding="utf-8")))
    return {**mix, "students": students, "graded_files": len(per_file), "wall_s": round(wall, 1),
            "per_file_s": round(wall / max(1, len(per_file)), 2), "per_student_s": round(wall / students, 2),
            "file_s_inside": {"mean": round(statistics.mean(per_file), 2), "max": round(max(per_file), 2)},
            "sandbox_starts": len(starts), "sandbox_restarts": restarts,
            "sandbox_start_s": {"mean": round(statistics.mean(starts), 2), "max": round(max(starts), 2)},
            "jobs": info["jobs"], "supervisor_max_rss_mb": info["supervisor_max_rss_mb"],
            "peak_memory_all_processes_mb": round(peak[0], 1), "gradebook_rows": len(book),
            "exit_status": proc.returncode}


def compare_sandboxes(students: int, jobs: int | None, tmp: Path) -> dict:
    """``students`` x 2 files of lesson 05 (a submission and a resubmission): graded in nbgrader's layout
    (one sandbox per student: TensorFlow imported once for both files) and as loose files (each file a
    student of its own: one sandbox per file)."""
    import shutil

    (tmp / "loose").mkdir()
    for k in range(students):
        for folder, fixture in (("ps05", None), ("ps05-resubmitted", "partly_wrong.txt")):
            path = submission(tmp / "pairs" / "submitted" / f"student{k:02d}" / folder, "05_cost_functions.ipynb",
                              fixture)
            shutil.copy(path, tmp / "loose" / f"student{k:02d}-{folder}.ipynb")
    out = {}
    for name, folder in (("per_student", tmp / "pairs" / "submitted"), ("per_file", tmp / "loose")):
        r = grade(folder, tmp / f"out-{name}", jobs)
        out[name] = {"files": r["files"], "wall_s": r["wall_s"], "per_file_s": round(r["wall_s"] / r["files"], 2),
                     "sandbox_starts": r["sandbox_starts"]}
        print(f"{name}: {r['files']} files in {r['wall_s']} s, {r['sandbox_starts']} sandbox starts", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--students", type=int, help="grade a class of this many students x every graded assignment")
    ap.add_argument("--per-student", type=int, help="this many students x 2 files: one sandbox per student vs per file")
    ap.add_argument("--out", type=Path, help="JSON file (default benchmarks/results/grading-<host>-<date>.json)")
    args = ap.parse_args()
    report = {"when": dt.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_model(), "cores": os.cpu_count(),
              "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="nst-grading-bench-") as tmp:
        tmp = Path(tmp)
        if args.per_student:
            report["sandboxes"] = compare_sandboxes(args.per_student, args.jobs, tmp)
            out = args.out or HERE / "results" / f"grading-sandboxes-{platform.node() or 'machine'}-{report['when'][:10]}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2) + "\n")
            print(json.dumps(report, indent=2))
            return 0
        if args.students:
            report["course"] = grade_class(args.students, args.jobs, tmp)
            report["load_after"] = os.getloadavg()
            out = args.out or HERE / "results" / f"grading-class-{platform.node() or 'machine'}-{report['when'][:10]}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2) + "\n")
            print(json.dumps(report, indent=2))
            print(f"wrote {out}")
            return 0
        submission(tmp / "one", "alice.ipynb")
        report["one_file"] = grade(tmp / "one", tmp / "out-one", args.jobs)
        print(f"1 file: {report['one_file']['wall_s']} s", flush=True)
        for k in range(args.files):
            fixture = "partly_wrong.txt" if k % 10 == 3 else "more_mistakes.txt" if k % 10 == 7 else None
            submission(tmp / "class", f"student{k:02d}.ipynb", fixture)
        report["class"] = grade(tmp / "class", tmp / "out-class", args.jobs)
        print(f"{args.files} files: {report['class']['wall_s']} s "
              f"({report['class']['wall_s'] / args.files:.1f} s per file)", flush=True)
    report["load_after"] = os.getloadavg()
    out = args.out or HERE / "results" / f"grading-{platform.node() or 'machine'}-{report['when'][:10]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
