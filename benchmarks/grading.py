#!/usr/bin/env python3
"""How long the sandboxed grader takes: one file, and a class of 30, as an instructor runs it.

    python benchmarks/grading.py                 # 1 file, then 30 files (about 4 minutes on 2 cores)
    python benchmarks/grading.py --files 10      # another class size
    python benchmarks/grading.py --jobs 1

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

from grader_helpers import submission  # noqa: E402  (builds submissions from the source notebook)


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
        if p.name == "run.json":
            continue
        rep = json.loads(p.read_text())
        starts += [s["preload_seconds"] for s in rep["sandbox"]["starts"]]
        exercises += [e["detail"]["seconds"] for e in rep["exercises"] if e["detail"].get("seconds") is not None]
    return {"files": len(per_file), "wall_s": round(wall, 1), "grader_s": info["seconds"],
            "per_file_s": {"mean": round(statistics.mean(per_file), 2), "max": round(max(per_file), 2)},
            "sandbox_start_s": {"mean": round(statistics.mean(starts), 2), "max": round(max(starts), 2)},
            "exercise_s": {"mean": round(statistics.mean(exercises), 3), "max": round(max(exercises), 3)},
            "jobs": info["jobs"], "supervisor_max_rss_mb": info["supervisor_max_rss_mb"],
            "totals": sorted(int(r["total"]) for r in csv.DictReader((run_dir / "gradebook.csv").open()))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--out", type=Path, help="JSON file (default benchmarks/results/grading-<host>-<date>.json)")
    args = ap.parse_args()
    report = {"when": dt.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_model(), "cores": os.cpu_count(),
              "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="nst-grading-bench-") as tmp:
        tmp = Path(tmp)
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
