"""The cost formulas against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nst_utils import costs


def test_unroll_puts_channels_in_rows():
    # a[0, h, w, c] = 100*c + 10*h + w  ->  row c must read 10*h + w in raster order
    n_H, n_W, n_C = 2, 3, 4
    h, w, c = np.meshgrid(np.arange(n_H), np.arange(n_W), np.arange(n_C), indexing="ij")
    a = (100 * c + 10 * h + w).astype(np.float32)[None]
    A = costs.unroll(a).numpy()
    assert A.shape == (n_C, n_H * n_W)
    np.testing.assert_array_equal(A[2], [200, 201, 202, 210, 211, 212])


def test_unrolling_trap_gives_a_different_gram():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 3, 3, 4)).astype(np.float32)
    right = costs.gram_matrix(costs.unroll(a)).numpy()
    wrong = costs.gram_matrix(a.reshape(4, 9)).numpy()  # reshape without the transpose
    assert not np.allclose(right, wrong, rtol=1e-3)
    by_hand = np.einsum("hwi,hwj->ij", a[0], a[0])
    np.testing.assert_allclose(right, by_hand, rtol=1e-5)


def test_gram_matrix_by_hand():
    A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(costs.gram_matrix(A).numpy(), [[5.0, 2.0], [2.0, 10.0]])


def test_seed_000_gram_is_16x16_not_4x4():
    a = np.ones((1, 20, 20, 16), np.float32)
    A = costs.unroll(a)
    assert A.shape == (16, 400)
    G = costs.gram_matrix(A)
    assert G.shape == (16, 16)
    assert float(G[0, 0]) == 400.0


def test_content_cost_by_hand():
    a_C = np.zeros((1, 1, 2, 2), np.float32)
    a_G = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)
    # sum of squares = 30; 4 * n_H * n_W * n_C = 4 * 1 * 2 * 2 = 16
    assert float(costs.content_cost(a_C, a_G)) == pytest.approx(30.0 / 16.0)


def test_layer_style_cost_by_hand():
    # n_H=1, n_W=2, n_C=2
    a_S = np.array([[[[1.0, 0.0], [0.0, 1.0]]]], np.float32)  # G_S = I
    a_G = np.array([[[[1.0, 1.0], [0.0, 0.0]]]], np.float32)  # G_G = [[1,1],[1,1]]
    # sum (G_S - G_G)^2 = 2; 4 * n_C^2 * (n_H n_W)^2 = 4 * 4 * 4 = 64
    assert float(costs.layer_style_cost(a_S, a_G)) == pytest.approx(2.0 / 64.0)


def test_layer_style_cost_matches_formula_on_random_input():
    rng = np.random.default_rng(1)
    a_S, a_G = (rng.normal(size=(1, 4, 5, 3)).astype(np.float32) for _ in range(2))
    G_S = a_S[0].reshape(-1, 3).T @ a_S[0].reshape(-1, 3)
    G_G = a_G[0].reshape(-1, 3).T @ a_G[0].reshape(-1, 3)
    expected = np.sum((G_S - G_G) ** 2) / (4 * 3**2 * (4 * 5) ** 2)
    assert float(costs.layer_style_cost(a_S, a_G)) == pytest.approx(expected, rel=1e-5)


def test_style_cost_weights_layers():
    rng = np.random.default_rng(2)
    a_S = {"l1": rng.normal(size=(1, 2, 2, 3)), "l2": rng.normal(size=(1, 2, 2, 5))}
    a_G = {"l1": rng.normal(size=(1, 2, 2, 3)), "l2": rng.normal(size=(1, 2, 2, 5))}
    j1 = float(costs.layer_style_cost(a_S["l1"], a_G["l1"]))
    j2 = float(costs.layer_style_cost(a_S["l2"], a_G["l2"]))
    got = float(costs.style_cost(a_S, a_G, {"l1": 0.3, "l2": 0.7}))
    assert got == pytest.approx(0.3 * j1 + 0.7 * j2, rel=1e-5)
    assert float(costs.style_cost(a_S, a_G)) == pytest.approx(0.5 * j1 + 0.5 * j2, rel=1e-5)
    with pytest.raises(ValueError, match="l3"):
        costs.style_cost(a_S, a_G, {"l3": 1.0})


def test_total_cost_uses_the_library_defaults():
    from nst_utils.settings import DEFAULTS

    assert float(costs.total_cost(2.0, 3.0)) == pytest.approx(DEFAULTS.alpha * 2.0 + DEFAULTS.beta * 3.0)
    assert float(costs.total_cost(2.0, 3.0, alpha=1, beta=2)) == pytest.approx(8.0)


def test_total_variation():
    flat = np.full((1, 5, 6, 3), 0.4, np.float32)
    assert float(costs.total_variation_cost(flat)) == 0.0
    x = np.zeros((1, 2, 2, 1), np.float32)
    x[0, 0, 0, 0] = 1.0  # differences: one below, one right, each 1 -> sum 2 over 4 positions
    assert float(costs.total_variation_cost(x)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: costs.content_cost(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 3, 3))),
        lambda: costs.content_cost(np.zeros((2, 2, 3)), np.zeros((2, 2, 3))),
        lambda: costs.gram_matrix(np.zeros((1, 2, 2, 3))),
        lambda: costs.layer_style_cost(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 4))),
    ],
)
def test_bad_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
