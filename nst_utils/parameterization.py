r"""How the optimized image is written down: as its pixels, or as a decorrelated-colour Fourier spectrum.

Every optimization of the course changes the numbers in a ``tf.Variable`` ``p`` and looks at the image
``x = image_from(p)``, of shape (B, H, W, 3) with values in [0, 1]:

* **pixels** (:class:`PixelImage`): ``p`` is ``x`` itself, kept in [0, 1] by clipping after each step
  (:meth:`~PixelImage.project`). Every pixel moves on its own, so nothing favours smooth images.
* **Fourier** (:class:`FourierImage`, Mordvintsev et al., "Differentiable Image Parameterizations",
  Distill 2018): ``p`` holds, for every image and colour channel, the real and imaginary parts of the
  2-D spectrum of the image, divided by ``1/f`` (``f``: spatial frequency in cycles per pixel):

  .. math:: x = \sigma\Big(M\; \mathcal{F}^{-1}\big[w \odot (p_{re} + i\, p_{im})\big] / 4\Big), \qquad
     w(f) = \frac{\sqrt{H W}}{\max(f, 1/\max(H, W))}

  A step of the same size in every entry of ``p`` changes low frequencies far more than high ones,
  like the spectrum of a natural photo (about ``1/f``), so gradient steps stop favouring pixel noise.
  :math:`M` is the square root of ImageNet's colour correlation matrix (:data:`COLOUR_SQRT`), so the
  three channels of the spectrum are *decorrelated* colours (luminance and two opponent colours), and
  the sigmoid :math:`\sigma` keeps ``x`` in (0, 1) without clipping.

Both have :meth:`to_params` (image -> params) and :meth:`image_from` (params -> image), which round-trip
(:func:`to_params` clips the image to [eps, 1 - eps] first, because the sigmoid never reaches 0 or 1),
:meth:`project` (after each gradient step: keep the image valid) and ``bounds``, the box L-BFGS-B keeps
every entry of ``p`` in (pixels: [0, 1]; Fourier: None, no box). The loop that changes ``p`` is
:mod:`nst_utils.loop`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nst_utils._tf import tf
from nst_utils.settings import PARAMETERIZATIONS

#: Square root of the colour correlation matrix of ImageNet photos (from its SVD, ``U sqrt(S)``), as
#: published with Lucid (Olah et al., "Feature Visualization", Distill 2017). Column 0 is the luminance
#: direction (about equal R, G, B), columns 1 and 2 two opponent colours.
COLOUR_CORRELATION_SVD_SQRT = np.array([[0.26, 0.09, 0.02],
                                        [0.27, 0.00, -0.05],
                                        [0.27, -0.09, 0.03]], dtype=np.float64)
#: The same, divided by its largest column norm (as Lucid uses it): decorrelated -> RGB is ``rgb = d @ M.T``.
COLOUR_SQRT = COLOUR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOUR_CORRELATION_SVD_SQRT, axis=0))
_M_T = tf.constant(COLOUR_SQRT.T, tf.float32)
_M_T_INV = tf.constant(np.linalg.inv(COLOUR_SQRT.T), tf.float32)

def decorrelated_to_rgb(d: tf.Tensor | np.ndarray) -> tf.Tensor:
    """(..., 3) decorrelated colours -> (..., 3) RGB: ``rgb = d @ M.T`` with ``M =`` :data:`COLOUR_SQRT`."""
    d = tf.convert_to_tensor(d, tf.float32)
    return tf.reshape(tf.reshape(d, (-1, 3)) @ _M_T, tf.shape(d))


def rgb_to_decorrelated(rgb: tf.Tensor | np.ndarray) -> tf.Tensor:
    """Inverse of :func:`decorrelated_to_rgb`: ``d = rgb @ (M.T)^-1`` (M has condition number 7.6)."""
    rgb = tf.convert_to_tensor(rgb, tf.float32)
    return tf.reshape(tf.reshape(rgb, (-1, 3)) @ _M_T_INV, tf.shape(rgb))


def _check_shape(shape: Sequence[int]) -> tuple[int, int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4 or shape[-1] != 3 or min(shape) < 1:
        raise ValueError(f"shape={shape}: use (B, H, W, 3), e.g. (1, 128, 128, 3)")
    return shape  # type: ignore[return-value]


def _check_image(image: np.ndarray | tf.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.shape != shape:
        raise ValueError(f"the image has shape {image.shape}; this parameterization is for {shape}")
    return image


class PixelImage:
    """``x = p``: the pixels themselves, (B, H, W, 3), kept in [0, 1] by :meth:`project`."""

    name = "pixels"
    #: L-BFGS-B's box for every entry of the params: the pixel range.
    bounds: tuple[float, float] | None = (0.0, 1.0)

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = _check_shape(shape)
        self.params_shape = self.shape

    def image_from(self, params: tf.Tensor) -> tf.Tensor:
        """The image of ``params``: the same tensor."""
        return tf.convert_to_tensor(params)

    def to_params(self, image: np.ndarray | tf.Tensor) -> np.ndarray:
        """The params of an image (B, H, W, 3) in [0, 1]: a float32 copy."""
        return _check_image(image, self.shape).copy()

    def project(self, params: tf.Variable) -> None:
        """After a step: clip the pixels back to [0, 1]."""
        params.assign(tf.clip_by_value(params, 0.0, 1.0))

    def __repr__(self) -> str:
        return f"PixelImage({self.shape})"


class FourierImage:
    """``x = sigmoid(M irfft2(w * spectrum) / 4)``: see the module docstring.

    Args:
        shape: (B, H, W, 3) of the image.
        decorrelate: use the decorrelated colours (``M`` = :data:`COLOUR_SQRT`); False: ``M`` = identity.
        decay_power: ``w = 1 / f**decay_power`` (1: the ``1/f`` of natural images; 0: a plain, unscaled
            spectrum).
        eps: :meth:`to_params` clips images to [eps, 1 - eps] (the sigmoid never reaches 0 or 1).

    Params have shape (2, B, 3, H, W // 2 + 1): real and imaginary parts of the scaled spectrum of each
    image and decorrelated colour channel (``rfft2``: the other half of the spectrum is redundant).
    """

    name = "fourier"
    #: No box for L-BFGS-B: any spectrum gives an image in (0, 1).
    bounds: tuple[float, float] | None = None

    def __init__(self, shape: Sequence[int], *, decorrelate: bool = True, decay_power: float = 1.0,
                 eps: float = 1e-3) -> None:
        self.shape = _check_shape(shape)
        b, h, w, _ = self.shape
        self.decorrelate, self.decay_power, self.eps = bool(decorrelate), float(decay_power), float(eps)
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.rfftfreq(w)[None, :]
        freqs = np.sqrt(fx * fx + fy * fy)                            # (H, W // 2 + 1), cycles per pixel
        scale = np.sqrt(h * w) / np.maximum(freqs, 1.0 / max(h, w)) ** self.decay_power
        self.scale = scale.astype(np.float32)
        self._scale = tf.constant(self.scale, tf.complex64)
        self.params_shape = (2, b, 3, h, w // 2 + 1)

    def image_from(self, params: tf.Tensor) -> tf.Tensor:
        """(2, B, 3, H, W//2+1) params -> (B, H, W, 3) image in (0, 1); differentiable."""
        params = tf.convert_to_tensor(params, tf.float32)
        spectrum = tf.complex(params[0], params[1]) * self._scale
        d = tf.signal.irfft2d(spectrum, fft_length=self.shape[1:3]) / 4.0       # (B, 3, H, W)
        d = tf.transpose(d, (0, 2, 3, 1))
        if self.decorrelate:
            d = decorrelated_to_rgb(d)
        return tf.sigmoid(d)

    def to_params(self, image: np.ndarray | tf.Tensor) -> np.ndarray:
        """The params whose image is ``image`` (B, H, W, 3), clipped to [eps, 1 - eps]: logit, the inverse
        colour transform, ``rfft2``, divided by the frequency weights."""
        x = np.clip(_check_image(image, self.shape).astype(np.float64), self.eps, 1.0 - self.eps)
        d = np.log(x) - np.log1p(-x)                                            # logit
        if self.decorrelate:
            d = d @ np.linalg.inv(COLOUR_SQRT.T)
        spectrum = np.fft.rfft2(4.0 * np.transpose(d, (0, 3, 1, 2)), axes=(-2, -1)) / self.scale
        return np.stack([spectrum.real, spectrum.imag]).astype(np.float32)

    def project(self, params: tf.Variable) -> None:
        """Nothing to do: the sigmoid keeps every image in (0, 1)."""
        return None

    def __repr__(self) -> str:
        return (f"FourierImage({self.shape}, decorrelate={self.decorrelate}, "
                f"decay_power={self.decay_power:g})")


def image_parameterization(kind: str, shape: Sequence[int], **options) -> PixelImage | FourierImage:
    """``"pixels"`` -> :class:`PixelImage`, ``"fourier"`` -> :class:`FourierImage` (``options``: its
    keyword arguments, e.g. ``decorrelate=False``)."""
    if kind == "pixels":
        if options:
            raise TypeError(f"the pixel parameterization takes no options; got {sorted(options)}")
        return PixelImage(shape)
    if kind == "fourier":
        return FourierImage(shape, **options)
    raise ValueError(f"parameterization={kind!r}: use one of {PARAMETERIZATIONS}")
