r"""The grader's own reference formulas, in float64 NumPy (no TensorFlow, no ``nst_utils``).

They are the formulas of the lesson (and of ``nst_utils.costs``, which the test suite checks them
against): with an activation :math:`a` of shape (1, n_H, n_W, n_C),

* :math:`J_{content} = \frac{1}{4 n_H n_W n_C}\sum (a_C - a_G)^2`
* :math:`G = A A^T`, :math:`A` = the activation unrolled to (n_C, n_H n_W): one row per channel
* :math:`J^{[l]}_{style} = \frac{1}{4 n_C^2 (n_H n_W)^2}\sum_{ij} (G^{(S)}_{ij} - G^{(G)}_{ij})^2`
* :math:`J_{style} = \sum_l \lambda_l J^{[l]}_{style}` over the layers named in the weights
* :math:`J = \alpha J_{content} + \beta J_{style}`
* :math:`J_{TV} = \frac{1}{n_H n_W}\sum (x_{i+1,j} - x_{i,j})^2 + (x_{i,j+1} - x_{i,j})^2`

The ``*_mistakes`` functions give the values of the classic wrong answers, so that feedback can
name the mistake ("the unrolling trap") without showing any number.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def unroll(a) -> np.ndarray:
    """(1, n_H, n_W, n_C) -> (n_C, n_H*n_W): reshape to (n_H*n_W, n_C) first, then transpose."""
    a = _f64(a)
    return a.reshape(-1, a.shape[-1]).T


def unroll_trap(a) -> np.ndarray:
    """The unrolling trap: reshape straight to (n_C, n_H*n_W) (rows mix channels and positions)."""
    a = _f64(a)
    return a.reshape(a.shape[-1], -1)


def gram_matrix(A) -> np.ndarray:
    A = _f64(A)
    return A @ A.T


def content_cost(a_C, a_G) -> float:
    a_C, a_G = _f64(a_C), _f64(a_G)
    return float(np.sum((a_C - a_G) ** 2) / (4.0 * a_C.size))


def layer_style_cost(a_S, a_G, unroll_fn=unroll) -> float:
    a_S, a_G = _f64(a_S), _f64(a_G)
    _, n_H, n_W, n_C = a_G.shape
    diff = gram_matrix(unroll_fn(a_S)) - gram_matrix(unroll_fn(a_G))
    return float(np.sum(diff ** 2) / (4.0 * n_C ** 2 * (n_H * n_W) ** 2))


def style_cost(a_S: Mapping, a_G: Mapping, weights: Mapping[str, float], unroll_fn=unroll) -> float:
    return float(sum(float(w) * layer_style_cost(a_S[name], a_G[name], unroll_fn) for name, w in weights.items()))


def total_cost(J_content, J_style, alpha, beta) -> float:
    return float(float(alpha) * float(J_content) + float(beta) * float(J_style))


def total_variation_cost(image) -> float:
    x = _f64(image)
    _, n_H, n_W, _ = x.shape
    down = np.sum((x[:, 1:] - x[:, :-1]) ** 2)
    right = np.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2)
    return float((down + right) / (n_H * n_W))


# ------------------------------------------------------------------ classic mistakes, for feedback


def layer_style_mistakes(a_S, a_G) -> dict[str, float]:
    return {"unrolling trap": layer_style_cost(a_S, a_G, unroll_trap)}


def style_mistakes(a_S: Mapping, a_G: Mapping, weights: Mapping[str, float]) -> dict[str, float]:
    out = {
        "unrolling trap": style_cost(a_S, a_G, weights, unroll_trap),
        "weights not applied": style_cost(a_S, a_G, {name: 1.0 for name in weights}),
    }
    if set(a_S) != set(weights):
        out["every layer of the dictionaries"] = sum(float(weights.get(n, 1.0)) * layer_style_cost(a_S[n], a_G[n])
                                                     for n in a_S)
    return out


def total_mistakes(J_content, J_style, alpha, beta) -> dict[str, float]:
    return {
        "alpha and beta swapped": total_cost(J_content, J_style, beta, alpha),
        "weights not applied": float(J_content) + float(J_style),
    }


def tv_mistakes(image) -> dict[str, float]:
    x = _f64(image)
    _, n_H, n_W, _ = x.shape
    down = np.sum((x[:, 1:] - x[:, :-1]) ** 2) / (n_H * n_W)
    right = np.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2) / (n_H * n_W)
    return {"one direction only": float(down), "the other direction only": float(right)}
