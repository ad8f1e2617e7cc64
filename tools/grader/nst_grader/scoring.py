"""Turning what came back from the sandbox into points and feedback (in the supervisor only).

Everything from the sandbox is untrusted: the events are parsed line by line with limits, a value
is accepted only as a list of at most 100,000 numbers with a consistent shape, and nothing the
child says is taken as a verdict. An exercise earns its points only when **every** hidden case came
back with a value that matches the expected one; a missing case is a failed case.

Student-facing messages never contain a hidden input, a shape or an expected value: they say which
case failed (by its kind), what kind of failure, and, when the value is a known mistake, which.
"""

from __future__ import annotations

import json
import math
import re
import signal
from dataclasses import dataclass, field

import numpy as np

from nst_grader import zygote
from typing import Mapping

from nst_grader.cases import Case, Exercise

RTOL = 1e-4
MAX_EVENT_LINES = 10_000

STATUS_TEXT = {"passed": "passed", "failed": "wrong result", "error": "error", "not implemented": "not implemented",
               "timeout": "time limit", "crashed": "process died", "memory": "memory limit",
               "output limit": "output limit", "reference": "used the reference", "missing": "not found",
               "no function": "function not defined", "not graded": "not graded"}


@dataclass
class Parsed:
    """The child's events, validated."""

    cell_errors: dict[int, str] = field(default_factory=dict)
    no_function: bool = False
    started: bool = False
    start_offset: int | None = None
    ended: bool = False
    values: dict[int, np.ndarray] = field(default_factory=dict)
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)  # k -> (exception type, text)
    grader_error: str | None = None
    malformed: int = 0


def _value(shape, data) -> np.ndarray | None:
    if not isinstance(shape, list) or len(shape) > 4 or not all(type(n) is int and 0 <= n <= zygote.MAX_VALUE_SIZE
                                                                for n in shape):
        return None
    if not isinstance(data, list) or len(data) != math.prod(shape) or len(data) > zygote.MAX_VALUE_SIZE:
        return None
    if not all(type(x) in (int, float) for x in data):
        return None
    return np.asarray([_float(x) for x in data], dtype=np.float64).reshape(shape)


