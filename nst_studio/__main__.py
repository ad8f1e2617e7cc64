"""``python -m nst_studio``: serve the studio on its own web page (see :mod:`nst_studio.serve`)."""

import sys

from nst_studio.serve import main

sys.exit(main(sys.argv[1:]))
