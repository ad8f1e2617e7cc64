r"""Colour preservation for style transfer (Gatys, Bethge, Hertzmann & Shechtman 2016,
"Preserving Color in Neural Artistic Style Transfer", arXiv:1606.05897).

Plain style transfer copies the style image's colours along with its brush strokes. The paper gives
two ways to keep the content image's colours instead (1 and 3 below); 2, from the authors' 2017 paper,
keeps the photo's brightness. All work on images of shape (1, H, W, 3) with RGB values in [0, 1] and need
only numpy.

1. **Colour histogram matching** (:func:`match_histogram`), *before* the transfer: recolour the
   style image so that its RGB pixels have the content image's mean and covariance, with the
   linear map

   .. math:: x' = A x + b, \qquad A = \Sigma_C^{1/2} \Sigma_S^{-1/2}, \qquad b = \mu_C - A \mu_S

   where :math:`\mu` and :math:`\Sigma` are the mean (3,) and covariance (3, 3) of all pixels
   ``x`` (RGB vectors) of the style (S) or content (C) image and the square roots are the
   symmetric ones (:func:`sqrtm_sym`). Then :math:`\mathrm{mean}(x') = \mu_C` and
   :math:`\mathrm{Cov}(x') = A \Sigma_S A^T = \Sigma_C`. Transfer with the recoloured style.

2. **The painting at the photo's brightness** (:func:`match_luminance`), *before* the transfer: Gatys,
   Ecker, Bethge, Hertzmann & Shechtman (2017, "Controlling Perceptual Factors in Neural Style
   Transfer", on colour control) match the style's luminance to the content's by its mean and standard deviation,

   .. math:: Y_S' = \frac{\sigma_C}{\sigma_S} (Y_S - \mu_S) + \mu_C

   Here the style keeps its chroma I, Q. The library does this by default for a dark photo
   (``Settings.style_brightness``): otherwise its result ends near the painting's brightness (lesson 07,
   section 12).

3. **Luminance-only transfer** (:func:`luminance_only`), *after* the transfer: keep the luminance
   ``Y`` of the stylized image and the chroma ``I, Q`` of the content image (YIQ colour space,
   :func:`rgb_to_yiq`). The paper's stricter variant runs the transfer on luminance images
   (:func:`to_luminance` of both inputs) and then recombines the same way.
"""

from __future__ import annotations

import numpy as np

#: RGB -> YIQ (NTSC, FCC 1953): ``[Y, I, Q] = YIQ_FROM_RGB @ [R, G, B]``. Row 0 (the luminance
#: weights) sums to 1, so a grey pixel (R = G = B = v) has Y = v and I = Q = 0.
YIQ_FROM_RGB = np.array([[0.299, 0.587, 0.114],
                         [0.595716, -0.274453, -0.321263],
                         [0.211456, -0.522591, 0.311135]], dtype=np.float64)
#: YIQ -> RGB, the exact inverse of :data:`YIQ_FROM_RGB`.
RGB_FROM_YIQ = np.linalg.inv(YIQ_FROM_RGB)


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` as float64 (1, H, W, 3); ``ValueError`` naming ``name`` if it is not one image."""
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (1, H, W, 3) with RGB values in [0, 1]; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """(1, H, W, 3) RGB -> (1, H, W, 3) YIQ, float64: channel 0 is the luminance Y, 1-2 the chroma I, Q.

    Y lies in [0, 1] for RGB in [0, 1]; I and Q are signed (0 for grey pixels).
    """
    rgb = _check_image(image, "image")
    return rgb @ YIQ_FROM_RGB.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_yiq`: (1, H, W, 3) YIQ -> (1, H, W, 3) RGB, float64, *not* clipped."""
    yiq = _check_image(yiq, "yiq")
    return yiq @ RGB_FROM_YIQ.T


def to_luminance(image: np.ndarray) -> np.ndarray:
    """The luminance Y = 0.299 R + 0.587 G + 0.114 B as a grey RGB image (1, H, W, 3), float32.

    All three channels equal Y, so the result can go straight into VGG19 (which expects 3
    channels): the paper's luminance-only variant transfers style between such grey images.
    """
    Y = rgb_to_yiq(_check_image(image, "image"))[..., :1]
    return np.clip(np.repeat(Y, 3, axis=-1), 0.0, 1.0).astype(np.float32)


def luminance_only(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance of ``stylized`` + chroma of ``content``: style transfer that keeps the content's colours.

    ``[Y, I, Q]_out = [Y_stylized, I_content, Q_content]``, converted back to RGB and clipped to
    [0, 1]. Where no channel needed clipping, the output's Y equals the stylized image's and its
    I, Q equal the content image's exactly.

    Args:
        stylized: (1, H, W, 3) in [0, 1], the result of a style transfer (or of a transfer on
            :func:`to_luminance` images).
        content: (1, H, W, 3) in [0, 1], the content image at the same size.

    Returns:
        (1, H, W, 3) float32 in [0, 1].
    """
    stylized = _check_image(stylized, "stylized")
    content = _check_image(content, "content")
    if stylized.shape != content.shape:
        raise ValueError(f"stylized {stylized.shape} and content {content.shape} must have the same shape")
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylized)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def match_luminance(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    r"""The style image with its luminance moved to the content's mean and standard deviation.

    In YIQ (:func:`rgb_to_yiq`), every pixel's luminance becomes
    :math:`Y' = \frac{\sigma_C}{\sigma_S} (Y - \mu_S) + \mu_C`, where :math:`\mu, \sigma` are the mean and
    standard deviation of Y over all pixels of the style (S) or content (C) image; the chroma I, Q is
    kept; back to RGB and clipped to [0, 1] (Gatys et al. 2017, "Controlling Perceptual Factors in
    Neural Style Transfer", on colour control; the paper matches luminance images there, for its
    luminance-only transfer, while here the colour painting keeps its chroma). A flat style
    (:math:`\sigma_S` below 1e-6) is only shifted. Without clipping, the luminance's mean is :math:`\mu_C`
    and its standard deviation :math:`\sigma_C`. For a dark photo clipping is not small: values pushed
    below 0 are raised, so the mean ends above :math:`\mu_C` and the spread below :math:`\sigma_C`; a
    flat photo (:math:`\sigma_C` near 0) leaves a nearly flat painting, with little of its brightness
    pattern left to transfer.

    Args:
        style: (1, H_S, W_S, 3) in [0, 1], the painting.
        content: (1, H_C, W_C, 3) in [0, 1], the photo whose brightness and contrast to take (any size).

    Returns:
        (1, H_S, W_S, 3) float32 in [0, 1].
    """
    yiq = rgb_to_yiq(_check_image(style, "style"))
    Y_C = rgb_to_yiq(_check_image(content, "content"))[..., 0]
    Y = yiq[..., 0]
    sigma_S = Y.std()
    scale = Y_C.std() / sigma_S if sigma_S >= 1e-6 else 1.0
    yiq[..., 0] = scale * (Y - Y.mean()) + Y_C.mean()
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def mean_luminance(image: np.ndarray) -> float:
    """The mean of Y = 0.299 R + 0.587 G + 0.114 B over an image's pixels (0 black, 1 white).

    ``image``: (1, H, W, 3) with RGB values in [0, 1] (load files and uint8 arrays with
    :func:`nst_utils.as_image` first); values outside [0, 1] are refused.
    """
    arr = _check_image(image, "image")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"image: RGB values must lie in [0, 1], got {arr.min():g} to {arr.max():g}; "
                         "load it with nu.as_image (uint8 0-255 becomes [0, 1])")
    return float(rgb_to_yiq(arr)[..., 0].mean())


