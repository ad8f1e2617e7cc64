"""VGG19 and VGG16 without their classifiers, with real ImageNet weights, max or average pooling.

The network takes Keras/Caffe input: BGR, ImageNet mean subtracted, values 0-255 (see
:func:`nst_utils.features.vgg_preprocess`). Layers carry the Keras names (``block4_conv2``); the
lessons also write them the paper's way (``conv4_2``) and both are accepted everywhere.

``weights``:

* ``"imagenet"`` (default): the real weights, offline-friendly (:mod:`nst_utils.weights`). VGG19 only.
* ``"keras"``: Keras's own full-precision download (needs internet once; VGG19 and VGG16).
* ``None``: random weights, for shape tests only: never for results.
"""

from __future__ import annotations

import re
from typing import Literal

from nst_utils._tf import tf  # noqa: F401  (first: imports TensorFlow quietly)

import keras

from nst_utils.precision import resolve_precision
from nst_utils.weights import WeightsUnavailableError, load_vgg19_arrays

Pooling = Literal["max", "avg"]

# convs per block
VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG16_BLOCKS = (2, 2, 3, 3, 3)
FILTERS = (64, 128, 256, 512, 512)

_SHORT = re.compile(r"^conv([1-5])_([1-4])$")
_POOL_SHORT = re.compile(r"^pool([1-5])$")
_LONG = re.compile(r"^block([1-5])_(conv([1-4])|pool)$")


def layer_names(model_or_blocks: keras.Model | tuple[int, ...] = VGG19_BLOCKS) -> list[str]:
    """Keras names of the conv and pool layers, in order (VGG19: 16 conv + 5 pool)."""
    if isinstance(model_or_blocks, keras.Model):
        return [l.name for l in model_or_blocks.layers if _LONG.match(l.name)]
    names = []
    for b, n in enumerate(model_or_blocks, start=1):
        names += [f"block{b}_conv{i}" for i in range(1, n + 1)] + [f"block{b}_pool"]
    return names


def keras_name(name: str) -> str:
    """``'conv4_2' -> 'block4_conv2'``, ``'pool3' -> 'block3_pool'``; Keras names pass through."""
    if m := _SHORT.match(name):
        return f"block{m[1]}_conv{m[2]}"
    if m := _POOL_SHORT.match(name):
        return f"block{m[1]}_pool"
    return name


def short_name(name: str) -> str:
    """``'block4_conv2' -> 'conv4_2'``, ``'block3_pool' -> 'pool3'`` (the paper's names)."""
    if m := _LONG.match(name):
        return f"conv{m[1]}_{m[3]}" if m[3] else f"pool{m[1]}"
    return name


def block_of(name: str) -> int:
    """Block number (1-5) of a conv or pool layer name, either spelling."""
    m = _LONG.match(keras_name(name))
    if not m:
        raise ValueError(f"{name!r} is not a VGG conv or pool layer name")
    return int(m[1])


def min_input_size(names: list[str] | tuple[str, ...]) -> int:
    """Smallest image side (px) for which every named layer's feature map is at least 1x1.

    Each pool halves the map (floor), so a layer in block ``b`` needs ``2**(b-1)`` px and
    ``block b pool`` needs ``2**b``.
    """
    need = 1
    for name in names:
        b = block_of(name)
        need = max(need, 2 ** (b if keras_name(name).endswith("pool") else b - 1))
    return need


def build_vgg(
    blocks: tuple[int, ...] = VGG19_BLOCKS,
    pooling: Pooling = "max",
    *,
    dtype: str = "float32",
    name: str = "vgg19",
) -> keras.Model:
    """The conv part of VGG (no weights loaded): input (1, H, W, 3) BGR-mean-subtracted, any H, W."""
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling={pooling!r}: use 'max' (the trained network) or 'avg' (Gatys et al.)")
    pool_cls = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    inputs = keras.Input(shape=(None, None, 3), name="input")
    x = inputs
    for b, (n, filters) in enumerate(zip(blocks, FILTERS), start=1):
        for i in range(1, n + 1):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                    name=f"block{b}_conv{i}", dtype=dtype)(x)
        x = pool_cls(2, strides=2, name=f"block{b}_pool", dtype=dtype)(x)
    model = keras.Model(inputs, x, name=name)
    model.trainable = False
    return model


def _copy_from_keras_application(model: keras.Model, app_cls) -> None:
    try:
        ref = app_cls(include_top=False, weights="imagenet")
    except Exception as exc:  # network errors come in many types (URLError, HTTPError, OSError...)
        raise WeightsUnavailableError(
            f"weights='keras' needs Keras's download of {app_cls.__name__} ImageNet weights, which "
            f"failed here ({type(exc).__name__}: {exc}). Connect to the internet once (Keras caches "
            "the file in ~/.keras/models), or for VGG19 use weights='imagenet', which needs only "
            "the Python package index."
        ) from None
    for layer in model.layers:
        if layer.name.startswith("block") and "conv" in layer.name:
            layer.set_weights(ref.get_layer(layer.name).get_weights())


def load_vgg19(
    weights: str | None = "imagenet",
    pooling: Pooling = "max",
    *,
    precision: str | None = None,
) -> keras.Model:
    """VGG19's 16 conv and 5 pool layers with ImageNet weights.

    Args:
        weights: ``"imagenet"`` (offline-friendly real weights), ``"keras"`` (Keras's download)
            or ``None`` (random; shape tests only).
        pooling: ``"max"`` as trained, or ``"avg"`` to replace every max-pool by an average pool.
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"auto"``/``None``
            (:func:`nst_utils.precision.resolve_precision`: the fastest this machine supports,
            overridable with ``NST_PRECISION``).

    Returns:
        A frozen ``keras.Model``: (1, H, W, 3) BGR mean-subtracted 0-255 -> (1, H/32, W/32, 512).
    """
    if weights not in ("imagenet", "keras", None):
        raise ValueError(f"weights={weights!r}: use 'imagenet', 'keras' or None")
    model = build_vgg(VGG19_BLOCKS, pooling, dtype=resolve_precision(precision), name="vgg19")
    if weights == "imagenet":
        for name, (kernel, bias) in load_vgg19_arrays().items():
            model.get_layer(name).set_weights([kernel, bias])
    elif weights == "keras":
        _copy_from_keras_application(model, keras.applications.VGG19)
    return model


def load_vgg16(
    weights: str | None = "keras",
    pooling: Pooling = "max",
    *,
    precision: str | None = None,
) -> keras.Model:
    """VGG16's 13 conv and 5 pool layers. Real weights need Keras's download (``weights="keras"``).

    No package on the Python index carries VGG16's ImageNet weights, so ``weights="imagenet"``
    means the same Keras download here; offline it raises :class:`WeightsUnavailableError`
    saying what to do.
    """
    if weights not in ("imagenet", "keras", None):
        raise ValueError(f"weights={weights!r}: use 'keras' (alias 'imagenet') or None")
    model = build_vgg(VGG16_BLOCKS, pooling, dtype=resolve_precision(precision), name="vgg16")
    if weights is not None:
        _copy_from_keras_application(model, keras.applications.VGG16)
    return model


_CACHE: dict[tuple[str, str], keras.Model] = {}


def cached_vgg19(pooling: Pooling = "max", precision: str | None = None) -> keras.Model:
    """:func:`load_vgg19` with the real weights, built once per (pooling, precision) per process."""
    key = (pooling, resolve_precision(precision))
    if key not in _CACHE:
        _CACHE[key] = load_vgg19("imagenet", pooling, precision=key[1])
    return _CACHE[key]
