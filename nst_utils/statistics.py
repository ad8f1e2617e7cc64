r"""What "style" is measured by: statistics of a layer's activations that forget where things are.

A style statistic turns the style image's activation at one layer into a *target* once, and then
measures how far a generated image's activation is from it. Every statistic has the same two methods,
so the same loss (:mod:`nst_utils.loss`) and the same transfer can use any of them:

* ``target(a_S)``: a_S (1, n_H, n_W, n_C) -> whatever the statistic keeps (computed once);
* ``cost(target, a_G)``: a_G (1, n_H', n_W', n_C) -> scalar :math:`J^{[l]}_{style}` (a tensor,
  differentiable with respect to a_G, zero when a_G has the style's statistic).

The Gram matrix of Gatys et al. is :class:`GramStatistic`:

.. math:: J^{[l]}_{style} = \frac{1}{4 n_C^2} \sum_{ij} \big(\tilde G^{(S)}_{ij} - \tilde G^{(G)}_{ij}\big)^2,
   \qquad \tilde G = \frac{A A^T}{n_H n_W}

(lesson 05's layer cost, with each Gram matrix divided by its own number of positions so that the
style image may have another size). :func:`style_statistic` finds a statistic by name.

**The Gram matrix's rivals** (lesson 08). Read the activation as a cloud of :math:`n = n_H n_W`
feature vectors :math:`a_k \in \mathbb{R}^{n_C}`, one per position (the columns of
:math:`A = \mathrm{unroll}(a)`, shape (n_C, n)); every statistic below compares the cloud of the style
image (:math:`m` vectors :math:`s_k`) with the generated image's (:math:`n` vectors :math:`g_k`),
and none of them looks at *where* a vector sits, so all of them ignore a permutation of the positions:

==========================  ===========================================================================
``"gram"``                  the second moments :math:`\tilde G = \frac1n \sum_k a_k a_k^T` (n_C x n_C);
                            matching them is an MMD with the kernel :math:`(x^T y)^2` (:func:`squared_mmd`)
``"mean_std"``              each channel's mean and standard deviation (:class:`MeanStdStatistic`)
``"histogram"``             each channel's whole histogram, i.e. its 1-D distribution
                            (:class:`HistogramStatistic`)
``"sliced_wasserstein"``    the 1-D distributions of the vectors projected on random directions, redrawn
                            at every evaluation (:class:`SlicedWassersteinStatistic`)
==========================  ===========================================================================

The last two compare two sorted lists of :math:`n` and :math:`m` numbers; when :math:`n \ne m` the style's
list is read at the generated image's quantiles (:func:`quantiles`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from nst_utils import costs
from nst_utils._tf import tf


class StyleStatistic(Protocol):
    """The interface every style statistic has (see the module docstring)."""

    name: str

    def target(self, a_S: tf.Tensor) -> Any: ...

    def cost(self, target: Any, a_G: tf.Tensor) -> tf.Tensor: ...


class GramStatistic:
    """Gatys et al.'s statistic: the Gram matrix per position, :math:`\\tilde G = A A^T / (n_H n_W)`."""

    name = "gram"

    def target(self, a_S: tf.Tensor) -> tf.Tensor:
        """(1, n_H, n_W, n_C) -> (n_C, n_C)."""
        return costs.normalized_gram(a_S)

    def cost(self, target: tf.Tensor, a_G: tf.Tensor) -> tf.Tensor:
        """sum((G~_S - G~_G)^2) / (4 n_C^2): lesson 05's layer style cost."""
        return costs.style_cost_from_grams(target, costs.normalized_gram(a_G))

    def __repr__(self) -> str:
        return "GramStatistic()"


def _vectors(a, name: str = "a") -> tf.Tensor:
    """(1, n_H, n_W, n_C) -> (n_H*n_W, n_C): one row per position (the feature vectors, A^T)."""
    a = costs._activation(a, name)
    return tf.reshape(a, (-1, tf.shape(a)[-1]))


