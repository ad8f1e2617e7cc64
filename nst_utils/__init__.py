"""nst_utils: the small library behind the neural style transfer lessons.

Modules, one concept each: :mod:`~nst_utils.images` (files <-> arrays), :mod:`~nst_utils.samples`
(the sample catalog), :mod:`~nst_utils.weights` and :mod:`~nst_utils.models` (VGG19/VGG16 with real
ImageNet weights), :mod:`~nst_utils.features` (preprocessing and the "mini model"),
:mod:`~nst_utils.costs` (the formulas), :mod:`~nst_utils.transfer` (the optimization),
:mod:`~nst_utils.metrics` (PSNR, SSIM, relative error), :mod:`~nst_utils.precision` and
:mod:`~nst_utils.quick` (``NST_QUICK=1``).
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst_utils.costs import (content_cost, gram_matrix, layer_style_cost, style_cost,  # noqa: E402
                             total_cost, total_variation_cost, unroll)
from nst_utils.features import feature_extractor, vgg_deprocess, vgg_preprocess  # noqa: E402
from nst_utils.images import ImageError, load_image, resize_image, save_image, show_images  # noqa: E402
from nst_utils.metrics import psnr, relative_error, ssim  # noqa: E402
from nst_utils.models import keras_name, load_vgg16, load_vgg19, short_name  # noqa: E402
from nst_utils.outputs import output_dir  # noqa: E402
from nst_utils.quick import is_quick, pick  # noqa: E402
from nst_utils.samples import SAMPLES, load_sample  # noqa: E402
from nst_utils.transfer import TransferResult, style_transfer, synthesize  # noqa: E402

__version__ = "0.1.0"
