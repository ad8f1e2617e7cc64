"""nst_utils: the small library behind the neural style transfer lessons.

Modules, one concept each: :mod:`~nst_utils.images` (files <-> arrays), :mod:`~nst_utils.samples`
(the sample catalog), :mod:`~nst_utils.weights` and :mod:`~nst_utils.models` (VGG19/VGG16 with real
ImageNet weights), :mod:`~nst_utils.features` (preprocessing and the "mini model"),
:mod:`~nst_utils.costs` (the formulas), :mod:`~nst_utils.transfer` (the optimization),
:mod:`~nst_utils.metrics` (PSNR, SSIM, relative error), :mod:`~nst_utils.colour` (colour
preservation), :mod:`~nst_utils.precision`,
:mod:`~nst_utils.outputs` and :mod:`~nst_utils.quick` (``NST_QUICK=1``).

The names below are imported lazily, so ``import nst_utils.images`` does not start TensorFlow.
"""

from __future__ import annotations

import importlib
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_EXPORTS = {
    "costs": ["content_cost", "gram_matrix", "layer_style_cost", "style_cost", "total_cost",
              "total_variation_cost", "unroll"],
    "features": ["feature_extractor", "vgg_deprocess", "vgg_preprocess"],
    "images": ["ImageError", "load_image", "resize_image", "save_image", "show_images", "to_uint8"],
    "metrics": ["psnr", "relative_error", "ssim"],
    "models": ["keras_name", "load_vgg16", "load_vgg19", "short_name"],
    "outputs": ["output_dir"],
    "quick": ["is_quick", "pick"],
    "samples": ["SAMPLES", "load_sample"],
    "transfer": ["TransferResult", "style_transfer", "synthesize"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"nst_utils.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nst_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