def quantiles(sorted_values, n) -> tf.Tensor:
    r"""Read sorted lists at the quantiles of a list of length ``n``: (K, m) -> (K, n).

    Row ``k`` of ``sorted_values`` holds :math:`m` numbers in increasing order. The result's entry
    :math:`i` is the row's value at position :math:`p_i = (i + \tfrac12)\,\tfrac{m}{n} - \tfrac12`,
    clipped to :math:`[0, m-1]` and interpolated linearly between its two neighbours: the quantile
    :math:`(i + \frac12)/n` of the row's distribution. For :math:`n = m`, :math:`p_i = i` and the rows
    come back unchanged. This is how a sorted style list of one length is compared with a sorted
    generated list of another.
    """
    values = tf.convert_to_tensor(sorted_values, tf.float32)
    m = tf.shape(values)[-1]
    m_f = tf.cast(m, tf.float32)
    i = tf.cast(tf.range(n), tf.float32)
    p = tf.clip_by_value((i + 0.5) * m_f / tf.cast(n, tf.float32) - 0.5, 0.0, m_f - 1.0)
    lo = tf.cast(tf.floor(p), tf.int32)
    hi = tf.minimum(lo + 1, m - 1)
    w = p - tf.cast(lo, tf.float32)
    return tf.gather(values, lo, axis=-1) * (1.0 - w) + tf.gather(values, hi, axis=-1) * w


def _np_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, axis=-1)
    ranks = np.empty(values.shape, np.int32)
    np.put_along_axis(ranks, order, np.arange(values.shape[-1], dtype=np.int32)[None, :], axis=-1)
    return ranks


def _ranks(values: tf.Tensor) -> tf.Tensor:
    """(K, n) -> (K, n) int32: each entry's place in its sorted row (0 = smallest); no gradient.

    NumPy does the sorting (``tf.numpy_function``, inside a ``tf.function`` too): on CPU it is several
    times faster than TensorFlow's sort, which goes through ``top_k``.
    """
    ranks = tf.numpy_function(_np_ranks, [tf.stop_gradient(values)], tf.int32, stateful=False)
    ranks.set_shape(values.shape)
    return ranks


def _sort_rows(values) -> tf.Tensor:
    """Sort each row of (K, n) in increasing order (NumPy's sort; no gradient: for targets)."""
    values = tf.convert_to_tensor(values, tf.float32)
    out = tf.numpy_function(lambda v: np.sort(v, axis=-1), [tf.stop_gradient(values)], tf.float32,
                            stateful=False)
    out.set_shape(values.shape)
    return out


def _squared_sorted_distance(sorted_target: tf.Tensor, values_G: tf.Tensor) -> tf.Tensor:
    r"""mean over (K, n) of (sort(values_G)_i - quantiles(sorted_target)_i)^2: the 1-D W_2^2, mean over K.

    Computed as Risser et al. write it: each value of ``values_G`` is paired with the target's value at
    its own rank (the histogram-matched copy, a constant), :math:`\frac{1}{Kn}\sum (v - \mathrm{matched}(v))^2`;
    the sum is the same as over the two sorted lists, and the gradient needs no sort.
    """
    n = values_G.shape[-1] if values_G.shape[-1] is not None else tf.shape(values_G)[-1]
    same = isinstance(n, int) and sorted_target.shape[-1] == n
    at_quantiles = sorted_target if same else quantiles(sorted_target, n)
    matched = tf.gather(at_quantiles, _ranks(values_G), axis=-1, batch_dims=1)
    return tf.reduce_mean(tf.square(values_G - tf.stop_gradient(matched)))


