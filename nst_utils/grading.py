r"""Student versions and automatic grading of the lesson notebooks' exercises (for instructors).

The lesson notebooks follow nbgrader's conventions: a *solution cell* (cell metadata
``nbgrader.solution: true``, with a ``grade_id``) holds the reference solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; a locked *test cell* (``nbgrader.grade: true``, with
``points``) checks it on fixed inputs. Two commands build on that::

    python -m nst_utils.grading student [--out student/]
    python -m nst_utils.grading grade SUBMISSION.ipynb [...] [--out grading-reports/] [--timeout 30]

``student`` writes the hand-out version of every notebook in ``notebooks/`` that has solution cells:
solutions replaced by a placeholder, outputs cleared, test cells kept (and marked read-only).

``grade`` scores a submitted notebook with *hidden* tests: for each exercise it takes the student's
solution cell (found by ``grade_id``, else by the ``def`` of the exercise's function) and the
notebook's set-up cells (the plain code cells above the first exercise), runs them in a separate
process with a time limit, and compares the function on random inputs of random shapes with the
reference in :mod:`nst_utils.costs` (``rtol=1e-4``). An exercise is worth its points when every
hidden case passes. A cell that raises, never finishes or ends its process costs that exercise only.
Functions an exercise may call from *other* exercises (``gram_matrix`` inside
``compute_layer_style_cost``) are the reference ones, so one mistake costs points once.
The submitted file is never modified (grading works on a copy); the report is written as JSON and
Markdown.

Isolation: on Linux a "zygote" process imports TensorFlow once and forks one child per exercise
(``--isolation fork``, fast); elsewhere each exercise gets a fresh Python (``spawn``, ~10 s more per
exercise). Either way the time limit starts when the student's code starts, not during
TensorFlow's start-up. This is isolation against mistakes, **not a sandbox**: the student's code runs
with your user rights, so grade untrusted files in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# --------------------------------------------------------------------------------------------
# Notebook files (plain JSON, nbformat 4; no dependency on nbformat)
# --------------------------------------------------------------------------------------------

# nbgrader's delimiters: a line that contains one of them (usually "### BEGIN SOLUTION") is a marker
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


class GradingError(RuntimeError):
    """A notebook that cannot be processed (unreadable, unbalanced solution markers, ...)."""


def read_notebook(path: str | Path) -> dict:
    """The notebook at ``path`` as a dict (nbformat 4 JSON)."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GradingError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise GradingError(f"{path}: not a Jupyter notebook (no 'cells' list)")
    return nb


