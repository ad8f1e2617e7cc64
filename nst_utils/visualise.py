r"""What a channel wants to see: activation maximisation and deep dream, by gradient *ascent* on the input.

Lesson 03 changes an image to *match* a target activation; here the same machinery changes it to make
an activation as *large* as possible (Erhan et al. 2009; Olah, Mordvintsev and Schubert, "Feature
Visualization", Distill 2017):

.. math:: x^* = \arg\max_x\; \mathcal{O}(a(x)), \qquad
   \mathcal{O}_{l,c} = \frac{1}{n_H n_W} \sum_{h,w} a^{[l]}_{h,w,c} \;\text{(a channel)}, \quad
   \mathcal{O}_{l} = \frac{1}{n_H n_W n_C} \sum_{h,w,c} \big(a^{[l]}_{h,w,c}\big)^2 \;\text{(a layer)}

* :func:`objective` builds :math:`\mathcal{O}` for a channel or a layer; objectives add and scale
  (``objective("conv4_1", 7) + 0.5 * objective("conv3_1")``: a mix).
* :func:`visualise` starts from faint noise and runs Adam on the image's parameters
  (:mod:`nst_utils.parameterization`: pixels, or a decorrelated-colour Fourier spectrum), looking at
  the image through a random :func:`random_transform` (jitter, scale, small rotation) at every step,
  so that only patterns that survive small shifts and zooms pay off. Several objectives at once give
  one image each, computed as one batch.
* :func:`deep_dream` (Mordvintsev, Olah and Tyka, "Inceptionism", 2015) starts from a photo and
  ascends at several scales (*octaves*), small to large, keeping the detail it added at each.

Both run the one optimisation loop of the course (:mod:`nst_utils.loop`): ascent on
:math:`\mathcal{O}` is descent on :math:`J = -\mathcal{O}` of the transformed image, drawn inside the
value function at each step. :func:`visualise` steps with Adam; :func:`deep_dream` keeps its own step
rule, the normalised gradient :class:`nst_utils.loop.NormalisedGradient`, passed to the same loop.

Everything is deterministic for a seed: the transforms come from stateless random numbers seeded with
``(seed, step)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from nst_utils._tf import tf
from nst_utils.features import FeatureExtractor, feature_extractor
from nst_utils.images import as_image
from nst_utils.layers import GATYS_STYLE_LAYERS, channels_of, is_layer, short_name
from nst_utils.loop import GradientLoop, Monitor, NormalisedGradient, adam_loop
from nst_utils.parameterization import (COLOUR_SQRT, FourierImage, PixelImage,  # noqa: F401  (re-exported)
                                        decorrelated_to_rgb, image_parameterization, rgb_to_decorrelated)

#: Adam's default step size for each parameterization: on pixels at most 0.01 per pixel and step; on the
#: spectrum 0.05 per coefficient, the rate Lucid (Olah et al. 2017) uses.
LEARNING_RATES = {"pixels": 0.01, "fourier": 0.05}


@dataclass(frozen=True)
class Objective:
    """A weighted sum of channel and layer terms; ``objective(acts)`` gives one value per image, (B,).

    ``terms``: ``(layer, channel or None, weight)``. Build with :func:`objective`; ``+`` and ``*``
    (by a number) make mixes.
    """

    terms: tuple[tuple[str, int | None, float], ...]

    @property
    def layers(self) -> list[str]:
        """The layers the objective reads, in order of first use."""
        return list(dict.fromkeys(layer for layer, _, _ in self.terms))

    def __call__(self, acts: dict[str, tf.Tensor]) -> tf.Tensor:
        """``acts``: ``{layer: (B, n_H, n_W, n_C)}`` -> (B,) the objective of each image."""
        total = 0.0
        for layer, channel, weight in self.terms:
            a = acts[layer]
            term = (tf.reduce_mean(tf.square(a), axis=(1, 2, 3)) if channel is None
                    else tf.reduce_mean(a[..., channel], axis=(1, 2)))
            total = total + weight * term
        return total

    def __add__(self, other: "Objective") -> "Objective":
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __mul__(self, factor: float) -> "Objective":
        if not isinstance(factor, (int, float)) or isinstance(factor, bool):
            return NotImplemented
        return Objective(tuple((l, c, w * float(factor)) for l, c, w in self.terms))

    __rmul__ = __mul__

    def __str__(self) -> str:
        def one(l: str, c: int | None, w: float) -> str:
            name = f"{l} channel {c}" if c is not None else f"{l} (mean a^2)"
            return name if w == 1.0 else f"{w:g} * {name}"
        return " + ".join(one(*t) for t in self.terms)


def objective(layer: str, channel: int | None = None) -> Objective:
    """The mean activation of one channel of ``layer`` or, with ``channel=None``, the mean squared
    activation of the whole layer (deep dream's objective).

    >>> str(objective("conv4_1", 7) + 0.5 * objective("conv3_1"))
    'conv4_1 channel 7 + 0.5 * conv3_1 (mean a^2)'
    """
    if not isinstance(layer, str) or not is_layer(layer):
        raise ValueError(f"unknown layer {layer!r}: use a VGG conv or pool layer, e.g. 'conv4_1' "
                         f"(or the Keras spelling 'block4_conv1'); Gatys et al.'s style layers are "
                         f"{list(GATYS_STYLE_LAYERS)}")
    if channel is not None:
        n_C = channels_of(layer)
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < n_C:
            raise ValueError(f"channel={channel!r} is out of range: {short_name(layer)} has {n_C} channels, "
                             f"numbered 0 ... {n_C - 1}")
        channel = int(channel)
    return Objective(((layer, channel, 1.0),))


def _seed_pair(seed: int, step: tf.Tensor | int) -> tf.Tensor:
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])


def random_transform(images: tf.Tensor, seed: int, step: tf.Tensor | int, *, jitter: float = 8.0,
                     scale: tuple[float, float] = (0.9, 1.1), degrees: float = 5.0) -> tf.Tensor:
    """Shift, zoom and rotate each image (B, H, W, 3) at random, one bilinear warp, same shape out.

    Each image gets a shift of up to ``jitter`` px in x and y, a zoom by a factor in ``scale`` and a
    rotation by up to ``degrees`` about its centre; pixels from outside are filled by reflection. The
    random numbers depend only on ``(seed, step)``, so a run is repeatable. Differentiable in ``images``.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    b, h, w = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    u = tf.random.stateless_uniform(tf.stack([b, 4]), _seed_pair(seed, step), -1.0, 1.0)
    tx, ty = jitter * u[:, 0], jitter * u[:, 1]
    s = scale[0] + (scale[1] - scale[0]) * (u[:, 2] + 1.0) / 2.0
    theta = math.radians(degrees) * u[:, 3]
    cos, sin = tf.cos(theta) / s, tf.sin(theta) / s
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    # output pixel (x, y) reads the input at R(-theta) / s * ((x, y) - c - t) + c
    ox, oy = cx + tx, cy + ty
    zeros = tf.zeros_like(cos)
    transforms = tf.stack([cos, sin, cx - cos * ox - sin * oy,
                           -sin, cos, cy + sin * ox - cos * oy, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT")


@dataclass
class Visualisation:
    """What :func:`visualise` and :func:`deep_dream` return.

    Attributes:
        image: (B, H, W, 3) float32 in [0, 1], one image per objective.
        history: (steps, B) each objective's value at every step, on the image the network saw
            (transformed, or jittered for deep dream; deep dream's octaves differ in size).
        seconds: wall time, tracing included.
        objectives: the objectives, one per image.
        settings: how it was made (parameterization, learning rate, transforms, seed, ...).
        stopped: ``None`` if all steps ran, ``"interrupted"`` after Ctrl-C (the image so far is kept).
    """

    image: np.ndarray
    history: np.ndarray
    seconds: float
    objectives: list[Objective]
    settings: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None

    def __repr__(self) -> str:
        def values(row: np.ndarray) -> str:
            return ", ".join(f"{v:.4g}" for v in row)

        change = (f"; objective [{values(self.history[0])}] -> [{values(self.history[-1])}]"
                  if len(self.history) else "")
        end = "" if self.stopped is None else f", stopped ({self.stopped})"
        return (f"Visualisation({len(self.objectives)} image(s) {self.image.shape[2]}x{self.image.shape[1]} px, "
                f"{len(self.history)} steps in {self.seconds:.1f} s, {self.settings.get('parameterization')}"
                f"{end}{change})")


def _objectives(objectives: Objective | str | Iterable[Objective]) -> list[Objective]:
    if isinstance(objectives, str):
        objectives = objective(objectives)
    objs = [objectives] if isinstance(objectives, Objective) else list(objectives)
    if not objs or not all(isinstance(o, Objective) for o in objs):
        raise ValueError("give an objective (nu.objective(layer, channel)), a layer name, "
                         "or a non-empty list of objectives")
    return objs


def _extractor(objs: list[Objective], model) -> FeatureExtractor:
    from nst_utils.models import cached_vgg19

    layers = list(dict.fromkeys(l for o in objs for l in o.layers))
    return feature_extractor(model if model is not None else cached_vgg19(), layers)


def _values(objs: list[Objective], acts: dict[str, tf.Tensor]) -> tf.Tensor:
    """(B,): objective b of image b."""
    return tf.stack([o({l: a[i:i + 1] for l, a in acts.items()})[0] for i, o in enumerate(objs)])


#: What :func:`visualise` and :func:`deep_dream` record each step: (B,) the objective of each image.
OBJECTIVE_KEYS = ("objective",)


def _history(monitor: Monitor, n: int) -> np.ndarray:
    """(steps, n): the recorded objectives."""
    return np.array(monitor.history["objective"], dtype=np.float32).reshape(-1, n)


def visualise(
    objectives: Objective | str | Sequence[Objective],
    *,
    size: int | tuple[int, int] = 128,
    steps: int = 256,
    learning_rate: float | None = None,
    parameterization: str = "fourier",
    decorrelate: bool = True,
    transforms: bool = True,
    start: np.ndarray | None = None,
    seed: int = 0,
    model=None,
    progress: bool = True,
) -> Visualisation:
    r"""Gradient ascent on an image's parameters until the objective is large (module docstring).

    Each step is Adam on the parameters ``p`` (:mod:`nst_utils.loop`), minimising minus the sum of the
    objectives of the B images, each seen through :func:`random_transform` ``T_t`` of step ``t``:

    .. math:: J_t = -\sum_b \mathcal{O}_b\big(a(T_t(x_b))\big), \quad x = \mathrm{image\_from}(p),
       \qquad p \leftarrow \mathrm{project}\big(p - \mathrm{Adam}(\partial J_t / \partial p)\big)

    Args:
        objectives: an :class:`Objective`, a layer name (its layer objective), or a list of objectives:
            one image each, optimized together as one batch.
        size: the image's side (px), or (H, W).
        steps: Adam steps.
        learning_rate: Adam's step size; default :data:`LEARNING_RATES` of the parameterization.
        parameterization: ``"pixels"`` or ``"fourier"`` (:mod:`nst_utils.parameterization`).
        decorrelate: with ``"fourier"``, use ImageNet's decorrelated colours.
        transforms: look at the image through :func:`random_transform` at every step.
        start: the image to start from, (1, H, W, 3) in [0, 1] (``size`` is then ignored); default:
            grey with faint noise, 0.5 + 0.01 N(0, 1), the same for every parameterization.
        seed: seeds the start noise and the transforms.
        model: a VGG (default: VGG19, max pooling, :func:`nst_utils.cached_vgg19`).
        progress: show a progress bar.

    Returns:
        A :class:`Visualisation`; ``image`` has shape (B, H, W, 3).
    """
    objs = _objectives(objectives)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}: use a whole number >= 1")
    lr = LEARNING_RATES.get(parameterization, 0.0) if learning_rate is None else float(learning_rate)
    extract = _extractor(objs, model)
    if start is not None:
        start = as_image(start, name="start")
        h, w = start.shape[1:3]
    else:
        h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    shape = (len(objs), int(h), int(w), 3)
    extract.check_size((1, *shape[1:]), "the image")
    options = {"decorrelate": decorrelate} if parameterization == "fourier" else {}
    param = image_parameterization(parameterization, shape, **options)
    if not lr > 0:
        raise ValueError(f"learning_rate={learning_rate!r} must be > 0")
    if start is None:
        noise = np.random.default_rng(seed).normal(0.0, 0.01, size=shape[1:])
        x0 = np.clip(0.5 + noise, 0.0, 1.0)[None].repeat(len(objs), axis=0)
    else:
        x0 = np.repeat(start, len(objs), axis=0)
    t0 = time.perf_counter()
    p = tf.Variable(param.to_params(x0), name="params")

    def value(x: tf.Tensor, t: tf.Tensor) -> tuple[tf.Tensor, tuple[tf.Tensor]]:
        """Ascent as descent: J = -(sum of the objectives), of the image seen through T_t."""
        if transforms:
            x = random_transform(x, seed, t)
        values = _values(objs, extract(x))
        return -tf.reduce_sum(values), (values,)

    monitor = Monitor(steps, keys=OBJECTIVE_KEYS, desc="visualising", progress=progress)
    adam_loop(value, param, p, monitor, learning_rate=lr, steps=steps)
    monitor.close()
    image = param.image_from(p).numpy()
    settings = dict(parameterization=parameterization, decorrelate=decorrelate and parameterization == "fourier",
                    transforms=transforms, learning_rate=lr, steps=steps, seed=seed)
    return Visualisation(image, _history(monitor, len(objs)), time.perf_counter() - t0, objs, settings,
                         monitor.stopped)


def deep_dream(
    photo: Any,
    objectives: Objective | str = "conv4_1",
    *,
    octaves: int = 3,
    octave_scale: float = 1.4,
    steps: int = 10,
    step_size: float = 0.01,
    jitter: int = 16,
    seed: int = 0,
    model=None,
    progress: bool = True,
) -> Visualisation:
    r"""Deep dream: make a photo excite ``objectives`` more, at ``octaves`` scales, small to large.

    At octave k (of n) the photo is resized by ``octave_scale ** -(n - 1 - k)``; the detail added so far
    is enlarged and added to it, then ``steps`` steps of normalized gradient ascent on the pixels,

    .. math:: x \leftarrow \mathrm{clip}_{[0, 1]}\Big(x + \eta\, \frac{g}{\mathrm{mean}\,|g|}\Big),
       \qquad g = \nabla_x \mathcal{O}(a(\mathrm{roll}(x))),

    that is, the one loop of :mod:`nst_utils.loop` minimising :math:`J = -\mathcal{O}` with the step rule
    :class:`nst_utils.loop.NormalisedGradient` (not Adam: each step has the same mean length, whatever
    the gradient's size at this octave),

    each on the image shifted by a random whole number of up to ``jitter`` px in x and y, its border
    filled by reflection (so that no position of the network's pixel grid gets fixed).

    Args:
        photo: the image, (1, H, W, 3) in [0, 1], or anything :func:`nst_utils.as_image` takes.
        objectives: an :class:`Objective` or a layer name (its mean squared activation).
        octaves, octave_scale: how many scales, and the factor between neighbouring ones.
        steps: ascent steps per octave. step_size: :math:`\eta`, in pixel units.
        jitter: the largest random shift (px). seed: seeds the shifts. model: the VGG (default VGG19).
        progress: show a progress bar.

    Returns:
        A :class:`Visualisation` with ``image`` (1, H, W, 3) and ``history`` (octaves * steps, 1).
    """
    objs = _objectives(objectives)
    if len(objs) != 1:
        raise ValueError("deep_dream takes one objective (a mix is one objective: use +)")
    if isinstance(octaves, bool) or not isinstance(octaves, int) or octaves < 1:
        raise ValueError(f"octaves={octaves!r}: use a whole number >= 1")
    if not octave_scale > 1.0:
        raise ValueError(f"octave_scale={octave_scale!r} must be > 1")
    if not step_size > 0 or isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}, step_size={step_size!r}: use steps >= 1 and step_size > 0")
    photo = as_image(photo, name="photo")
    h, w = photo.shape[1:3]
    sizes = [(round(h / octave_scale ** k), round(w / octave_scale ** k)) for k in reversed(range(octaves))]
    extract = _extractor(objs, model)
    extract.check_size((1, *sizes[0], 3), f"the photo at its smallest octave ({octaves} octaves of {octave_scale:g})")
    if isinstance(jitter, bool) or not isinstance(jitter, int) or not 0 <= jitter < min(sizes[0]):
        raise ValueError(f"jitter={jitter!r}: use a whole number of px >= 0 and smaller than the smallest "
                         f"octave's side ({min(sizes[0])} px)")
    t0 = time.perf_counter()

    def value(x: tf.Tensor, t: tf.Tensor) -> tuple[tf.Tensor, tuple[tf.Tensor]]:
        """Ascent as descent: J = -O of the image shifted by a random whole number of px (seeded by t)."""
        shift = tf.random.stateless_uniform((2,), _seed_pair(seed, t), 0, 2 * jitter + 1, dtype=tf.int32)
        padded = tf.pad(x, [[0, 0], [jitter, jitter], [jitter, jitter], [0, 0]], mode="REFLECT")
        shifted = tf.slice(padded, tf.stack([0, shift[0], shift[1], 0]), tf.shape(x))
        values = _values(objs, extract(shifted))
        return -tf.reduce_sum(values), (values,)

    # one variable whose n_H, n_W stay open, so the step is traced once for all octaves
    p = tf.Variable(tf.zeros((1, *sizes[0], 3)), shape=tf.TensorShape((1, None, None, 3)), name="x")
    loop = GradientLoop(value, PixelImage(photo.shape), p, NormalisedGradient(step_size))
    monitor = Monitor(octaves * steps, keys=OBJECTIVE_KEYS, desc="dreaming", progress=progress)
    detail = None
    for k, size in enumerate(sizes):
        base = tf.constant(photo) if k == octaves - 1 else tf.image.resize(photo, size, method="area")
        detail = tf.zeros_like(base) if detail is None else tf.image.resize(detail, size, method="bilinear")
        p.assign(tf.clip_by_value(base + detail, 0.0, 1.0))
        loop.run(steps, monitor, first=k * steps)
        detail = p - base
        if monitor.stopped is not None:
            break
    monitor.close()
    image = p.numpy()
    if image.shape != photo.shape:          # stopped before the last octave: the photo's size all the same
        image = tf.image.resize(image, photo.shape[1:3], method="bilinear").numpy()
    settings = dict(parameterization="pixels", octaves=octaves, octave_scale=octave_scale, steps=steps,
                    step_size=step_size, jitter=jitter, seed=seed)
    return Visualisation(image, _history(monitor, 1), time.perf_counter() - t0, objs, settings, monitor.stopped)