class MeanStdStatistic:
    r"""Each channel's mean and standard deviation over the positions: what AdaIN aligns.

    Huang and Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"
    (ICCV 2017), use these :math:`2 n_C` numbers per layer as the style. For an activation with feature
    vectors :math:`a_k` (:math:`k = 1..n`, :math:`n = n_H n_W`) and channel :math:`c`:

    .. math:: \mu_c = \frac1n \sum_k a_{kc}, \qquad
       \sigma_c = \sqrt{\frac1n \sum_k (a_{kc} - \mu_c)^2 + \epsilon}, \qquad
       J^{[l]}_{style} = \frac{1}{n_C} \sum_c \big[(\mu^{(S)}_c - \mu^{(G)}_c)^2
       + (\sigma^{(S)}_c - \sigma^{(G)}_c)^2\big]

    (:math:`\epsilon` keeps the gradient of :math:`\sigma` finite where a channel is constant). It keeps
    how strongly and how variably each filter fires, and forgets which filters fire *together* (the
    off-diagonal of the Gram matrix) and the shape of each channel's histogram beyond its spread.
    """

    name = "mean_std"

    def __init__(self, eps: float = 1e-5) -> None:
        if not eps >= 0:
            raise ValueError(f"eps={eps!r} must be >= 0")
        self.eps = float(eps)

    def moments(self, a) -> tf.Tensor:
        """(1, n_H, n_W, n_C) -> (2, n_C): row 0 the means mu_c, row 1 the standard deviations sigma_c."""
        F = _vectors(a)
        mu = tf.reduce_mean(F, axis=0)
        var = tf.reduce_mean(tf.square(F - mu), axis=0)
        return tf.stack([mu, tf.sqrt(var + self.eps)])

    def target(self, a_S) -> tf.Tensor:
        """(1, n_H, n_W, n_C) -> (2, n_C): the style's means and standard deviations."""
        return self.moments(a_S)

    def cost(self, target: tf.Tensor, a_G) -> tf.Tensor:
        """sum over the 2 n_C numbers of (target - moments(a_G))^2, divided by n_C."""
        n_C = tf.cast(tf.shape(target)[-1], tf.float32)
        return tf.reduce_sum(tf.square(target - self.moments(a_G))) / n_C

    def __repr__(self) -> str:
        return f"MeanStdStatistic(eps={self.eps:g})"


class HistogramStatistic:
    r"""Each channel's whole histogram: the 1-D distribution of its values over the positions.

    Risser, Wilmot and Barnes, "Stable and Controllable Neural Texture Synthesis and Style Transfer
    Using Histogram Losses" (2017), remap each channel of :math:`a_G` to the style's histogram and
    penalise the distance to the remapped copy. With the exact remapping (by sorting, instead of their
    256 bins), that distance is the squared 1-D Wasserstein distance between the two channels'
    distributions, which is what this statistic computes (alone; Risser et al. add it to the Gram cost):

    .. math:: J^{[l]}_{style} = \frac{1}{n_C\, n} \sum_{c=1}^{n_C} \sum_{i=1}^{n}
       \big(\mathrm{sort}(A^{(G)}_{c,:})_i - Q^{(S)}_c\big(\tfrac{i - 1/2}{n}\big)\big)^2

    where :math:`A` is the unrolled activation (n_C, n), :math:`n = n_H n_W` of the generated image, and
    :math:`Q^{(S)}_c` the quantile function of the style's channel :math:`c` (its sorted values, read by
    :func:`quantiles`). It keeps every channel's full distribution (mean, spread, skew, how often a
    filter is silent) and, like mean/std, forgets which filters fire together.
    """

    name = "histogram"

    def target(self, a_S) -> tf.Tensor:
        """(1, n_H, n_W, n_C) -> (n_C, m): each channel's m = n_H n_W values, sorted."""
        return _sort_rows(tf.transpose(_vectors(a_S, "a_S")))

    def cost(self, target: tf.Tensor, a_G) -> tf.Tensor:
        """mean over (n_C, n) of (sorted channel of a_G - the style's values at the same quantiles)^2."""
        return _squared_sorted_distance(target, tf.transpose(_vectors(a_G, "a_G")))

    def __repr__(self) -> str:
        return "HistogramStatistic()"


class SlicedTarget(NamedTuple):
    """What :class:`SlicedWassersteinStatistic` keeps of the style image at one layer.

    Attributes:
        vectors: the style's feature vectors, (m, n_C) with m = n_H n_W.
        generator: draws the directions (a ``tf.random.Generator``: its state advances inside a
            ``tf.function`` too), seeded from the statistic's seed and the layer's shape.
        fixed: (n_C, K) directions drawn once, used at every evaluation when ``resample=False``; else None.
    """

    vectors: tf.Tensor
    generator: Any
    fixed: tf.Tensor | None


