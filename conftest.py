"""pytest's settings for the whole project (unit tests and notebooks), so that a plain ``pytest`` is the
same run as ``python3 course.py test``.

Notebooks run in quick mode (``NST_QUICK=1``: small images, few steps) and draw figures without a
screen (``MPLBACKEND=Agg``), unless the caller set these variables (``NST_QUICK=0 pytest notebooks``
runs them in full mode). The kernels nbval starts inherit this environment.
"""

from __future__ import annotations

import os

os.environ.setdefault("NST_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
