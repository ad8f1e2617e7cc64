"""Lesson 05, the cost functions of neural style transfer: six exercises, 12 points.

The formulas are deeplearning.ai's (those of ``nst_utils.costs``), in float64 in
:mod:`nst_grader.reference`; the hints name the classic mistakes (the unrolling trap, weights not
applied, alpha and beta swapped, one direction of the total variation only).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nst_grader import reference as ref
from nst_grader.cases import Assignment, Case, Exercise, Scalar

HINTS = {
    "unrolling trap": ("Your value is the one the unrolling trap gives: reshaping a (1, n_H, n_W, n_C) "
                       "activation straight to (n_C, n_H*n_W) mixes channels and positions. Reshape to "
                       "(n_H*n_W, n_C) first, then transpose."),
    "weights not applied": "Your value leaves out the weights: use the weights you are given.",
    "every layer of the dictionaries": ("Your value counts every layer of the activation dictionaries; only "
                                        "the layers named in weights count."),
    "alpha and beta swapped": "alpha multiplies J_content and beta J_style; yours are the other way round.",
    "one direction only": "Your value counts the differences in one direction only: add both directions.",
    "the other direction only": "Your value counts the differences in one direction only: add both directions.",
}


def _distinct(factors: dict[str, float]) -> bool:
    values = [v for v in factors.values()]
    return all(v > 1 for v in values) and len({round(v, 9) for v in values}) == len(values)


def _dims(rng: np.random.Generator, max_side: int, max_c: int, factors: Callable[[int, int, int], dict]):
    """n_H != n_W and n_C >= 2, drawn until the named factors are all different (unambiguous feedback)."""
    while True:
        n_H = int(rng.integers(2, max_side + 1))
        n_W = int(rng.integers(2, max_side + 2))
        n_C = int(rng.integers(2, max_c + 1))
        if n_H != n_W and _distinct(factors(n_H, n_W, n_C)):
            return n_H, n_W, n_C


def _activation(rng: np.random.Generator, shape: tuple, relu: bool) -> np.ndarray:
    a = rng.standard_normal(shape) * rng.uniform(0.5, 3.0)
    return (np.maximum(a, 0.0) if relu else a).astype(np.float32)


def _content_factors(n_H, n_W, n_C):
    return {"4": 4, "n_C": n_C, "n_H*n_W": n_H * n_W, "n_H*n_W*n_C": n_H * n_W * n_C}


def _style_factors(n_H, n_W, n_C):
    hw = n_H * n_W
    return {"4": 4, "n_C": n_C, "n_C^2": n_C ** 2, "n_H*n_W": hw, "(n_H*n_W)^2": hw ** 2, "n_C*n_H*n_W": n_C * hw}


def _activation_pair_cases(rng: np.random.Generator, names: str, cost: Callable, factors: Callable,
                           mistakes: Callable | None = None) -> list[Case]:
    """Four cases of two activations of one shape (signed, then ReLU-like, twice): ``cost(a, b)``."""
    cases = []
    for k in range(4):
        n_H, n_W, n_C = _dims(rng, 9, 12, factors)
        relu = k % 2 == 1
        a = _activation(rng, (1, n_H, n_W, n_C), relu)
        b = _activation(rng, (1, n_H, n_W, n_C), relu)
        cases.append(Case("ReLU-like activations (all >= 0)" if relu else "signed activations",
                          f"{names} of shape (1, {n_H}, {n_W}, {n_C})", (a, b), {},
                          np.float64(cost(a, b)), factors(n_H, n_W, n_C), mistakes(a, b) if mistakes else {}))
    return cases


def _content_cases(rng: np.random.Generator) -> list[Case]:
    return _activation_pair_cases(rng, "a_C, a_G", ref.content_cost, _content_factors)


def _gram_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        n_C = int(rng.integers(2, 13))
        m = int(rng.choice([v for v in range(3, 41) if v != n_C]))
        A = rng.standard_normal((n_C, m)).astype(np.float32)
        cases.append(Case("a random unrolled activation A", f"A of shape ({n_C}, {m})", (A,), {},
                          ref.gram_matrix(A), gram_of_width=m))
    return cases


def _layer_style_cases(rng: np.random.Generator) -> list[Case]:
    return _activation_pair_cases(rng, "a_S, a_G", ref.layer_style_cost, _style_factors, ref.layer_style_mistakes)


def _style_cases(rng: np.random.Generator) -> list[Case]:
    names = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    cases = []
    for k in range(3):
        chosen = [str(n) for n in rng.choice(names, size=int(rng.integers(2, 5)), replace=False)]
        a_S, a_G, weights, shapes = {}, {}, {}, []
        for name in chosen:
            n_H, n_W, n_C = _dims(rng, 7, 8, lambda h, w, c: {"hw": h * w, "c": c})
            a_S[name] = _activation(rng, (1, n_H, n_W, n_C), True)
            a_G[name] = _activation(rng, (1, n_H, n_W, n_C), True)
            weights[name] = round(float(rng.uniform(0.1, 1.0)), 3)
            shapes.append(f"{name} (1, {n_H}, {n_W}, {n_C})")
        kind = f"{len(chosen)} layers"
        if k == 2:  # the dictionaries also hold the content layer, which has no style weight
            a_S["conv4_2"] = _activation(rng, (1, 3, 4, 5), True)
            a_G["conv4_2"] = _activation(rng, (1, 3, 4, 5), True)
            kind += ", and a layer in the dictionaries that is not in weights"
        factors = {"the number of layers": float(len(weights))} if len(weights) > 1 else {}
        cases.append(Case(kind, f"layers {', '.join(shapes)}; weights {weights}" + (", plus conv4_2" if k == 2 else ""),
                          (a_S, a_G, weights), {}, np.float64(ref.style_cost(a_S, a_G, weights)), factors,
                          ref.style_mistakes(a_S, a_G, weights)))
    return cases


def _total_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    kinds = [("Python floats", "float"), ("float32 scalar tensors", "tensor"), ("NumPy float32 scalars", "np_float32")]
    for kind, form in kinds:
        jc, js = float(np.float32(rng.uniform(0.1, 10))), float(np.float32(rng.uniform(0.1, 10)))
        alpha, beta = float(rng.uniform(1, 50)), float(rng.uniform(1, 50))
        args = (Scalar(jc, form), Scalar(js, form))
        cases.append(Case(f"J_content and J_style as {kind}, alpha and beta given", f"total_cost({jc:.6g}, {js:.6g}, "
                          f"alpha={alpha:.6g}, beta={beta:.6g})", args, {"alpha": alpha, "beta": beta},
                          np.float64(ref.total_cost(jc, js, alpha, beta)), {},
                          ref.total_mistakes(jc, js, alpha, beta)))
    return cases


def _tv_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n_H, n_W, _c = _dims(rng, 12, 2, lambda h, w, c: {"n_H*n_W": h * w, "3 (the channels)": 3,
                                                          "3*n_H*n_W": 3 * h * w})
        image = rng.uniform(0.0, 1.0, (1, n_H, n_W, 3)).astype(np.float32)
        cases.append(Case("a random image", f"image of shape (1, {n_H}, {n_W}, 3)", (image,), {},
                          np.float64(ref.total_variation_cost(image)),
                          {"n_H*n_W": n_H * n_W, "3 (the channels)": 3, "3*n_H*n_W": 3 * n_H * n_W},
                          ref.tv_mistakes(image)))
    return cases


#: correct TensorFlow versions of the functions other exercises call, sent only to those exercises
HELPER_SOURCE = {
    "gram_matrix": '''
def gram_matrix(A):
    """The grader's correct gram_matrix (so that a mistake in exercise 2 costs points once)."""
    A = tf.convert_to_tensor(A)
    return tf.matmul(A, A, transpose_b=True)