class SlicedWassersteinStatistic:
    r"""The sliced Wasserstein distance between the clouds of feature vectors of the two images.

    Heitz, Vanhoey, Chambon and Belcour, "A Sliced Wasserstein Loss for Neural Texture Synthesis"
    (CVPR 2021). Project the feature vectors :math:`s_k` (style, :math:`m` of them) and :math:`g_k`
    (generated, :math:`n`) on :math:`K` random unit directions :math:`v_1..v_K \in \mathbb{R}^{n_C}`, sort
    each projection, and compare the sorted lists (the 1-D optimal transport):

    .. math:: J^{[l]}_{style} = \frac{1}{K n} \sum_{j=1}^{K} \sum_{i=1}^{n}
       \big(\mathrm{sort}(v_j^T g)_i - Q_{v_j^T s}\big(\tfrac{i - 1/2}{n}\big)\big)^2

    (:math:`Q` as in :class:`HistogramStatistic`; for :math:`m = n` it is the sorted style list itself).
    Two distributions with the same projections on *every* direction are equal (Cramér-Wold), so over
    many draws this matches the whole distribution of the feature vectors, correlations between
    channels included, not only its first two moments. As Heitz et al. do, the directions are redrawn at
    every evaluation (``resample=True``; a fresh set per layer and per call), so each step sees another
    :math:`K` of them; ``resample=False`` draws them once (a fixed, deterministic yardstick). Optimize it
    with Adam (the library's default): the library's L-BFGS (SciPy's L-BFGS-B) runs a line search that
    assumes one fixed function, and with directions that change at every evaluation it gives up after a
    few iterations. Heitz et al.'s own code uses PyTorch's L-BFGS without a line search, with new
    directions at every evaluation; with ``resample=False`` the cost is a fixed function again.

    The target keeps the style's :math:`m \times n_C` feature vectors (new directions need new
    projections), and every evaluation sorts :math:`K` projections of both images.

    Args:
        directions: K, the number of directions; default ``None``: K = n_C, as Heitz et al.
        seed: the directions are deterministic for a seed (and a layer's n_C and m); each
            :meth:`target` starts its own generator, so two transfers with the same seed draw the same.
        resample: redraw the directions at every call of :meth:`cost` (True) or never (False).
    """

    name = "sliced_wasserstein"

    def __init__(self, directions: int | None = None, seed: int = 0, resample: bool = True) -> None:
        if directions is not None and (isinstance(directions, bool) or not isinstance(directions, int)
                                       or directions < 1):
            raise ValueError(f"directions={directions!r}: use a whole number >= 1, or None for n_C")
        self.directions, self.seed, self.resample = directions, int(seed), bool(resample)

    def _draw(self, generator, n_C: int) -> tf.Tensor:
        K = self.directions or n_C
        V = generator.normal((n_C, K), dtype=tf.float32)
        return V / tf.norm(V, axis=0, keepdims=True)  # (n_C, K): unit columns

    def target(self, a_S) -> SlicedTarget:
        """(1, n_H, n_W, n_C) -> :class:`SlicedTarget` (the vectors (m, n_C), the direction generator)."""
        vectors = _vectors(a_S, "a_S")
        m, n_C = int(vectors.shape[0]), int(vectors.shape[1])
        generator = tf.random.Generator.from_seed(self.seed * 1_000_003 + n_C * 7_919 + m)
        fixed = None if self.resample else self._draw(generator, n_C)
        return SlicedTarget(vectors, generator, fixed)

    def cost(self, target: SlicedTarget, a_G) -> tf.Tensor:
        """Project both clouds on the (new) directions V (n_C, K), sort, mean squared difference."""
        vectors_G = _vectors(a_G, "a_G")
        n_C = int(target.vectors.shape[1])
        V = target.fixed if target.fixed is not None else self._draw(target.generator, n_C)
        projected_S = _sort_rows(tf.transpose(tf.matmul(target.vectors, V)))  # (K, m)
        return _squared_sorted_distance(projected_S, tf.transpose(tf.matmul(vectors_G, V)))  # (K, n)

    def __repr__(self) -> str:
        return (f"SlicedWassersteinStatistic(directions={self.directions}, seed={self.seed}, "
                f"resample={self.resample})")


