"""Which floating-point precision the network computes in.

Mixed precision runs the convolutions in a 16-bit type and keeps the weights in float32; the
features are cast back to float32 before Gram matrices and costs (:mod:`nst_utils.features`), so the
sums that make ``J`` do not lose digits.

* ``"mixed_bfloat16"``: on CPUs with bfloat16 instructions (AVX512-BF16 or AMX).
* ``"mixed_float16"``: on NVIDIA GPUs (tensor cores).
* ``"float32"``: everywhere else, and whenever exact numbers matter (lesson 03's reconstructions).

``resolve_precision("auto")`` picks the fastest the machine supports; the environment variable
``NST_PRECISION`` overrides the automatic choice (e.g. ``NST_PRECISION=float32``).
"""

from __future__ import annotations

import functools
import platform

from nst_utils.config import environment

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@functools.cache
def _cpuinfo() -> str:
    """Linux's ``/proc/cpuinfo``, or "" where there is none."""
    if platform.system() != "Linux":
        return ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


@functools.cache
def cpu_has_bfloat16() -> bool:
    """True on x86 CPUs that advertise AVX512-BF16 or AMX-BF16 (Linux ``/proc/cpuinfo``)."""
    text = _cpuinfo()
    return " avx512_bf16" in text or " amx_bf16" in text


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` knows), e.g. ``"AMD EPYC"``."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@functools.cache
def has_gpu() -> bool:
    from nst_utils._tf import tf

    return bool(tf.config.list_physical_devices("GPU"))


def auto_precision() -> str:
    """The fastest precision this machine supports (see module docstring)."""
    if has_gpu():
        return "mixed_float16"
    if cpu_has_bfloat16():
        return "mixed_bfloat16"
    return "float32"


def resolve_precision(precision: str | None = None) -> str:
    """``None``/``"auto"`` -> ``$NST_PRECISION`` or :func:`auto_precision`; a name is checked and returned."""
    if precision in (None, "auto"):
        precision = environment().precision or auto_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: use one of {PRECISIONS} or 'auto'")
    return precision
