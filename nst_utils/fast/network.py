r"""The image transformation network of fast style transfer, and applying it to an image.

Johnson, Alahi and Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution"
(ECCV 2016), with the instance normalisation of Ulyanov, Vedaldi and Lempitsky, "Instance
Normalization: The Missing Ingredient for Fast Stylization" (2016). The shape is Johnson's, narrowed
by ``width`` (Johnson: 32) and ``residual_blocks`` (Johnson: 5):

==========================  ==================  ==========================================
encoder                     ``k``x``k`` conv     ``width`` channels, full size
                            3x3 conv, stride 2   ``2 width``, 1/2 size
                            3x3 conv, stride 2   ``4 width``, 1/4 size
``residual_blocks`` x       two 3x3 convs        ``4 width``, 1/4 size, plus the input
decoder                     upsample x2, 3x3     ``2 width``, 1/2 size
                            upsample x2, 3x3     ``width``, full size
output                      ``k``x``k`` conv     3 channels: the change to the photo
==========================  ==================  ==========================================

Every conv but the last is followed by a normalisation and a ReLU (the second conv of a residual
block: no ReLU). Johnson's last conv ends in a squashing function and is the image; here (``skip=True``)
it is a change added to the photo (in logit units, :class:`PhotoPlusChange`) and starts at zero, so
training starts from the photo, as the optimization does, instead of from a random image: with a few
thousand training crops instead of Johnson's 160,000, the network need not first learn to copy the
photo.

**Padding.** With ``padding="reflect"`` (the course's ``"johnson"`` recipe, :data:`nst_utils.FAST_RECIPES`,
as the ``reflect`` option of Johnson's fast-neural-style code; the paper itself mirrors the input once and
leaves the residual blocks' convs unpadded, cropping the identity) every conv sees the border mirrored (:class:`ReflectionPadding2D`, then an unpadded conv): nothing at the border
differs from the inside, so nothing teaches the network to paint a frame. ``"zero"`` pads every conv with
zeros (Keras's ``padding="same"``), and ``"reflect_outer"`` (the default of :func:`transformation_network`,
as for the first width-8 network of the course) mirrors for the 9x9 first and last convs only, zeros inside.

The decoder enlarges by nearest-neighbour upsampling and *then* convolves, instead of
Johnson's transposed convolutions with stride 2: a 3x3 transposed conv with stride 2 adds up 1, 2 or
4 kernel taps depending on where an output pixel falls, which prints a checkerboard on the output
(Odena, Dumoulin and Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016); an upsampled
image followed by a conv treats every pixel alike.

The network is fully convolutional: any size in, the same size out (:func:`stylize` pads to a multiple
of 4 and crops back).
"""

from __future__ import annotations

import weakref
from typing import Any

from nst_utils._tf import tf  # noqa: F401  (first: imports TensorFlow quietly)

import keras
import numpy as np

from nst_utils.fast.recipe import NORMS, PADDINGS
from nst_utils.images import as_image


