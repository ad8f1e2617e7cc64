"""Grading a batch: discover the files, one sandbox per student (``jobs`` students at a time), reports,
gradebooks; a slice of the students (``--shard K/N``) and merging the slices' run folders.

This is the only process that holds the hidden inputs' seed and computes expected values. It never
imports TensorFlow or ``nst_utils``; the students' code runs only inside the sandboxes. A file that
is malformed, hostile or crashes the grader's own code costs that file only: every file gets a row in
the per-file table, every student a row in the gradebook, and a student's reports are written after
the student's sandbox's last process has exited.
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
from nst_grader.reports import file_rows, flags, new_run_dir, to_json, write_file_reports, write_tables
from nst_grader.runner import Context, FileOutcome, Submission, grade_student
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


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` (1 <= K <= N) as (K, N); raises ValueError with what would work."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: write K/N, e.g. --shard 2/8 (the 2nd of 8 slices)") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N (e.g. 1/{max(n, 1)} ... {max(n, 1)}/{max(n, 1)})")
    return k, n


def shard_groups(subs: list[Submission], shard: tuple[int, int] | None) -> list[list[Submission]]:
    """The students (groups of files) of this shard: every student's files together, the students sorted
    by key and dealt round-robin, so slice K of N is the same on every machine for the same paths."""
    groups: dict[str, list[Submission]] = {}
    for s in sorted(subs, key=lambda s: (s.group, s.student)):
        groups.setdefault(s.group, []).append(s)
    keys = sorted(groups)
    if shard is not None:
        k, n = shard
        keys = keys[k - 1::n]
    return [groups[key] for key in keys]


def grade_paths(paths: list[str | Path], out: Path, *, limits: Limits | None = None, jobs: int | None = None,
                file_timeout: float | None = None, only: list[str] | None = None, seed: int | None = None,
                unsandboxed: bool = False, python: str | None = None, shard: tuple[int, int] | None = None,
                progress: Callable[[str], None] = print) -> Summary:
    """Grade every submission under ``paths`` (or the ``shard`` = (K, N) slice of the students); reports
    into a new folder under ``out``.

    Each worker grades one student at a time, every file of that student in ONE sandbox (TensorFlow is
    imported once per student, not once per file); a sandbox never serves two students. Raises
    :class:`SandboxUnavailable` (before grading anything) when no sandbox can be made and
    ``unsandboxed`` is not set.
    """
    t0 = time.monotonic()
    limits = limits or Limits()
    jobs = max(1, jobs or min(4, os.cpu_count() or 1))
    subs, problems = discover(paths)
    groups = shard_groups(subs, shard)
    if shard is not None and shard[0] != 1:
        problems = []  # paths that cannot be graded are reported by shard 1 only
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

        def one(group: list[Submission]) -> list[FileOutcome]:
            try:
                return grade_student(group, ctx)
            except Exception as exc:  # noqa: BLE001 -- a bug of the grader costs this student's files only
                outs = []
                for sub in group:
                    o = FileOutcome(sub, error=f"grader error ({type(exc).__name__}: {exc}); please report it")
                    o.sandbox = {"traceback": traceback.format_exc()[-4000:]}
                    outs.append(o)
                return outs

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, g) for g in groups]
            for fut in as_completed(futures):
                for o in fut.result():
                    try:
                        write_file_reports(run, o, graded_at)
                    except Exception as exc:  # noqa: BLE001 -- one file's reports never stop the run
                        o.error = f"grader error while writing the reports ({type(exc).__name__}: {exc}); please report it"
                        o.results = []
                    summary.outcomes.append(o)
                    what = f"error: {o.error}" if o.error else f"{o.points} / {o.max_points} points"
                    extra = " ".join(flags(o))
                    progress(printable(f"{o.submission.student}: {o.assignment or '?'}: {what} ({o.seconds:g} s)"
                                       + (f" [{extra}]" if extra else "")))
        summary.outcomes.sort(key=lambda o: o.submission.student)
        write_tables(run, file_rows(summary.outcomes, problems))
        summary.seconds = round(time.monotonic() - t0, 2)
        info = {
            "grader": f"nst-grader {__version__}", "graded_at": graded_at, "seconds": summary.seconds,
            "seed": f"{seed:x}", "files": sum(len(g) for g in groups), "students": len(groups),
            "problems": len(problems), "jobs": jobs, "shard": list(shard) if shard else None,
            "file_timeout_s": file_timeout, "limits": asdict(limits), "only": only,
            "assignments": {a.id: a.points for a in ASSIGNMENTS.values()},
            "sandbox": {"sandboxed": plan.sandboxed, "description": plan.description,
                        "per": "student (one sandbox for all the files of one student, never shared)",
                        "preflight": {k: check.get(k) for k in ("uid", "capabilities", "limits", "pid_namespace")}},
            "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
            "supervisor_max_rss_mb": peak_memory_mb(),
            "per_file_seconds": {o.submission.student: o.seconds for o in summary.outcomes},
        }
        with open(run / "instructor" / "run.json", "x", encoding="utf-8") as f:
            f.write(to_json(info))
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


class MergeError(ValueError):
    """Run folders that cannot be merged (the message names the folder and what is wrong)."""


def merge_runs(run_dirs: list[Path], out: Path) -> Path:
    """One run folder from the run folders of the shards of one class: gradebook, LMS files and per-file
    table as one run would have written them; the reports are copied (the shards' folders are left as
    they are). Refuses shards of different seeds, shards missing or given twice, and report ids that clash."""
    infos, all_rows = [], []
    for d in run_dirs:
        d = Path(d)
        try:
            info = json.loads((d / "instructor" / "run.json").read_text(encoding="utf-8"))
            rows = json.loads((d / "instructor" / "rows.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MergeError(f"{d}: not a run folder of nst-grader (instructor/run.json and rows.json: {exc})") from None
        infos.append((d, info))
        all_rows.append((d, rows))
    seeds = {info.get("seed") for _, info in infos}
    if len(seeds) != 1:
        raise MergeError("the run folders were graded with different seeds (" + ", ".join(
            f"{d}: {info.get('seed')}" for d, info in infos) + "): grade every shard with the same --seed")
    shards = [tuple(info["shard"]) if info.get("shard") else (1, 1) for _, info in infos]
    ns = {n for _, n in shards}
    if len(ns) != 1:
        raise MergeError(f"the run folders are slices of different splits: {sorted(set(shards))}")
    n = ns.pop()
    ks = sorted(k for k, _ in shards)
    missing = sorted(set(range(1, n + 1)) - set(ks))
    twice = sorted({k for k in ks if ks.count(k) > 1})
    if missing or twice:
        raise MergeError(f"shards of {n}: " + (f"missing {missing}" if missing else "") +
                         ("; " if missing and twice else "") + (f"given twice {twice}" if twice else ""))
    rows = [r for _, rs in all_rows for r in rs]
    reports = [r["report"] for r in rows if r["report"]]
    if len(set(reports)) != len(reports):
        raise MergeError("two shards graded the same file (a report id appears twice): were they given the same paths?")
    run = new_run_dir(out)
    for d, _ in infos:
        for sub in ("students", "instructor"):
            for p in sorted((d / sub).iterdir()):
                if p.name in ("run.json", "rows.json", "files.csv"):
                    continue
                with open(p, "rb") as src, open(run / sub / p.name, "xb") as dst:
                    shutil.copyfileobj(src, dst)
    write_tables(run, sorted(rows, key=lambda r: (str(r["student"]), str(r["report"]))))
    first = infos[0][1]
    merged = {"grader": first.get("grader"), "merged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "seed": first.get("seed"), "shards": [{"folder": str(d), "shard": info.get("shard"),
                                                     "seconds": info.get("seconds"), "files": info.get("files"),
                                                     "machine": info.get("machine")} for d, info in infos],
              "files": sum(info.get("files", 0) for _, info in infos),
              "students": sum(info.get("students", 0) for _, info in infos),
              "problems": sum(info.get("problems", 0) for _, info in infos),
              "limits": first.get("limits"), "only": first.get("only"), "assignments": first.get("assignments"),
              "sandbox": first.get("sandbox"),
              "per_file_seconds": {k: v for _, info in infos for k, v in info.get("per_file_seconds", {}).items()}}
    with open(run / "instructor" / "run.json", "x", encoding="utf-8") as f:
        f.write(to_json(merged))
    return run
