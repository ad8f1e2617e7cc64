r"""Lesson 08, what is style: the mean/std cost and the sliced Wasserstein cost of one layer (NumPy only).

With an activation :math:`a` of shape (1, n_H, n_W, n_C) read as :math:`n = n_H n_W` feature vectors
(the rows of :math:`F`, shape (n, n_C)), the float64 references are those of ``nst_utils.statistics``:

* mean/std (Huang and Belongie 2017): :math:`\mu_c = \frac1n\sum_k F_{kc}`,
  :math:`\sigma_c = \sqrt{\frac1n\sum_k (F_{kc} - \mu_c)^2 + \epsilon}` and
  :math:`J = \frac{1}{n_C}\sum_c (\mu^S_c - \mu^G_c)^2 + (\sigma^S_c - \sigma^G_c)^2`; the two images may
  have different sizes;
* sliced Wasserstein (Heitz et al. 2021), given the K directions as the columns of V (n_C, K), not yet
  of unit length: :math:`v_j = V_{:,j} / \lVert V_{:,j}\rVert`, and with two images of the same size
  :math:`J = \frac{1}{K n}\sum_j \sum_i (\mathrm{sort}(F^S v_j)_i - \mathrm{sort}(F^G v_j)_i)^2`.

The mistakes named in the feedback: the sample standard deviation (n - 1), moments of the whole
activation instead of one per channel, the variance instead of the standard deviation, epsilon added
outside the square root; the projections not sorted, the directions not normalised, the rows of V
normalised instead of its columns, the sort across the directions instead of along the positions.
``nst_utils.statistics`` (``MeanStdStatistic``, ``SlicedWassersteinStatistic``, ...) is the library's
reference and is blocked in the sandbox.
"""

from __future__ import annotations

import numpy as np

from nst_grader.cases import Assignment, Case, Exercise

HINTS = {
    "sample standard deviation": (
        "Your value uses the sample standard deviation (dividing by n - 1): the statistic uses the population "
        "one, the mean of (a - mu)^2 over the n positions (NumPy's default, ddof=0)."),
    "moments of the whole activation": (
        "Your value takes one mean and one standard deviation over the whole activation: the statistic has "
        "one of each per channel, over the positions only (axis 0 of the (n_H*n_W, n_C) feature vectors)."),
    "moments over the channels": (
        "Your value takes the moments over the channels at each position: the statistic takes them per "
        "channel, over the n_H*n_W positions."),
    "variance instead of standard deviation": (
        "Your value compares variances: sigma_c is the square root of (variance + eps)."),
    "eps outside the square root": "Add eps to the variance, inside the square root: sqrt(var + eps).",
    "unsorted projections": (
        "Your value compares the projections position by position: sort each projection first (the 1-D "
        "optimal transport pairs the smallest with the smallest), otherwise the layout counts."),
    "directions not normalised": (
        "Your value uses the directions as given: divide each column of V by its length first, so that "
        "every direction is a unit vector."),
    "rows normalised": ("Your value normalises the rows of V: the directions are its columns (V has shape "
                        "(n_C, K)), so divide each column by its norm."),
    "sorted across the directions": (
        "Your value sorts across the directions: sort each projection along the positions (the n values of "
        "one direction), i.e. axis 0 of the (n, K) projections."),
}


# ------------------------------------------------------------------ float64 references and mistakes


def _vectors(a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a.reshape(-1, a.shape[-1])


def _moments(a, eps: float, mode: str) -> tuple[np.ndarray, np.ndarray]:
    F = _vectors(a)
    if mode == "moments of the whole activation":
        F = F.reshape(-1, 1)
    if mode == "moments over the channels":
        F = F.T
    ddof = 1 if mode == "sample standard deviation" else 0
    var = F.var(axis=0, ddof=ddof)
    if mode == "variance instead of standard deviation":
        return F.mean(axis=0), var + eps
    if mode == "eps outside the square root":
        return F.mean(axis=0), np.sqrt(var) + eps
    return F.mean(axis=0), np.sqrt(var + eps)


def mean_std_cost(a_S, a_G, eps: float = 1e-5, mode: str = "right") -> float:
    """(1/n_C) sum_c (mu_S - mu_G)^2 + (sigma_S - sigma_G)^2 (``mode``: the value of a named mistake)."""
    n_C = np.shape(a_S)[-1]
    (mu_S, sd_S), (mu_G, sd_G) = _moments(a_S, eps, mode), _moments(a_G, eps, mode)
    if mode == "moments of the whole activation":
        n_C = 1
    if mode == "moments over the channels":
        n_C = mu_S.size
    return float((np.sum((mu_S - mu_G) ** 2) + np.sum((sd_S - sd_G) ** 2)) / n_C)


def sliced_wasserstein_cost(a_S, a_G, V, mode: str = "right") -> float:
    """mean over (n, K) of (sort(F_S v) - sort(F_G v))^2 with unit columns v of V (``mode``: a mistake)."""
    V = np.asarray(V, np.float64)
    if mode == "rows normalised":
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
    elif mode == "directions not normalised":
        U = V
    else:
        U = V / np.linalg.norm(V, axis=0, keepdims=True)
    P_S, P_G = _vectors(a_S) @ U, _vectors(a_G) @ U  # (n, K)
    if mode == "sorted across the directions":
        P_S, P_G = np.sort(P_S, axis=1), np.sort(P_G, axis=1)
    elif mode != "unsorted projections":
        P_S, P_G = np.sort(P_S, axis=0), np.sort(P_G, axis=0)
    return float(np.mean((P_S - P_G) ** 2))


MEAN_STD_MISTAKES = ("sample standard deviation", "moments of the whole activation", "moments over the channels",
                     "variance instead of standard deviation", "eps outside the square root")
SWD_MISTAKES = ("unsorted projections", "directions not normalised", "rows normalised",
                "sorted across the directions")


# ------------------------------------------------------------------ hidden cases


def _activation(rng: np.random.Generator, shape: tuple, relu: bool, offset: float = 0.0) -> np.ndarray:
    a = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, size=shape[-1]) + offset * rng.uniform(0, 2, shape[-1])
    return (np.maximum(a, 0.0) if relu else a).astype(np.float32)