def write_notebook(nb: dict, path: str | Path) -> Path:
    """Write ``nb`` the way nbformat does (sorted keys, indent 1, trailing newline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def has_marker(text: str, marker: str) -> bool:
    """True if a line of ``text`` contains ``marker``, as nbgrader decides it (so never write "BEGIN
    SOLUTION" in a sentence of a source notebook: nbgrader would take it for a marker too)."""
    return any(marker in line for line in text.splitlines())


def is_solution_cell(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("solution")) or has_marker(cell_source(cell), BEGIN_SOLUTION)


def is_test_cell(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("grade")) and not nbgrader_meta(cell).get("solution")


def sha256_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Student version
# --------------------------------------------------------------------------------------------


def _replace_regions(text: str, begin: str, end: str, replacement: Callable[[str, str], list[str]],
                     where: str) -> str:
    """Replace every ``begin``...``end`` block (marker lines included) by ``replacement(indent, before)``."""
    out: list[str] = []
    inside = False
    indent = ""
    for line in text.splitlines(keepends=True):
        if begin in line:
            if inside:
                raise GradingError(f"{where}: '{begin}' twice without '{end}' in between")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(replacement(indent, "".join(out)))
        elif end in line:
            if not inside:
                raise GradingError(f"{where}: '{end}' without '{begin}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise GradingError(f"{where}: '{begin}' without '{end}'")
    return "".join(out)


def _placeholder(indent: str, before: str) -> list[str]:
    names = _DEF.findall(before)
    what = names[-1] if names else "this exercise"
    return [f"{indent}# YOUR CODE HERE\n",
            f'{indent}raise NotImplementedError("Write {what}: replace these two lines with your code")\n']


def student_version(nb: dict, where: str = "notebook") -> dict:
    """The hand-out version of a source notebook (a new dict; ``nb`` is not changed).

    Solution regions become ``# YOUR CODE HERE`` + ``raise NotImplementedError(...)`` in code cells
    (``YOUR ANSWER HERE`` in markdown cells), hidden-test regions are removed, every output is
    cleared and locked cells (the tests) are marked read-only, as ``nbgrader generate_assignment``
    does.
    """
    out = json.loads(json.dumps(nb))
    for k, cell in enumerate(out["cells"]):
        here = f"{where}, cell {k}"
        src = cell_source(cell)
        if has_marker(src, BEGIN_SOLUTION) or has_marker(src, END_SOLUTION):
            if cell.get("cell_type") == "code":
                src = _replace_regions(src, BEGIN_SOLUTION, END_SOLUTION, _placeholder, here)
            else:
                src = _replace_regions(src, BEGIN_SOLUTION, END_SOLUTION,
                                       lambda indent, before: [f"{indent}YOUR ANSWER HERE\n"], here)
        if has_marker(src, BEGIN_HIDDEN) or has_marker(src, END_HIDDEN):
            src = _replace_regions(src, BEGIN_HIDDEN, END_HIDDEN, lambda indent, before: [], here)
        _set_source(cell, src)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)  # run timings of the source notebook
        meta = nbgrader_meta(cell)
        if meta.get("locked") or meta.get("grade") and not meta.get("solution"):
            cell.setdefault("metadata", {}).update(editable=False, deletable=False)
    return out


def has_solutions(nb: dict) -> bool:
    return any(is_solution_cell(c) for c in nb["cells"])


def build_student_versions(notebooks: str | Path, out: str | Path) -> list[Path]:
    """Write the student version of every notebook in ``notebooks`` that has solution cells into ``out``.

    Returns the written paths. Refuses to write into ``notebooks`` itself (or below it).
    """
    notebooks, out = Path(notebooks).resolve(), Path(out).resolve()
    if not notebooks.is_dir():
        raise GradingError(f"{notebooks}: no such folder")
    if out == notebooks or notebooks in out.parents:
        raise GradingError(f"refusing to write student versions into {out}: it is inside the source "
                           f"folder {notebooks}; use e.g. --out student")
    written = []
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = read_notebook(path)
        if not has_solutions(nb):
            continue
        written.append(write_notebook(student_version(nb, str(path)), out / path.name))
    return written


# --------------------------------------------------------------------------------------------
# Exercises and their hidden tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hidden test: ``function(*args, **kwargs)`` should equal ``reference(*args, **kwargs)``."""

    description: str
    args: tuple
    kwargs: dict
    factors: dict  # named size factors, to explain a wrong answer (e.g. {"n_H*n_W": 24})


@dataclass(frozen=True)
class Exercise:
    grade_id: str  # nbgrader grade_id of the solution cell
    function: str  # the function the student writes
    points: int
    reference: str  # name of the reference in nst_utils.costs
    cases: Callable[[Any], list[Case]]  # numpy Generator -> hidden cases
    needs: tuple[str, ...] = ()  # functions of other exercises it may call (given as references)


def _act(rng, n_H: int, n_W: int, n_C: int, relu: bool):
    import numpy as np

    a = rng.standard_normal((1, n_H, n_W, n_C)) * rng.uniform(0.5, 3.0)
    return (np.maximum(a, 0.0) if relu else a).astype(np.float32)


def _dims(rng, max_side: int = 9, max_c: int = 12) -> tuple[int, int, int]:
    n_H = int(rng.integers(2, max_side + 1))
    n_W = int(rng.choice([w for w in range(2, max_side + 2) if w != n_H]))
    return n_H, n_W, int(rng.integers(2, max_c + 1))


def _sizes(n_H: int, n_W: int, n_C: int) -> dict:
    return {"n_H*n_W": n_H * n_W, "n_C": n_C, "n_H*n_W*n_C": n_H * n_W * n_C, "4": 4}


def _activation_pair_cases(rng, first: str) -> list[Case]:
    """Four cases of two activations (``first``, a_G) of one random shape; every other one ReLU-like."""
    cases = []
    for k in range(4):
        n_H, n_W, n_C = _dims(rng)
        relu = k % 2 == 1
        cases.append(Case(f"{first}, a_G of shape (1, {n_H}, {n_W}, {n_C})",
                          (_act(rng, n_H, n_W, n_C, relu), _act(rng, n_H, n_W, n_C, relu)), {},
                          _sizes(n_H, n_W, n_C)))
    return cases


def _content_cases(rng) -> list[Case]:
    return _activation_pair_cases(rng, "a_C")


def _gram_cases(rng) -> list[Case]:
    import numpy as np

    cases = []
    for _ in range(4):
        n_C = int(rng.integers(2, 13))
        m = int(rng.choice([v for v in range(3, 41) if v != n_C]))
        A = rng.standard_normal((n_C, m)).astype(np.float32)
        cases.append(Case(f"A of shape ({n_C}, {m}) (n_C = {n_C}, n_H*n_W = {m})", (A,), {}, {}))
    return cases


def _layer_style_cases(rng) -> list[Case]:
    return _activation_pair_cases(rng, "a_S")


def _style_cases(rng) -> list[Case]:
    names = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    cases = []
    for k in range(3):
        n_layers = int(rng.integers(2, 5))
        chosen = [str(n) for n in rng.choice(names, size=n_layers, replace=False)]
        a_S, a_G, weights, shapes = {}, {}, {}, []
        for name in chosen:
            n_H, n_W, n_C = _dims(rng, max_side=7, max_c=8)
            a_S[name], a_G[name] = _act(rng, n_H, n_W, n_C, True), _act(rng, n_H, n_W, n_C, True)
            weights[name] = round(float(rng.uniform(0.1, 1.0)), 3)
            shapes.append(f"{name} (1, {n_H}, {n_W}, {n_C})")
        extra = ""
        if k == 2:  # activation dictionaries also hold the content layer, which has no style weight
            a_S["conv4_2"], a_G["conv4_2"] = _act(rng, 3, 4, 5, True), _act(rng, 3, 4, 5, True)
            extra = "; the dictionaries also hold 'conv4_2', which is not in weights"
        cases.append(Case(f"layers {', '.join(shapes)}, weights {weights}{extra}", (a_S, a_G, weights),
                          {}, {"number of layers": len(weights)}))
    return cases


def _total_cases(rng) -> list[Case]:
    import numpy as np

    jc, js = float(rng.uniform(0.1, 10)), float(rng.uniform(0.1, 10))
    a, b = float(rng.uniform(1, 50)), float(rng.uniform(1, 50))
    return [
        Case(f"total_cost({jc:.4g}, {js:.4g}) with the default alpha and beta", (jc, js), {}, {}),
        Case(f"total_cost({js:.4g}, {jc:.4g}, alpha={a:.4g}, beta={b:.4g})", (js, jc),
             {"alpha": a, "beta": b}, {}),
        Case(f"total_cost on scalar arrays, alpha={b:.4g}", (np.float32(jc), np.float32(js)),
             {"alpha": b}, {}),
    ]


def _tv_cases(rng) -> list[Case]:
    import numpy as np

    cases = []
    for _ in range(3):
        n_H, n_W, _c = _dims(rng, max_side=12)
        img = rng.uniform(0.0, 1.0, (1, n_H, n_W, 3)).astype(np.float32)
        cases.append(Case(f"image of shape (1, {n_H}, {n_W}, 3)", (img,), {}, {"n_H*n_W": n_H * n_W}))
    return cases


EXERCISES: dict[str, Exercise] = {
    e.grade_id: e
    for e in [
        Exercise("compute_content_cost", "compute_content_cost", 2, "content_cost", _content_cases),
        Exercise("gram_matrix", "gram_matrix", 2, "gram_matrix", _gram_cases),
        Exercise("compute_layer_style_cost", "compute_layer_style_cost", 3, "layer_style_cost",
                 _layer_style_cases, needs=("gram_matrix",)),
        Exercise("compute_style_cost", "compute_style_cost", 2, "style_cost", _style_cases,
                 needs=("gram_matrix", "compute_layer_style_cost")),
        Exercise("total_cost", "total_cost", 1, "total_cost", _total_cases),
        Exercise("total_variation_cost", "total_variation_cost", 2, "total_variation_cost", _tv_cases),
    ]
}

#: assignment (notebook stem) -> its exercises, in notebook order
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "04_cost_functions": ("compute_content_cost", "gram_matrix", "compute_layer_style_cost",
                          "compute_style_cost", "total_cost", "total_variation_cost"),
}

