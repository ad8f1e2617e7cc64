"""Quick mode: ``NST_QUICK=1`` shrinks image sizes and step counts so the series runs fast in CI.

Notebooks write ``SIZE = pick(full=384, quick=64)``: the same code runs in both modes, only the
numbers change.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")


def is_quick() -> bool:
    """True when the environment variable ``NST_QUICK`` is ``1`` (or ``true``/``yes``)."""
    return os.environ.get("NST_QUICK", "").strip().lower() in ("1", "true", "yes")


def pick(full: T, quick: T) -> T:
    """``quick`` in quick mode, else ``full``."""
    return quick if is_quick() else full
