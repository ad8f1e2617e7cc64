"""Import TensorFlow once, without its start-up chatter, and without hiding real errors.

While it loads, TensorFlow's C++ core writes lines to the process's standard error before its
logging is configured ("oneDNN custom operations are on", "Could not find cuda drivers",
"failed call to cuInit" on machines without a GPU), so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. In a
notebook they appear in red under the first cell that uses the network, and students read them
as errors.

During the import, file descriptor 2 is connected to a small filter process that drops those known
lines and passes every other line through to the real standard error at once. A fatal error, a crash
or anything unexpected during the import is therefore still shown, even if this process dies.
This is the only place that sets ``TF_CPP_MIN_LOG_LEVEL`` (to 2: errors only, unless already set).
"""

from __future__ import annotations

import os
import subprocess
import sys

#: Start-up lines that are not errors: the pre-logging notice, oneDNN, CUDA probes on CPU machines.
CHATTER = (
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|^[IWE]\d{4} .*\] (oneDNN custom operations are on|Could not find cuda drivers"
    r"|failed call to cuInit|Unable to register cu(FFT|DNN|BLAS) factory"
    r"|This TensorFlow binary is optimized|TF-TRT Warning|computation placer already registered)"
    r"|^To enable the following instructions|^WARNING: Logging before InitGoogleLogging"
)

_FILTER = (
    "import re, sys\n"
    f"chatter = re.compile({CHATTER!r})\n"
    "for line in sys.stdin.buffer:\n"
    "    if not chatter.search(line.decode('utf-8', 'replace')):\n"
    "        sys.stderr.buffer.write(line); sys.stderr.buffer.flush()\n"
)


def _import_filtered():
    import tensorflow

    tensorflow.config.list_physical_devices()  # the CUDA probe prints here, while filtered
    return tensorflow


def _quiet_import():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some embedded interpreters)
        return _import_filtered()
    read_end, write_end = os.pipe()
    try:
        filter_process = subprocess.Popen([sys.executable, "-c", _FILTER], stdin=read_end, stderr=saved,
                                          stdout=subprocess.DEVNULL)
    except OSError:
        os.close(read_end), os.close(write_end), os.close(saved)
        return _import_filtered()
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        return _import_filtered()
    finally:
        os.dup2(saved, 2)  # closes the last write end: the filter sees the end of its input
        os.close(saved)
        filter_process.wait(timeout=30)


tf = _quiet_import()
