r"""Lesson 09, fast style transfer: the building blocks of the transformation network (NumPy only).

With a batch :math:`x` of shape (N, n_H, n_W, n_C), the float64 references are those of
``nst_utils.fast.network``:

* instance normalisation (Ulyanov et al. 2016):
  :math:`y_{b,i,j,c} = \gamma_c \frac{x_{b,i,j,c} - \mu_{b,c}}{\sqrt{\sigma^2_{b,c} + \epsilon}} + \beta_c`,
  :math:`\mu_{b,c}` and :math:`\sigma^2_{b,c}` the mean and the (population) variance over the positions
  (i, j) of image b, channel c;
* reflection padding by p px: height and width padded with the mirror image of the border, the edge
  row/column itself not repeated (``np.pad(mode="reflect")``), shape (N, n_H + 2p, n_W + 2p, n_C);
* Johnson et al.'s (2016) residual block with reflection padding and instance normalisation, no bias:
  :math:`h = \mathrm{relu}(\mathrm{IN}_1(\mathrm{conv}(\mathrm{pad}_1(x), W_1)))`,
  :math:`y = \mathrm{IN}_2(\mathrm{conv}(\mathrm{pad}_1(h), W_2))`, the block returns :math:`x + y`;
  conv is the lesson's given ``conv2d_valid`` (cross-correlation without padding, as Keras' Conv2D).

The mistakes named in the feedback: batch or layer statistics instead of per image and channel, the
sample variance, epsilon outside the square root, gamma/beta left out or swapped; the edge repeated
(``symmetric``), the edge copied, zeros; no skip connection, a ReLU after the sum or after the second
normalisation, zero padding, no normalisation. ``nst_utils``' ``InstanceNormalization``,
``ReflectionPadding2D`` and ``transformation_network`` are the library's references, blocked in the sandbox.
"""

from __future__ import annotations

import numpy as np

from nst_grader.cases import Assignment, Case, Exercise

HINTS = {
    "batch statistics": (
        "Your values use one mean and variance per channel over the whole batch: that is batch normalisation. "
        "Instance normalisation takes them per image and per channel, over the positions only (axes 1 and 2)."),
    "layer statistics": (
        "Your values use one mean and variance per image over its positions and channels together: instance "
        "normalisation keeps one pair per channel (axes 1 and 2, not 3)."),
    "sample variance": ("Your values use the sample variance (dividing by n - 1): use the population variance, "
                        "the mean of (x - mu)^2 over the n_H*n_W positions (NumPy's default, ddof=0)."),
    "eps outside the square root": "Add eps to the variance, inside the square root: sqrt(var + eps).",
    "no scale and shift": "Your values are normalised but not scaled and shifted: multiply by gamma, then add beta.",
    "gamma and beta swapped": "Your values multiply by beta and add gamma: gamma scales, beta shifts.",
    "edge repeated": (
        "Your padding repeats the edge row/column (NumPy's mode='symmetric'): reflection mirrors the image about "
        "its edge, so the first padded row is the row *next to* the edge (mode='reflect', tf.pad's REFLECT)."),
    "edge copied": "Your padding copies the edge value outwards (mode='edge'): mirror the rows inside it instead.",
    "zeros": ("Your padding adds zeros: a border of zeros is darker than the image beside it, and the convolutions "
              "see it. Mirror the border instead (mode='reflect'), so that the padding looks like the image."),
    "no skip connection": ("Your block returns y only: a residual block returns x + y, so that it learns a change "
                           "to its input."),
    "relu after the sum": "Your block applies a ReLU after the sum: Johnson et al.'s block returns x + y as it is.",
    "relu after the second normalisation": (
        "Your block applies a ReLU to y: only the first convolution is followed by a ReLU; the second is "
        "normalised and added to x."),
    "zero padding": ("Your block pads with zeros before a convolution: pad each convolution's input by reflection "
                     "(reflect_pad(., 1)), then convolve without padding."),
    "no normalisation": "Your block leaves out instance normalisation after a convolution: normalise after each.",
}

# ------------------------------------------------------------------ float64 references and mistakes


def instance_norm(x, gamma, beta, eps: float = 1e-5, mode: str = "right") -> np.ndarray:
    """(N, n_H, n_W, n_C) -> same: gamma (x - mu) / sqrt(var + eps) + beta (``mode``: a named mistake)."""
    x = np.asarray(x, np.float64)
    gamma, beta = np.asarray(gamma, np.float64), np.asarray(beta, np.float64)
    axes = {"batch statistics": (0, 1, 2), "layer statistics": (1, 2, 3)}.get(mode, (1, 2))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=1 if mode == "sample variance" else 0)
    z = (x - mu) / (np.sqrt(var) + eps if mode == "eps outside the square root" else np.sqrt(var + eps))
    if mode == "no scale and shift":
        return z
    if mode == "gamma and beta swapped":
        return beta * z + gamma
    return gamma * z + beta


