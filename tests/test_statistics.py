"""The style statistics (the Gram matrix and its rivals, lesson 08) against hand-computed values.

Every statistic: its cost on tiny arrays worked out by hand, zero for identical inputs, blind to a
permutation of the positions, differentiable (a few optimizer steps lower it, inside a tf.function too),
and usable by the loss with the balanced weighting. Plus the identity of Li et al. (matching Gram
matrices = a squared MMD with the kernel (x^T y)^2).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import nst_utils as nu
from nst_utils._tf import tf

from fake_extractor import FakeExtractor

NAMES = ["gram", "mean_std", "histogram", "sliced_wasserstein"]


def _act(values) -> np.ndarray:
    """Positions x channels (n, n_C) -> an activation (1, 1, n, n_C)."""
    v = np.asarray(values, np.float32)
    return v.reshape(1, 1, *v.shape)


def _relu_act(rng, n_H, n_W, n_C) -> np.ndarray:
    return np.maximum(rng.standard_normal((1, n_H, n_W, n_C)), 0).astype(np.float32)


def _cost(statistic, a_S, a_G) -> float:
    return float(statistic.cost(statistic.target(a_S), a_G))


def _permuted(a: np.ndarray, seed: int = 0) -> np.ndarray:
    """The same feature vectors at shuffled positions."""
    n_H, n_W, n_C = a.shape[1:]
    v = a.reshape(n_H * n_W, n_C)[np.random.default_rng(seed).permutation(n_H * n_W)]
    return v.reshape(1, n_H, n_W, n_C)


def test_registry_and_lookup():
    assert set(NAMES) <= set(nu.STATISTICS)
    for name in NAMES:
        assert nu.style_statistic(name) is nu.STATISTICS[name]
        assert nu.STATISTICS[name].name == name
    assert isinstance(nu.style_statistic("mean_std"), nu.MeanStdStatistic)
    assert isinstance(nu.style_statistic("histogram"), nu.HistogramStatistic)
    assert isinstance(nu.style_statistic("sliced_wasserstein"), nu.SlicedWassersteinStatistic)
    own = nu.SlicedWassersteinStatistic(directions=8, seed=3)
    assert nu.style_statistic(own) is own
    with pytest.raises(ValueError, match="use one of"):
        nu.style_statistic("wasserstein")
    with pytest.raises(ValueError, match="eps"):
        nu.MeanStdStatistic(eps=-1.0)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="directions"):
            nu.SlicedWassersteinStatistic(directions=bad)


# ----------------------------------------------------------------------------- hand-computed values

def test_mean_std_by_hand():
    # channel 0: style [1, 3] (mu 2, sigma 1), generated [0, 2] (mu 1, sigma 1)
    # channel 1: style [2, 6] (mu 4, sigma 2), generated [0, 2] (mu 1, sigma 1)
    a_S = _act([[1, 2], [3, 6]])
    a_G = _act([[0, 0], [2, 2]])
    exact = nu.MeanStdStatistic(eps=0.0)
    assert np.allclose(exact.target(a_S).numpy(), [[2, 4], [1, 2]])
    # ((2-1)^2 + (4-1)^2 + (1-1)^2 + (2-1)^2) / n_C = (1 + 9 + 0 + 1) / 2
    assert _cost(exact, a_S, a_G) == pytest.approx(5.5, rel=1e-6)
    # the default eps = 1e-5 moves it by a few millionths
    assert _cost(nu.MeanStdStatistic(), a_S, a_G) == pytest.approx(5.5, abs=1e-5)
    # only the distribution counts, not the size: style with 4 positions, same mu and sigma
    assert _cost(exact, _act([[1, 2], [3, 6], [1, 2], [3, 6]]), a_S) == pytest.approx(0.0, abs=1e-6)


def test_quantiles_by_hand():
    row = tf.constant([[0.0, 1.0, 2.0, 3.0]])
    assert np.allclose(nu.quantiles(row, 4).numpy(), [[0, 1, 2, 3]])          # same length: unchanged
    assert np.allclose(nu.quantiles(row, 2).numpy(), [[0.5, 2.5]])            # medians of the halves
    assert np.allclose(nu.quantiles(row, 8).numpy(), [[0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]])
    assert np.allclose(nu.quantiles(row, 1).numpy(), [[1.5]])                 # the median


def test_histogram_by_hand():
    # channel 0: style [1, 3], generated [2, 0] -> sorted [1, 3] vs [0, 2]: squares 1, 1
    # channel 1: style [5, 4], generated [4, 8] -> sorted [4, 5] vs [4, 8]: squares 0, 9
    a_S = _act([[1, 5], [3, 4]])
    a_G = _act([[2, 4], [0, 8]])
    assert np.allclose(nu.HistogramStatistic().target(a_S).numpy(), [[1, 3], [4, 5]])
    assert _cost(nu.HistogramStatistic(), a_S, a_G) == pytest.approx((1 + 1 + 0 + 9) / 4, rel=1e-6)
    # different sizes: the style's 4 values read at the generated pair's quantiles, 0.5 and 2.5
    a_S4 = _act([[0], [3], [1], [2]])
    a_G2 = _act([[20], [10]])
    assert _cost(nu.HistogramStatistic(), a_S4, a_G2) == pytest.approx(((10 - 0.5) ** 2 + (20 - 2.5) ** 2) / 2)


def test_sliced_wasserstein_by_hand():
    # one channel: the only unit directions are +1 and -1, and both give the 1-D distance
    a_S = _act([[1], [3]])
    a_G = _act([[2], [0]])
    for seed in range(3):
        assert _cost(nu.SlicedWassersteinStatistic(directions=5, seed=seed), a_S, a_G) == pytest.approx(1.0)
    # several channels, fixed directions: against numpy, projection by projection
    rng = np.random.default_rng(0)
    a_S, a_G = _relu_act(rng, 3, 4, 5), _relu_act(rng, 2, 3, 5)
    swd = nu.SlicedWassersteinStatistic(directions=7, seed=1, resample=False)
    target = swd.target(a_S)
    V = target.fixed.numpy()
    assert V.shape == (5, 7) and np.allclose(np.linalg.norm(V, axis=0), 1.0)
    S_sorted = np.sort(a_S.reshape(-1, 5) @ V, axis=0)                       # (12, 7)
    G_sorted = np.sort(a_G.reshape(-1, 5) @ V, axis=0)                       # (6, 7)
    p = np.clip((np.arange(6) + 0.5) * 12 / 6 - 0.5, 0, 11)                  # style quantiles of 6 values
    Q = np.stack([np.interp(p, np.arange(12), S_sorted[:, j]) for j in range(7)], axis=1)
    assert float(swd.cost(target, a_G)) == pytest.approx(np.mean((G_sorted - Q) ** 2), rel=1e-5)
    # a shift t of every feature vector moves each projection by v_j^T t: cost = mean_j (v_j^T t)^2
    t = np.array([1.0, -2.0, 0.5, 0.0, 3.0], np.float32)
    assert float(swd.cost(target, a_S + t)) == pytest.approx(np.mean((t @ V) ** 2), rel=1e-4)


def test_squared_mmd_by_hand():
    # style vectors (1, 0), (0, 1); generated (1, 1)
    a_S = _act([[1, 0], [0, 1]])
    a_G = _act([[1, 1]])
    # poly2: k = (x^T y)^2. SS: (1 + 0 + 0 + 1) / 4; GG: 4 / 1; SG: (1 + 1) / 2  ->  0.5 + 4 - 2
    assert nu.squared_mmd(a_S, a_G) == pytest.approx(2.5)
    # linear: ||mean_S - mean_G||^2 = ||(0.5, 0.5) - (1, 1)||^2
    assert nu.squared_mmd(a_S, a_G, kernel="linear") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="kernel"):
        nu.squared_mmd(a_S, a_G, kernel="gaussian")
    with pytest.raises(ValueError, match="channels"):
        nu.squared_mmd(a_S, _act([[1, 1, 1]]))


def test_gram_matching_is_an_mmd_with_the_poly2_kernel():
    """Li et al. 2017: ||G~_S - G~_G||_F^2 = MMD^2 with k(x, y) = (x^T y)^2, for any sizes."""
    rng = np.random.default_rng(2)
    a_S, a_G = _relu_act(rng, 7, 9, 6), _relu_act(rng, 5, 4, 6)
    n_C = 6
    via_gram = 4 * n_C**2 * _cost(nu.GramStatistic(), a_S, a_G)
    assert nu.squared_mmd(a_S, a_G, block=5) == pytest.approx(via_gram, rel=1e-5)
    mu = a_S.reshape(-1, n_C).mean(0) - a_G.reshape(-1, n_C).mean(0)
    assert nu.squared_mmd(a_S, a_G, kernel="linear") == pytest.approx(float(mu @ mu), rel=1e-5)
    assert nu.squared_mmd(a_S, a_S) == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- properties of every cost

@pytest.mark.parametrize("name", NAMES)
def test_zero_for_identical_inputs_positive_otherwise(name):
    rng = np.random.default_rng(3)
    a = _relu_act(rng, 6, 5, 8)                 # ReLU zeros: many tied values
    statistic = nu.style_statistic(name)
    target = statistic.target(a)
    assert abs(float(statistic.cost(target, a))) < 1e-7
    assert abs(float(statistic.cost(target, a))) < 1e-7       # again: new directions for SWD, still zero
    assert float(statistic.cost(target, _relu_act(rng, 6, 5, 8))) > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_invariant_to_a_permutation_of_positions(name):
    rng = np.random.default_rng(4)
    a_S, a_G = _relu_act(rng, 6, 7, 8), _relu_act(rng, 5, 5, 8)
    statistic = nu.style_statistic(name) if name != "sliced_wasserstein" else \
        nu.SlicedWassersteinStatistic(seed=2, resample=False)
    target = statistic.target(a_S)
    reference = float(statistic.cost(target, a_G))
    assert reference > 1e-3
    assert float(statistic.cost(target, _permuted(a_G, 1))) == pytest.approx(reference, rel=1e-5)
    assert abs(float(statistic.cost(target, _permuted(a_S, 2)))) < 1e-7     # a shuffled style is the style
    shuffled_style = statistic.target(_permuted(a_S, 3))
    assert float(statistic.cost(shuffled_style, a_G)) == pytest.approx(reference, rel=1e-5)


def test_what_each_statistic_forgets():
    """Each rival is blind to something the next one sees."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(4000).astype(np.float32)
    # the same two channels, once correlated (copies), once independent: the same marginals
    together = _act(np.stack([x, x], axis=1))
    apart = _act(np.stack([x, x[rng.permutation(len(x))]], axis=1))
    assert _cost(nu.HistogramStatistic(), together, apart) < 1e-10          # histograms: identical
    assert _cost(nu.MeanStdStatistic(), together, apart) < 1e-10
    assert _cost(nu.GramStatistic(), together, apart) > 0.05                # Gram: sees the correlation
    swd = nu.SlicedWassersteinStatistic(directions=64, seed=0, resample=False)
    assert _cost(swd, together, apart) > 0.05                               # SWD: sees it too
    # same mean and standard deviation, another shape (uniform vs normal): mean/std is blind
    u, z = rng.uniform(-1, 1, 4000), rng.standard_normal(4000)
    u, z = ((u - u.mean()) / u.std()).astype(np.float32), ((z - z.mean()) / z.std()).astype(np.float32)
    assert _cost(nu.MeanStdStatistic(), _act(u[:, None]), _act(z[:, None])) < 1e-8
    assert _cost(nu.HistogramStatistic(), _act(u[:, None]), _act(z[:, None])) > 1e-3


