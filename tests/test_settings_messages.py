"""Settings tell the truth: bad values are refused when set, and every message quotes the real default."""

from __future__ import annotations

import dataclasses
import re

import pytest

import nst_utils as nu

#: One bad value per setting that has a check; each message must name the setting and its real default.
BAD_VALUES = {
    "steps": -1,
    "learning_rate": 0,
    "alpha": -1.0,
    "beta": "ten",
    "tv_weight": -0.5,
    "noise_ratio": 1.5,
    "content_layer": "conv9_9",
    "weighting": "relative",
    "style_statistic": "nonsense",
    "init": "zeros",
    "optimizer": "sgd",
    "pooling": "min",
    "parameterization": "wavelets",
    "pyramid_above": 0,
    "pyramid_base": 8,
    "pyramid_factor": 1.0,
    "pyramid_step_ratio": 0.0,
    "pyramid_style_scale": "picture",
    "style_brightness": "moon",
    "dark_photo_below": 1.5,
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_each_message_names_the_setting_and_quotes_the_true_default(name):
    with pytest.raises(ValueError) as info:
        nu.DEFAULTS.replace(**{name: BAD_VALUES[name]})
    message = str(info.value)
    assert name in message
    quoted = re.search(r"the default is (.+?)\)", message)
    assert quoted, f"the message for {name} quotes no default: {message}"
    assert quoted.group(1) == repr(getattr(nu.DEFAULTS, name)), message


def test_every_checked_setting_is_covered():
    """A new setting with a check must be added above (so its message is tested too)."""
    unchecked = {"style_layers", "seed", "precision"}  # checked elsewhere (layers) or free-form
    names = {f.name for f in dataclasses.fields(nu.Settings)}
    assert names - unchecked == set(BAD_VALUES)


def test_a_bad_style_statistic_is_refused_when_set_not_when_used():
    with pytest.raises(ValueError, match="style_statistic='nonsense'.*gram"):
        nu.Settings(style_statistic="nonsense")
    with pytest.raises(ValueError, match="target"):
        nu.DEFAULTS.replace(style_statistic=object())
    assert nu.DEFAULTS.replace(style_statistic="mean_std").style_statistic == "mean_std"
    assert nu.DEFAULTS.replace(style_statistic=nu.GramStatistic()).style_statistic is not None


def test_numbers_from_numpy_are_accepted_and_bools_are_not():
    np = pytest.importorskip("numpy")
    assert nu.DEFAULTS.replace(beta=np.float32(3.0)).beta == 3.0
    with pytest.raises(ValueError, match="alpha=True"):
        nu.DEFAULTS.replace(alpha=True)


def test_describe_vgg_reads_the_model_back():
    model = nu.load_vgg19(weights=None, pooling="avg", precision="float32", verbose=False)
    line = nu.describe_vgg(model)
    assert line == "VGG19: RANDOM weights (shape tests only); average pooling; computing in float32"


def test_describe_vgg_of_a_network_from_elsewhere_says_so():
    vgg = nu.load_vgg19(weights=None, verbose=False)
    del vgg._nst_weights
    assert nu.describe_vgg(vgg).startswith("VGG19: weights not recorded; max pooling")
