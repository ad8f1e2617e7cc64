"""Quick mode: ``NST_QUICK=1`` shrinks image sizes and step counts so the series runs fast in tests.

Notebooks write ``SIZE = nu.pick(full=256, quick=64)``: the same code runs in both modes, only the
numbers change.
"""

from __future__ import annotations

from typing import TypeVar

from nst_utils.config import environment

T = TypeVar("T")


def is_quick() -> bool:
    """True when the environment variable ``NST_QUICK`` is ``1`` (or ``true``/``yes``/``on``)."""
    return environment().quick


def pick(full: T, quick: T) -> T:
    """``quick`` in quick mode, else ``full``."""
    return quick if is_quick() else full