# reference implementations of each exercise's function, for the exercises that call it
_REFERENCE_OF = {e.function: e.reference for e in EXERCISES.values()}


# --------------------------------------------------------------------------------------------
# Inside the child process: run the student's code and the hidden tests
# --------------------------------------------------------------------------------------------


def _strip_magics(src: str) -> str:
    """Comment out IPython magics and shell escapes (``%matplotlib``, ``!pip``): plain Python only."""
    return "".join(("# " + line) if line.lstrip().startswith(("%", "!")) else line
                   for line in src.splitlines(keepends=True))


def _compile(src: str, filename: str):
    import linecache

    src = _strip_magics(src)
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    return compile(src, filename, "exec")


def _short_traceback(exc: BaseException) -> str:
    """The exception and the frames inside the student's cells (not the grader's or TF's)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<")]
    lines = [f"{type(exc).__name__}: {exc}".strip()]
    for f in frames[-3:]:
        lines.append(f"  {f.filename}, line {f.lineno}" + (f": {f.line.strip()}" if f.line else ""))
    return "\n".join(lines)[:1500]


def _as_tensor(x):
    import numpy as np
    import tensorflow as tf

    if isinstance(x, dict):
        return {k: _as_tensor(v) for k, v in x.items()}
    if isinstance(x, np.ndarray) and x.ndim > 0:
        return tf.constant(x)
    return x


def _fmt(x) -> str:
    import numpy as np

    x = np.asarray(x)
    if x.size == 1:
        return f"{float(x.reshape(())):.6g}"
    return f"an array of shape {x.shape}"


def _factor_hint(ratio: float, factors: dict) -> str:
    for name, f in factors.items():
        for sym, val in ((f"{name}", f), (f"1/({name})", 1.0 / f)):
            if f != 1 and abs(ratio / val - 1) < 1e-3:
                return f" Your value is off by a factor {sym} = {val:.6g}: check the normalisation."
    return ""


def _compare(got, expected, case: Case, rtol: float = 1e-4, atol: float = 1e-6) -> str | None:
    """None if ``got`` matches ``expected``, else the message for the student."""
    import numpy as np

    try:
        got = np.asarray(got, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 -- anything the student returns
        return f"{case.description}: the result cannot be read as numbers ({type(exc).__name__}: {exc})."
    if expected.ndim == 0:
        if got.size != 1:
            return f"{case.description}: expected a scalar, got an array of shape {got.shape}."
        got = got.reshape(())
    elif got.shape != expected.shape:
        hint = ""
        if got.ndim == 2 and got.shape[0] == got.shape[1] and expected.ndim == 2:
            hint = " (A^T A instead of A A^T?)"
        return f"{case.description}: expected shape {expected.shape}, got {got.shape}{hint}."
    if not np.all(np.isfinite(got)):
        return f"{case.description}: the result contains NaN or inf."
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return None
    msg = f"{case.description}: got {_fmt(got)}, expected {_fmt(expected)}."
    if expected.ndim == 0 and expected != 0 and got != 0:
        ratio = float(got / expected)
        msg += f" got / expected = {ratio:.6g}." + _factor_hint(ratio, case.factors)
    elif expected.ndim > 0:
        worst = float(np.max(np.abs(got - expected) / (np.abs(expected) + atol)))
        msg += f" Largest relative difference {worst:.3g}."
    return msg


def _run_exercise(spec: dict) -> dict:
    """Set-up cells, reference helpers, the student's cell, then the hidden cases. Returns the result."""
    import numpy as np
    import tensorflow as tf

    from nst_utils import costs

    ex = EXERCISES[spec["grade_id"]]
    result: dict[str, Any] = {"status": "error", "message": "", "warnings": [], "cases_passed": 0}
    try:  # small inputs: one thread each is fastest and leaves cores to the other exercises
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    # inputs and expected values first, before the student's code can touch anything
    rng = np.random.default_rng([int(spec["seed"]), zlib.crc32(ex.grade_id.encode())])
    cases = ex.cases(rng)
    reference = getattr(costs, ex.reference)
    expected = [np.asarray(reference(*c.args, **c.kwargs), dtype=np.float64) for c in cases]
    result["cases"] = len(cases)
    helpers = {name: getattr(costs, _REFERENCE_OF[name]) for name in ex.needs}
    Path(spec["ready"]).write_text("ready")  # the time limit starts now

    ns: dict[str, Any] = {"__name__": "__main__"}
    for i, src in enumerate(spec["setup"], start=1):
        try:
            exec(_compile(src, f"<set-up cell {i}>"), ns)
        except BaseException as exc:  # noqa: BLE001 -- the student's notebook may do anything
            result["warnings"].append(f"set-up cell {i} raised {_short_traceback(exc)}")
    ns.update(helpers)
    sys.stdout.flush()
    sys.stderr.flush()
    print(_YOUR_OUTPUT, flush=True)  # what the student's code prints comes after this line
    try:
        exec(_compile(spec["code"], f"<your {ex.function} cell>"), ns)
    except BaseException as exc:  # noqa: BLE001
        result["message"] = f"Running your {ex.function} cell raised {_short_traceback(exc)}"
        return result
    fn = ns.get(ex.function)
    if not callable(fn):
        result["message"] = f"Your cell does not define a function {ex.function}."
        return result
    for k, (case, exp) in enumerate(zip(cases, expected), start=1):
        try:
            got = fn(*_as_tensor(case.args), **case.kwargs)
        except NotImplementedError:
            result["status"] = "not implemented"
            result["message"] = (f"{ex.function} still raises NotImplementedError: replace the "
                                 "placeholder with your code.")
            return result
        except BaseException as exc:  # noqa: BLE001
            result["message"] = f"Hidden test {k}, {case.description}: raised {_short_traceback(exc)}"
            return result
        problem = _compare(got, exp, case)
        if problem:
            result["status"] = "failed"
            result["message"] = f"Hidden test {k}/{len(cases)}, {problem}"
            return result
        result["cases_passed"] = k
    result["status"] = "passed"
    return result


