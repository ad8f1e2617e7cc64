"""Reading submitted notebooks without trusting them, and nbgrader's conventions.

A submission may be anything: not JSON, JSON nested 100,000 deep, ``"metadata": null`` in a cell, a
cell that is the number 42, 2 GB, a symbolic link to ``/etc/passwd``, a FIFO. :func:`read_submission`
either returns the cells it could read (with a warning for each one it skipped) or raises
:class:`NotebookError` with a message naming the file; it never raises anything else for a bad file
and never reads more than ``max_bytes``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

#: nbgrader's delimiters: a line that contains one of them is a marker
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"

#: the most a submitted file may weigh: notebooks with a few plots are well under 5 MB; larger ones are
#: read all the same (only their code is graded: outputs are never sent to a sandbox), and above
#: ``BIG_NOTEBOOK_BYTES`` the report says that their outputs were ignored
MAX_NOTEBOOK_BYTES = 200_000_000
BIG_NOTEBOOK_BYTES = 20_000_000
MAX_CELL_SOURCE = 1 << 20
MAX_CODE_TOTAL = 4 << 20
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


class NotebookError(ValueError):
    """A file that cannot be graded at all; the message names the file and says why."""


@dataclass(frozen=True)
class Cell:
    """One cell as the grader sees it: ``number`` counts every cell from 1, as a reader would."""

    number: int
    cell_type: str
    source: str
    nbgrader: dict = field(default_factory=dict)

    @property
    def grade_id(self) -> str | None:
        gid = self.nbgrader.get("grade_id")
        return gid if isinstance(gid, str) else None

    @property
    def is_code(self) -> bool:
        return self.cell_type == "code"

    @property
    def is_test(self) -> bool:
        """A locked test cell (nbgrader ``grade: true`` without ``solution``): never run by the grader."""
        return self.is_code and self.nbgrader.get("grade") is True and not self.nbgrader.get("solution")

    def defines(self) -> list[str]:
        """Names after ``def`` in this cell (a regular expression: the supervisor never parses student code)."""
        return _DEF.findall(self.source)


@dataclass
class Notebook:
    path: Path
    cells: list[Cell]
    warnings: list[str]
    size: int
    sha256: str = ""
    metadata: dict = field(default_factory=dict)  # the notebook's own metadata (untrusted)


def _source(value, where: str, warnings: list[str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    warnings.append(f"{where}: its source is not text; read as empty")
    return ""


def parse_notebook(data: bytes, path: Path) -> Notebook:
    """Cells of a notebook given as bytes; see :func:`read_submission`."""
    name = str(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        nb = json.loads(text)
    except RecursionError:
        raise NotebookError(f"{name}: JSON nested too deeply to be a notebook") from None
    except (ValueError, MemoryError) as exc:
        raise NotebookError(f"{name}: not a readable notebook (invalid JSON: {str(exc)[:200]})") from None
    if not isinstance(nb, dict):
        raise NotebookError(f"{name}: not a Jupyter notebook (the JSON is a {type(nb).__name__}, not an object)")
    major = nb.get("nbformat")
    if major is not None and major != 4:
        raise NotebookError(f"{name}: nbformat {major!r}; save it with Jupyter 4+ (nbformat 4)")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{name}: not a Jupyter notebook (no 'cells' list)")
    warnings: list[str] = []
    out: list[Cell] = []
    total = 0
    for k, cell in enumerate(cells, start=1):
        where = f"cell {k}"
        if not isinstance(cell, dict):
            warnings.append(f"{where} is not a notebook cell (it is a JSON {type(cell).__name__}); skipped")
            continue
        cell_type = cell.get("cell_type")
        if cell_type not in ("code", "markdown", "raw"):
            warnings.append(f"{where} has no valid cell_type; skipped")
            continue
        src = _source(cell.get("source", ""), where, warnings)
        if len(src) > MAX_CELL_SOURCE:
            warnings.append(f"{where} has {len(src)} characters of source, more than {MAX_CELL_SOURCE}; read as empty")
            src = ""
        if cell_type == "code":
            total += len(src)
            if total > MAX_CODE_TOTAL:
                raise NotebookError(f"{name}: more than {MAX_CODE_TOTAL} characters of code")
        meta = cell.get("metadata")
        if meta is None or not isinstance(meta, dict):
            if "metadata" in cell:
                warnings.append(f"{where}: its metadata is not an object; ignored")
            meta = {}
        nbg = meta.get("nbgrader")
        out.append(Cell(k, cell_type, src, dict(nbg) if isinstance(nbg, dict) else {}))
    if len(data) > BIG_NOTEBOOK_BYTES:
        warnings.append(f"the file weighs {len(data) / 1e6:.0f} MB, mostly outputs: its outputs were ignored and its "
                        f"code ({total} characters) graded; clear the outputs before saving next time")
    meta = nb.get("metadata")
    return Notebook(path, out, warnings, len(data), hashlib.sha256(data).hexdigest(),
                    meta if isinstance(meta, dict) else {})


def read_submission(path: str | Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> Notebook:
    """Read a submitted notebook: a regular file (symbolic links are refused), at most ``max_bytes``."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise NotebookError(f"{path}: a symbolic link, not a notebook file; not followed") from None
        raise NotebookError(f"{path}: cannot be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotebookError(f"{path}: a folder, not a notebook file")
        if not stat.S_ISREG(st.st_mode):
            raise NotebookError(f"{path}: not a regular file")
        if st.st_size > max_bytes:
            raise NotebookError(f"{path}: {st.st_size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB "
                                "the grader reads (clear the outputs and save it again)")
        chunks, got = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            got += len(chunk)
            if got > max_bytes:
                raise NotebookError(f"{path}: more than {max_bytes / 1e6:.0f} MB")
            chunks.append(chunk)
    finally:
        os.close(fd)
    return parse_notebook(b"".join(chunks), path)


# ------------------------------------------------------------------ nbgrader conventions (trusted notebooks)


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def nbgrader_meta(cell: dict) -> dict:
    meta = (cell.get("metadata") or {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def has_marker(text: str, marker: str) -> bool:
    """True if a line of ``text`` contains ``marker``, as nbgrader decides it."""
    return any(marker in line for line in text.splitlines())


def is_solution_cell(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("solution")) or has_marker(cell_source(cell), BEGIN_SOLUTION)


def is_test_cell(cell: dict) -> bool:
    return bool(nbgrader_meta(cell).get("grade")) and not nbgrader_meta(cell).get("solution")
