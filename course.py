#!/usr/bin/env python3
"""One entry point for the course: set-up, JupyterLab, tests, notebook execution.

    python3 course.py lab        # create .venv on first use, then start JupyterLab on the series
    python3 course.py test       # create .venv on first use, then pytest + nbval (quick mode)
    python3 course.py execute notebooks/02_*.ipynb [--quick]   # re-run notebooks in place (nbclient)
    python3 course.py student    # instructors: build the student version into student/
    python3 course.py grade FILE # instructors: grade a submission, reports into grading-reports/
    python3 course.py studio     # the style-transfer studio (lesson 07) as a web page, with voila
    python3 course.py bench      # performance benchmark, JSON into benchmarks/results/
    python3 course.py setup      # only create/update .venv

On Windows use ``py course.py ...``. Only the standard library is used here: the command works on a
fresh machine with Python 3.11+ and nothing else, and installs everything from ``pyproject.toml``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("NST_VENV", ROOT / ".venv"))
STAMP = VENV / "nst-installed.txt"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def setup() -> None:
    """Create ``.venv`` and install the project with its test extra, unless already up to date."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == _wanted_stamp():
        return
    if not PY.exists():
        _say(f"creating the environment in {VENV} (first run: a few minutes, ~1.5 GB download)")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    _say("installing nst_utils and its dependencies (tensorflow, jupyterlab, nbval, ...)")
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_wanted_stamp())
    _say("environment ready")


def _run(args: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.call(args, cwd=ROOT, env={**os.environ, **(env or {})})


def lab(extra: list[str]) -> int:
    setup()
    _say("starting JupyterLab; open notebooks/00_images_and_vgg_input.ipynb first (Ctrl-C stops)")
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers
    return _run([str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", *as_root,
                 "notebooks/00_images_and_vgg_input.ipynb", *extra])


def test(extra: list[str]) -> int:
    """pytest for nst_utils and the tools, nbval for every notebook, notebooks in quick mode."""
    setup()
    _say("running pytest (tests/) and nbval (notebooks/, NST_QUICK=1)")
    return _run([str(PY), "-m", "pytest", "--nbval-lax", "tests", "notebooks", *extra],
                env={"NST_QUICK": "1", "MPLBACKEND": "Agg"})


def execute(extra: list[str]) -> int:
    """Run notebooks top to bottom and save them with their outputs (full mode unless --quick)."""
    setup()
    quick = "--quick" in extra
    paths = [p for p in extra if p != "--quick"]
    if not paths:
        sys.exit("name the notebooks to execute, e.g. python3 course.py execute notebooks/02_*.ipynb")
    code = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "for p in sys.argv[1:]:\n"
        "    nb = nbformat.read(p, as_version=4)\n"
        "    NotebookClient(nb, timeout=3600, kernel_name='python3',\n"
        "                   resources={'metadata': {'path': str(__import__('pathlib').Path(p).parent)}}).execute()\n"
        "    nbformat.write(nb, p)\n"
        "    print('executed', p, flush=True)\n"
    )
    env = {"NST_QUICK": "1" if quick else "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    return _run([str(PY), "-c", code, *paths], env=env)


def bench(extra: list[str]) -> int:
    """The performance benchmark (benchmarks/bench.py): JSON into benchmarks/results/."""
    setup()
    return _run([str(PY), "benchmarks/bench.py", *extra])


def studio(extra: list[str]) -> int:
    """Serve lesson 07's studio on its own as a web page (voila), like seed 001's Streamlit app."""
    setup()
    _say("serving the studio with voila at http://localhost:8866 (Ctrl-C stops)")
    return _run([str(BIN / "voila"), "notebooks/07_studio.ipynb", *extra])


def student(extra: list[str]) -> int:
    """Build the student version of the graded notebooks into student/ (see docs/instructors.md)."""
    setup()
    return _run([str(PY), "-m", "nst_utils.grading", "student", *extra])


def grade(extra: list[str]) -> int:
    """Grade student notebooks: JSON and Markdown reports into grading-reports/."""
    setup()
    return _run([str(PY), "-m", "nst_utils.grading", "grade", *extra])


COMMANDS = {"lab": lab, "test": test, "execute": execute, "bench": bench, "studio": studio,
            "student": student, "grade": grade}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, extra = argv[0], argv[1:]
    if cmd == "setup":
        setup()
        return 0
    if cmd not in COMMANDS:
        print(f"unknown command {cmd!r}; use one of: setup, {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[cmd](extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
