"""From command-line paths to submissions, each with a unique student id safe as a file name.

* A file is one submission; a folder is searched for ``*.ipynb`` files (hidden files and folders such
  as ``.ipynb_checkpoints`` are skipped, symbolic links are never followed).
* nbgrader's layout ``.../submitted/<student>/<assignment>/<notebook>.ipynb`` gives the student id;
  otherwise it is the file name without ``.ipynb``.
* Ids keep letters and digits of any script (``Zoë``, ``Zoé``, ``张伟`` stay distinct), ``.``, ``_`` and
  ``-`` (Unicode NFC; no path, no ``..``, no leading dot or dash, at most 80 characters); bytes of a
  file name that are not UTF-8 become ``_``. The student's name in the gradebook is the folder or file
  name as found (NFC, with undecodable bytes shown as ``\\xNN``).
  When two files would get the same id, the folders above them are added (``alice_sub_x``) until
  the ids differ; the same file named twice is graded once.
* Every file of one nbgrader student (``submitted/<student>/...``) has the same ``group`` (the student's
  key: one gradebook row, one sandbox); a file found by its name is a student of its own.
* Paths that cannot be graded (missing, a symbolic link, not a notebook name) are returned as problems.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from nst_grader.runner import Submission

_UNSAFE = re.compile(r"(?:[^\w.-]|\.{2,})+")


def display_name(text: str) -> str:
    """A name as found, readable and encodable: NFC, bytes that were not UTF-8 as ``\\xNN``, no control
    characters."""
    text = os.fsencode(text).decode("utf-8", "backslashreplace")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def safe_id(text: str) -> str:
    """``text`` as a file-name-safe id (never empty, never ``.``/``..``, no leading dash)."""
    text = unicodedata.normalize("NFC", os.fsencode(text).decode("utf-8", "replace").replace("\ufffd", "_"))
    out = _UNSAFE.sub("_", text).strip("._-")[:80].strip("._-")
    return out or "student"


def _candidates(path: Path, problems: list[tuple[Path, str]]) -> list[Path]:
    try:
        st = os.lstat(path)
    except OSError as exc:
        problems.append((path, f"{path}: {exc.strerror or 'cannot be read'}"))
        return []
    if stat.S_ISLNK(st.st_mode):
        problems.append((path, f"{path}: a symbolic link; not followed"))
        return []
    if stat.S_ISREG(st.st_mode):
        return [path]
    if not stat.S_ISDIR(st.st_mode):
        problems.append((path, f"{path}: not a file or a folder"))
        return []
    found = []
    for folder, dirs, files in os.walk(path, followlinks=False, onerror=lambda e: problems.append(
            (Path(e.filename or path), f"{e.filename}: {e.strerror}"))):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(".ipynb"):
                continue
            p = Path(folder) / name
            if os.path.islink(p):
                problems.append((p, f"{p}: a symbolic link; not followed"))
            else:
                found.append(p)
        for d in dirs:
            if os.path.islink(Path(folder) / d) and d.endswith(".ipynb"):
                problems.append((Path(folder) / d, f"{Path(folder) / d}: a symbolic link; not followed"))
    if not found:
        problems.append((path, f"{path}: no .ipynb file in this folder"))
    return found


def _id_candidates(path: Path) -> tuple[list[str], str]:
    """Ids for ``path`` from the shortest to the most specific, and where the first one comes from."""
    parts = path.absolute().parts
    stem = path.name[: -len(".ipynb")] if path.name.endswith(".ipynb") else path.name
    for i in range(len(parts) - 4, -1, -1):
        if parts[i] == "submitted":
            student, rest = parts[i + 1], (*parts[i + 2:-1], stem)
            return [student] + [f"{student}__" + "_".join(rest[-j:]) for j in range(1, len(rest) + 1)], "nbgrader"
    folders = parts[1:-1]
    return [stem] + ["_".join((*folders[-j:], stem)) for j in range(1, len(folders) + 1)], "file name"


def discover(args: list[str | Path]) -> tuple[list[Submission], list[tuple[str, str]]]:
    """Submissions (unique ids) and problems ``(id, message)`` for the paths that cannot be graded."""
    problems: list[tuple[Path, str]] = []
    files: list[Path] = []
    seen: set[str] = set()
    for arg in args:
        for p in _candidates(Path(arg), problems):
            key = os.path.realpath(p)
            if key not in seen:
                seen.add(key)
                files.append(p)
    cands = [_id_candidates(p) for p in files]
    level = [0] * len(files)
    for _ in range(256):  # add folders to the ids that clash until they differ (or run out of folders)
        ids = [safe_id(c[0][min(lv, len(c[0]) - 1)]) for c, lv in zip(cands, level)]
        clashing = [k for k, i in enumerate(ids) if ids.count(i) > 1 and level[k] < len(cands[k][0]) - 1]
        if not clashing:
            break
        for k in clashing:
            level[k] += 1
    taken: set[str] = set()
    subs = []
    groups: dict[str, str] = {}  # nbgrader student folder (as found) -> its unique group id
    for k, p in enumerate(files):
        base = sid = ids[k]
        n = 2
        while sid in taken:
            sid, n = f"{base}-{n}", n + 1
        taken.add(sid)
        note = f"id from the {cands[k][1]}" + (" and the folders above it" if level[k] else "")
        subs.append(Submission(p, sid, cands[k][1], note, name=display_name(cands[k][0][0])))
    loose = {s.student for s in subs if s.origin != "nbgrader"}
    for s, c in zip(subs, cands):  # the students' keys: nbgrader's folder, or the file's own id
        if s.origin != "nbgrader":
            s.group = s.student
            continue
        raw = c[0][0]
        if raw not in groups:
            base = gid = safe_id(raw)
            n = 2
            while gid in groups.values() or gid in loose:
                gid, n = f"{base}-{n}", n + 1
            groups[raw] = gid
        s.group = groups[raw]
    bad = []
    for p, message in dict((str(p), (p, m)) for p, m in problems).values():
        base = sid = safe_id(p.name[:-6] if p.name.endswith(".ipynb") else p.name)
        n = 2
        while sid in taken:
            sid, n = f"{base}-{n}", n + 1
        taken.add(sid)
        bad.append((sid, message))
    return subs, bad
