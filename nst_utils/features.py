"""From an image in [0, 1] to VGG activations at chosen layers (the "mini model").

VGG was trained on Caffe-style input: channels in BGR order, values 0-255, ImageNet mean subtracted.
:func:`vgg_preprocess` does that and :func:`vgg_deprocess` undoes it; a :class:`FeatureExtractor`
applies the preprocessing itself, so callers always pass images in [0, 1], RGB.
"""

from __future__ import annotations

from typing import Iterable

from nst_utils._tf import tf  # noqa: F401  (first: imports TensorFlow quietly)

import keras
import numpy as np

from nst_utils.layers import keras_name, min_input_size, short_name
from nst_utils.models import layer_names

#: ImageNet mean in BGR order, in 0-255 units (the values Keras and Caffe use).
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def vgg_preprocess(image: tf.Tensor | np.ndarray) -> tf.Tensor:
    """(1, H, W, 3) RGB in [0, 1] -> BGR, 0-255, ImageNet mean subtracted.

    ``x_vgg[..., c] = 255 * x[..., 2 - c] - mean_bgr[c]``
    """
    x = tf.convert_to_tensor(image, dtype=tf.float32) * 255.0
    return x[..., ::-1] - VGG_MEAN_BGR


def vgg_deprocess(x_vgg: tf.Tensor | np.ndarray) -> np.ndarray:
    """Inverse of :func:`vgg_preprocess`, clipped to [0, 1]: (1, H, W, 3) RGB float32."""
    x = (np.asarray(x_vgg, dtype=np.float32) + VGG_MEAN_BGR)[..., ::-1] / 255.0
    return np.clip(x, 0.0, 1.0)


class FeatureExtractor:
    """Callable: image (1, H, W, 3) RGB in [0, 1] -> ``{layer: activation (1, n_H, n_W, n_C)}``.

    The underlying ``keras.Model`` ends at the deepest requested layer, so nothing past it is
    computed. Activations come back as float32 whatever precision the network computes in.
    Keys are the names as the caller gave them (``conv4_2`` or ``block4_conv2``).
    """

    def __init__(self, model: keras.Model, names: Iterable[str]) -> None:
        names = list(dict.fromkeys(names))
        if not names:
            raise ValueError("layer_names is empty: name at least one layer, e.g. ['conv4_2']")
        valid = layer_names(model)
        unknown = [n for n in names if keras_name(n) not in valid]
        if unknown:
            raise ValueError(
                f"unknown layer name(s) {unknown} for {model.name}; valid names are "
                f"{[short_name(v) for v in valid]} (or the Keras spelling, e.g. 'block4_conv2')"
            )
        self.names = names
        self.min_size = min_input_size(names)
        outputs = [model.get_layer(keras_name(n)).output for n in names]
        self.model = keras.Model(model.input, outputs, name=f"{model.name}_features")

    def check_size(self, shape: tuple[int, ...], what: str = "image") -> None:
        """Raise ``ValueError`` if an image of ``shape`` (1, H, W, 3) is too small for the layers."""
        if len(shape) != 4 or shape[0] != 1 or shape[-1] != 3:
            raise ValueError(f"{what} must have shape (1, H, W, 3) with values in [0, 1]; got {tuple(shape)}")
        h, w = int(shape[1]), int(shape[2])
        if min(h, w) < self.min_size:
            deepest = max(self.names, key=lambda n: min_input_size([n]))
            raise ValueError(
                f"{what} is {h}x{w} px, too small for layer {deepest!r}: its sides must be at "
                f"least {self.min_size} px. Use a larger image (max_dim) or shallower layers."
            )

    def __call__(self, image: tf.Tensor | np.ndarray) -> dict[str, tf.Tensor]:
        outputs = self.model(vgg_preprocess(image))
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return {n: tf.cast(o, tf.float32) for n, o in zip(self.names, outputs)}

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.model.name}, {self.names})"


def feature_extractor(model: keras.Model, layer_names: Iterable[str]) -> FeatureExtractor:
    """Build the "mini model": VGG outputs at ``layer_names``; see :class:`FeatureExtractor`."""
    return FeatureExtractor(model, layer_names)
