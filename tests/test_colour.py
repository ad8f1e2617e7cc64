"""Colour preservation (nst_utils.colour) against properties that can be checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nst_utils import colour


def _mixed_image(seed: int, shape: tuple[int, int], mix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(1, H, W, 3) pixels = mix @ uniform[0, 1)^3 + offset: correlated colours, no clipping needed."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, size=(*shape, 3))
    return (u @ mix.T + offset)[None].astype(np.float64)


@pytest.fixture
def pair():
    # pixel values stay inside [0.2, 0.8] (style) and [0.3, 0.7] (content)
    style = _mixed_image(0, (40, 30), np.array([[0.3, 0.1, 0.0], [0.0, 0.3, 0.1], [0.1, 0.0, 0.3]]),
                         np.array([0.2, 0.2, 0.2]))
    content = _mixed_image(1, (24, 36), np.array([[0.2, 0.0, 0.0], [0.1, 0.1, 0.0], [0.05, 0.05, 0.1]]),
                           np.array([0.3, 0.4, 0.5]))
    return style, content


def test_yiq_of_grey_and_primaries_by_hand():
    grey = np.full((1, 1, 1, 3), 0.4)
    np.testing.assert_allclose(colour.rgb_to_yiq(grey)[0, 0, 0], [0.4, 0.0, 0.0], atol=1e-6)
    red = np.array([1.0, 0.0, 0.0]).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(colour.rgb_to_yiq(red)[0, 0, 0], [0.299, 0.595716, 0.211456])


def test_yiq_round_trip(pair):
    style, _ = pair
    np.testing.assert_allclose(colour.yiq_to_rgb(colour.rgb_to_yiq(style)), style, atol=1e-12)


def test_to_luminance_is_grey_with_the_y_channel(pair):
    style, _ = pair
    grey = colour.to_luminance(style)
    assert grey.shape == style.shape and grey.dtype == np.float32
    np.testing.assert_array_equal(grey[..., 0], grey[..., 1])
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    Y = 0.299 * style[..., 0] + 0.587 * style[..., 1] + 0.114 * style[..., 2]
    np.testing.assert_allclose(grey[..., 0], Y, atol=1e-6)


def test_luminance_only_keeps_stylized_y_and_content_iq():
    rng = np.random.default_rng(2)
    # gentle colours around mid-grey, so recombining never leaves [0, 1] (nothing is clipped)
    stylized = 0.5 + 0.1 * rng.uniform(-1, 1, size=(1, 8, 10, 3))
    content = 0.5 + 0.1 * rng.uniform(-1, 1, size=(1, 8, 10, 3))
    out = colour.luminance_only(stylized, content)
    assert out.shape == content.shape and out.min() > 0.0 and out.max() < 1.0
    yiq_out, yiq_s, yiq_c = (colour.rgb_to_yiq(x) for x in (out, stylized, content))
    np.testing.assert_allclose(yiq_out[..., 0], yiq_s[..., 0], atol=1e-6)
    np.testing.assert_allclose(yiq_out[..., 1:], yiq_c[..., 1:], atol=1e-6)
    assert not np.allclose(out, stylized, atol=1e-3) and not np.allclose(out, content, atol=1e-3)


def test_luminance_only_of_an_image_with_itself_is_the_image(pair):
    _, content = pair
    np.testing.assert_allclose(colour.luminance_only(content, content), content, atol=1e-6)


def test_sqrtm_sym_by_hand():
    sigma = np.diag([4.0, 9.0, 0.25])
    np.testing.assert_allclose(colour.sqrtm_sym(sigma), np.diag([2.0, 3.0, 0.5]), atol=1e-12)
    np.testing.assert_allclose(colour.sqrtm_sym(sigma, inverse=True), np.diag([0.5, 1 / 3, 2.0]), atol=1e-12)
    rng = np.random.default_rng(3)
    M = rng.normal(size=(3, 3))
    spd = M @ M.T + 0.1 * np.eye(3)
    root = colour.sqrtm_sym(spd)
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    np.testing.assert_allclose(root @ root, spd, atol=1e-10)


def test_colour_statistics_by_hand():
    # two pixels: (0, 0, 0) and (1, 0.5, 0): mean (0.5, 0.25, 0); deviations +-(0.5, 0.25, 0)
    image = np.array([[[[0.0, 0.0, 0.0], [1.0, 0.5, 0.0]]]])
    mu, sigma = colour.colour_statistics(image)
    np.testing.assert_allclose(mu, [0.5, 0.25, 0.0])
    np.testing.assert_allclose(sigma, [[0.25, 0.125, 0.0], [0.125, 0.0625, 0.0], [0.0, 0.0, 0.0]])


def test_match_histogram_gives_the_content_mean_and_covariance(pair):
    style, content = pair
    matched = colour.match_histogram(style, content)
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert matched.min() > 0.0 and matched.max() < 1.0, "this case must need no clipping"
    mu_M, sigma_M = colour.colour_statistics(matched)
    mu_C, sigma_C = colour.colour_statistics(content)
    mu_S, sigma_S = colour.colour_statistics(style)
    np.testing.assert_allclose(mu_M, mu_C, atol=1e-6)
    np.testing.assert_allclose(sigma_M, sigma_C, atol=1e-6)
    assert not np.allclose(sigma_S, sigma_C, atol=1e-3), "the test needs two different palettes"


def test_match_histogram_is_linear_per_pixel(pair):
    # x' = A x + b: the same input colour always maps to the same output colour, and
    # differences between pixels are mapped by A alone
    style, content = pair
    matched = colour.match_histogram(style, content).astype(np.float64)
    X, Xm = style.reshape(-1, 3), matched.reshape(-1, 3)
    A, *_ = np.linalg.lstsq(X[1:] - X[0], Xm[1:] - Xm[0], rcond=None)
    np.testing.assert_allclose((X - X[0]) @ A, Xm - Xm[0], atol=1e-5)


def test_match_histogram_with_itself_changes_nothing(pair):
    style, _ = pair
    np.testing.assert_allclose(colour.match_histogram(style, style), style, atol=1e-6)


def test_match_histogram_clips_to_unit_range():
    rng = np.random.default_rng(4)
    dull = 0.5 + 0.01 * rng.normal(size=(1, 6, 6, 3))
    vivid = rng.uniform(0.0, 1.0, size=(1, 6, 6, 3)) ** 4  # most values near 0: matching overshoots
    out = colour.match_histogram(dull, vivid)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.isclose(out.min(), 0.0)


def test_match_luminance_gives_the_content_mean_and_spread_and_keeps_the_chroma(pair):
    style, content = pair
    out = colour.match_luminance(style, content)
    assert out.shape == style.shape and out.dtype == np.float32
    Y_out, Y_C = colour.rgb_to_yiq(out)[..., 0], colour.rgb_to_yiq(content)[..., 0]
    assert 0.0 < out.min() and out.max() < 1.0          # nothing clipped: the formula holds exactly
    np.testing.assert_allclose(Y_out.mean(), Y_C.mean(), atol=1e-6)
    np.testing.assert_allclose(Y_out.std(), Y_C.std(), rtol=1e-5)
    np.testing.assert_allclose(colour.rgb_to_yiq(out)[..., 1:], colour.rgb_to_yiq(style)[..., 1:], atol=1e-6)
    # each pixel's Y by hand: sigma_C / sigma_S (Y - mu_S) + mu_C
    Y_S = colour.rgb_to_yiq(style)[..., 0]
    np.testing.assert_allclose(Y_out, Y_C.std() / Y_S.std() * (Y_S - Y_S.mean()) + Y_C.mean(), atol=1e-6)
    assert abs(Y_out.mean() - Y_S.mean()) > 0.05       # the pair differs: the test would see no change


def test_match_luminance_with_itself_changes_nothing_and_a_flat_style_is_shifted(pair):
    style, _ = pair
    np.testing.assert_allclose(colour.match_luminance(style, style), style, atol=1e-6)
    flat = np.full((1, 4, 4, 3), 0.6)
    dark = np.full((1, 3, 3, 3), 0.1)
    np.testing.assert_allclose(colour.match_luminance(flat, dark), 0.1, atol=1e-6)


def test_mean_luminance_by_hand():
    red = np.zeros((1, 2, 2, 3))
    red[..., 0] = 1.0
    assert colour.mean_luminance(red) == pytest.approx(0.299)
    assert colour.mean_luminance(np.full((1, 3, 5, 3), 0.3)) == pytest.approx(0.3)


def test_grey_style_stays_finite():
    grey = np.repeat(np.linspace(0.2, 0.8, 12).reshape(1, 3, 4, 1), 3, axis=-1)  # singular covariance
    content = np.random.default_rng(5).uniform(0.3, 0.7, size=(1, 5, 5, 3))
    assert np.all(np.isfinite(colour.match_histogram(grey, content)))


@pytest.mark.parametrize("bad", [np.zeros((8, 8, 3)), np.zeros((2, 8, 8, 3)), np.zeros((1, 8, 8, 4))])
def test_bad_shapes_name_the_parameter(bad):
    good = np.full((1, 8, 8, 3), 0.5)
    with pytest.raises(ValueError, match="style"):
        colour.match_histogram(bad, good)
    with pytest.raises(ValueError, match="content"):
        colour.match_histogram(good, bad)
    with pytest.raises(ValueError, match="stylized"):
        colour.luminance_only(bad, good)
    with pytest.raises(ValueError, match="content"):
        colour.luminance_only(good, bad)
    with pytest.raises(ValueError, match="image"):
        colour.to_luminance(bad)
    with pytest.raises(ValueError, match="style"):
        colour.match_luminance(bad, good)
    with pytest.raises(ValueError, match="content"):
        colour.match_luminance(good, bad)


def test_luminance_only_needs_equal_sizes():
    with pytest.raises(ValueError, match="same shape"):
        colour.luminance_only(np.full((1, 8, 8, 3), 0.5), np.full((1, 8, 6, 3), 0.5))
