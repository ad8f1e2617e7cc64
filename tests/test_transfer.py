"""A short real transfer with the real VGG19, and every way the API refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest

import nst_utils as nu


def test_short_transfer_lowers_the_style_cost(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=15, model=vgg19, progress=False)
    assert r.image.shape == content.shape and r.image.dtype == np.float32
    assert 0.0 <= r.image.min() and r.image.max() <= 1.0
    assert r.steps == 15 and len(r.history["J"]) == 15 and r.stopped is None
    assert r.history["J_style"][-1] < 0.5 * r.history["J_style"][0]
    assert r.history["J"][-1] < r.history["J"][0]


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
        nu.synthesize(style=style, model=vgg19)
    r = nu.synthesize(style=style, shape=(32, 40), init="noise", beta=1.0, steps=3, model=vgg19,
                      progress=False)
    assert r.image.shape == (1, 32, 40, 3)


def test_lbfgs_lowers_the_cost(small_pair, vgg19):
    content, style = small_pair
    r = nu.style_transfer(content, style, steps=5, optimizer="lbfgs", model=vgg19, progress=False)
    assert 1 <= r.steps <= 5 and r.history["J"][-1] < r.history["J"][0]


def test_too_small_for_the_layers(vgg19):
    tiny = np.full((1, 10, 10, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="at least 16 px"):
        nu.style_transfer(tiny, tiny, model=vgg19, steps=1)


def test_unknown_layers_are_listed(small_pair, vgg19):
    content, style = small_pair
    with pytest.raises(ValueError, match="valid names"):
        nu.style_transfer(content, style, model=vgg19, steps=1, content_layer="conv9_9")
    with pytest.raises(ValueError, match="valid names"):
        nu.style_transfer(content, style, model=vgg19, steps=1, style_layers={"relu1_1": 1.0})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(steps=-1), "steps"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(init="zeros"), "init"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(init=np.zeros((1, 5, 5, 3), np.float32)), "init image"),
    ],
)
def test_bad_arguments(small_pair, vgg19, kwargs, match):
    content, style = small_pair
    with pytest.raises(ValueError, match=match):
        nu.style_transfer(content, style, model=vgg19, progress=False, **{"steps": 1, **kwargs})


def test_bad_images(vgg19):
    ok = np.full((1, 32, 32, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="shape"):
        nu.style_transfer(ok[0], ok, model=vgg19)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nu.style_transfer(ok * 255, ok, model=vgg19)
    with pytest.raises(ValueError, match="both"):
        nu.style_transfer(ok, None, model=vgg19)


def test_mixed_precision_features_are_float32():
    model = nu.load_vgg19(precision="mixed_bfloat16")
    f = nu.feature_extractor(model, ["conv1_1"])(np.full((1, 16, 16, 3), 0.5, np.float32))
    assert f["conv1_1"].dtype == "float32"