def squared_mmd(a_S, a_G, kernel: str = "poly2", *, block: int = 2048) -> float:
    r"""The squared maximum mean discrepancy between the feature vectors of two activations.

    With the style's vectors :math:`s_1..s_m` and the generated image's :math:`g_1..g_n` (one per
    position, :math:`n_C` numbers each) and a kernel :math:`k`:

    .. math:: \mathrm{MMD}^2 = \frac{1}{m^2} \sum_{i,j} k(s_i, s_j) + \frac{1}{n^2} \sum_{i,j} k(g_i, g_j)
       - \frac{2}{mn} \sum_{i,j} k(s_i, g_j)

    ``kernel="poly2"``: :math:`k(x, y) = (x^T y)^2`. Li, Wang, Liu and Hou, "Demystifying Neural Style
    Transfer" (IJCAI 2017), show that then :math:`\mathrm{MMD}^2 = \lVert \tilde G^{(S)} - \tilde G^{(G)}
    \rVert_F^2` with :math:`\tilde G = A A^T / (n_H n_W)`, i.e. ``4 n_C^2`` times the Gram statistic's
    cost: matching Gram matrices matches the two distributions of feature vectors in this sense.
    ``kernel="linear"``: :math:`k(x, y) = x^T y`, and :math:`\mathrm{MMD}^2 = \lVert \mu^{(S)} -
    \mu^{(G)} \rVert^2` (the channel means only).

    This function evaluates the kernel sums themselves, pair by pair (in float64, ``block`` rows at a
    time: :math:`O((m + n)^2 n_C)` work), not through the Gram matrices, so it can *check* that identity.

    Args:
        a_S, a_G: activations (1, n_H, n_W, n_C) and (1, n_H', n_W', n_C); the sizes may differ.
    Returns:
        MMD^2 as a float.
    """
    kernels = {"poly2": lambda d: d * d, "linear": lambda d: d}
    if kernel not in kernels:
        raise ValueError(f"kernel={kernel!r}: use one of {sorted(kernels)}")
    k = kernels[kernel]
    S = np.asarray(_vectors(a_S, "a_S"), np.float64)
    Gv = np.asarray(_vectors(a_G, "a_G"), np.float64)
    if S.shape[1] != Gv.shape[1]:
        raise ValueError(f"a_S has {S.shape[1]} channels and a_G {Gv.shape[1]}: same layer?")

    def mean_kernel(X: np.ndarray, Y: np.ndarray) -> float:
        total = 0.0
        for start in range(0, len(X), block):
            total += float(np.sum(k(X[start:start + block] @ Y.T)))
        return total / (len(X) * len(Y))

    return mean_kernel(S, S) + mean_kernel(Gv, Gv) - 2.0 * mean_kernel(S, Gv)


#: The statistics known by name.
STATISTICS: dict[str, StyleStatistic] = {
    "gram": GramStatistic(),
    "mean_std": MeanStdStatistic(),
    "histogram": HistogramStatistic(),
    "sliced_wasserstein": SlicedWassersteinStatistic(),
}


def style_statistic(statistic: str | StyleStatistic) -> StyleStatistic:
    """A statistic from its name (``"gram"``, ...) or the statistic itself."""
    if isinstance(statistic, str):
        if statistic not in STATISTICS:
            raise ValueError(f"style_statistic={statistic!r}: use one of {sorted(STATISTICS)}")
        return STATISTICS[statistic]
    if not (callable(getattr(statistic, "target", None)) and callable(getattr(statistic, "cost", None))):
        raise TypeError(f"{statistic!r} is not a style statistic: it needs target(a_S) and cost(target, a_G)")
    return statistic
