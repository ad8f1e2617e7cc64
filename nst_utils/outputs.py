"""Where lessons write their results: ``<repo>/outputs/<lesson>/`` (git-ignored).

The repository root is found by walking up from the working directory to ``pyproject.toml``; set
``NST_OUTPUT_DIR`` to write elsewhere. Inputs are never written to: see
:func:`nst_utils.images.save_image`.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: Path | None = None) -> Path | None:
    """The folder holding this project's ``pyproject.toml`` above ``start`` (default: cwd), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "nst_utils").is_dir():
            return folder
    return None


def output_dir(lesson: str = "") -> Path:
    """Return (and create) the folder for a lesson's results, e.g. ``output_dir("05_style_transfer")``."""
    env = os.environ.get("NST_OUTPUT_DIR")
    if env:
        base = Path(env).expanduser()
    else:
        root = project_root()
        base = (root if root is not None else Path.cwd()) / "outputs"
    path = base / lesson if lesson else base
    path.mkdir(parents=True, exist_ok=True)
    return path
