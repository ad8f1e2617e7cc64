"""How good a trained network is on photos it never saw: remaining style, structure, and the frame.

Three numbers per held-out photo C and its result x = f(C) (issue 20's targets):

* remaining style (:func:`nst_utils.remaining_style`): per layer, how far x's Gram matrix still is from
  the painting's, as a fraction of the photo's distance (1 = as far as the photo, 0 = the painting's);
* luminance SSIM to the photo (:func:`nst_utils.ssim`): is the photo's structure still there;
* the frame: :func:`border_frame` of x minus that of C. A network that paints a frame round the
  image makes its outer ring's colour differ from the ring just inside more than the photo's do.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from nst_utils.fast.data import HELD_OUT_PHOTOS, load_photo
from nst_utils.fast.network import stylize
from nst_utils.metrics import remaining_style, ssim
from nst_utils.samples import SAMPLES, load_sample


def border_frame(image: np.ndarray, ring: int = 4) -> float:
    r"""How much the outermost ``ring`` px differ in colour from the ``ring`` px just inside them.

    .. math:: \frac{1}{3} \sum_{c \in RGB} \big| \bar{x}_c(\text{outer ring}) - \bar{x}_c(\text{inner ring}) \big|

    where the outer ring is the band of width ``ring`` along all four sides and the inner ring the
    next band of the same width; image (1, H, W, 3) or (H, W, 3) in [0, 1], sides > 4 ``ring``.
    """
    x = np.asarray(image, np.float64)
    x = x[0] if x.ndim == 4 else x
    h, w = x.shape[:2]
    if min(h, w) <= 4 * ring:
        raise ValueError(f"image of {h}x{w} px: its sides must be longer than 4 x ring = {4 * ring} px")

    def band(outer: int) -> np.ndarray:        # the pixels at distance [outer, outer + ring) from the border
        inside = np.zeros((h, w), bool)
        inside[outer:h - outer, outer:w - outer] = True
        inner = np.zeros((h, w), bool)
        inner[outer + ring:h - outer - ring, outer + ring:w - outer - ring] = True
        return x[inside & ~inner].mean(axis=0)

    return float(np.abs(band(0) - band(ring)).mean())


def frame_excess(x: np.ndarray, photo: np.ndarray, ring: int = 4) -> float:
    """:func:`border_frame` of the result minus the photo's: > 0 means a frame the photo does not have."""
    return border_frame(x, ring) - border_frame(photo, ring)


def held_out_scores(network, style: Any, *, size: int = 512, photos: Iterable[str] = HELD_OUT_PHOTOS,
                    model=None) -> dict[str, dict[str, Any]]:
    """Stylise each held-out photo at ``size`` px (longer side) and score it against the style at ``size`` px.

    Returns ``{photo: {"image": x, "photo": C, "remaining_style": {layer: r}, "mean_remaining": mean r,
    "worst_layer": max r, "ssim_luminance": SSIM of Y, "frame_excess": frame of x - frame of C}}``.
    """
    S = load_sample(style, size) if isinstance(style, str) and style in SAMPLES else np.asarray(style, np.float32)
    out = {}
    for name in photos:
        C = load_photo(name, size)
        x = stylize(network, C)
        r = remaining_style(x, S, C, model=model)
        out[name] = {"image": x, "photo": C, "remaining_style": r, "mean_remaining": float(np.mean(list(r.values()))),
                     "worst_layer": float(max(r.values())), "ssim_luminance": ssim(x, C, luminance=True),
                     "frame_excess": frame_excess(x, C)}
    return out