def _far(value: float, mistakes: dict[str, float], names) -> bool:
    """Every named mistake more than 0.2 % away from the right value (a Case drops those within 0.1 %)."""
    return all(name in mistakes and abs(mistakes[name] - value) > 2e-3 * abs(value) for name in names)


def _mean_std_cases(rng: np.random.Generator) -> list[Case]:
    """Signed, ReLU-like and a dead channel; two images of different sizes in cases 2-4."""
    cases = []
    for k in range(4):
        while True:
            n_C = int(rng.integers(3, 13))
            shape_S = (1, int(rng.integers(2, 9)), int(rng.integers(2, 9)), n_C)
            shape_G = shape_S if k == 0 else (1, int(rng.integers(2, 9)), int(rng.integers(2, 9)), n_C)
            relu = k > 0
            a_S = _activation(rng, shape_S, relu, offset=1.0)
            a_G = _activation(rng, shape_G, relu, offset=0.5)
            kwargs, kind = {}, "signed activations of the same size"
            if k == 1:
                kind = "ReLU-like activations of different sizes"
            if k >= 2:  # a channel that never fires in the generated image: eps decides its sigma
                a_G[..., int(rng.integers(0, n_C))] = 0.0
                kwargs = {"eps": float(rng.choice([0.01, 0.05, 0.2]))}
                kind = "ReLU-like activations of different sizes, a channel that never fires, eps given"
            eps = kwargs.get("eps", 1e-5)
            value = mean_std_cost(a_S, a_G, eps)
            mistakes = {m: mean_std_cost(a_S, a_G, eps, m) for m in MEAN_STD_MISTAKES
                        if m != "moments over the channels" or shape_S == shape_G}
            must = [m for m in mistakes if m != "eps outside the square root" or k >= 2]
            if _far(value, mistakes, must):
                break
        cases.append(Case(kind, f"a_S {shape_S}, a_G {shape_G}, eps {eps:g}", (a_S, a_G), kwargs,
                          np.float64(value), {"n_C": float(n_C)}, mistakes))
    return cases


def _swd_cases(rng: np.random.Generator) -> list[Case]:
    """Two images of the same size, K != n_C directions of random lengths (never unit)."""
    cases = []
    while len(cases) < 4:
        k = len(cases)
        n_C = int(rng.integers(3, 11))
        K = int(rng.choice([v for v in range(2, 17) if v != n_C]))
        n_H, n_W = int(rng.integers(2, 8)), int(rng.integers(2, 8))
        while n_H * n_W == K:
            n_W = int(rng.integers(2, 8))
        relu = k % 2 == 1
        a_S = _activation(rng, (1, n_H, n_W, n_C), relu, offset=1.0)
        a_G = _activation(rng, (1, n_H, n_W, n_C), relu)
        V = (rng.standard_normal((n_C, K)) * rng.uniform(0.3, 3.0, size=K)).astype(np.float32)
        n = n_H * n_W
        mistakes = {m: sliced_wasserstein_cost(a_S, a_G, V, m) for m in SWD_MISTAKES}
        if not _far(sliced_wasserstein_cost(a_S, a_G, V), mistakes, SWD_MISTAKES):
            continue
        cases.append(Case("ReLU-like activations and random directions" if relu else
                          "signed activations and random directions",
                          f"a_S, a_G (1, {n_H}, {n_W}, {n_C}), V ({n_C}, {K})", (a_S, a_G, V), {},
                          np.float64(sliced_wasserstein_cost(a_S, a_G, V)),
                          {"K (the number of directions)": float(K), "n_H*n_W": float(n), "K*n_H*n_W": float(K * n)},
                          mistakes))
    return cases


#: the library's references of these exercises, blocked during the hidden tests (Assignment.blocked)
BLOCKED = {"nst_utils.statistics": ("MeanStdStatistic", "SlicedWassersteinStatistic", "HistogramStatistic",
                                    "style_statistic", "_squared_sorted_distance", "_sort_rows")}


ASSIGNMENT = Assignment(
    id="08_what_is_style",
    notebook="08_what_is_style.ipynb",
    title="Lesson 08: the mean/std and sliced Wasserstein style costs",
    exercises=(
        Exercise("mean_std_cost", "mean_std_cost", 2, _mean_std_cases),
        Exercise("sliced_wasserstein_cost", "sliced_wasserstein_cost", 3, _swd_cases),
    ),
    needs_tensorflow=False,
    blocked=BLOCKED,
    hints=HINTS,
)
