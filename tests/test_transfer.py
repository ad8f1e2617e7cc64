"""Short real transfers with the real VGG19, what the API accepts, and every way it refuses bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nst_utils as nu


def test_short_transfer_lowers_the_style_cost(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=15, model=vgg19, progress=False)
    assert r.image.shape == content.shape and r.image.dtype == np.float32
    assert 0.0 <= r.image.min() and r.image.max() <= 1.0
    assert r.steps == 15 and len(r.history["J"]) == 15 and r.stopped is None
    assert r.history["J_style"][-1] < 0.5 * r.history["J_style"][0]
    assert r.history["J"][-1] < r.history["J"][0]


def test_the_result_says_how_it_was_made(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=2, model=vgg19, progress=False)
    assert r.settings.weighting == "balanced" and r.settings.precision == "float32"
    assert r.settings.alpha == nu.DEFAULTS.alpha and r.settings.beta == nu.DEFAULTS.beta
    text = repr(r)
    assert "2 adam steps" in text and "balanced weighting" in text and "float32" in text
    raw = nu.style_transfer(content, style, steps=1, model=vgg19, progress=False, weighting="raw",
                            alpha=10, beta=1e-3)
    assert "raw weighting" in repr(raw)


def test_a_dark_photo_gets_the_painting_at_its_brightness(small_pair, vgg19):
    content, style = small_pair
    dark = content ** 3                      # shadows black, lit facades kept (lesson 07's night photo)
    assert nu.colour.mean_luminance(dark) < nu.DEFAULTS.dark_photo_below < nu.colour.mean_luminance(content)
    kw = dict(steps=2, model=vgg19, progress=False)
    auto = nu.style_transfer(dark, style, **kw)
    assert auto.settings.style_brightness == "photo"
    by_hand = nu.style_transfer(dark, nu.colour.match_luminance(style, dark), style_brightness="painting", **kw)
    np.testing.assert_array_equal(auto.image, by_hand.image)
    painting = nu.style_transfer(dark, style, style_brightness="painting", **kw)
    assert painting.settings.style_brightness == "painting"
    assert not np.array_equal(auto.image, painting.image)
    # a uint8 array of the same photo is decided the same way (the decision follows the loading)
    as_uint8 = nu.style_transfer(np.round(dark[0] * 255).astype(np.uint8), style, **kw)
    assert as_uint8.settings.style_brightness == "photo"
    assert nu.DEFAULTS.brightness_for(np.round(dark[0] * 255).astype(np.uint8)) == "photo"
    # the threshold decides: at 0 no photo is dark
    assert nu.style_transfer(dark, style, dark_photo_below=0.0, **kw).settings.style_brightness == "painting"


def test_a_daylight_photo_keeps_the_painting_as_it_is(small_pair, vgg19):
    content, style = small_pair
    kw = dict(steps=2, model=vgg19, progress=False)
    auto = nu.style_transfer(content, style, **kw)
    assert auto.settings.style_brightness == "painting"
    np.testing.assert_array_equal(auto.image, nu.style_transfer(content, style, style_brightness="painting",
                                                                **kw).image)
    photo = nu.style_transfer(content, style, style_brightness="photo", **kw)
    assert photo.settings.style_brightness == "photo" and not np.array_equal(auto.image, photo.image)


def test_photo_brightness_without_a_photo_is_refused(small_pair, vgg19):
    _, style = small_pair
    with pytest.raises(ValueError, match="style_brightness='photo'.*no"):
        nu.synthesize(style=style, shape=(32, 32), init="noise", steps=1, model=vgg19, progress=False,
                      style_brightness="photo")
    texture = nu.synthesize(style=style, shape=(32, 32), init="noise", steps=1, model=vgg19, progress=False)
    assert texture.settings.style_brightness == "auto"     # no photo: nothing to decide


def test_history_adds_up_to_J(small_pair, vgg19):
    content, style = small_pair
    for weighting in ("balanced", "raw"):
        r = nu.style_transfer(content, style, steps=3, model=vgg19, progress=False, weighting=weighting,
                              alpha=2.0, beta=3.0, tv_weight=5.0)
        h = {k: np.array(v) for k, v in r.history.items()}
        np.testing.assert_allclose(h["J"], 2 * h["J_content"] + 3 * h["J_style"] + 5 * h["J_tv"], rtol=1e-5)


def test_same_seed_same_result(small_pair, vgg19):
    content, style = small_pair
    kw = dict(steps=3, model=vgg19, progress=False, init="noise", seed=7)
    a = nu.style_transfer(content, style, **kw)
    b = nu.style_transfer(content, style, **kw)
    np.testing.assert_array_equal(a.image, b.image)
    c = nu.style_transfer(content, style, **{**kw, "seed": 8})
    assert not np.array_equal(a.image, c.image)


def test_callback_can_stop_and_the_image_is_kept(small_pair, vgg19):
    content, style = small_pair
    seen = []

    def cb(step, image, history):
        seen.append(step)
        return step >= 4

    r = nu.style_transfer(content, style, steps=50, model=vgg19, progress=False,
                          callback=cb, callback_every=2)
    assert seen == [2, 4] and r.steps == 4 and r.stopped == "callback"
    assert not np.array_equal(r.image, content)


def test_ctrl_c_returns_the_image_so_far(small_pair, vgg19):
    content, style = small_pair

    def cb(step, image, history):
        if step == 3:
            raise KeyboardInterrupt

    r = nu.style_transfer(content, style, steps=50, model=vgg19, progress=False,
                          callback=cb, callback_every=1)
    assert r.stopped == "interrupted" and r.steps == 3 and r.image.shape == content.shape


def test_content_only_reconstruction_from_noise(small_pair, vgg19):
    content, _ = small_pair
    r = nu.synthesize(content=content, content_layer="conv2_2", init="noise", steps=20,
                      learning_rate=0.05, model=vgg19, progress=False)
    assert r.history["J_style"] == [0.0] * 20
    assert r.history["J_content"][-1] < 0.2 * r.history["J_content"][0]


def test_texture_synthesis_needs_a_shape(small_pair, vgg19):
    _, style = small_pair
    with pytest.raises(ValueError, match="shape"):
        nu.synthesize(style=style, model=vgg19, init="noise")
    r = nu.synthesize(style=style, shape=(32, 40), init="noise", beta=1.0, steps=3, model=vgg19,
                      progress=False)
    assert r.image.shape == (1, 32, 40, 3)


def test_start_image_and_noise_ratio(small_pair, vgg19):
    content, style = small_pair
    grey = np.full(content.shape, 0.5, np.float32)
    r = nu.style_transfer(content, style, steps=0, start=grey, model=vgg19, progress=False)
    np.testing.assert_array_equal(r.image, grey)
    assert r.settings.init == "image"
    blend = nu.style_transfer(content, style, steps=0, noise_ratio=0.25, seed=3, model=vgg19, progress=False)
    np.testing.assert_allclose(blend.image, 0.75 * content + 0.25 * nu.white_noise(content.shape, 3), atol=1e-6)


def test_lbfgs_lowers_the_cost(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=5, optimizer="lbfgs", model=vgg19, progress=False)
    assert 1 <= r.steps <= 5 and r.history["J"][-1] < r.history["J"][0]


def test_accepts_paths_pil_images_and_uint8_arrays(tmp_path, vgg19):
    content_path = nu.sample_path("tubingen")
    style_path = Path(tmp_path) / "style.png"
    Image.fromarray(nu.to_uint8(nu.load_sample("starry_night", 80))).save(style_path)
    from_paths = nu.style_transfer(str(content_path), style_path, size=48, steps=1, model=vgg19, progress=False)
    assert from_paths.image.shape == (1, 36, 48, 3)
    pil = Image.open(content_path)
    uint8 = np.asarray(Image.open(style_path))  # (H, W, 3) uint8
    mixed = nu.style_transfer(pil, uint8, size=48, steps=1, model=vgg19, progress=False)
    # the same pictures (a JPEG file is decoded at reduced scale before resizing, a Pillow image is not)
    assert mixed.image.shape == from_paths.image.shape
    assert np.mean(np.abs(mixed.image - from_paths.image)) < 0.02
    as_floats = nu.style_transfer(nu.load_sample("tubingen", 48)[0], uint8 / 255.0, steps=1, model=vgg19,
                                  progress=False)
    assert as_floats.image.shape == (1, 36, 48, 3)


def test_style_layers_as_a_list_mean_equal_weights(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=1, model=vgg19, progress=False,
                          style_layers=["conv1_1", "conv3_1"])
    assert dict(r.settings.style_layers) == {"conv1_1": 0.5, "conv3_1": 0.5}


def test_too_small_for_the_layers(vgg19):
    tiny = np.full((1, 10, 10, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="at least 16 px"):
        nu.style_transfer(tiny, tiny, model=vgg19, steps=1)


def test_unknown_layers_are_listed(small_pair, vgg19):
    content, style = small_pair
    with pytest.raises(ValueError, match="not a VGG layer name"):
        nu.style_transfer(content, style, model=vgg19, steps=1, content_layer="conv9_9")
    with pytest.raises(ValueError, match="not VGG layer names"):
        nu.style_transfer(content, style, model=vgg19, steps=1, style_layers={"relu1_1": 1.0})
    with pytest.raises(ValueError, match="valid names"):  # a layer VGG16 does not have
        nu.synthesize(content, model=nu.build_vgg(nu.VGG16_BLOCKS, name="vgg16"), content_layer="conv3_4",
                      steps=1)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(steps=-1), ValueError, "steps"),
        (dict(steps=2.5), ValueError, "steps"),
        (dict(learning_rate=0), ValueError, "learning_rate"),
        (dict(beta=-1), ValueError, "beta"),
        (dict(init="zeros"), ValueError, "init"),
        (dict(optimizer="sgd"), ValueError, "optimizer"),
        (dict(weighting="equal"), ValueError, "weighting"),
        (dict(style_layers="conv1_1"), ValueError, "list of layer names"),
        (dict(style_layers=[]), ValueError, "empty"),
        (dict(start=np.zeros((1, 5, 5, 3), np.float32)), ValueError, "start image"),
        (dict(init="image"), ValueError, "start image"),
        (dict(stepz=3), TypeError, "unknown setting"),
        (dict(callback_every=0), ValueError, "callback_every"),
    ],
)
def test_bad_arguments(small_pair, vgg19, kwargs, error, match):
    content, style = small_pair
    with pytest.raises(error, match=match):
        nu.style_transfer(content, style, model=vgg19, progress=False, **{"steps": 1, **kwargs})


def test_bad_images(vgg19, tmp_path):
    ok = np.full((1, 32, 32, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\)"):
        nu.style_transfer(np.zeros((2, 32, 32, 3), np.float32), ok, model=vgg19)
    with pytest.raises(ValueError, match=r"content .*\[0, 1\], or uint8"):
        nu.style_transfer(ok * 255, ok, model=vgg19)
    with pytest.raises(ValueError, match="style .*NaN"):
        nu.style_transfer(ok, ok * np.nan, model=vgg19)
    with pytest.raises(ValueError, match="both"):
        nu.style_transfer(ok, None, model=vgg19)
    with pytest.raises(nu.ImageError, match="no such file"):
        nu.style_transfer(tmp_path / "missing.jpg", ok, model=vgg19)
    with pytest.raises(ValueError, match="not an image"):
        nu.style_transfer(object(), ok, model=vgg19)


def test_mixed_precision_features_are_float32():
    model = nu.load_vgg19(precision="mixed_bfloat16", verbose=False)
    f = nu.feature_extractor(model, ["conv1_1"])(np.full((1, 16, 16, 3), 0.5, np.float32))
    assert f["conv1_1"].dtype == "float32"
