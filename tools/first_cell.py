#!/usr/bin/env python3
"""Every lesson's first code cell: in a kernel without the course's library (Colab, a bare Binder or
JupyterHub image) it installs ``nst_utils`` and says so; in the course's own environment it does nothing
and prints nothing (so the committed notebooks stay without an output there).

    .venv/bin/python tools/first_cell.py            # write the cell into every lesson (notebooks/NN_*.ipynb)
    .venv/bin/python tools/first_cell.py --check    # report lessons whose cell differs (exit code 1)

Where the cell installs from, in this order:

1. a checkout of the course that the notebook was opened from (the working directory or its parent holds
   ``pyproject.toml`` and ``nst_utils/``): ``pip install -e <checkout>``, the library of the same version
   as the lesson;
2. :data:`SOURCE`, a pip requirement naming where the course is published. It is *one* place: the
   ``Repository`` entry of ``[project.urls]`` in ``pyproject.toml``, stamped into every lesson by this
   tool as ``nst_utils @ git+<Repository>``. Whoever publishes the course sets that URL and runs this
   tool; ``tests/test_first_cell.py`` fails while a lesson's cell differs from what the tool writes.
   Without a ``Repository`` URL the cell stops with an error that says how to install the library by
   hand (the library is not on the package index, and a package of that name there would not be ours).

The cell is marked by its first line (:data:`MARK`); the tool replaces that cell, or inserts it before
the first code cell of a lesson that has none. No other cell and no output is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = "notebooks/[0-9][0-9]_*.ipynb"
#: The first line of the cell: how the tool (and the test) recognise it.
MARK = "# Colab, Binder, a fresh kernel: install the course's library if it is missing (README: Launch)."


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The ``Repository`` URL of ``[project.urls]`` in ``pyproject.toml``, or ``""`` when none is set."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    return str(project.get("urls", {}).get("Repository", "")).strip()


def source(url: str | None = None) -> str:
    """The pip requirement the cell installs when no checkout is at hand: ``nst_utils @ git+<url>``."""
    url = repository_url() if url is None else url
    if not url:
        return ""
    return url if url.startswith("git+") else f"nst_utils @ git+{url}"


#: What lessons install from outside a checkout (see the module's docstring).
SOURCE = source()

TEMPLATE = '''\
{mark}
# In the course's own environment it does nothing. Written by tools/first_cell.py: change it there.
import importlib.util
if importlib.util.find_spec("nst_utils") is None:
    import subprocess, sys, time
    from pathlib import Path
    NST_SOURCE = {source}   # pyproject.toml [project.urls] Repository
    _checkout = next((p for p in (Path.cwd(), Path.cwd().parent)
                      if (p / "pyproject.toml").is_file() and (p / "nst_utils" / "__init__.py").is_file()), None)
    _args = ["-e", str(_checkout)] if _checkout else [NST_SOURCE] if NST_SOURCE else None
    if _args is None:
        raise RuntimeError("nst_utils is not installed, and this copy of the course names no place to install "
                           "it from (pyproject.toml has no [project.urls] Repository). Run `%pip install "
                           "<the course's repository or wheel>`, or open the lesson from a checkout of the course.")
    _start = time.perf_counter()
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *_args])
    if _checkout:
        sys.path.insert(0, str(_checkout))   # an editable install is seen by new kernels only
    importlib.invalidate_caches()
    print(f"nst_utils was missing: installed it from {{_args[-1]}} in {{time.perf_counter() - _start:.0f}} s. "
          "On a GPU (Colab: Runtime > Change runtime type) it computes in mixed float16 by itself.")
'''


def cell_source(src: str | None = None) -> str:
    """The first code cell of every lesson, with ``src`` (default :data:`SOURCE`) as its ``NST_SOURCE``."""
    return TEMPLATE.format(mark=MARK, source=json.dumps(SOURCE if src is None else src)).rstrip("\n")


def lessons() -> list[Path]:
    return sorted(ROOT.glob(LESSONS))


def first_code_cell(nb) -> int:
    """Index of the first code cell of a notebook (``nbformat`` node)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            return i
    raise ValueError("the notebook has no code cell")


def stamp(path: Path, *, check: bool = False) -> str | None:
    """Write the cell into ``path`` (or only compare with ``check``); returns what differed, or ``None``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    i = first_code_cell(nb)
    cell = nb.cells[i]
    want = cell_source()
    if cell.source.startswith(MARK):
        if cell.source == want:
            return None
        change = "its first code cell differs from tools/first_cell.py"
        if not check:
            cell.source = want
    else:
        change = "it has no install cell before its set-up cell"
        if not check:
            nb.cells.insert(i, nbformat.v4.new_code_cell(want))
    if not check:
        nbformat.write(nb, path)
    return change


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson, notebooks/NN_*.ipynb")
    parser.add_argument("--check", action="store_true", help="report only; exit code 1 if a lesson differs")
    args = parser.parse_args(argv)
    wrong = 0
    for path in args.notebooks or lessons():
        change = stamp(path, check=args.check)
        if change:
            wrong += 1
            print(f"{path}: {change}" + ("" if args.check else " (fixed)"))
    if args.check and wrong:
        print("run `.venv/bin/python tools/first_cell.py` to write the cell into every lesson")
    return 1 if args.check and wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
