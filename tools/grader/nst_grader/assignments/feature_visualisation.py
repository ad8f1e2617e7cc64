r"""Lesson 02, feature visualisation: the objectives that activation maximisation climbs (NumPy only).

For one image's activation :math:`a` of shape (1, n_H, n_W, n_C), the float64 references are those of
``nst_utils.visualise.Objective``:

* a channel objective, or a mix of channels, with weights :math:`w` (n_C,):
  :math:`\mathcal{O}_w = \frac{1}{n_H n_W}\sum_{h,w'} \sum_c w_c\, a_{h,w',c}`; a one-hot :math:`w` (1 at
  channel c) is the lesson's :math:`\mathcal{O}_{l,c}`, the mean of channel c over the positions, and
  ``nu.objective(l, c1) + 0.5 * nu.objective(l, c2)`` is :math:`w = e_{c1} + 0.5\, e_{c2}`;
* the layer objective of deep dream, :math:`\mathcal{O}_l = \frac{1}{n_H n_W n_C}\sum_{h,w',c} a_{h,w',c}^2`.

The mistakes named in the feedback: the weights not applied, the mean of the squares, a sum or an extra
division by n_C (recognised by their factor); for the layer: no square, the root of the mean square,
the square of the mean. ``nst_utils.visualise`` (``Objective``, ``objective``) is the library's reference
and is blocked in the sandbox.
"""

from __future__ import annotations

import numpy as np

from nst_grader.cases import Assignment, Case, Exercise

HINTS = {
    "weights not applied": ("Your value ignores the weights w: multiply each channel by its weight w_c and add "
                            "over the channels, then take the mean over the positions."),
    "mean of the squares": ("Your value averages squared activations: a channel objective is the mean of the "
                            "activation itself (deep dream's layer objective is the one with squares)."),
    "no square": ("Your value is the mean activation: deep dream's layer objective is the mean of the "
                  "*squared* activations, so that strong negative and positive responses both count."),
    "root mean square": "Your value takes the square root: the objective is the mean of a^2 itself.",
    "square of the mean": ("Your value squares the mean activation: square every entry first, then take "
                           "the mean."),
}


# ------------------------------------------------------------------ float64 references and mistakes


def channel_objective(a, w, mode: str = "right") -> float:
    """mean over the positions of sum_c w_c a_c (``mode``: the value of a named mistake)."""
    a, w = np.asarray(a, np.float64), np.asarray(w, np.float64)
    if mode == "weights not applied":
        return float(a.mean())
    if mode == "mean of the squares":
        return float((a ** 2 @ w).mean())
    return float((a @ w).mean())


def layer_objective(a, mode: str = "right") -> float:
    """mean of a^2 over every entry (``mode``: the value of a named mistake)."""
    a = np.asarray(a, np.float64)
    if mode == "no square":
        return float(a.mean())
    if mode == "root mean square":
        return float(np.sqrt((a ** 2).mean()))
    if mode == "square of the mean":
        return float(a.mean() ** 2)
    return float((a ** 2).mean())


# ------------------------------------------------------------------ hidden cases


def _dims(rng: np.random.Generator) -> tuple[int, int, int]:
    """n_H != n_W, and n_C, n_H*n_W, n_H*n_W*n_C all different (a wrong factor is recognised)."""
    while True:
        n_H, n_W, n_C = int(rng.integers(2, 10)), int(rng.integers(2, 11)), int(rng.integers(3, 17))
        if n_H != n_W and n_C != n_H * n_W:
            return n_H, n_W, n_C


def _activation(rng: np.random.Generator, shape: tuple, relu: bool) -> np.ndarray:
    a = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, size=shape[-1]) + rng.uniform(-0.5, 1.5, size=shape[-1])
    return (np.maximum(a, 0.0) if relu else a).astype(np.float32)


def _far(value: float, mistakes: dict[str, float]) -> bool:
    """Every mistake more than 0.2 % away from the right value (a Case drops those within 0.1 %)."""
    return all(abs(v - value) > 2e-3 * abs(value) for v in mistakes.values())


def _channel_cases(rng: np.random.Generator) -> list[Case]:
    """One channel (one-hot w), a mix of two, then dense signed weights; ReLU-like and signed activations."""
    cases = []
    while len(cases) < 4:
        k = len(cases)
        n_H, n_W, n_C = _dims(rng)
        a = _activation(rng, (1, n_H, n_W, n_C), relu=k < 3)
        w = np.zeros(n_C, np.float32)
        if k == 0:
            w[int(rng.integers(0, n_C))] = 1.0
            kind = "one channel (a one-hot w)"
        elif k == 1:
            c1, c2 = rng.choice(n_C, size=2, replace=False)
            w[c1], w[c2] = 1.0, float(np.float32(rng.uniform(0.2, 0.9)))
            kind = "a mix of two channels"
        else:
            w[:] = rng.uniform(-1.0, 1.0, n_C).astype(np.float32)
            kind = "signed weights on every channel" + (", signed activations" if k == 3 else "")
        value = channel_objective(a, w)
        mistakes = {m: channel_objective(a, w, m) for m in ("weights not applied", "mean of the squares")}
        if not _far(value, mistakes):
            continue
        cases.append(Case(kind, f"a (1, {n_H}, {n_W}, {n_C}), w {np.round(w, 3).tolist()}", (a, w), {},
                          np.float64(value), {"n_H*n_W": float(n_H * n_W), "n_C": float(n_C)}, mistakes))
    return cases


def _layer_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 3:
        k = len(cases)
        n_H, n_W, n_C = _dims(rng)
        a = _activation(rng, (1, n_H, n_W, n_C), relu=k != 1)
        mistakes = {m: layer_objective(a, m) for m in ("no square", "root mean square", "square of the mean")}
        if not _far(layer_objective(a), mistakes):
            continue
        cases.append(Case("signed activations" if k == 1 else "ReLU-like activations (all >= 0)",
                          f"a (1, {n_H}, {n_W}, {n_C})", (a,), {}, np.float64(layer_objective(a)),
                          {"n_H*n_W*n_C": float(n_H * n_W * n_C), "n_C": float(n_C), "n_H*n_W": float(n_H * n_W)},
                          mistakes))
    return cases


#: the library's references of these exercises, blocked during the hidden tests (Assignment.blocked)
BLOCKED = {"nst_utils.visualise": ("Objective", "objective")}


ASSIGNMENT = Assignment(
    id="02_feature_visualisation",
    notebook="02_feature_visualisation.ipynb",
    title="Lesson 02: the objectives of feature visualisation and deep dream",
    exercises=(
        Exercise("channel_objective", "channel_objective", 2, _channel_cases),
        Exercise("layer_objective", "layer_objective", 1, _layer_cases),
    ),
    needs_tensorflow=False,
    blocked=BLOCKED,
    hints=HINTS,
)
