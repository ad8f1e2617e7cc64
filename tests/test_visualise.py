"""Image parameterizations (pixels, decorrelated colour + Fourier), the robustness transforms, feature
visualisation and deep dream with the real VGG19 at tiny sizes, and the "fourier" setting of a transfer."""

from __future__ import annotations

import numpy as np
import pytest

import nst_utils as nu
from nst_utils import tf


def _images(shape, seed=0, low=0.02, high=0.98):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)


# --- the parameterizations ------------------------------------------------------------------------------

def test_colour_decorrelation_is_invertible():
    rgb = _images((2, 9, 7, 3), low=0.0, high=1.0)
    d = nu.rgb_to_decorrelated(rgb)
    np.testing.assert_allclose(nu.decorrelated_to_rgb(d).numpy(), rgb, atol=1e-5)
    np.testing.assert_allclose(nu.rgb_to_decorrelated(nu.decorrelated_to_rgb(rgb)).numpy(), rgb, atol=1e-5)
    assert abs(np.linalg.det(nu.COLOUR_SQRT)) > 1e-2
    # column 0 is the luminance direction: the same sign and about the same size for R, G and B
    lum = nu.COLOUR_SQRT[:, 0]
    assert np.all(lum > 0) and lum.max() / lum.min() < 1.1
    # a grey image has (almost) nothing in the two opponent-colour channels
    grey = nu.rgb_to_decorrelated(np.full((1, 2, 2, 3), 0.5, np.float32)).numpy()
    assert np.abs(grey[..., 1:]).max() < 0.1 * np.abs(grey[..., 0]).max()


