"""VGG19/VGG16 structure, pooling, names, feature extraction with the real weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import nst_utils as nu
from nst_utils import models
from nst_utils.weights import WeightsUnavailableError, load_vgg19_arrays


def test_vgg19_has_16_convs_and_5_pools_and_real_weights(vgg19):
    names = models.layer_names(vgg19)
    assert len([n for n in names if "conv" in n]) == 16 and len([n for n in names if "pool" in n]) == 5
    kernel, bias = load_vgg19_arrays()["block3_conv2"]
    got_k, got_b = vgg19.get_layer("block3_conv2").get_weights()
    np.testing.assert_array_equal(got_k, kernel)
    np.testing.assert_array_equal(got_b, bias)


def test_random_weights_output_shape():
    model = nu.load_vgg19(weights=None, precision="float32")
    assert model(np.zeros((1, 64, 96, 3), np.float32)).shape == (1, 2, 3, 512)


def test_avg_pooling_replaces_every_max_pool():
    model = nu.load_vgg19(weights=None, pooling="avg", precision="float32")
    pools = [l for l in model.layers if l.name.endswith("pool")]
    assert len(pools) == 5 and all(isinstance(l, keras.layers.AveragePooling2D) for l in pools)
    with pytest.raises(ValueError, match="pooling"):
        nu.load_vgg19(weights=None, pooling="min")


def test_bad_weights_argument():
    with pytest.raises(ValueError, match="weights"):
        nu.load_vgg19(weights="imagenet21k")


def test_vgg16_structure_and_offline_error(monkeypatch):
    model = nu.load_vgg16(weights=None, precision="float32")
    assert len([l for l in model.layers if "conv" in l.name]) == 13

    def no_internet(*args, **kwargs):
        raise OSError("URL fetch failure: network is unreachable")

    monkeypatch.setattr(keras.applications, "VGG16", no_internet)
    with pytest.raises(WeightsUnavailableError, match="VGG16|no_internet") as info:
        nu.load_vgg16()
    assert "internet" in str(info.value)


def test_layer_name_spellings():
    assert nu.keras_name("conv4_2") == "block4_conv2" and nu.short_name("block4_conv2") == "conv4_2"
    assert nu.keras_name("pool3") == "block3_pool" and nu.short_name("block3_pool") == "pool3"
    assert nu.min_input_size(["conv1_1"]) == 1
    assert nu.min_input_size(["conv5_1", "conv2_1"]) == 16
    assert nu.min_input_size(["block5_pool"]) == 32


def test_layer_structure_is_written_once():
    assert len(nu.conv_layers()) == 16 and len(nu.conv_layers(nu.VGG16_BLOCKS)) == 13
    assert nu.conv_layers()[:3] == ["conv1_1", "conv1_2", "conv2_1"] and nu.conv_layers()[-1] == "conv5_4"
    assert len(nu.keras_layers()) == 21 and nu.keras_layers()[2] == "block1_pool"
    assert nu.GATYS_STYLE_LAYERS == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    assert nu.GATYS_CONTENT_LAYER == "conv4_2"
    assert [nu.channels_of(n) for n in nu.GATYS_STYLE_LAYERS] == [64, 128, 256, 512, 512]
    assert nu.block_of("block3_conv4") == 3
    with pytest.raises(ValueError, match="not a VGG conv or pool layer"):
        nu.block_of("relu1_1")


def test_the_network_says_what_it_is(capsys):
    nu.load_vgg19(weights=None, precision="float32")
    line = capsys.readouterr().out.strip()
    assert line == "VGG19: RANDOM weights (shape tests only); max pooling; computing in float32"
    model = nu.load_vgg19(pooling="avg", precision="float32")
    assert "quantised to 256 levels" in capsys.readouterr().out and nu.model_precision(model) == "float32"


def test_feature_extractor_shapes_and_preprocessing(vgg19):
    ext = nu.feature_extractor(vgg19, ["conv1_1", "block3_conv1", "conv5_1"])
    x = np.random.default_rng(0).uniform(size=(1, 64, 48, 3)).astype(np.float32)
    f = ext(x)
    assert f["conv1_1"].shape == (1, 64, 48, 64)
    assert f["block3_conv1"].shape == (1, 16, 12, 256)
    assert f["conv5_1"].shape == (1, 4, 3, 512)
    assert f["conv5_1"].dtype == "float32"
    # preprocessing happens inside: same as feeding the Keras convention by hand
    by_hand = keras.Model(vgg19.input, vgg19.get_layer("block1_conv1").output)(
        (x[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68], np.float32))
    )
    np.testing.assert_allclose(f["conv1_1"], by_hand, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(nu.vgg_deprocess(nu.vgg_preprocess(x)), x, atol=1e-5)


def test_feature_extractor_cuts_the_network_at_the_deepest_layer(vgg19):
    ext = nu.feature_extractor(vgg19, ["conv2_1"])
    names = [l.name for l in ext.model.layers]
    assert "block2_conv1" in names and "block2_conv2" not in names and "block5_conv4" not in names


def test_unknown_layer_lists_valid_names(vgg19):
    with pytest.raises(ValueError, match="conv4_2") as info:
        nu.feature_extractor(vgg19, ["conv6_1"])
    assert "conv6_1" in str(info.value)


def test_too_small_image_names_the_minimum(vgg19):
    ext = nu.feature_extractor(vgg19, ["conv5_1"])
    with pytest.raises(ValueError, match="at least 16 px"):
        ext.check_size((1, 12, 40, 3))