# ----------------------------------------------------------------------------- gradients and randomness

@pytest.mark.parametrize("name", NAMES)
def test_differentiable_and_a_few_steps_lower_the_cost(name):
    rng = np.random.default_rng(6)
    a_S = _relu_act(rng, 6, 6, 8) + 0.5
    statistic = nu.style_statistic(name)
    target = statistic.target(a_S)
    start = rng.uniform(0, 1, (1, 5, 4, 8)).astype(np.float32)
    a_G = tf.Variable(start)
    opt = keras.optimizers.Adam(learning_rate=0.05)

    @tf.function
    def step():                                  # traced, as the library's optimizers do
        with tf.GradientTape() as tape:
            J = statistic.cost(target, a_G)
        grad = tape.gradient(J, a_G)
        opt.apply_gradients([(grad, a_G)])
        return grad

    grad = step().numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    for _ in range(30):
        step()
    judge = nu.SlicedWassersteinStatistic(directions=64, seed=9, resample=False) \
        if name == "sliced_wasserstein" else statistic      # SWD's own cost is noisy: judge on fixed directions
    assert _cost(judge, a_S, a_G.numpy()) < 0.5 * _cost(judge, a_S, start)


def test_sliced_directions_are_redrawn_and_deterministic_for_a_seed():
    rng = np.random.default_rng(7)
    a_S, a_G = _relu_act(rng, 5, 5, 6), _relu_act(rng, 5, 5, 6)

    def run(seed):
        swd = nu.SlicedWassersteinStatistic(seed=seed)
        target = swd.target(a_S)
        cost = tf.function(lambda a: swd.cost(target, a))
        return [float(cost(a_G)) for _ in range(4)]

    first, again, other = run(0), run(0), run(1)
    assert first == again                                  # the same seed draws the same directions
    assert len(set(first)) == 4                            # redrawn at every call, inside a tf.function
    assert first != other
    fixed = nu.SlicedWassersteinStatistic(seed=0, resample=False)
    target = fixed.target(a_S)
    assert len({float(fixed.cost(target, a_G)) for _ in range(3)}) == 1
    assert nu.SlicedWassersteinStatistic().target(a_S).fixed is None


