"""VGG19 and VGG16 without their classifiers, with real ImageNet weights, max or average pooling.

The network takes Keras/Caffe input: BGR, ImageNet mean subtracted, values 0-255 (see
:func:`nst_utils.features.vgg_preprocess`). The layer structure is in :mod:`nst_utils.layers`.

``weights``:

* ``"imagenet"`` (default): the real weights, offline-friendly (:mod:`nst_utils.weights`); each conv
  kernel is quantised to 256 levels per layer (the file the Python package index ships). VGG19 only.
* ``"keras"``: Keras's own full-precision download (needs internet once; VGG19 and VGG16).
* ``None``: random weights, for shape tests only: never for results.
"""

from __future__ import annotations

import functools
from typing import Literal

from nst_utils._tf import tf  # noqa: F401  (first: imports TensorFlow quietly)

import keras

from nst_utils.layers import FILTERS, VGG16_BLOCKS, VGG19_BLOCKS, keras_layers
from nst_utils.precision import resolve_precision
from nst_utils.weights import WeightsUnavailableError, load_vgg19_arrays

Pooling = Literal["max", "avg"]


def layer_names(model: keras.Model) -> list[str]:
    """Keras names of a VGG model's conv and pool layers, in order."""
    valid = set(keras_layers(VGG19_BLOCKS))
    return [layer.name for layer in model.layers if layer.name in valid]


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
            f"weights='keras' needs Keras's download of {app_cls.__name__}'s ImageNet weights, which "
            f"failed here ({type(exc).__name__}). Connect to the internet once (Keras caches the file in "
            "~/.keras/models), or for VGG19 use weights='imagenet', which needs only the Python "
            "package index."
        ) from None
    for layer in model.layers:
        if layer.name.startswith("block") and "conv" in layer.name:
            layer.set_weights(ref.get_layer(layer.name).get_weights())


def _check_weights(weights: str | None) -> None:
    if weights not in ("imagenet", "keras", None):
        raise ValueError(f"weights={weights!r}: use 'imagenet', 'keras' or None (random, for shape tests)")


def model_precision(model: keras.Model) -> str:
    """The precision a VGG model computes in (``"float32"``, ``"mixed_bfloat16"``, ...)."""
    return model.get_layer("block1_conv1").dtype_policy.name


#: What each ``weights=`` choice loads, as :func:`describe_vgg` says it.
_WEIGHTS_TEXT = {"imagenet": "ImageNet weights, each conv kernel quantised to 256 levels",
                 "keras": "Keras's full-precision ImageNet weights",
                 None: "RANDOM weights (shape tests only)"}


def describe_vgg(model: keras.Model) -> str:
    """One line about a VGG model, read back from the model itself: which weights, pooling, precision.

    >>> describe_vgg(load_vgg19(verbose=False))   # doctest: +SKIP
    'VGG19: ImageNet weights, each conv kernel quantised to 256 levels; max pooling; computing in float32'

    A network not built by this library (no record of its weights) says "weights not recorded".
    """
    weights = getattr(model, "_nst_weights", "unknown")
    what = _WEIGHTS_TEXT.get(weights, "weights not recorded")
    pooling = "average" if isinstance(model.get_layer("block1_pool"), keras.layers.AveragePooling2D) else "max"
    return f"{model.name.upper()}: {what}; {pooling} pooling; computing in {model_precision(model)}"


def _say(model: keras.Model, weights: str | None, verbose: bool) -> None:
    model._nst_weights = weights   # what describe_vgg reads back
    if verbose:
        print(describe_vgg(model))


def load_vgg19(
    weights: str | None = "imagenet",
    pooling: Pooling = "max",
    *,
    precision: str | None = None,
    verbose: bool = True,
) -> keras.Model:
    """VGG19's 16 conv and 5 pool layers with ImageNet weights.

    Args:
        weights: ``"imagenet"`` (offline-friendly real weights), ``"keras"`` (Keras's download)
            or ``None`` (random; shape tests only).
        pooling: ``"max"`` as trained, or ``"avg"`` to replace every max-pool by an average pool.
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"auto"``/``None``
            (:func:`nst_utils.precision.resolve_precision`: the fastest this machine supports,
            overridable with ``NST_PRECISION``).
        verbose: print one line saying which weights, pooling and precision the network has.

    Returns:
        A frozen ``keras.Model``: (1, H, W, 3) BGR mean-subtracted 0-255 -> (1, H/32, W/32, 512).
    """
    _check_weights(weights)
    model = build_vgg(VGG19_BLOCKS, pooling, dtype=resolve_precision(precision), name="vgg19")
    if weights == "imagenet":
        for name, (kernel, bias) in load_vgg19_arrays().items():
            model.get_layer(name).set_weights([kernel, bias])
    elif weights == "keras":
        _copy_from_keras_application(model, keras.applications.VGG19)
    _say(model, weights, verbose)
    return model


def load_vgg16(
    weights: str | None = "keras",
    pooling: Pooling = "max",
    *,
    precision: str | None = None,
    verbose: bool = True,
) -> keras.Model:
    """VGG16's 13 conv and 5 pool layers. Real weights need Keras's download (``weights="keras"``).

    No package on the Python index carries VGG16's ImageNet weights, so ``weights="imagenet"``
    means the same Keras download here; offline it raises :class:`WeightsUnavailableError`
    saying what to do.
    """
    _check_weights(weights)
    model = build_vgg(VGG16_BLOCKS, pooling, dtype=resolve_precision(precision), name="vgg16")
    if weights is not None:
        _copy_from_keras_application(model, keras.applications.VGG16)
        weights = "keras"
    _say(model, weights, verbose)
    return model


@functools.cache
def _cached(pooling: Pooling, precision: str) -> keras.Model:
    return load_vgg19("imagenet", pooling, precision=precision, verbose=False)


def cached_vgg19(pooling: Pooling = "max", precision: str | None = None, *, verbose: bool = True) -> keras.Model:
    """:func:`load_vgg19` with the real weights, built once per (pooling, precision) per process.

    The first call for a (pooling, precision) prints :func:`describe_vgg`'s line unless ``verbose=False``.
    """
    key = (pooling, resolve_precision(precision))
    built = _cached.cache_info().currsize
    model = _cached(*key)
    if verbose and _cached.cache_info().currsize > built:
        print(describe_vgg(model))
    return model