def _child_main(spec_path: str) -> None:
    """Entry point of one exercise's process: always leaves a result file unless the process dies."""
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = _run_exercise(spec)
    except BaseException as exc:  # noqa: BLE001 -- a grader bug must not look like a student's
        result = {"status": "error", "message": f"grader error: {type(exc).__name__}: {exc}"}
    tmp = Path(spec["result"] + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(spec["result"])


# --------------------------------------------------------------------------------------------
# Supervising the exercise processes
# --------------------------------------------------------------------------------------------


class _Forked:
    """One exercise in a child forked from this (TensorFlow-importing) process."""

    def __init__(self, spec_path: str, log: str) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.setpgid(0, 0)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                _child_main(spec_path)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(0)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        self.pid = pid
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def kill(self) -> None:
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
                break
            except OSError:
                pass
        _, status = os.waitpid(self.pid, 0)
        self.code = os.waitstatus_to_exitcode(status)


class _Spawned:
    """One exercise in a fresh Python process."""

    def __init__(self, spec_path: str, log: str) -> None:
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "nst_utils.grading", "_child", spec_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=_child_env(),
                                     cwd=str(Path(spec_path).parent), start_new_session=(os.name == "posix"))

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None:
            self.log.close()
        return code

    def kill(self) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self.log.close()


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _supervise(specs: list[str], start: Callable[[str, str], Any], timeout: float, jobs: int,
               startup_timeout: float) -> dict[str, dict]:
    """Run the exercise processes (at most ``jobs`` at a time) and return ``{spec path: outcome}``.

    An exercise's clock starts when its process has written its "ready" file (imports done, hidden
    inputs made); a process that is not ready after ``startup_timeout`` seconds is stopped too.
    """
    pending = list(specs)
    running: dict[str, dict] = {}
    outcomes: dict[str, dict] = {}
    while pending or running:
        while pending and len(running) < max(1, jobs):
            spec_path = pending.pop(0)
            spec = json.loads(Path(spec_path).read_text())
            running[spec_path] = {"proc": start(spec_path, spec["log"]), "spec": spec,
                                  "started": time.monotonic(), "ready": None}
        time.sleep(0.02)
        now = time.monotonic()
        for spec_path, job in list(running.items()):
            if job["ready"] is None and os.path.exists(job["spec"]["ready"]):
                job["ready"] = now
            code = job["proc"].poll()
            late = (job["ready"] is not None and now - job["ready"] > timeout) or (
                job["ready"] is None and now - job["started"] > startup_timeout)
            if code is None and not late:
                continue
            if code is None:
                job["proc"].kill()
                code = job["proc"].poll()
            outcomes[spec_path] = {"exit_code": code, "timed_out": code is not None and late,
                                   "ready": job["ready"] is not None,
                                   "startup_seconds": round((job["ready"] or now) - job["started"], 3),
                                   "seconds": round(now - (job["ready"] or job["started"]), 3)}
            del running[spec_path]
    return outcomes


