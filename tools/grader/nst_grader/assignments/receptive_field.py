r"""Lesson 01, CNN feature maps: the receptive field and the output size of a layer stack (NumPy only).

A stack of conv and pooling layers is given by its kernel sizes :math:`k_l`, strides :math:`s_l` and
(for the output size) paddings :math:`p_l` on each side, layer 1 first. The float64 references:

* receptive field: :math:`r_0 = 1, j_0 = 1`, then :math:`r_l = r_{l-1} + (k_l - 1)\, j_{l-1}` and
  :math:`j_l = j_{l-1} s_l` (the jump: input pixels between neighbouring units of layer l);
  ``receptive_field(kernels, strides)`` is :math:`r_L`, the field of a unit of the last layer;
* output size: :math:`n_l = \lfloor (n_{l-1} + 2 p_l - k_l) / s_l \rfloor + 1` (CS231n's formula; Keras
  "same" with stride 1 and an odd k is p = (k - 1) / 2, "valid" is p = 0);
  ``output_size(n, kernels, strides, paddings)`` is :math:`n_L`.

The mistakes named in the feedback: the stride product forgotten (every layer adds k - 1), the jump of
the layer itself used instead of its input's, one stride instead of the product, a field that starts
at 0; for the size: no floor, the padding counted once, the + 1 forgotten, rounding up.

``nst_utils`` has no function that computes either quantity (lesson 01 computes the receptive field
in the notebook itself), so nothing is blocked; Keras's ``compute_output_shape`` gives sizes for
Keras layers only, not for the lists of numbers these exercises take.
"""

from __future__ import annotations

import math

import numpy as np

from nst_grader.cases import Assignment, Case, Exercise, NumPyArray

HINTS = {
    "stride product forgotten": (
        "Your value is what you get when every layer adds k - 1 pixels: after a layer with stride s, "
        "neighbouring units are s input pixels apart, so each later layer adds (k - 1) times the product of "
        "the strides of the layers below it (the jump)."),
    "jump of the layer itself": (
        "Your value multiplies k - 1 by the jump *including* the layer's own stride: a layer widens the field "
        "by (k_l - 1) times the jump of its input, j_{l-1}; update the jump after widening the field."),
    "one stride only": (
        "Your value multiplies k - 1 by the previous layer's stride only: the jump is the product of all "
        "the strides below the layer, not the last one."),
    "field starts at 0": ("Your value is 1 pixel short: a single pixel sees itself, so the field starts at "
                          "r_0 = 1 (a 3x3 conv on the image sees 3 pixels, not 2)."),
    "no floor": ("Your sizes keep fractions: a layer has a whole number of outputs, floor((n + 2p - k) / s) + 1; "
                 "round down (// in Python), never up."),
    "padding counted once": "The padding p is added on both sides: n + 2p, not n + p.",
    "+1 forgotten": ("Your value misses the + 1: a kernel that fits exactly once (n + 2p = k) gives one "
                     "output, floor((n + 2p - k) / s) + 1."),
    "rounded up": ("Your value rounds up: the last position a kernel can take must fit inside the padded "
                   "input, so round down: floor((n + 2p - k) / s) + 1."),
}


# ------------------------------------------------------------------ float64 references and mistakes


def receptive_field(kernels, strides, mode: str = "right") -> float:
    """r_L of the stack (``mode`` other than "right": the value of a named mistake)."""
    r = 0.0 if mode == "field starts at 0" else 1.0
    j = 1.0
    previous_s = 1.0
    for k, s in zip(np.asarray(kernels, np.float64), np.asarray(strides, np.float64)):
        if mode == "stride product forgotten":
            r += k - 1
        elif mode == "jump of the layer itself":
            r += (k - 1) * j * s
        elif mode == "one stride only":
            r += (k - 1) * previous_s
        else:
            r += (k - 1) * j
        j *= s
        previous_s = s
    return float(r)


def output_size(n, kernels, strides, paddings, mode: str = "right") -> float:
    """n_L of the stack (``mode`` other than "right": the value of a named mistake)."""
    size = float(n)
    for k, s, p in zip(kernels, strides, paddings):
        k, s, p = float(k), float(s), float(p)
        if mode == "no floor":
            size = (size + 2 * p - k) / s + 1
        elif mode == "padding counted once":
            size = math.floor((size + p - k) / s) + 1
        elif mode == "+1 forgotten":
            size = math.floor((size + 2 * p - k) / s)
        elif mode == "rounded up":
            size = math.ceil((size + 2 * p - k) / s) + 1
        else:
            size = math.floor((size + 2 * p - k) / s) + 1
    return float(size)


