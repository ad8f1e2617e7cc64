r"""The cost functions of neural style transfer: the formulas the graded exercises of lesson 05 check.

Gatys et al. (2015), with the normalisations of deeplearning.ai's style-transfer assignment.
Notation shared with the lessons: an activation ``a`` has shape (1, n_H, n_W, n_C); ``a_C``,
``a_S`` and ``a_G`` belong to the content image C, the style image S and the generated image x.

* unrolled activation: ``A = unroll(a)``, shape (n_C, n_H*n_W): one row per channel
* Gram matrix: :math:`G = A A^T`, shape (n_C, n_C)
* content cost: :math:`J_{content} = \frac{1}{4 n_H n_W n_C} \sum (a_C - a_G)^2`
* layer style cost: :math:`J^{[l]}_{style} = \frac{1}{4 n_C^2 (n_H n_W)^2} \sum_{ij} (G^{(S)}_{ij} - G^{(G)}_{ij})^2`
* style cost: :math:`J_{style} = \sum_l \lambda_l J^{[l]}_{style}`
* total cost: :math:`J = \alpha J_{content} + \beta J_{style}`
* total variation (the squared, L2 form): :math:`J_{TV} = \frac{1}{n_H n_W} \sum_{i,j,c} \big[(x_{i+1,j,c} - x_{i,j,c})^2 + (x_{i,j+1,c} - x_{i,j,c})^2\big]`

All functions take numpy arrays or tensors and return float32 tensors (scalars or matrices).
:mod:`nst_utils.loss` builds the loss of a transfer from them.
"""

from __future__ import annotations

from typing import Mapping

from nst_utils._tf import tf
from nst_utils.settings import DEFAULTS

Tensor = tf.Tensor


def _activation(a, name: str) -> Tensor:
    a = tf.convert_to_tensor(a, dtype=tf.float32)
    if a.shape.rank != 4 or (a.shape[0] is not None and a.shape[0] != 1):
        raise ValueError(f"{name} must have shape (1, n_H, n_W, n_C); got {tuple(a.shape)}")
    return a


def unroll(a) -> Tensor:
    """(1, n_H, n_W, n_C) -> (n_C, n_H*n_W): one row per channel.

    Reshape to (n_H*n_W, n_C) *first* and then transpose. Reshaping straight to (n_C, n_H*n_W)
    gives the right shape but mixes channels and positions (the "unrolling trap").
    """
    a = _activation(a, "a")
    n_C = tf.shape(a)[-1]
    return tf.transpose(tf.reshape(a, (-1, n_C)))


def gram_matrix(A) -> Tensor:
    """Gram matrix of an unrolled activation. A: (n_C, n_H*n_W) -> G = A A^T: (n_C, n_C)."""
    A = tf.convert_to_tensor(A, dtype=tf.float32)
    if A.shape.rank != 2:
        raise ValueError(
            f"gram_matrix expects an unrolled activation of shape (n_C, n_H*n_W); got {tuple(A.shape)}. "
            "Use unroll(a) on a (1, n_H, n_W, n_C) activation first."
        )
    return tf.matmul(A, A, transpose_b=True)


def content_cost(a_C, a_G) -> Tensor:
    """J_content = 1/(4 n_H n_W n_C) * sum (a_C - a_G)^2; both (1, n_H, n_W, n_C)."""
    a_C, a_G = _activation(a_C, "a_C"), _activation(a_G, "a_G")
    if a_C.shape != a_G.shape:
        raise ValueError(f"a_C {tuple(a_C.shape)} and a_G {tuple(a_G.shape)} must have the same shape")
    size = tf.cast(tf.size(a_C), tf.float32)  # n_H * n_W * n_C
    return tf.reduce_sum(tf.square(a_C - a_G)) / (4.0 * size)


def normalized_gram(a) -> Tensor:
    """G / (n_H n_W) for an activation (1, n_H, n_W, n_C): the Gram matrix per position, (n_C, n_C).

    With it, ``layer_style_cost = sum((Gn_S - Gn_G)^2) / (4 n_C^2)``, which also lets a style image
    and a generated image of different sizes be compared at all (the raw G grows with n_H n_W; what is
    left still depends on how the image's content changes with its size).
    """
    a = _activation(a, "a")
    positions = tf.cast(tf.shape(a)[1] * tf.shape(a)[2], tf.float32)
    return gram_matrix(unroll(a)) / positions


def style_cost_from_grams(Gn_S, Gn_G) -> Tensor:
    """sum((Gn_S - Gn_G)^2) / (4 n_C^2) for normalised Gram matrices (see :func:`normalized_gram`)."""
    n_C = tf.cast(tf.shape(Gn_S)[0], tf.float32)
    return tf.reduce_sum(tf.square(Gn_S - Gn_G)) / (4.0 * n_C * n_C)


def layer_style_cost(a_S, a_G) -> Tensor:
    """J_style^[l] = 1/(4 n_C^2 (n_H n_W)^2) * sum_ij (G_S - G_G)^2; both (1, n_H, n_W, n_C).

    If the two activations differ in n_H, n_W (style and generated images of different sizes),
    each Gram matrix is divided by its own n_H n_W; for equal sizes that is exactly the formula.
    """
    a_S, a_G = _activation(a_S, "a_S"), _activation(a_G, "a_G")
    if a_S.shape[-1] != a_G.shape[-1]:
        raise ValueError(f"a_S has {a_S.shape[-1]} channels and a_G {a_G.shape[-1]}: same layer?")
    return style_cost_from_grams(normalized_gram(a_S), normalized_gram(a_G))


def style_cost(a_S: Mapping[str, Tensor], a_G: Mapping[str, Tensor],
               weights: Mapping[str, float] | None = None) -> Tensor:
    """J_style = sum_l lambda_l J_style^[l].

    Args:
        a_S, a_G: ``{layer: activation}`` for the style and the generated image.
        weights: ``{layer: lambda_l}``; default: every layer of ``a_S`` with weight 1/L.
    """
    if weights is None:
        weights = {name: 1.0 / len(a_S) for name in a_S}
    missing = [n for n in weights if n not in a_S or n not in a_G]
    if missing:
        raise ValueError(f"no activation for style layer(s) {missing}; have {list(a_S)}")
    return tf.add_n([float(w) * layer_style_cost(a_S[n], a_G[n]) for n, w in weights.items()])


def total_cost(J_content, J_style, alpha: float = DEFAULTS.alpha, beta: float = DEFAULTS.beta) -> Tensor:
    """J = alpha * J_content + beta * J_style (default weights: the library's, :data:`~nst_utils.settings.DEFAULTS`).

    The defaults fit the balanced weighting of :mod:`nst_utils.loss`; for the raw costs of this
    module, choose alpha and beta yourself (lesson 06 measures them).
    """
    return alpha * tf.convert_to_tensor(J_content, tf.float32) + beta * tf.convert_to_tensor(J_style, tf.float32)


def total_variation_cost(image) -> Tensor:
    """J_TV = (1/(n_H n_W)) sum over pixels and channels of squared differences to the right and
    below neighbours. (1, n_H, n_W, 3) -> scalar; zero for a flat image.

    This is the squared (L2) form; ``tf.image.total_variation`` sums absolute differences (L1) and
    does not divide by n_H n_W.
    """
    x = _activation(image, "image")
    dh = x[:, 1:, :, :] - x[:, :-1, :, :]
    dw = x[:, :, 1:, :] - x[:, :, :-1, :]
    positions = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
    return (tf.reduce_sum(tf.square(dh)) + tf.reduce_sum(tf.square(dw))) / positions
