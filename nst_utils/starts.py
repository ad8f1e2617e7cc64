"""Where the optimization starts: the content image, white noise, or a blend of an image and noise."""

from __future__ import annotations

import numpy as np


def white_noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """White noise, uniform in [0, 1], float32 of ``shape`` (e.g. (1, n_H, n_W, 3)); the same seed gives
    the same noise."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=shape).astype(np.float32)


def start_image(base: np.ndarray | None, shape: tuple[int, ...], *, noise_ratio: float = 0.0,
                seed: int = 0) -> np.ndarray:
    """The start image x_0 = (1 - r) base + r N, with N = :func:`white_noise` and r = ``noise_ratio``.

    ``base=None`` means white noise alone (r = 1). ``base`` must have ``shape`` (1, n_H, n_W, 3).
    """
    noise = white_noise(shape, seed)
    if base is None:
        return noise
    base = np.asarray(base, dtype=np.float32)
    if base.shape != tuple(shape):
        raise ValueError(f"the start image has shape {base.shape}; it must be {tuple(shape)}")
    return ((1.0 - noise_ratio) * base + noise_ratio * noise).astype(np.float32)