def _zygote_main(plan_path: str) -> None:
    """Import TensorFlow (and what notebooks' set-up cells import) once, then fork one child per exercise.

    Nothing here runs a TensorFlow operation before forking: TensorFlow's runtime (thread pools,
    devices) starts in each child, which is what makes forking safe.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401

    import nst_utils.costs  # noqa: F401
    import nst_utils.metrics  # noqa: F401

    plan = json.loads(Path(plan_path).read_text())
    outcomes = _supervise(plan["specs"], _Forked, plan["timeout"], plan["jobs"], plan["startup_timeout"])
    tmp = Path(plan["outcomes"] + ".tmp")
    tmp.write_text(json.dumps(outcomes))
    tmp.replace(plan["outcomes"])


# --------------------------------------------------------------------------------------------
# Grading a submission
# --------------------------------------------------------------------------------------------


_USES_REFERENCE = re.compile(r"\bnu\.(content_cost|gram_matrix|layer_style_cost|style_cost|total_cost|"
                             r"total_variation_cost|unroll|costs)\b|nst_utils\.costs|from\s+nst_utils")


def _find_solution_cell(nb: dict, ex: Exercise) -> tuple[int, str] | None:
    """(index, source) of the student's cell for ``ex``: by grade_id, else the last cell defining it."""
    hits = [k for k, c in enumerate(nb["cells"])
            if c.get("cell_type") == "code" and nbgrader_meta(c).get("grade_id") == ex.grade_id]
    if not hits:
        hits = [k for k, c in enumerate(nb["cells"])
                if c.get("cell_type") == "code" and not is_test_cell(c)
                and ex.function in _DEF.findall(cell_source(c))]
    return (hits[-1], cell_source(nb["cells"][hits[-1]])) if hits else None


