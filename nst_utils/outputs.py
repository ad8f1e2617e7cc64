"""Where lessons write their results: ``<project>/outputs/<lesson>/`` (git-ignored).

The project folder is found by walking up from the working directory to ``pyproject.toml``; set
``NST_OUTPUT_DIR`` to write elsewhere. Inputs are never written to, and nothing is overwritten
unless asked (see :func:`nst_utils.images.save_image`).
"""

from __future__ import annotations

from pathlib import Path

from nst_utils.config import environment


def project_root(start: Path | None = None) -> Path | None:
    """The folder holding this project's ``pyproject.toml`` above ``start`` (default: cwd), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "nst_utils").is_dir():
            return folder
    return None


def output_dir(lesson: str = "") -> Path:
    """Return (and create) the folder for a lesson's results, e.g. ``output_dir("06_style_transfer")``."""
    base = environment().output_dir
    if base is None:
        root = project_root()
        base = (root if root is not None else Path.cwd()) / "outputs"
    path = base / lesson if lesson else base
    path.mkdir(parents=True, exist_ok=True)
    return path