def reflect_pad(x, p: int, mode: str = "right") -> np.ndarray:
    """(N, n_H, n_W, n_C) -> (N, n_H + 2p, n_W + 2p, n_C), mirrored without the edge (``mode``: a mistake)."""
    np_mode = {"edge repeated": "symmetric", "edge copied": "edge", "zeros": "constant"}.get(mode, "reflect")
    return np.pad(np.asarray(x, np.float64), ((0, 0), (p, p), (p, p), (0, 0)), mode=np_mode)


def conv2d_valid(x, W) -> np.ndarray:
    """(N, H, W_, C_in), (k, k, C_in, C_out) -> (N, H-k+1, W_-k+1, C_out): sum_{u,v,c} x[b,i+u,j+v,c] W[u,v,c,o]."""
    x, W = np.asarray(x, np.float64), np.asarray(W, np.float64)
    k = W.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # (N, H', W', C_in, k, k)
    return np.einsum("bijcuv,uvco->bijo", windows, W)


def residual_block(x, W1, W2, gamma1, beta1, gamma2, beta2, eps: float = 1e-5, mode: str = "right") -> np.ndarray:
    """x + IN_2(conv(pad(relu(IN_1(conv(pad(x), W1)))), W2)) (``mode``: the value of a named mistake)."""
    x = np.asarray(x, np.float64)
    pad = (lambda a: reflect_pad(a, 1, "zeros")) if mode == "zero padding" else (lambda a: reflect_pad(a, 1))
    norm = (lambda a, g, b: a) if mode == "no normalisation" else (lambda a, g, b: instance_norm(a, g, b, eps))
    h = np.maximum(norm(conv2d_valid(pad(x), W1), gamma1, beta1), 0.0)
    y = norm(conv2d_valid(pad(h), W2), gamma2, beta2)
    if mode == "no skip connection":
        return y
    if mode == "relu after the sum":
        return np.maximum(x + y, 0.0)
    if mode == "relu after the second normalisation":
        return x + np.maximum(y, 0.0)
    return x + y


IN_MISTAKES = ("batch statistics", "layer statistics", "sample variance", "eps outside the square root",
               "no scale and shift", "gamma and beta swapped")
PAD_MISTAKES = ("edge repeated", "edge copied", "zeros")
BLOCK_MISTAKES = ("no skip connection", "relu after the sum", "relu after the second normalisation",
                  "zero padding", "no normalisation")

# ------------------------------------------------------------------ hidden cases


def _batch(rng: np.random.Generator, shape: tuple, relu: bool) -> np.ndarray:
    """Images of different contrasts and brightness per image and channel (float32, as the sandbox sees them)."""
    N, n_C = shape[0], shape[-1]
    scale = rng.uniform(0.3, 4.0, size=(N, 1, 1, n_C))
    offset = rng.uniform(-1.0, 2.0, size=(N, 1, 1, n_C))
    x = rng.standard_normal(shape) * scale + offset
    return (np.maximum(x, 0.0) if relu else x).astype(np.float32)


def _far(right: np.ndarray, mistakes: dict, names) -> bool:
    """Every named mistake is present and differs from the right value by more than 1 % of its scale."""
    scale = float(np.max(np.abs(right)))
    return all(n in mistakes and np.max(np.abs(mistakes[n] - right)) > 1e-2 * scale for n in names)


def _affine(rng: np.random.Generator, n_C: int) -> tuple[np.ndarray, np.ndarray]:
    gamma = rng.uniform(0.5, 2.0, n_C) * rng.choice([-1.0, 1.0], n_C)
    return gamma.astype(np.float32), rng.uniform(-1.0, 1.0, n_C).astype(np.float32)