def setup_cells(nb: dict) -> list[str]:
    """Sources of the plain code cells above the first nbgrader cell (imports, constants)."""
    out = []
    for cell in nb["cells"]:
        if nbgrader_meta(cell) or is_solution_cell(cell):
            break
        if cell.get("cell_type") == "code":
            out.append(cell_source(cell))
    return out


def detect_assignment(nb: dict, path: Path) -> str:
    """The assignment a submission belongs to: by its exercises' grade_ids or functions."""
    ids = {nbgrader_meta(c).get("grade_id") for c in nb["cells"]}
    defs = {name for c in nb["cells"] if c.get("cell_type") == "code" for name in _DEF.findall(cell_source(c))}
    scores = {name: sum(1 for g in exs if g in ids or EXERCISES[g].function in defs)
              for name, exs in ASSIGNMENTS.items()}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        raise GradingError(f"{path}: none of the graded exercises ({', '.join(EXERCISES)}) is in this "
                           "notebook: is it the right file?")
    return best


_STATUS_TEXT = {"passed": "passed", "failed": "wrong result", "error": "error", "timeout": "time limit",
                "crashed": "process died", "missing": "not found", "not implemented": "not implemented"}


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _prepare(path: Path, work: Path, seed: int, only: list[str] | None, settings: dict) -> dict:
    """Copy one submission into ``work``, find its exercises and write their specs. Raises GradingError."""
    if not path.is_file():
        raise GradingError(f"{path}: no such file")
    digest = sha256_file(path)
    work.mkdir(parents=True)
    copy = work / "submission.ipynb"
    shutil.copyfile(path, copy)  # everything below reads the copy only
    nb = read_notebook(copy)
    assignment = detect_assignment(nb, path)
    report: dict[str, Any] = {
        "notebook": str(path), "sha256": digest, "assignment": assignment,
        "graded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **settings,
    }
    setup = setup_cells(nb)
    ids = [g for g in ASSIGNMENTS[assignment] if only is None or g in only]
    entries: dict[str, dict] = {}
    specs: dict[str, str] = {}
    for g in ids:
        ex = EXERCISES[g]
        entries[g] = {"grade_id": g, "function": ex.function, "points": 0, "max_points": ex.points}
        found = _find_solution_cell(nb, ex)
        if found is None:
            entries[g].update(status="missing", message=(
                f"No cell with grade_id {g!r} or a 'def {ex.function}(' was found in the notebook."))
            continue
        entries[g]["cell"] = found[0]
        if _USES_REFERENCE.search(found[1]):
            entries[g]["flag"] = ("the cell calls nst_utils's own cost functions: the points are given "
                                  "(the values are right), but check whether that was allowed")
        d = work / g
        d.mkdir()
        spec = {"grade_id": g, "setup": setup, "code": found[1], "seed": seed,
                "ready": str(d / "ready"), "result": str(d / "result.json"), "log": str(d / "output.txt")}
        specs[g] = str(d / "spec.json")
        Path(specs[g]).write_text(json.dumps(spec))
    return {"path": path, "digest": digest, "report": report, "ids": ids, "entries": entries, "specs": specs}


def _run_specs(specs: list[str], work: Path, isolation: str, timeout: float, jobs: int,
               startup_timeout: float) -> tuple[dict[str, dict], str]:
    """Outcomes of all exercise processes, and the isolation actually used."""
    if not specs:
        return {}, isolation
    if isolation == "spawn":
        return _supervise(specs, _Spawned, timeout, jobs, startup_timeout), isolation
    plan = work / "plan.json"
    plan.write_text(json.dumps({"specs": specs, "timeout": timeout, "jobs": jobs,
                                "startup_timeout": startup_timeout, "outcomes": str(work / "outcomes.json")}))
    limit = startup_timeout + len(specs) * (timeout + startup_timeout) + 60
    with open(work / "zygote.txt", "wb") as err:
        try:
            subprocess.run([sys.executable, "-m", "nst_utils.grading", "_zygote", str(plan)], cwd=work,
                           env=_child_env(), timeout=limit, stdout=subprocess.DEVNULL, stderr=err,
                           start_new_session=(os.name == "posix"))
        except subprocess.TimeoutExpired:
            pass
    outcomes = json.loads((work / "outcomes.json").read_text()) if (work / "outcomes.json").exists() else {}
    missing = [s for s in specs if s not in outcomes]
    if missing:  # the zygote failed: grade those exercises in fresh processes
        outcomes.update(_supervise(missing, _Spawned, timeout, jobs, startup_timeout))
        isolation = "fork, then spawn"
    return outcomes, isolation


