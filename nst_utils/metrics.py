"""Numbers that check a lesson's claim: PSNR, SSIM, relative error.

Images are (1, H, W, 3) float arrays in [0, 1].
"""

from __future__ import annotations

import numpy as np
from nst_utils._tf import tf


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(1 / MSE), for images in [0, 1]."""
    return float(tf.image.psnr(tf.constant(x, tf.float32), tf.constant(y, tf.float32), max_val=1.0)[0])


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004; 11x11 Gaussian window) in [-1, 1]; 1 = identical."""
    return float(tf.image.ssim(tf.constant(x, tf.float32), tf.constant(y, tf.float32), max_val=1.0)[0])


def relative_error(x, y) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise (CS231n's check)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
