"""The yardsticks (SSIM, relative change, remaining style) and the start images."""

from __future__ import annotations

import numpy as np
import pytest

import nst_utils as nu


def test_relative_change():
    x = np.array([3.0, 4.0])
    assert nu.relative_change(x, x) == 0.0
    assert nu.relative_change(x, np.array([3.0, 3.0])) == pytest.approx(1 / 5)
    assert nu.relative_change(np.zeros(2), np.zeros(2)) == 0.0
    assert nu.relative_change(np.zeros(2), x) == float("inf")


def test_ssim_luminance_ignores_colour():
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.uniform(0.2, 0.8, (1, 48, 48, 1)), 3, axis=-1).astype(np.float32)
    tinted = np.clip(grey + np.array([0.1, -0.05, -0.2], np.float32) * 0, 0, 1)
    Y = nu.colour.rgb_to_yiq(grey)[..., :1]
    # same luminance, other chroma: luminance SSIM 1, RGB SSIM below 1
    recoloured = np.clip(nu.colour.yiq_to_rgb(np.concatenate([Y, Y * 0 + 0.05, Y * 0 - 0.03], -1)), 0, 1)
    assert nu.ssim(grey, tinted) == pytest.approx(1.0)
    assert nu.ssim(grey, recoloured, luminance=True) > 0.99 > nu.ssim(grey, recoloured)
    assert -1.0 <= nu.ssim(grey, 1 - grey) < 0


def test_remaining_style_is_0_at_the_style_and_1_at_the_photo(small_pair, vgg19):
    content, style = small_pair
    at_style = nu.remaining_style(style, style, content, model=vgg19)
    at_photo = nu.remaining_style(content, style, content, model=vgg19)
    assert list(at_style) == list(nu.GATYS_STYLE_LAYERS)
    assert all(v == 0.0 for v in at_style.values())
    assert all(v == pytest.approx(1.0) for v in at_photo.values())
    rolled = np.roll(content, (17, 23), axis=(1, 2))  # the same patches elsewhere: the yardstick ignores layout
    assert nu.remaining_style(rolled, style, content, model=vgg19)["conv1_1"] == pytest.approx(1.0, abs=0.15)


def test_white_noise_and_start_images():
    a, b = nu.white_noise((1, 4, 5, 3), seed=1), nu.white_noise((1, 4, 5, 3), seed=1)
    assert a.dtype == np.float32 and a.shape == (1, 4, 5, 3) and np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0 and not np.array_equal(a, nu.white_noise((1, 4, 5, 3), seed=2))
    base = np.full((1, 4, 5, 3), 0.5, np.float32)
    np.testing.assert_allclose(nu.start_image(base, base.shape, noise_ratio=0.3, seed=1), 0.7 * base + 0.3 * a)
    assert np.array_equal(nu.start_image(None, base.shape, seed=1), a)
    with pytest.raises(ValueError, match="must be"):
        nu.start_image(base, (1, 4, 4, 3))
