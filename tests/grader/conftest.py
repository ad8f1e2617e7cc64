"""The grader's tests import its package from tools/grader (it is not installed with nst_utils) and their
helpers from this folder (:mod:`grader_helpers`)."""

from __future__ import annotations

import sys
from pathlib import Path

for folder in (Path(__file__).resolve().parents[2] / "tools" / "grader", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