''',
    "compute_layer_style_cost": '''
def compute_layer_style_cost(a_S, a_G):
    """The grader's correct compute_layer_style_cost (so that a mistake in exercise 3 costs points once)."""
    a_S, a_G = tf.convert_to_tensor(a_S), tf.convert_to_tensor(a_G)
    _, n_H, n_W, n_C = a_G.shape
    A_S = tf.transpose(tf.reshape(a_S, (n_H * n_W, n_C)))
    A_G = tf.transpose(tf.reshape(a_G, (n_H * n_W, n_C)))
    G_S = tf.matmul(A_S, A_S, transpose_b=True)
    G_G = tf.matmul(A_G, A_G, transpose_b=True)
    return tf.reduce_sum(tf.square(G_S - G_G)) / (4 * n_C ** 2 * (n_H * n_W) ** 2)
''',
}


ASSIGNMENT = Assignment(
    id="05_cost_functions",
    notebook="05_cost_functions.ipynb",
    title="Lesson 05: the cost functions",
    exercises=(
        Exercise("compute_content_cost", "compute_content_cost", 2, _content_cases),
        Exercise("gram_matrix", "gram_matrix", 2, _gram_cases),
        Exercise("compute_layer_style_cost", "compute_layer_style_cost", 3, _layer_style_cases,
                 needs=("gram_matrix",)),
        Exercise("compute_style_cost", "compute_style_cost", 2, _style_cases,
                 needs=("gram_matrix", "compute_layer_style_cost")),
        Exercise("total_cost", "total_cost", 1, _total_cases),
        Exercise("total_variation_cost", "total_variation_cost", 2, _tv_cases),
    ),
    needs_tensorflow=True,
    helpers=HELPER_SOURCE,
    helper_imports="import tensorflow as tf\n",
    hints=HINTS,
)