# ----------------------------------------------------------------------------- in the loss and the transfer



@pytest.mark.parametrize("name", NAMES)
def test_balanced_weighting_with_every_statistic(name):
    """Each layer's cost is divided by the cost of an all-zero activation: that image scores 1."""
    rng = np.random.default_rng(8)
    a = {k: {"conv1_1": _relu_act(rng, 4, 6, 3) + 0.1, "conv2_1": _relu_act(rng, 2, 3, 4) * 50 + 5}
         for k in ("S", "G")}
    zero = {layer: 0 * v for layer, v in a["G"].items()}
    ext = FakeExtractor({0.2: a["S"], 0.3: a["G"], 0.4: zero}, ["conv1_1", "conv2_1"])
    image = {k: np.full((1, 4, 4, 3), v, np.float32) for k, v in (("S", 0.2), ("G", 0.3), ("zero", 0.4))}
    statistic = nu.SlicedWassersteinStatistic(resample=False) if name == "sliced_wasserstein" else name
    lam = {"conv1_1": 0.25, "conv2_1": 0.75}
    settings = nu.DEFAULTS.replace(style_layers=lam, style_statistic=statistic, beta=2.0)
    loss = nu.StyleTransferLoss(ext, style=image["S"], settings=settings)
    stat = nu.style_statistic(statistic)
    for layer, w in lam.items():
        energy = _cost(stat, a["S"][layer], np.zeros_like(a["S"][layer])) if name != "sliced_wasserstein" \
            else float(stat.cost(loss.targets[layer], np.zeros_like(a["S"][layer])))
        assert loss.layer_weights[layer] == pytest.approx(w / energy, rel=1e-5)
    assert float(loss(image["zero"]).J_style) == pytest.approx(1.0, rel=1e-5)
    assert abs(float(loss(image["S"]).J_style)) < 1e-6
    values = loss(image["G"])
    expected = sum(loss.layer_weights[layer] * J for layer, J in loss.layer_costs(image["G"]).items())
    assert float(values.J_style) == pytest.approx(expected, rel=1e-5)
    assert float(values.J) == pytest.approx(2.0 * float(values.J_style), rel=1e-6)
    # the scales of the two layers differ by orders of magnitude; balanced, both raw costs count alike
    raw = loss.layer_costs(image["G"])
    assert raw["conv2_1"] > 100 * raw["conv1_1"]
    assert 0.05 < loss.layer_shares(image["G"])["conv1_1"] < 0.95