def _in_cases(rng: np.random.Generator) -> list[Case]:
    """One image; several images of different contrasts; eps given with a flat channel; ReLU-like inputs."""
    kinds = ("one image", "a batch of images of different contrasts",
             "a batch with a flat channel in one image, eps given", "a batch of ReLU-like activations")
    cases = []
    for k, kind in enumerate(kinds):
        while True:
            N = 1 if k == 0 else int(rng.integers(2, 4))
            shape = (N, int(rng.integers(2, 7)), int(rng.integers(2, 7)), int(rng.integers(2, 6)))
            x = _batch(rng, shape, relu=k == 3)
            gamma, beta = _affine(rng, shape[-1])
            kwargs: dict = {}
            if k == 2:
                x[int(rng.integers(0, N)), :, :, int(rng.integers(0, shape[-1]))] = rng.uniform(-1, 1)
                kwargs = {"eps": float(rng.choice([0.05, 0.2, 0.5]))}
            eps = kwargs.get("eps", 1e-5)
            right = instance_norm(x, gamma, beta, eps)
            mistakes = {m: instance_norm(x, gamma, beta, eps, m) for m in IN_MISTAKES}
            must = [m for m in IN_MISTAKES if (m != "batch statistics" or N > 1) and
                    (m != "eps outside the square root" or k == 2)]
            case = Case(kind, f"x {shape}, eps {eps:g}", (x, gamma, beta), kwargs, right, {}, mistakes)
            if _far(right, case.mistakes, must):
                break
        cases.append(case)
    return cases


def _pad_cases(rng: np.random.Generator) -> list[Case]:
    """p = 1, 2, 3 on batches of non-square images (p smaller than each side)."""
    cases = []
    for p in (1, 2, 3):
        shape = (int(rng.integers(1, 3)), int(rng.integers(p + 1, p + 5)), int(rng.integers(p + 1, p + 5)),
                 int(rng.integers(1, 4)))
        x = _batch(rng, shape, relu=False)
        right = reflect_pad(x, p)
        mistakes = {m: reflect_pad(x, p, m) for m in PAD_MISTAKES}
        if p == 1:  # by one pixel, repeating the edge and copying it are the same thing: one hint
            del mistakes["edge copied"]
        cases.append(Case(f"a batch padded by {'one pixel' if p == 1 else 'a few pixels'}", f"x {shape}, p {p}",
                          (x, p), {}, right, {}, mistakes))
    return cases


def _block_cases(rng: np.random.Generator) -> list[Case]:
    """Small batches, 3x3 weights of random scale, a bias-free block as in the library."""
    cases = []
    while len(cases) < 3:
        N, n_C = int(rng.integers(1, 3)), int(rng.integers(2, 5))
        shape = (N, int(rng.integers(3, 7)), int(rng.integers(3, 7)), n_C)
        x = _batch(rng, shape, relu=len(cases) == 1)
        W1, W2 = (rng.standard_normal((3, 3, n_C, n_C)).astype(np.float32) * np.float32(rng.uniform(0.2, 1.0))
                  for _ in range(2))
        (g1, b1), (g2, b2) = _affine(rng, n_C), _affine(rng, n_C)
        args = (x, W1, W2, g1, b1, g2, b2)
        right = residual_block(*args)
        mistakes = {m: residual_block(*args, mode=m) for m in BLOCK_MISTAKES}
        case = Case("a small batch and random weights", f"x {shape}, W (3, 3, {n_C}, {n_C})", args, {}, right, {},
                    mistakes)
        if _far(right, case.mistakes, BLOCK_MISTAKES):
            cases.append(case)
    return cases


# ------------------------------------------------------------------ the correct versions later exercises call

HELPER_IMPORTS = "import numpy as np\n"
HELPERS = {
    "instance_norm": '''
def instance_norm(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return np.asarray(gamma, np.float64) * (x - mu) / np.sqrt(var + eps) + np.asarray(beta, np.float64)
''',
    "reflect_pad": '''
def reflect_pad(x, p):
    return np.pad(np.asarray(x, np.float64), ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
''',
    "conv2d_valid": '''
def conv2d_valid(x, W):
    x, W = np.asarray(x, np.float64), np.asarray(W, np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, (W.shape[0], W.shape[1]), axis=(1, 2))
    return np.einsum("bijcuv,uvco->bijo", windows, W)
''',
}

#: the library's references of these exercises, blocked during the hidden tests (Assignment.blocked)
BLOCKED = {"nst_utils.fast.network": ("InstanceNormalization", "ReflectionPadding2D", "transformation_network")}

ASSIGNMENT = Assignment(
    id="09_fast_style_transfer",
    notebook="09_fast_style_transfer.ipynb",
    title="Lesson 09: instance normalisation, reflection padding and the residual block",
    exercises=(
        Exercise("instance_norm", "instance_norm", 2, _in_cases),
        Exercise("reflect_pad", "reflect_pad", 1, _pad_cases, rtol=1e-6),
        Exercise("residual_block", "residual_block", 2, _block_cases,
                 needs=("instance_norm", "reflect_pad", "conv2d_valid")),
    ),
    needs_tensorflow=False,
    helpers=HELPERS,
    helper_imports=HELPER_IMPORTS,
    hints=HINTS,
    blocked=BLOCKED,
)