@keras.saving.register_keras_serializable(package="nst_utils")
class InstanceNormalization(keras.layers.Layer):
    r"""Instance normalisation (Ulyanov et al. 2016): each image's each channel to mean 0, variance 1.

    .. math:: y_{b,i,j,c} = \gamma_c \frac{x_{b,i,j,c} - \mu_{b,c}}{\sqrt{\sigma^2_{b,c} + \epsilon}} + \beta_c

    with :math:`\mu_{b,c}`, :math:`\sigma^2_{b,c}` the mean and variance over the positions (i, j) of
    image b, channel c. Unlike batch normalisation it uses no statistics of other images and behaves
    the same in training and in use: the contrast of the content image is normalised away.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        if x.shape[0] == 1:
            # one image (as nst_utils.stylize runs it): batch normalisation's fused kernel, in training mode,
            # normalises each channel over the batch's positions, which for a batch of one is this formula
            # exactly, in one pass over the data instead of five (3x faster at 512 px)
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, tf.convert_to_tensor(self.gamma),
                                                       tf.convert_to_tensor(self.beta), epsilon=self.epsilon,
                                                       is_training=True)
            return y
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        scale = self.gamma * tf.math.rsqrt(variance + self.epsilon)
        return x * scale + (self.beta - mean * scale)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="nst_utils")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by ``padding`` px on each side with the mirror image of the border.

    Before the first conv it makes the padded border part of the photo, so that a change of contrast
    ``a C + b`` changes the conv's output by the same ``a`` and a constant everywhere, borders included,
    which instance normalisation then removes exactly; before the last conv it avoids a dark frame.
    """

    def __init__(self, padding: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        p = self.padding
        return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        h, w = (None if n is None else n + 2 * self.padding for n in input_shape[1:3])
        return (input_shape[0], h, w, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="nst_utils")
class PhotoPlusChange(keras.layers.Layer):
    r"""The output image of the network with ``skip=True``: the photo C plus the change the network learned.

    .. math:: x = \sigma\big(\operatorname{logit}(C) + \Delta\big), \qquad
       \operatorname{logit}(C) = \ln \frac{C}{1 - C} \text{ (C clipped to } [\epsilon, 1 - \epsilon])

    so x stays in (0, 1), and a network whose last conv outputs :math:`\Delta = 0` returns the photo.
    """

    def __init__(self, epsilon: float = 0.01, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs: list[tf.Tensor]) -> tf.Tensor:
        photo, change = inputs
        photo = tf.clip_by_value(photo, self.epsilon, 1.0 - self.epsilon)
        return tf.sigmoid(tf.math.log(photo / (1.0 - photo)) + change)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}


