"""Grading a batch: discover the files, one sandbox per file (``jobs`` at a time), reports, gradebook.

This is the only process that holds the hidden inputs' seed and computes expected values. It never
imports TensorFlow or ``nst_utils``; the students' code runs only inside the sandboxes. A file that
is malformed, hostile or crashes the grader's own code costs that file only: every file gets a row in
the gradebook, and a file's reports are written after its sandbox's last process has exited.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from nst_grader import __version__
from nst_grader.assignments import ASSIGNMENTS
from nst_grader.discover import discover
from nst_grader.reports import flags, new_run_dir, write_file_reports, write_gradebook
from nst_grader.runner import Context, FileOutcome, Submission, grade_file
from nst_grader.isolation import Limits, SandboxUnavailable, plan_sandbox
from nst_grader.sandbox import Sandbox, SandboxFailure


@dataclass
class Summary:
    run_dir: Path
    outcomes: list[FileOutcome] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def all_graded(self) -> bool:
        return not self.problems and not any(o.error for o in self.outcomes)


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (a file name may hold any) shown as escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def preflight(plan, limits: Limits) -> dict:
    """Start a sandbox without TensorFlow and stop it: fails early, with bubblewrap's own words."""
    box = Sandbox(plan, limits, "preflight")
    box.preload = ""
    try:
        return box.start(time.monotonic() + 60)
    except SandboxFailure as exc:
        raise SandboxUnavailable(f"the sandbox does not start on this machine: {exc}\n{box.log_tail(1500)}") from None
    finally:
        box.close()


def grade_paths(paths: list[str | Path], out: Path, *, limits: Limits | None = None, jobs: int | None = None,
                file_timeout: float | None = None, only: list[str] | None = None, seed: int | None = None,
                unsandboxed: bool = False, python: str | None = None,
                progress: Callable[[str], None] = print) -> Summary:
    """Grade every submission under ``paths``; reports into a new folder under ``out``.

    Raises :class:`SandboxUnavailable` (before grading anything) when no sandbox can be made and
    ``unsandboxed`` is not set.
    """
    t0 = time.monotonic()
    limits = limits or Limits()
    jobs = max(1, jobs or min(4, os.cpu_count() or 1))
    subs, problems = discover(paths)
    work = Path(tempfile.mkdtemp(prefix="nst-grader-"))
    os.chmod(work, 0o755)
    try:
        plan = plan_sandbox(work, limits, python, unsandboxed)
        check = preflight(plan, limits)
        run = new_run_dir(out)
        seed = seed if seed is not None else secrets.randbits(128)
        n_ex = max(len(a.exercises) for a in ASSIGNMENTS.values())
        file_timeout = file_timeout or 60 + n_ex * (limits.timeout + 10)
        ctx = Context(seed, plan, limits, file_timeout, only)
        graded_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        summary = Summary(run, problems=problems)
        for sid, message in problems:
            progress(printable(f"{sid}: not graded: {message}"))

        def one(sub: Submission) -> FileOutcome:
            try:
                return grade_file(sub, ctx)
            except Exception as exc:  # noqa: BLE001 -- a bug of the grader costs this file only
                o = FileOutcome(sub, error=f"grader error ({type(exc).__name__}: {exc}); please report it")
                o.sandbox = {"traceback": traceback.format_exc()[-4000:]}
                return o

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(one, s): s for s in subs}
            for fut in as_completed(futures):
                o = fut.result()
                write_file_reports(run, o, graded_at)
                summary.outcomes.append(o)
                what = f"error: {o.error}" if o.error else f"{o.points} / {o.max_points} points"
                extra = " ".join(flags(o))
                progress(printable(f"{o.submission.student}: {what} ({o.seconds:g} s)"
                                   + (f" [{extra}]" if extra else "")))
        summary.outcomes.sort(key=lambda o: o.submission.student)
        ids = list(dict.fromkeys(r.grade_id for o in summary.outcomes for r in o.results)) or \
            list(ASSIGNMENTS[next(iter(ASSIGNMENTS))].grade_ids)
        write_gradebook(run, summary.outcomes, problems, ids)
        summary.seconds = round(time.monotonic() - t0, 2)
        info = {
            "grader": f"nst-grader {__version__}", "graded_at": graded_at, "seconds": summary.seconds,
            "seed": f"{seed:x}", "files": len(subs), "problems": len(problems), "jobs": jobs,
            "file_timeout_s": file_timeout, "limits": asdict(limits), "only": only,
            "sandbox": {"sandboxed": plan.sandboxed, "description": plan.description,
                        "preflight": {k: check.get(k) for k in ("uid", "capabilities", "limits", "pid_namespace")}},
            "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
            "supervisor_max_rss_mb": peak_memory_mb(),
            "per_file_seconds": {o.submission.student: o.seconds for o in summary.outcomes},
        }
        with open(run / "instructor" / "run.json", "x", encoding="utf-8") as f:
            f.write(json.dumps(info, indent=2) + "\n")
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)
