r"""Numbers that check a lesson's claim: PSNR, SSIM, relative errors, and the style yardstick.

Images are (1, H, W, 3) float arrays in [0, 1].

The **style yardstick** (:func:`remaining_style`) scores any result the same way, whatever made it:
at each layer :math:`l`, the distance between the Gram matrices (per position) of the result
:math:`x` and of the style image :math:`S`, as a fraction of the same distance for the content
photograph :math:`C`:

.. math:: r_l = \frac{\lVert \tilde G^{(S)}_l - \tilde G^{(x)}_l \rVert_F}{\lVert \tilde G^{(S)}_l - \tilde G^{(C)}_l \rVert_F}

1 means "no closer to the style than the photo", 0 means "the style's Gram matrix exactly".
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from nst_utils._tf import tf
from nst_utils.colour import to_luminance
from nst_utils.costs import normalized_gram
from nst_utils.features import feature_extractor
from nst_utils.layers import GATYS_STYLE_LAYERS
from nst_utils.models import cached_vgg19


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(1 / MSE), for images in [0, 1]."""
    return float(tf.image.psnr(tf.constant(x, tf.float32), tf.constant(y, tf.float32), max_val=1.0)[0])


def ssim(x: np.ndarray, y: np.ndarray, *, luminance: bool = False) -> float:
    """Structural similarity (Wang et al. 2004; 11x11 Gaussian window), in [-1, 1]; 1 = identical.

    ``luminance=True`` compares the luminance Y = 0.299 R + 0.587 G + 0.114 B only, so that a result
    in other colours but with the photo's structure still scores high.
    """
    if luminance:
        x, y = to_luminance(x), to_luminance(y)
    return float(tf.image.ssim(tf.constant(x, tf.float32), tf.constant(y, tf.float32), max_val=1.0)[0])


def relative_error(x, y) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise (CS231n's check of an implementation)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def relative_change(x, y) -> float:
    """||x - y|| / ||x|| (Frobenius norms): how much y differs from the reference x, as a fraction of x."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    norm = np.linalg.norm(x)
    if norm == 0:
        return 0.0 if not np.any(y) else float("inf")
    return float(np.linalg.norm(x - y) / norm)


def remaining_style(x: np.ndarray, style: np.ndarray, content: np.ndarray,
                    layers: Iterable[str] = GATYS_STYLE_LAYERS, *, model=None) -> dict[str, float]:
    """The style yardstick r_l (module docstring) of the result ``x`` at each layer.

    Args:
        x: the result, (1, n_H, n_W, 3). style: the style image (any size). content: the photograph.
        layers: where to measure (default: Gatys et al.'s five style layers).
        model: the VGG to measure with; default VGG19, max pooling, float32 (the same ruler for
            every result, whatever network or precision made it).
    """
    layers = list(layers)
    extract = feature_extractor(model if model is not None else cached_vgg19("max", "float32"), layers)
    G = {name: {l: normalized_gram(a) for l, a in extract(img).items()}
         for name, img in (("x", x), ("S", style), ("C", content))}
    return {l: float(tf.norm(G["S"][l] - G["x"][l]) / tf.norm(G["S"][l] - G["C"][l])) for l in layers}