def sqrtm_sym(sigma: np.ndarray, *, inverse: bool = False, eps: float = 1e-8) -> np.ndarray:
    r"""Symmetric square root of a symmetric positive semi-definite matrix, via eigendecomposition.

    :math:`\Sigma = U \mathrm{diag}(\lambda) U^T \Rightarrow \Sigma^{\pm 1/2} = U \mathrm{diag}(\lambda^{\pm 1/2}) U^T`.
    Eigenvalues below ``eps`` are raised to ``eps``, so the inverse root of a singular covariance
    (e.g. a grey image, whose RGB pixels lie on a line) stays finite.

    Args:
        sigma: (n, n) symmetric matrix.
        inverse: return :math:`\Sigma^{-1/2}` instead of :math:`\Sigma^{1/2}`.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1]:
        raise ValueError(f"sigma must be a square matrix; got shape {sigma.shape}")
    lam, U = np.linalg.eigh((sigma + sigma.T) / 2.0)
    lam = np.maximum(lam, eps)
    return (U * (lam ** (-0.5 if inverse else 0.5))) @ U.T


def colour_statistics(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean (3,) and covariance (3, 3) of an image's RGB pixels.

    With the pixels as the rows of ``X`` (shape (H*W, 3)):
    :math:`\mu = \frac{1}{HW}\sum_k x_k` and :math:`\Sigma = \frac{1}{HW}\sum_k (x_k - \mu)(x_k - \mu)^T`.
    """
    X = _check_image(image, "image").reshape(-1, 3)
    mu = X.mean(axis=0)
    D = X - mu
    return mu, D.T @ D / X.shape[0]


def match_histogram(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    r"""Recolour ``style`` so that its RGB mean and covariance equal ``content``'s (linear method).

    Every pixel ``x`` (an RGB vector) of the style image becomes :math:`x' = A x + b` with
    :math:`A = \Sigma_C^{1/2} \Sigma_S^{-1/2}` and :math:`b = \mu_C - A \mu_S`
    (:func:`colour_statistics`, :func:`sqrtm_sym`); the result is clipped to [0, 1]. Without
    clipping, its mean is :math:`\mu_C` and its covariance :math:`\Sigma_C`; pixels pushed
    outside [0, 1] move those numbers slightly.

    Args:
        style: (1, H_S, W_S, 3) in [0, 1], the image to recolour.
        content: (1, H_C, W_C, 3) in [0, 1], the palette to match (any size).

    Returns:
        (1, H_S, W_S, 3) float32 in [0, 1]: the style image in the content's colours.
    """
    style = _check_image(style, "style")
    content = _check_image(content, "content")
    mu_S, sigma_S = colour_statistics(style)
    mu_C, sigma_C = colour_statistics(content)
    A = sqrtm_sym(sigma_C) @ sqrtm_sym(sigma_S, inverse=True)
    b = mu_C - A @ mu_S
    out = style @ A.T + b
    return np.clip(out, 0.0, 1.0).astype(np.float32)


__all__ = ["YIQ_FROM_RGB", "RGB_FROM_YIQ", "rgb_to_yiq", "yiq_to_rgb", "to_luminance", "luminance_only",
           "sqrtm_sym", "colour_statistics", "match_histogram", "match_luminance", "mean_luminance"]
