"""Import TensorFlow once, without its start-up chatter on stderr.

TensorFlow's C++ core prints several lines while it loads (oneDNN notice, "could not find cuda
drivers", "failed call to cuInit" on machines without a GPU) before its logging is configured, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. In a notebook they show up as red stderr output under
the first cell that touches the network. We point file descriptor 2 at the null device for the
import and the first device query only; Python exceptions still propagate normally.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _quiet_import():
    if "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        tensorflow.config.list_physical_devices()  # triggers the CUDA probe while muted
        return tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


tf = _quiet_import()