@pytest.mark.parametrize("name", NAMES)
def test_texture_synthesis_with_every_statistic_on_vgg19(name, vgg19, small_pair):
    _, style = small_pair
    style = style[:, :48, :48]
    result = nu.synthesize(style=style, shape=(32, 32), init="noise", style_statistic=name, steps=5,
                           learning_rate=0.05, model=vgg19, progress=False)
    J_style = result.history["J_style"]
    assert result.steps == 5 and J_style[-1] < J_style[0]
    loss = nu.StyleTransferLoss.build(style=style, model=vgg19,
                                      settings=nu.DEFAULTS.replace(style_statistic=name))
    assert abs(float(loss(style).J_style)) < 1e-6          # the style image has its own statistics
    assert 0.05 < float(loss(result.image).J_style) < 5    # balanced: "1 = as far as an empty image"


def test_sliced_wasserstein_transfer_is_deterministic(vgg19, small_pair):
    content, style = small_pair
    runs = [nu.style_transfer(content[:, :32, :32], style, style_statistic=name, steps=3, model=vgg19,
                              progress=False)
            for name in ("sliced_wasserstein", "sliced_wasserstein", nu.SlicedWassersteinStatistic(seed=5))]
    assert np.array_equal(runs[0].image, runs[1].image)    # the same seed: the same directions, the same image
    assert not np.array_equal(runs[0].image, runs[2].image)


def test_lbfgs_transfer_with_a_rival_statistic(vgg19, small_pair):
    content, style = small_pair
    r = nu.style_transfer(content[:, :32, :32], style, style_statistic="histogram", optimizer="lbfgs",
                          steps=4, model=vgg19, progress=False)
    assert r.steps == 4 and r.history["J"][-1] < r.history["J"][0]