def grade_notebooks(paths: list[str | Path], *, timeout: float = 30.0, jobs: int | None = None,
                    isolation: str | None = None, seed: int = 2024, only: list[str] | None = None,
                    startup_timeout: float = 300.0) -> list[dict]:
    """Grade several submissions with one TensorFlow start-up; one report each (see :func:`write_report`).

    The files are only read. Raises :class:`GradingError` if one of them is missing, unreadable or not
    a known assignment (check them one by one with :func:`grade_notebook` to grade the others anyway).
    """
    t0 = time.monotonic()
    isolation = isolation or ("fork" if hasattr(os, "fork") and sys.platform.startswith("linux") else "spawn")
    if isolation not in ("fork", "spawn"):
        raise GradingError(f"isolation={isolation!r}: use 'fork' or 'spawn'")
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    settings = {"timeout_s": timeout, "isolation": isolation, "seed": seed}
    with tempfile.TemporaryDirectory(prefix="nst-grading-") as tmp:
        work = Path(tmp)
        subs = [_prepare(Path(p), work / f"submission{k}", seed, only, settings) for k, p in enumerate(paths)]
        all_specs = [spec for sub in subs for spec in sub["specs"].values()]
        outcomes, used = _run_specs(all_specs, work, isolation, timeout, jobs, startup_timeout)
        for sub in subs:
            for g, spec_path in sub["specs"].items():
                sub["entries"][g].update(_interpret(g, json.loads(Path(spec_path).read_text()),
                                                    outcomes.get(spec_path), timeout))
    reports = []
    for sub in subs:
        if sha256_file(sub["path"]) != sub["digest"]:  # cannot happen through this code; checked all the same
            raise GradingError(f"{sub['path']} changed while it was being graded")
        exercises = [sub["entries"][g] for g in sub["ids"]]
        for e in exercises:
            e["points"] = e["max_points"] if e["status"] == "passed" else 0
        report = sub["report"]
        report.update(isolation=used, points=sum(e["points"] for e in exercises),
                      max_points=sum(e["max_points"] for e in exercises), exercises=exercises,
                      seconds=round(time.monotonic() - t0, 1), batch_files=len(subs))
        reports.append(report)
    return reports


def grade_notebook(path: str | Path, **kwargs) -> dict:
    """Grade one submission; returns its report. Arguments as :func:`grade_notebooks`."""
    return grade_notebooks([path], **kwargs)[0]


_YOUR_OUTPUT = "----- output of your code -----"
_TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|"
                       r"To enable the following instructions)")


def _without_tf_noise(text: str) -> str:
    """The output without TensorFlow's start-up log lines (they are not the student's)."""
    return "".join(line for line in text.splitlines(keepends=True) if not _TF_NOISE.match(line))


