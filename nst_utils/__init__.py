"""nst_utils: the small library behind the neural style transfer lessons.

One module per concept:

==================  =====================================================================
``images``          files, Pillow images, arrays <-> float32 (1, H, W, 3) in [0, 1]
``samples``         the sample catalog (downloaded once, checked by sha256)
``layers``          VGG's layer structure and Gatys et al.'s layers (pure Python)
``weights``         the real ImageNet VGG19 weights, offline-friendly
``models``          VGG19 / VGG16 as Keras models (max or average pooling, precision)
``features``        preprocessing and the "mini model" (activations at chosen layers)
``costs``           the formulas: J_content, Gram matrix, J_style, J, J_TV (lesson 05)
``statistics``      what "style" is measured by (the Gram matrix and its rivals)
``loss``            the loss of a transfer, built once from its targets, with its weighting
``settings``        the settings of a transfer and the library's DEFAULTS
``starts``          start images: white noise, blends
``loop``            the optimisation loop, once: the gradient step and its Monitor
``optimizers``      Adam and L-BFGS on the image's parameters (pixels or Fourier)
``transfer``        synthesize() and style_transfer()
``pyramid``         coarse to fine: a large transfer as levels from 256 px up (coarse_to_fine())
``metrics``         PSNR, SSIM, relative errors, the style yardstick remaining_style()
``claims``          what a lesson says it measured: say() from the variables, check_*() that can fail
``colour``          colour preservation (luminance-only, histogram matching) and luminance matching
``precision``, ``quick``, ``outputs``, ``cache``, ``config``: the machine, quick mode, folders,
the environment variables
==================  =====================================================================

``import nst_utils as nu`` imports TensorFlow once, without its start-up chatter (``nst_utils._tf``),
so import it before TensorFlow in a notebook. Every name below is ``nu.<name>``.
"""

from __future__ import annotations

from nst_utils._tf import tf  # noqa: F401  (first: TensorFlow without its start-up chatter)

from nst_utils import colour
from nst_utils.config import environment
from nst_utils.costs import (content_cost, gram_matrix, layer_style_cost, normalized_gram, style_cost,
                             style_cost_from_grams, total_cost, total_variation_cost, unroll)
from nst_utils.features import VGG_MEAN_BGR, FeatureExtractor, feature_extractor, vgg_deprocess, vgg_preprocess
from nst_utils.images import ImageError, as_image, load_image, resize_image, save_image, show_images, to_uint8
from nst_utils.layers import (FILTERS, GATYS_CONTENT_LAYER, GATYS_STYLE_LAYERS, VGG16_BLOCKS, VGG19_BLOCKS,
                              block_of, channels_of, conv_layers, keras_layers, keras_name, min_input_size,
                              short_name)
from nst_utils.loss import LossValues, StyleTransferLoss
from nst_utils.metrics import psnr, relative_change, relative_error, remaining_style, ssim
from nst_utils.models import build_vgg, cached_vgg19, describe_vgg, layer_names, load_vgg16, load_vgg19, model_precision
from nst_utils.outputs import output_dir, project_root
from nst_utils.precision import resolve_precision
from nst_utils.quick import is_quick, pick
from nst_utils.samples import SAMPLES, SampleError, catalog_markdown, load_sample, sample_path
from nst_utils.settings import DEFAULTS, Settings, style_layer_weights
from nst_utils.starts import start_image, white_noise
from nst_utils.statistics import STATISTICS, GramStatistic, StyleStatistic, style_statistic
from nst_utils.transfer import TransferResult, style_transfer, synthesize
from nst_utils.pyramid import LevelPlan, coarse_to_fine, level_plan, level_sizes, level_steps
from nst_utils.weights import WeightsUnavailableError
from nst_utils.visualise import COLOUR_SQRT, FourierImage, Objective, PixelImage, Visualisation, decorrelated_to_rgb, deep_dream, image_parameterization, objective, random_transform, rgb_to_decorrelated, visualise  # noqa: E501
from nst_utils.fast import (ALL_TRAINING_PHOTOS, EXTRA_PHOTOS, FAST_RECIPES, HELD_OUT_PHOTOS, NETWORKS_DIR, TRAINING_PHOTOS, CropSampler, FastRecipe, FastTraining, InstanceNormalization, ReflectionPadding2D, border_frame, compact_checkpoint, fast_recipe, frame_excess, held_out_scores, PerceptualLoss, fast_styles, load_fast_network, load_photo, machine_description, network_table, save_fast_network, stylize, time_stylize, train_fast_network, transformation_network)  # noqa: E501
from nst_utils.statistics import HistogramStatistic, MeanStdStatistic, SlicedWassersteinStatistic, quantiles, squared_mmd
from nst_utils.claims import (check, check_at_least, check_at_most, check_between, check_greater, check_less,
                              check_order, check_ratio, check_tie, compare, phrase, say)

__version__ = "0.2.0"

import types as _types

__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and name not in ("annotations", "tf")
                 and not isinstance(value, _types.ModuleType))
