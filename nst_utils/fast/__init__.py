"""Fast style transfer (lesson 09): train a network once per style, then stylise in one forward pass.

Johnson, Alahi and Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution"
(ECCV 2016), with Ulyanov, Vedaldi and Lempitsky's instance normalisation (2016):

==============  ========================================================================
``recipe``      :class:`FastRecipe`: the network's shape and the training (Johnson et al.'s, width 8)
``network``     the image transformation network, instance normalisation, :func:`stylize`
``data``        the training photos (no downloads) and their random crops, flips and scales
``training``    the perceptual loss (StyleTransferLoss of a batch), the training loop with checkpoints
``files``       trained networks and checkpoints as ``.keras`` files, the committed networks
``speed``       milliseconds per image, and the machine they were measured on
``quality``     held-out photos: remaining style, luminance SSIM, the frame (:func:`frame_excess`)
==============  ========================================================================

    >>> net = nu.load_fast_network("starry_night")        # a committed network   # doctest: +SKIP
    >>> x = nu.stylize(net, nu.load_sample("chelsea", 512))   # one forward pass   # doctest: +SKIP

A committed network is reproduced by ``nu.train_fast_network(style, recipe)`` with the recipe it records
(``nu.FastRecipe.from_dict(network.nst_info["recipe"])``; the first width-8 network: ``"width8"``,
the default), then ``nu.save_fast_network(result.network, "nst_utils/networks/<style>.keras")``.
``tools/train_fast.py`` trains one for hours in the background, resumable.
"""

from __future__ import annotations

from nst_utils.fast.data import (ALL_TRAINING_PHOTOS, EXTRA_PHOTOS, HELD_OUT_PHOTOS, TRAINING_PHOTOS, CropSampler,
                                 load_photo)
from nst_utils.fast.recipe import FAST_RECIPES, FastRecipe, fast_recipe
from nst_utils.fast.network import (InstanceNormalization, ReflectionPadding2D, network_table, stylize,
                                    transformation_network)
from nst_utils.fast.speed import machine_description, time_stylize
from nst_utils.fast.files import NETWORKS_DIR, compact_checkpoint, fast_styles, load_fast_network, save_fast_network
from nst_utils.fast.training import FastTraining, PerceptualLoss, train_fast_network
from nst_utils.fast.quality import border_frame, frame_excess, held_out_scores

__all__ = ["ALL_TRAINING_PHOTOS", "EXTRA_PHOTOS", "HELD_OUT_PHOTOS", "TRAINING_PHOTOS", "CropSampler", "load_photo",
           "FAST_RECIPES", "FastRecipe", "fast_recipe", "border_frame", "frame_excess", "held_out_scores", "ReflectionPadding2D", "compact_checkpoint",
           "InstanceNormalization", "network_table", "stylize", "transformation_network", "machine_description",
           "time_stylize", "NETWORKS_DIR",
           "FastTraining", "PerceptualLoss", "fast_styles", "load_fast_network", "save_fast_network",
           "train_fast_network"]
