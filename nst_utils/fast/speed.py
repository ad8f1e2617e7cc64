"""How fast a transformation network stylises, and on what machine: the numbers lesson 09 and the benchmark print."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from nst_utils.fast.network import stylize
from nst_utils.precision import cpu_model


def machine_description() -> str:
    """The CPU model, the cores and the load average, e.g. ``"Intel(R) Xeon(R) Processor, 2 cores, load 1.9"``.

    A timing means little without it: the load average (1 minute, from the OS) says how busy the
    machine was with other work while it was measured.
    """
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{cpu_model()}, {os.cpu_count()} cores{load}"


def time_stylize(network, size: int | tuple[int, int], *, repeats: int = 7, warmup: int = 2,
                 seed: int = 0) -> dict[str, Any]:
    """Milliseconds per image of :func:`nst_utils.stylize` (end to end: array in, array out), warm.

    Args:
        size: the image's side (a square) or (n_H, n_W).
        repeats: timed runs after ``warmup`` untimed ones (the first traces the network).

    Returns:
        ``{"size": [n_H, n_W], "ms": median, "min_ms": fastest, "runs_ms": [...]}``.
    """
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    image = np.random.default_rng(seed).uniform(0, 1, (1, int(h), int(w), 3)).astype(np.float32)
    for _ in range(warmup):
        stylize(network, image)
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        stylize(network, image)
        runs.append(1000.0 * (time.perf_counter() - t))
    return {"size": [int(h), int(w)], "ms": float(np.median(runs)), "min_ms": float(np.min(runs)), "runs_ms": runs}
