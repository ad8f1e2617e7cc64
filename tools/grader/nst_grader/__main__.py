"""``python -m nst_grader``: see :mod:`nst_grader.cli`."""

import sys

from nst_grader.cli import main

sys.exit(main())