def _float(x: int | float) -> float:
    """A JSON number as a float; an integer too large for one is infinite (a wrong value, not an error)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def parse_events(text: str, n_cases: int) -> Parsed:
    p = Parsed()
    for line in text.splitlines()[:MAX_EVENT_LINES]:
        try:
            ev = json.loads(line)
        except (ValueError, RecursionError):
            p.malformed += 1
            continue
        if not isinstance(ev, dict):
            p.malformed += 1
            continue
        kind = ev.get("ev")
        if kind == "cell_error" and type(ev.get("cell")) is int and isinstance(ev.get("error"), str):
            p.cell_errors.setdefault(ev["cell"], ev["error"][:2000])
        elif kind == "no_function":
            p.no_function = True
        elif kind == "start":
            p.started = True
            if type(ev.get("offset")) is int:
                p.start_offset = ev["offset"]
        elif kind == "end":
            p.ended = True
        elif kind == "grader_error" and isinstance(ev.get("error"), str):
            p.grader_error = ev["error"][:500]
        elif kind == "case" and type(ev.get("k")) is int and 0 <= ev["k"] < n_cases:
            k = ev["k"]
            if k in p.values or k in p.errors:
                continue  # the first answer for a case counts
            if "error" in ev:
                p.errors[k] = (str(ev.get("type", ""))[:100], str(ev["error"])[:2000])
            else:
                value = _value(ev.get("shape"), ev.get("data"))
                if value is None:
                    p.errors[k] = ("unreadable", "the result could not be read as numbers")
                else:
                    p.values[k] = value
        else:
            p.malformed += 1
    return p


@dataclass
class Verdict:
    ok: bool
    message: str  # for the student
    hint: str = ""


def compare(got: np.ndarray, case: Case, hints: Mapping[str, str] | None = None, rtol: float = RTOL) -> Verdict:
    """Is ``got`` the expected value of ``case``? If not, say why without showing a number.

    ``hints``: mistake name -> hint (default: every assignment's hints)."""
    if hints is None:
        from nst_grader.assignments import ASSIGNMENTS

        hints = {k: v for a in ASSIGNMENTS.values() for k, v in a.hints.items()}
    exp = np.asarray(case.expected, dtype=np.float64)
    if exp.ndim == 0:
        if got.size != 1:
            return Verdict(False, f"expected a scalar, got an array of {got.size} numbers")
        got = got.reshape(())
    elif got.shape != exp.shape:
        if case.gram_of_width and got.shape == (case.gram_of_width, case.gram_of_width):
            return Verdict(False, "wrong shape", "Your matrix is (n_H*n_W, n_H*n_W): that is A^T A; the Gram "
                                                 "matrix is A A^T, of shape (n_C, n_C).")
        if got.ndim == exp.ndim:  # sizes are the student's inputs' business: say which axes differ, not by how much
            axes = ", ".join(str(k) for k in range(exp.ndim) if got.shape[k] != exp.shape[k])
            return Verdict(False, f"wrong shape: the right number of dimensions ({exp.ndim}), another size along "
                                  f"axis {axes}")
        return Verdict(False, f"wrong shape: expected a {' x '.join('?' * exp.ndim)} array, "
                              f"got {got.ndim} dimension(s)")
    if not np.all(np.isfinite(got)):
        return Verdict(False, "the result contains NaN or infinity")
    scale = float(np.max(np.abs(exp))) if exp.size else 0.0
    if np.allclose(got, exp, rtol=rtol, atol=1e-6 * max(scale, 1e-12)):
        return Verdict(True, "")
    hint = ""
    for name, value in case.mistakes.items():
        value = np.asarray(value, dtype=np.float64)
        if exp.ndim == 0 and np.isclose(float(got), float(value), rtol=rtol, atol=0.0):
            hint = hints.get(name, "")
            break
        if exp.ndim and value.shape == got.shape and np.allclose(
                got, value, rtol=rtol, atol=1e-6 * max(float(np.max(np.abs(value), initial=0.0)), 1e-12)):
            hint = hints.get(name, "")
            break
    if not hint and exp.ndim == 0 and float(exp) != 0.0 and float(got) != 0.0:
        ratio = float(got) / float(exp)
        for name, f in case.factors.items():
            if abs(ratio / f - 1) < 1e-3:
                hint = f"Your value is {name} times too large: check the normalisation."
            elif abs(ratio * f - 1) < 1e-3:
                hint = f"Your value is {name} times too small: check the normalisation."
            if hint:
                break
    return Verdict(False, "wrong value", hint)


@dataclass
class Result:
    """One exercise's result; ``message``/``hints``/``notes`` are for the student, ``detail`` for you."""

    grade_id: str
    function: str
    max_points: int
    status: str
    points: int = 0
    message: str = ""
    hints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed: int = 0
    total: int = 0
    detail: dict = field(default_factory=dict)


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _blocked_name(text: str) -> str:
    m = re.search(r"(nst_utils\.\w+\.[\w.]+) is the library", text)
    return m[1] if m else "a reference implementation of nst_utils"


def score(ex: Exercise, cases: list[Case], frame: dict | None, failure: tuple[str, str] | None,
          timeout: float, file_size_mb: int, solution_cell: int, hints: Mapping[str, str] | None = None) -> Result:
    """The exercise's result from the zygote's answer (``frame``) or the sandbox's failure."""
    r = Result(ex.grade_id, ex.function, ex.points, "crashed", total=len(cases))
    parsed = parse_events(frame.get("events", "") if isinstance(frame, dict) and isinstance(frame.get("events"), str)
                          else "", len(cases))
    for cell, error in sorted(parsed.cell_errors.items()):
        if cell == solution_cell:
            r.notes.append(f"Running your {ex.function} cell raised an error (the function was still "
                           f"looked for): {error.splitlines()[0]}")
    for k, case in enumerate(cases):
        entry = {"kind": case.kind, "detail": case.detail, "expected": np.asarray(case.expected).tolist()}
        if k in parsed.values:
            entry["got"] = parsed.values[k].tolist()
        if k in parsed.errors:
            entry["error"] = parsed.errors[k][1]
        r.detail.setdefault("cases", []).append(entry)
    r.detail["events_malformed"] = parsed.malformed
    if failure is not None:
        kind, text = failure
        r.detail["sandbox_failure"] = f"{kind}: {text}"
        r.status = {"memory": "memory", "hung": "timeout", "file-time": "not graded", "start": "not graded"}.get(kind,
                                                                                                               "crashed")
        r.message = {
            "memory": "Your code used more memory than allowed and was stopped.",
            "hung": "The grading of this exercise stopped answering (was a process stopped?) and was ended.",
            "died": "The process grading your notebook was killed during this exercise (does your code kill processes?).",
            "protocol": "Your code interfered with the grader's channel; the exercise could not be graded.",
            "file-time": "Not graded: your notebook reached its total time limit (the exercises before took it all).",
            "start": "Not graded: the sandbox could not be started (the instructor has the details).",
        }.get(kind, f"The grading of this exercise failed ({kind}).")
        return r
    assert frame is not None
    passed = [k for k, case in enumerate(cases) if k in parsed.values and compare(parsed.values[k], case, hints, ex.rtol).ok]
    r.passed = len(passed)
    sig, code = frame.get("signal"), frame.get("exit_code")
    blocked = [t for _, t in parsed.errors.values() if zygote.BLOCKED in t]
    if blocked:
        r.status = "reference"
        r.message = (f"Your function calls {_blocked_name(blocked[0])}, the library's own implementation, which "
                     "graded exercises may not use: write the computation yourself.")
    elif frame.get("timed_out"):
        r.status = "timeout"
        r.message = f"{ex.function} did not finish within {timeout:g} s: is there an endless loop?"
    elif sig == signal.SIGXFSZ:
        r.status = "output limit"
        r.message = f"Your code wrote more than {file_size_mb} MB (printed output or files) and was stopped."
    elif sig == signal.SIGXCPU and not parsed.ended:
        r.status = "timeout"
        r.message = f"Your code used more CPU time than allowed ({timeout:g} s) and was stopped."
    elif frame.get("events_truncated"):
        r.status = "crashed"
        r.message = "Your code wrote too much into the grader's channel and was stopped."
    elif parsed.grader_error:
        r.status = "error"
        r.message = "The grader could not run this exercise (the instructor has the details)."
        r.detail["grader_error"] = parsed.grader_error
    elif parsed.no_function:
        r.status = "no function"
        r.message = f"After running your cells, there is no function named {ex.function}."
    elif any(t == "NotImplementedError" for t, _ in parsed.errors.values()):
        r.status = "not implemented"
        r.message = f"{ex.function} still raises NotImplementedError: replace the placeholder with your code."
    elif parsed.ended and len(parsed.values) + len(parsed.errors) < len(cases):
        r.status = "failed"
        r.message = (f"Only {len(parsed.values) + len(parsed.errors)} of {len(cases)} hidden tests ran: every "
                     "hidden test must run and pass (does your code change the grader's data?).")
    elif not parsed.ended or len(parsed.values) + len(parsed.errors) < len(cases):
        r.status = "crashed"
        how = (f"was killed by {_signal_name(sig)} (a crash, e.g. inside a native library)" if sig
               else f"ended with exit code {code} (does your code call os._exit or exit?)")
        r.message = f"The process running {ex.function} {how} before the hidden tests finished."
    elif len(passed) == len(cases):
        r.status, r.points = "passed", ex.points
    else:
        k = next(k for k in range(len(cases)) if k not in passed)
        if k in parsed.errors:
            kind, text = parsed.errors[k]
            r.status = "error"
            r.message = f"Hidden test {k + 1} of {len(cases)} ({cases[k].kind}): " + (
                text if kind == "unreadable" else f"your function raised {text}")
        else:
            v = compare(parsed.values[k], cases[k], hints, ex.rtol)
            r.status = "failed"
            r.message = f"Hidden test {k + 1} of {len(cases)} ({cases[k].kind}): {v.message}."
            if v.hint:
                r.hints.append(v.hint)
    return r