def transformation_network(width: int = 8, residual_blocks: int = 5, *, norm: str = "instance",
                           kernel: int = 9, skip: bool = True, seed: int = 0, padding: str = "reflect_outer",
                           name: str = "transformation_network") -> keras.Model:
    """Johnson et al.'s image transformation network, narrowed: (B, H, W, 3) in [0, 1] -> same, in [0, 1].

    Args:
        width: channels of the first conv; the encoder doubles them twice (Johnson et al.: 32).
        residual_blocks: residual blocks at 1/4 size (Johnson et al.: 5).
        norm: ``"instance"`` (Ulyanov et al.) or ``"batch"`` (Johnson et al.'s original).
        kernel: size of the first and the last conv (Johnson et al.: 9).
        skip: the output is the photo plus a learned change (:class:`PhotoPlusChange`), and the last
            conv starts at zero, so the untrained network returns the photo, as the optimization starts
            from it. ``False``: Johnson et al.'s output, a sigmoid of the last conv, from random weights.
        seed: seeds the initial weights: the same seed gives the same network.
        padding: ``"reflect"`` (every conv sees the border mirrored: the course's ``"johnson"`` recipe, as
            fast-neural-style's ``reflect`` option; not the paper's own scheme, see the module docstring), ``"zero"``,
            or ``"reflect_outer"`` (the first and last conv only: the width-8 network; module docstring).

    :meth:`nst_utils.FastRecipe.network` builds the network of a recipe (Johnson et al.'s: width 32).
    H and W must be multiples of 4 for the output to have the input's size (:func:`stylize` pads).
    """
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}: use one of {NORMS}")
    if padding not in PADDINGS:
        raise ValueError(f"padding={padding!r}: use one of {PADDINGS}")
    for what, value, least in (("width", width, 1), ("residual_blocks", residual_blocks, 0), ("kernel", kernel, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{what}={value!r}: use a whole number >= {least}")
    layers = keras.layers
    seeds = iter(range(seed * 1000, seed * 1000 + 1000))

    def conv(x, filters, size, name, strides=1, outer=False, zero=False, **kw):
        reflect = padding == "reflect" or (padding == "reflect_outer" and outer)
        if reflect:         # mirror the border (size // 2 px) and convolve without padding
            x = ReflectionPadding2D(size // 2, name=f"{name}_pad")(x)
        init = "zeros" if zero else keras.initializers.GlorotUniform(seed=next(seeds))
        return layers.Conv2D(filters, size, strides=strides, padding="valid" if reflect else "same", name=name,
                             kernel_initializer=init, **kw)(x)

    def normalise(x, name):
        if norm == "instance":
            return InstanceNormalization(name=f"{name}_in")(x)
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)

    def block(x, filters, size, name, strides=1, relu=True, outer=False):
        x = normalise(conv(x, filters, size, name, strides, outer, use_bias=False), name)
        return layers.ReLU(name=f"{name}_relu")(x) if relu else x

    image = keras.Input(shape=(None, None, 3), name="content")
    x = block(image, width, kernel, "enc1", outer=True)
    x = block(x, 2 * width, 3, "enc2", strides=2)
    x = block(x, 4 * width, 3, "enc3", strides=2)
    for r in range(1, residual_blocks + 1):
        y = block(x, 4 * width, 3, f"res{r}a")
        y = block(y, 4 * width, 3, f"res{r}b", relu=False)
        x = layers.Add(name=f"res{r}")([x, y])
    x = layers.UpSampling2D(2, interpolation="nearest", name="dec1_up")(x)
    x = block(x, 2 * width, 3, "dec1")
    x = layers.UpSampling2D(2, interpolation="nearest", name="dec2_up")(x)
    x = block(x, width, 3, "dec2")
    if skip:
        change = conv(x, 3, kernel, "out", outer=True, zero=True)
        out = PhotoPlusChange(name="photo_plus_change")([image, change])
    else:
        out = conv(x, 3, kernel, "out", outer=True, activation="sigmoid")
    return keras.Model(image, out, name=name)


def network_table(network: keras.Model, size: tuple[int, int] = (256, 256)) -> list[tuple[str, str, tuple[int, ...], int]]:
    """One row per layer: (name, kind, output shape (n_H, n_W, n_C) for an input of ``size``, parameters).

    The shapes are those of one forward pass of a black image of ``size`` (n_H, n_W).
    """
    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(network.input, [layer.output for layer in layers])
    outputs = probe(np.zeros((1, *size, 3), np.float32), training=False)
    rows = [("content", "Input", (*size, 3), 0)]
    for layer, out in zip(layers, outputs):
        rows.append((layer.name, type(layer).__name__, tuple(int(d) for d in out.shape[1:]), layer.count_params()))
    return rows


_FORWARD: "weakref.WeakKeyDictionary[keras.Model, Any]" = weakref.WeakKeyDictionary()


def _forward(network: keras.Model):
    """The network's inference pass, traced once per network as a ``tf.function`` (any size)."""
    if network not in _FORWARD:
        def forward(x: tf.Tensor) -> tf.Tensor:
            return network(x, training=False)

        _FORWARD[network] = tf.function(forward, input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32)])
    return _FORWARD[network]


def stylize(network: keras.Model, image: Any, *, max_dim: int | None = None) -> np.ndarray:
    """Apply a trained transformation network to one image: one forward pass.

    Args:
        network: from :func:`nst_utils.train_fast_network` or :func:`nst_utils.load_fast_network`.
        image: anything :func:`nst_utils.as_image` takes (a file path, a Pillow image, an (H, W, 3)
            array of uint8 or floats in [0, 1]), any size.
        max_dim: resize so that the longer side is ``max_dim`` px first (default: keep the size).

    Returns:
        (1, H, W, 3) float32 in [0, 1], the size of the (resized) image. Sides that are not multiples
        of 4 (or shorter than the first conv's padding) are padded by reflection and cropped back.
    """
    x = as_image(image, max_dim, name="image")
    h, w = x.shape[1:3]
    # the reflection paddings need sides longer than their padding; the two stride-2 convs need multiples of 4
    least = 1 + max([layer.padding for layer in network.layers if isinstance(layer, ReflectionPadding2D)] + [0])
    ph, pw = (max(-n % 4, -(-least // 4) * 4 - n) for n in (h, w))
    if ph or pw:
        mode = "reflect" if h > 1 and w > 1 else "edge"
        x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode=mode)
    y = _forward(network)(tf.constant(x)).numpy()
    return np.clip(y[:, :h, :w, :], 0.0, 1.0)