RF_MISTAKES = ("stride product forgotten", "jump of the layer itself", "one stride only", "field starts at 0")
SIZE_MISTAKES = ("no floor", "padding counted once", "+1 forgotten", "rounded up")


# ------------------------------------------------------------------ hidden cases


def _distinct(value: float, mistakes: dict[str, float]) -> bool:
    """Every mistake gives its own value, none the right one: each hint is unambiguous."""
    values = [value, *mistakes.values()]
    return len({round(v, 9) for v in values}) == len(values)


def _ints(values, as_array: bool):
    """Whole numbers, one per layer: a list of Python ints, or a NumPy int64 array (``as_array``)."""
    return NumPyArray(np.asarray(values, np.int64), "int64") if as_array else [int(v) for v in values]


def _rf_cases(rng: np.random.Generator) -> list[Case]:
    """Four stacks: VGG-like (3x3 convs, 2x2 pools), then mixed kernels and strides up to 3."""
    cases = []
    for k in range(4):
        while True:
            depth = int(rng.integers(4, 11))
            if k == 0:  # convs of 3x3 / 1 and pools of 2x2 / 2, in random order
                pools = rng.random(depth) < 0.35
                kernels = np.where(pools, 2, 3)
                strides = np.where(pools, 2, 1)
            else:
                kernels = rng.choice([1, 2, 3, 5, 7], size=depth)
                strides = rng.choice([1, 1, 2, 3], size=depth)
            # at least two layers with stride > 1 below a layer with k > 1: the jump matters
            below = [i for i in range(depth - 1) if strides[i] > 1]
            if not (len(below) >= 2 and any(kernels[i] > 1 for i in range(below[1] + 1, depth))):
                continue
            value = receptive_field(kernels, strides)
            mistakes = {m: receptive_field(kernels, strides, m) for m in RF_MISTAKES}
            if value < 900 and _distinct(value, mistakes):  # an off-by-one stays above 1e-3 relative
                break
        kind = "a VGG-like stack (3x3 convs, 2x2 pools)" if k == 0 else "a stack of mixed kernels and strides"
        if k == 3:
            kind += ", given as NumPy arrays"
        cases.append(Case(kind, f"kernels {kernels.tolist()}, strides {strides.tolist()}",
                          (_ints(kernels, k == 3), _ints(strides, k == 3)), {}, np.float64(value), {}, mistakes))
    return cases


def _size_cases(rng: np.random.Generator) -> list[Case]:
    """Four stacks on inputs of 17-300 px, each layer's size at least 1; every mistake gives another value."""
    cases = []
    for k in range(4):
        while True:
            n = int(rng.integers(17, 301))
            depth = int(rng.integers(3, 8))
            kernels = rng.choice([1, 2, 3, 3, 5, 7], size=depth)
            strides = rng.choice([1, 2, 2, 3], size=depth)
            paddings = np.array([int(rng.integers(0, (kk + 1) // 2 + 1)) for kk in kernels])
            sizes, ok = float(n), True
            for kk, ss, pp in zip(kernels, strides, paddings):
                sizes = math.floor((sizes + 2 * pp - kk) / ss) + 1
                ok = ok and sizes >= 2
            if not ok:
                continue
            value = output_size(n, kernels, strides, paddings)
            mistakes = {m: output_size(n, kernels, strides, paddings, m) for m in SIZE_MISTAKES}
            if _distinct(value, mistakes):
                break
        arrays = k == 3
        cases.append(Case("a stack of convs and pools with padding" + (", given as NumPy arrays" if arrays else ""),
                          f"n = {n}, kernels {kernels.tolist()}, strides {strides.tolist()}, "
                          f"paddings {paddings.tolist()}",
                          (n, _ints(kernels, arrays), _ints(strides, arrays), _ints(paddings, arrays)), {},
                          np.float64(value), {}, mistakes))
    return cases


ASSIGNMENT = Assignment(
    id="01_cnn_feature_maps",
    notebook="01_cnn_feature_maps.ipynb",
    title="Lesson 01: receptive field and output size of a layer stack",
    exercises=(
        Exercise("receptive_field", "receptive_field", 2, _rf_cases, rtol=1e-9),   # whole numbers: exact
        Exercise("output_size", "output_size", 2, _size_cases, rtol=1e-9),
    ),
    needs_tensorflow=False,
    hints=HINTS,
)