def _interpret(grade_id: str, spec: dict, outcome: dict | None, timeout: float) -> dict:
    ex = EXERCISES[grade_id]
    log = Path(spec["log"])
    output = log.read_text(errors="replace") if log.exists() else ""
    output = _without_tf_noise(output.split(_YOUR_OUTPUT + "\n", 1)[-1])[-2000:]
    entry: dict[str, Any] = {"seconds": outcome["seconds"] if outcome else None,
                             "startup_seconds": outcome.get("startup_seconds") if outcome else None}
    if output.strip():
        entry["output"] = output
    result_path = Path(spec["result"])
    if outcome and outcome["timed_out"]:
        where = "" if outcome["ready"] else " (while starting: TensorFlow did not load in time)"
        entry.update(status="timeout", message=(
            f"{ex.function} did not finish within {timeout:g} s{where}: is there an endless loop?"))
    elif result_path.exists():
        result = json.loads(result_path.read_text())
        entry.update(status=result["status"], message=result.get("message", ""))
        if result.get("warnings"):
            entry["warnings"] = result["warnings"]
        if "cases" in result:
            entry["hidden_tests"] = f"{result.get('cases_passed', 0)}/{result['cases']}"
    elif outcome is None:
        entry.update(status="error", message="grader error: the exercise's process gave no outcome")
    else:
        code = outcome["exit_code"]
        if code is not None and code < 0:
            why = f"was killed by {_signal_name(code)} (a crash, e.g. inside a native library)"
        else:
            why = f"exited with code {code} (does your code call os._exit or exit?)"
        entry.update(status="crashed", message=(
            f"The process running {ex.function} {why} before the tests finished."))
    return entry


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def report_markdown(report: dict) -> str:
    name = Path(report["notebook"]).name
    lines = [f"# Grading report: {name}", "",
             f"**{report['points']} / {report['max_points']} points** · assignment `{report['assignment']}` · "
             f"graded {report['graded_at']}" + (f" in {report['seconds']} s" if report.get("batch_files", 1) == 1
                                                else f" with {report['batch_files'] - 1} other file(s), "
                                                     f"{report['seconds']} s in all"), "",
             f"File sha256 `{report['sha256'][:16]}…` · time limit {report['timeout_s']:g} s per exercise · "
             f"hidden tests seed {report['seed']}", "",
             "| Exercise | Points | Result | Hidden tests |", "|---|---:|---|---:|"]
    for e in report["exercises"]:
        lines.append(f"| `{e['function']}` | {e['points']} / {e['max_points']} | "
                     f"{_STATUS_TEXT.get(e['status'], e['status'])} | {e.get('hidden_tests', '-')} |")
    problems = [e for e in report["exercises"] if e["status"] != "passed" or e.get("warnings") or e.get("flag")]
    if problems:
        lines += ["", "## Details", ""]
        for e in problems:
            lines += [f"### `{e['function']}` ({e['points']} / {e['max_points']})", ""]
            if e.get("message"):
                lines += ["```text", e["message"], "```", ""]
            if e.get("flag"):
                lines += [f"**Check by hand:** {e['flag']}.", ""]
            for w in e.get("warnings", []):
                lines += [f"Note: {w}", ""]
            if e["status"] in ("error", "crashed", "timeout") and e.get("output", "").strip():
                lines += ["Output of the cell (last lines):", "", "```text",
                          "\n".join(e["output"].strip().splitlines()[-15:]), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: dict, out: str | Path, name: str | None = None) -> tuple[Path, Path]:
    """Write ``<out>/<name>.json`` and ``<out>/<name>.md`` (name: the notebook's file stem)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = name or Path(report["notebook"]).stem
    js = out / f"{name}.json"
    md = out / f"{name}.md"
    js.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md.write_text(report_markdown(report), encoding="utf-8")
    return js, md


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _root() -> Path:
    from nst_utils.outputs import project_root

    return project_root() or Path.cwd()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_child"]:
        _child_main(argv[1])
        return 0
    if argv[:1] == ["_zygote"]:
        _zygote_main(argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="python -m nst_utils.grading",
                                     description="Student versions and grading of the lesson notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("student", help="write the student version of every notebook with exercises")
    p.add_argument("--notebooks", type=Path, help="source notebooks (default: <repo>/notebooks)")
    p.add_argument("--out", type=Path, help="where to write them (default: <repo>/student)")
    p = sub.add_parser("grade", help="grade submitted notebooks with the hidden tests")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--out", type=Path, help="report folder (default: <repo>/grading-reports)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per exercise (default 30)")
    p.add_argument("--jobs", type=int, help="exercises graded at the same time (default: cores, at most 4)")
    p.add_argument("--isolation", choices=["fork", "spawn"], help="default: fork on Linux, else spawn")
    p.add_argument("--seed", type=int, default=2024, help="seed of the hidden tests' inputs")
    p.add_argument("--only", help="comma-separated grade_ids to grade (default: all)")
    sub.add_parser("exercises", help="list the graded exercises and their points")
    args = parser.parse_args(argv)

    if args.command == "exercises":
        for assignment, ids in ASSIGNMENTS.items():
            print(f"{assignment}: {sum(EXERCISES[g].points for g in ids)} points")
            for g in ids:
                print(f"  {g:<26} {EXERCISES[g].points} point(s)")
        return 0
    if args.command == "student":
        notebooks = args.notebooks or _root() / "notebooks"
        out = args.out or _root() / "student"
        try:
            written = build_student_versions(notebooks, out)
        except GradingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for p in written:
            print(f"wrote {p}")
        if not written:
            print(f"no notebook in {notebooks} has exercises (nbgrader solution cells)")
        return 0
    out = args.out or _root() / "grading-reports"
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    stems = [f.stem for f in args.files]
    status = 0
    good = []
    for f in args.files:  # unreadable files and other notebooks are reported, the rest graded
        try:
            if not f.is_file():
                raise GradingError(f"{f}: no such file")
            detect_assignment(read_notebook(f), f)
            good.append(f)
        except GradingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    if not good:
        return status
    reports = grade_notebooks(good, timeout=args.timeout, jobs=args.jobs, isolation=args.isolation,
                              seed=args.seed, only=only)
    for f, report in zip(good, reports):
        name = f.stem if stems.count(f.stem) == 1 else f"{f.parent.name}_{f.stem}"
        js, md = write_report(report, out, name)
        print(f"{f}: {report['points']} / {report['max_points']} points; report {md} and {js.name}")
        for e in report["exercises"]:
            if e["status"] != "passed":
                print(f"  {e['function']}: {_STATUS_TEXT.get(e['status'], e['status'])}")
    print(f"graded {len(good)} file(s) in {reports[0]['seconds']} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
