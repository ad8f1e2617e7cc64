"""Where nst_utils keeps what it downloads or converts: one user cache folder.

The folder is, in order of preference:

1. ``$NST_CACHE_DIR`` if set;
2. ``%LOCALAPPDATA%\\nst_utils`` on Windows;
3. ``$XDG_CACHE_HOME/nst_utils``, else ``~/.cache/nst_utils``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from nst_utils.config import environment


def cache_dir(*parts: str) -> Path:
    """Return (and create) ``<cache>/<parts...>``."""
    root = environment().cache_dir
    if root is None:
        if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
            root = Path(os.environ["LOCALAPPDATA"]) / "nst_utils"
        else:
            root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nst_utils"
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (no whole-file copy in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