@pytest.mark.parametrize("shape", [(1, 16, 16, 3), (2, 15, 21, 3), (1, 8, 5, 3)])
@pytest.mark.parametrize("decorrelate", [True, False])
def test_fourier_parameterization_round_trips(shape, decorrelate):
    param = nu.FourierImage(shape, decorrelate=decorrelate)
    image = _images(shape)
    params = param.to_params(image)
    assert params.shape == param.params_shape == (2, shape[0], 3, shape[1], shape[2] // 2 + 1)
    back = param.image_from(params).numpy()
    assert back.shape == shape and back.dtype == np.float32
    np.testing.assert_allclose(back, image, atol=1e-5)


def test_fourier_image_stays_in_range_and_clips_only_the_extremes():
    param = nu.FourierImage((1, 12, 12, 3))
    assert np.allclose(param.image_from(np.zeros(param.params_shape, np.float32)).numpy(), 0.5)
    wild = param.image_from(np.random.default_rng(1).normal(0, 100, param.params_shape).astype(np.float32))
    assert 0.0 <= float(tf.reduce_min(wild)) and float(tf.reduce_max(wild)) <= 1.0
    image = _images((1, 12, 12, 3))
    image[0, 0, 0] = [0.0, 1.0, 0.5]
    back = param.image_from(param.to_params(image)).numpy()
    np.testing.assert_allclose(back[0, 0, 0], [param.eps, 1 - param.eps, 0.5], atol=1e-5)
    np.testing.assert_allclose(back[0, 1:], image[0, 1:], atol=1e-5)


def test_fourier_weights_favour_low_frequencies():
    param = nu.FourierImage((1, 32, 32, 3), decorrelate=False)
    base = np.zeros(param.params_shape, np.float32)

    def change(row, col):
        p = base.copy()
        p[0, 0, 0, row, col] = 0.01
        return float(np.abs(param.image_from(p).numpy() - 0.5).max())

    assert change(0, 1) > 5 * change(16, 16)      # lowest vs highest frequency: 1/f
    flat = nu.FourierImage((1, 32, 32, 3), decorrelate=False, decay_power=0.0)   # no 1/f: all alike
    low, high = base.copy(), base.copy()
    low[0, 0, 0, 0, 1] = high[0, 0, 0, 9, 12] = 0.01
    assert np.isclose(np.abs(flat.image_from(low).numpy() - 0.5).max(),
                      np.abs(flat.image_from(high).numpy() - 0.5).max(), rtol=0.05)


def test_pixel_parameterization_is_the_identity_and_clips():
    shape = (1, 6, 5, 3)
    param = nu.PixelImage(shape)
    image = _images(shape)
    np.testing.assert_array_equal(param.image_from(param.to_params(image)).numpy(), image)
    v = tf.Variable(image * 3 - 1)
    param.project(v)
    assert float(tf.reduce_min(v)) == 0.0 and float(tf.reduce_max(v)) == 1.0


def test_parameterization_arguments_are_checked():
    assert isinstance(nu.image_parameterization("pixels", (1, 4, 4, 3)), nu.PixelImage)
    assert isinstance(nu.image_parameterization("fourier", (1, 4, 4, 3), decorrelate=False), nu.FourierImage)
    with pytest.raises(ValueError, match="use one of"):
        nu.image_parameterization("wavelets", (1, 4, 4, 3))
    with pytest.raises(TypeError, match="no options"):
        nu.image_parameterization("pixels", (1, 4, 4, 3), decorrelate=True)
    with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
        nu.FourierImage((4, 4, 3))
    with pytest.raises(ValueError, match="this parameterization is for"):
        nu.FourierImage((1, 4, 4, 3)).to_params(np.zeros((1, 5, 4, 3)))


# --- the transforms --------------------------------------------------------------------------------------

def test_transforms_are_deterministic_for_a_seed_and_keep_the_shape():
    x = tf.constant(_images((2, 24, 30, 3)))
    a = nu.random_transform(x, seed=3, step=5).numpy()
    assert a.shape == x.shape
    np.testing.assert_array_equal(a, nu.random_transform(x, seed=3, step=5).numpy())
    assert not np.array_equal(a, nu.random_transform(x, seed=3, step=6).numpy())
    assert not np.array_equal(a, nu.random_transform(x, seed=4, step=5).numpy())
    assert not np.array_equal(a[0], a[1])                    # each image its own transform
    assert 0.0 <= a.min() and a.max() <= 1.0
    same = nu.random_transform(x, 0, 0, jitter=0, scale=(1.0, 1.0), degrees=0).numpy()
    np.testing.assert_allclose(same, x.numpy(), atol=1e-6)


def test_transforms_move_zoom_and_are_differentiable():
    dot = np.zeros((1, 21, 21, 3), np.float32)
    dot[0, 10, 10] = 1.0
    moved = nu.random_transform(dot, 0, 2, jitter=5, scale=(1.0, 1.0), degrees=0)[0, ..., 0].numpy()
    assert np.unravel_index(moved.argmax(), moved.shape) != (10, 10)
    zoomed = nu.random_transform(dot, 0, 2, jitter=0, scale=(2.0, 2.0), degrees=0)[0, ..., 0].numpy()
    assert (zoomed > 0.1).sum() > 4 and zoomed[10, 10] > 0.5    # the dot grew about the centre
    x = tf.constant(_images((1, 16, 16, 3)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(nu.random_transform(x, 1, 1) ** 2)
    g = tape.gradient(y, x)
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


# --- objectives ------------------------------------------------------------------------------------------

def test_objectives_channel_layer_and_mix():
    a = np.zeros((2, 2, 2, 64), np.float32)
    a[0, :, :, 3] = 2.0
    a[1, 0, 0, 3] = 4.0
    acts = {"conv1_1": tf.constant(a)}
    np.testing.assert_allclose(nu.objective("conv1_1", 3)(acts).numpy(), [2.0, 1.0])
    np.testing.assert_allclose(nu.objective("conv1_1")(acts).numpy(), [4 * 4 / 256, 16 / 256])
    mix = nu.objective("conv1_1", 3) + 0.5 * nu.objective("conv1_1")
    np.testing.assert_allclose(mix(acts).numpy(), [2.0 + 0.5 * 16 / 256, 1.0 + 0.5 * 16 / 256])
    assert str(mix) == "conv1_1 channel 3 + 0.5 * conv1_1 (mean a^2)" and mix.layers == ["conv1_1"]
    assert nu.objective("block4_conv1", 511).terms == (("block4_conv1", 511, 1.0),)


@pytest.mark.parametrize("layer, channel, message", [
    ("conv6_1", None, "unknown layer 'conv6_1'"),
    ("fc7", 0, "unknown layer"),
    ("conv4_1", 512, r"out of range: conv4_1 has 512 channels, numbered 0 \.\.\. 511"),
    ("conv1_1", -1, "out of range: conv1_1 has 64 channels"),
    ("conv1_1", 2.5, "out of range"),
    ("conv1_1", True, "out of range"),
])
def test_bad_objectives_are_refused_clearly(layer, channel, message):
    with pytest.raises(ValueError, match=message):
        nu.objective(layer, channel)


def test_bad_arguments_of_visualise_and_deep_dream(vgg19):
    with pytest.raises(ValueError, match="objective"):
        nu.visualise([], model=vgg19, progress=False)
    with pytest.raises(ValueError, match="steps"):
        nu.visualise(nu.objective("conv1_1", 0), steps=0, model=vgg19, progress=False)
    with pytest.raises(ValueError, match="too small for layer 'conv5_1'"):
        nu.visualise(nu.objective("conv5_1", 0), size=8, steps=1, model=vgg19, progress=False)
    with pytest.raises(ValueError, match="use one of"):
        nu.visualise(nu.objective("conv1_1", 0), parameterization="wavelets", model=vgg19, progress=False)
    photo = _images((1, 24, 24, 3))
    with pytest.raises(ValueError, match="smallest octave"):
        nu.deep_dream(photo, "conv5_1", octaves=4, octave_scale=1.5, model=vgg19, progress=False)
    with pytest.raises(ValueError, match="octaves"):
        nu.deep_dream(photo, "conv1_1", octaves=0, model=vgg19, progress=False)
    with pytest.raises(ValueError, match="unknown layer"):
        nu.deep_dream(photo, "conv9_9", model=vgg19, progress=False)


# --- the ascent on the real VGG19 ------------------------------------------------------------------------

def _channel(vgg19, image, layer, c):
    return nu.feature_extractor(vgg19, [layer])(image)[layer][..., c].numpy().mean(axis=(1, 2))


@pytest.mark.parametrize("parameterization", ["pixels", "fourier"])
def test_the_ascent_raises_its_objective(vgg19, parameterization):
    obj = nu.objective("conv3_1", 17)
    r = nu.visualise(obj, size=32, steps=12, parameterization=parameterization, model=vgg19, progress=False)
    assert r.image.shape == (1, 32, 32, 3) and 0.0 <= r.image.min() and r.image.max() <= 1.0
    assert r.history.shape == (12, 1) and r.history[-1, 0] > 3 * r.history[0, 0]
    start = np.clip(0.5 + np.random.default_rng(0).normal(0, 0.01, (1, 32, 32, 3)), 0, 1)   # its start
    assert _channel(vgg19, r.image, "conv3_1", 17)[0] > 3 * _channel(vgg19, start, "conv3_1", 17)[0]
    assert "1 image(s) 32x32 px, 12 steps" in repr(r)


def test_the_ascent_is_deterministic_for_a_seed(vgg19):
    kw = dict(size=24, steps=3, model=vgg19, progress=False)
    a = nu.visualise(nu.objective("conv2_1", 5), seed=1, **kw)
    b = nu.visualise(nu.objective("conv2_1", 5), seed=1, **kw)
    np.testing.assert_array_equal(a.image, b.image)
    c = nu.visualise(nu.objective("conv2_1", 5), seed=2, **kw)
    assert not np.array_equal(a.image, c.image)


def test_a_batch_gives_each_objective_its_own_image(vgg19):
    objs = [nu.objective("conv2_1", 5), nu.objective("conv2_1", 40)]
    r = nu.visualise(objs, size=32, steps=15, model=vgg19, progress=False)
    assert r.image.shape == (2, 32, 32, 3) and r.history.shape == (15, 2)
    on_5, on_40 = _channel(vgg19, r.image, "conv2_1", 5), _channel(vgg19, r.image, "conv2_1", 40)
    assert on_5[0] > on_5[1] and on_40[1] > on_40[0]


def test_a_mix_and_a_layer_objective_and_a_photo_start(vgg19, small_pair):
    photo = small_pair[0]
    mix = nu.objective("conv2_1", 5) + nu.objective("conv3_1")
    r = nu.visualise(mix, start=photo, steps=6, parameterization="pixels", transforms=False,
                     model=vgg19, progress=False)
    assert r.image.shape == photo.shape and not np.array_equal(r.image, photo)
    extract = nu.feature_extractor(vgg19, mix.layers)
    assert float(mix(extract(r.image))[0]) > float(mix(extract(photo))[0])


def test_deep_dream_changes_the_photo_and_raises_the_layer(vgg19, small_pair):
    photo = small_pair[0]                                   # 64 x 48 px
    d = nu.deep_dream(photo, "conv3_1", octaves=2, steps=4, model=vgg19, progress=False)
    assert d.image.shape == photo.shape and 0.0 <= d.image.min() and d.image.max() <= 1.0
    assert d.history.shape == (8, 1)
    assert np.abs(d.image - photo).mean() > 0.01
    layer = nu.objective("conv3_1")
    extract = nu.feature_extractor(vgg19, ["conv3_1"])
    assert float(layer(extract(d.image))[0]) > 1.5 * float(layer(extract(photo))[0])
    again = nu.deep_dream(photo, "conv3_1", octaves=2, steps=4, model=vgg19, progress=False)
    np.testing.assert_array_equal(d.image, again.image)


# --- the "parameterization" setting of a transfer --------------------------------------------------------

def test_the_parameterization_setting():
    assert nu.DEFAULTS.parameterization == "pixels"
    assert nu.DEFAULTS.replace(parameterization="fourier").parameterization == "fourier"
    with pytest.raises(ValueError, match="parameterization='wavelets'"):
        nu.DEFAULTS.replace(parameterization="wavelets")


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_fourier_transfer_lowers_J_and_stays_in_range(small_pair, vgg19, optimizer):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=8, model=vgg19, progress=False, optimizer=optimizer,
                          parameterization="fourier", learning_rate=0.05)
    assert r.settings.parameterization == "fourier" and r.steps == 8
    assert r.image.shape == content.shape and r.image.dtype == np.float32
    assert 0.0 <= r.image.min() and r.image.max() <= 1.0
    assert r.history["J"][-1] < 0.7 * r.history["J"][0]
    seen = []
    nu.style_transfer(content, style, steps=4, model=vgg19, progress=False, parameterization="fourier",
                      callback=lambda step, image, history: seen.append(image.shape), callback_every=2)
    assert seen == [content.shape, content.shape]          # the callback sees images, not spectra


def test_a_fourier_transfer_starts_from_the_photo_and_is_repeatable(small_pair, vgg19):
    content, style = small_pair
    zero = nu.style_transfer(content, style, steps=0, model=vgg19, progress=False, parameterization="fourier")
    eps = nu.FourierImage(content.shape).eps
    np.testing.assert_allclose(zero.image, np.clip(content, eps, 1 - eps), atol=1e-5)
    kw = dict(steps=3, model=vgg19, progress=False, parameterization="fourier", init="noise", seed=5)
    a, b = nu.style_transfer(content, style, **kw), nu.style_transfer(content, style, **kw)
    np.testing.assert_array_equal(a.image, b.image)
    pixels = nu.style_transfer(content, style, **{**kw, "parameterization": "pixels"})
    assert not np.array_equal(a.image, pixels.image)
