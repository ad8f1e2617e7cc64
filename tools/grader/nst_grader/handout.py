"""Student versions ("hand-outs") of the lesson notebooks, as ``nbgrader generate_assignment`` makes them,
in nbgrader's ``source/<assignment>/`` -> ``release/<assignment>/`` layout.

Solution regions (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) become ``# YOUR CODE HERE`` and
``raise NotImplementedError(...)`` in code cells (``YOUR ANSWER HERE`` in Markdown cells), hidden-test
regions are removed, outputs are cleared and locked cells (the tests) are marked read-only. The
source notebooks are the instructor's (trusted); they are read and written with nbformat, and the
result is validated against the notebook schema.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Callable

from nst_grader.notebook import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, cell_source, has_marker,
                                 is_solution_cell, nbgrader_meta)

_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


class HandoutError(ValueError):
    """A source notebook that cannot be turned into a hand-out (unbalanced markers, ...)."""


def _replace_regions(text: str, begin: str, end: str, replacement: Callable[[str, str], list[str]],
                     where: str) -> str:
    """Replace every ``begin``...``end`` block (marker lines included) by ``replacement(indent, before)``."""
    out: list[str] = []
    inside = False
    indent = ""
    for line in text.splitlines(keepends=True):
        if begin in line:
            if inside:
                raise HandoutError(f"{where}: '{begin}' twice without '{end}' in between")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(replacement(indent, "".join(out)))
        elif end in line:
            if not inside:
                raise HandoutError(f"{where}: '{end}' without '{begin}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise HandoutError(f"{where}: '{begin}' without '{end}'")
    return "".join(out)


def _placeholder(indent: str, before: str) -> list[str]:
    names = _DEF.findall(before)
    what = names[-1] if names else "this exercise"
    return [f"{indent}# YOUR CODE HERE\n",
            f'{indent}raise NotImplementedError("Write {what}: replace these two lines with your code")\n']


def student_version(nb: dict, where: str = "notebook") -> dict:
    """The hand-out version of a source notebook (a new dict; ``nb`` is not changed)."""
    out = copy.deepcopy(nb)
    for k, cell in enumerate(out["cells"]):
        here = f"{where}, cell {k + 1}"
        src = cell_source(cell)
        if has_marker(src, BEGIN_SOLUTION) or has_marker(src, END_SOLUTION):
            if cell.get("cell_type") == "code":
                src = _replace_regions(src, BEGIN_SOLUTION, END_SOLUTION, _placeholder, here)
            else:
                src = _replace_regions(src, BEGIN_SOLUTION, END_SOLUTION,
                                       lambda indent, before: [f"{indent}YOUR ANSWER HERE\n"], here)
        if has_marker(src, BEGIN_HIDDEN) or has_marker(src, END_HIDDEN):
            src = _replace_regions(src, BEGIN_HIDDEN, END_HIDDEN, lambda indent, before: [], here)
        cell["source"] = src
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


def assignment_id(path: Path) -> str:
    """The assignment a source notebook is: the registered one whose notebook it is, else its stem."""
    from nst_grader.assignments import ASSIGNMENTS

    return next((a.id for a in ASSIGNMENTS.values() if a.notebook == path.name), path.stem)


def build_student_versions(notebooks: str | Path, out: str | Path) -> list[Path]:
    """Every graded lesson in nbgrader's layout: ``out/source/<assignment>/<notebook>`` (the instructor's
    version, with the solutions) and ``out/release/<assignment>/<notebook>`` (the student version).

    Both carry the notebook-level metadata ``{"nst_grader": {"assignment": <id>}}`` by which ``grade``
    recognises a submission's assignment. Returns the written paths (release ones first). Refuses to
    write into ``notebooks`` itself (or below it); never changes the source notebooks.
    """
    import nbformat

    from nst_grader.assignments import METADATA_KEY

    notebooks, out = Path(notebooks).resolve(), Path(out).resolve()
    if not notebooks.is_dir():
        raise HandoutError(f"{notebooks}: no such folder")
    if out == notebooks or notebooks in out.parents:
        raise HandoutError(f"refusing to write student versions into {out}: it is inside the source "
                           f"folder {notebooks}; use e.g. --out student")
    released, sources = [], []
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if not has_solutions(nb):
            continue
        aid = assignment_id(path)
        nb.metadata[METADATA_KEY] = {"assignment": aid}
        handout = nbformat.from_dict(student_version(nb, str(path)))
        nbformat.validate(handout)
        nbformat.validate(nb)
        for layout, version, written in (("release", handout, released), ("source", nb, sources)):
            folder = out / layout / aid
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(version, folder / path.name)
            written.append(folder / path.name)
    return released + sources
