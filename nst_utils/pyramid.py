r"""Coarse to fine: a large style transfer as a pyramid of smaller ones.

VGG19's receptive fields are fixed in pixels (a conv5_1 unit sees 156 x 156 px of the input), so a transfer
run at 1024 px in one go paints strokes that are small next to the picture, and every step costs 16x
the pixels of a 256-px step. Gatys et al. (2017, "Controlling Perceptual Factors in Neural Style
Transfer", the section on high-resolution images) stylise a small copy first, upsample the result and
use it as the start of the transfer at the full size, which then only refines it; Justin Johnson's
neural-style does the same over several sizes (its multi-resolution example script: 256, 512, 1024,
2048 px with 1000, 500, 200, 100 iterations, each size starting from the upsampled previous result).

The rule here, with the :class:`~nst_utils.settings.Settings` fields ``pyramid_*``:

* :func:`nst_utils.style_transfer` runs a transfer whose longer side ``L`` is above ``pyramid_above``
  (512 px) in levels, and up to it in one scale, as before (the lessons' sizes, up to 512 px, are unchanged).
  That is a choice, not a measured crossover: on one pair at 512 px a 256 -> 512 pyramid took 123 s against
  161 s for one scale, with less style left when judged at half size (largest r_l 0.36 against 0.43) but
  less of the photo's structure (luminance SSIM 0.295 against 0.336) (``benchmarks/pyramid.py``);
* the first level has the longer side ``b = pyramid_base`` (256 px, where the defaults were tuned), the
  last exactly ``L``; there are as few levels as keep every size ratio at most ``f = pyramid_factor`` (2),
  spaced evenly (geometrically):

  .. math:: n = 1 + \lceil \log_f (L / b) \rceil, \qquad s_k = b\,(L/b)^{k/(n-1)}, \quad k = 0 \dots n-1

  so 1024 -> 256, 512, 1024; 700 -> 256, 423, 700; 2048 -> 256, 512, 1024, 2048;
* level k runs ``steps * r**k`` steps (``r = pyramid_step_ratio``, 0.5; at least 1): 200, 100, 50. Each
  level has 4x the pixels of the one before (f = 2) and half its steps, so it costs about 2x the previous
  level, and the whole pyramid about (1 + 2 + 4)/4 = 1.75x a 200-step transfer at L/2, where a 200-step
  single-scale transfer at L would cost 4x (``benchmarks/pyramid.py`` measured 1.86x: 299 s at 1024 px
  against 161 s for one scale at 512 px, 2-core AMD EPYC, bfloat16; the reference JSON in ``benchmarks/``);
* levels after the first start from the previous result, upsampled (Lanczos) to the level's shape
  (``init="image"``, no noise added); the first starts as the settings say (the content by default);
* the style image at each level (``pyramid_style_scale``): ``"level"`` scales it with the picture (the
  style image's longer side is ``s_k / L`` of what a single-scale run at ``L`` would use), so brush
  strokes keep their size relative to the picture; ``"fixed"`` keeps it at the first level's scale at
  every level, so strokes keep their size in pixels and look finer as the picture grows.

:func:`coarse_to_fine` returns one :class:`~nst_utils.transfer.TransferResult` for the whole pyramid with
the levels recorded (:class:`Level`: shape, style shape, steps, seconds each).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nst_utils.images import as_image, resize_image
from nst_utils.settings import DEFAULTS, Settings


@dataclass(frozen=True)
class Level:
    """One level of a coarse-to-fine run, as it ran.

    Attributes:
        size: longer side (px) of the generated image x at this level.
        shape: (n_H, n_W) of x.
        style_shape: (n_H, n_W) of the style image the level matched.
        steps: the steps planned for the level; ``done``: the steps that ran (fewer if stopped).
        seconds: wall time of the level (loss targets, tracing and the steps).
        first_step: index of the level's first entry in the combined ``history``.
    """

    size: int
    shape: tuple[int, int]
    style_shape: tuple[int, int]
    steps: int
    done: int
    seconds: float
    first_step: int


def uses_pyramid(size: int, settings: Settings = DEFAULTS) -> bool:
    """True if a transfer whose longer side is ``size`` px runs coarse to fine with these settings."""
    return settings.pyramid_above is not None and size > settings.pyramid_above


def asked_size(content: Any, size: int | None = None) -> int:
    """Longer side (px) of the image a transfer of ``content`` makes, by synthesize's loading rule:
    ``size`` if given, else an array's own size, else 256 px (:data:`~nst_utils.transfer.DEFAULT_SIZE`:
    files and Pillow images are loaded at that size). Nothing is decoded."""
    from nst_utils.transfer import DEFAULT_SIZE, _is_array  # here: transfer imports this module

    if size is not None:
        return int(size)
    if not _is_array(content):
        return DEFAULT_SIZE
    shape = tuple(content.shape)  # an array: (H, W), (H, W, 3) or (1, H, W, 3)
    hw = shape[1:3] if len(shape) == 4 else shape[:2]
    return int(max(hw))


def runs_coarse_to_fine(content: Any, *, size: int | None = None, settings: Settings | None = None,
                        **kwargs: Any) -> bool:
    """True if ``style_transfer(content, style, size=size, settings=settings, **kwargs)`` runs in levels:
    the asked size (:func:`asked_size`) is above ``pyramid_above``. Setting names in ``kwargs`` count (and
    are checked); other arguments of style_transfer are ignored."""
    names = {f.name for f in dataclasses.fields(Settings)}
    settings = (settings or DEFAULTS).replace(**{k: v for k, v in kwargs.items() if k in names})
    return uses_pyramid(asked_size(content, size), settings)


def level_sizes(size: int, settings: Settings = DEFAULTS) -> list[int]:
    """Longer sides (px) of the levels for an asked longer side ``size``; the last is ``size`` itself.

    One level (``[size]``) if ``size`` is at most ``pyramid_base``; otherwise the first is ``pyramid_base``
    and the others are spaced evenly (geometrically), as few as keep each ratio <= ``pyramid_factor``.
    (Whether a transfer uses levels at all is :func:`uses_pyramid`'s question.)

    >>> level_sizes(1024), level_sizes(700), level_sizes(2048)
    ([256, 512, 1024], [256, 423, 700], [256, 512, 1024, 2048])
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size={size!r}: use the longer side in px, a whole number >= 1")
    size, base, factor = int(size), settings.pyramid_base, float(settings.pyramid_factor)
    if size <= base:
        return [size]
    # the tolerance keeps exact powers (1024 / 256 = 2**2) from gaining a level to rounding
    jumps = math.ceil(math.log(size / base) / math.log(factor) - 1e-9)
    sizes = [round(base * (size / base) ** (k / jumps)) for k in range(jumps + 1)]
    sizes[-1] = size
    return sorted(set(sizes))  # rounding can repeat a size when the factor is small


def level_steps(steps: int, levels: int, settings: Settings = DEFAULTS) -> list[int]:
    """Steps per level: ``steps`` at the first, then ``pyramid_step_ratio`` times the previous (rounded,
    at least 1 unless ``steps`` is 0).

    >>> level_steps(200, 3)
    [200, 100, 50]
    """
    r = float(settings.pyramid_step_ratio)
    return [0 if steps == 0 else max(1, round(steps * r ** k)) for k in range(levels)]


def _longer(image: np.ndarray) -> int:
    return int(max(image.shape[1:3]))


def coarse_to_fine(
    content: Any,
    style: Any,
    *,
    size: int | None = None,
    settings: Settings | None = None,
    model=None,
    start: np.ndarray | None = None,
    callback=None,
    callback_every: int = 10,
    progress: bool | str = True,
    **changes: Any,
):
    """Style transfer in levels, coarse to fine (see the module docstring for the rule).

    Arguments as :func:`nst_utils.style_transfer` (which calls this for sizes above ``pyramid_above``).
    The progress bar's label says the level, e.g. ``level 2/3 (512 px)``. The asked size is the content
    image's longer side as a single-scale run would load it (``size``, or an array's own size); a run at
    or below ``pyramid_base`` is a single level. The callback sees the step counted over all levels and the
    current level's history; if it stops the run (or Ctrl-C does), the image so far is upsampled to the
    asked shape and ``stopped`` says why.

    Returns:
        A :class:`~nst_utils.transfer.TransferResult` of the asked shape (1, n_H, n_W, 3): ``history`` is the
        levels' histories one after another (their ``"seconds"`` counted from the pyramid's start; the
        costs of each level are those of its own size), ``steps`` the steps of all levels, ``levels`` a
        :class:`Level` per level, ``settings`` the settings asked for (precision resolved).
    """
    from nst_utils.transfer import TransferResult, _images, synthesize

    if content is None or style is None:
        raise ValueError("coarse_to_fine needs both a content and a style image (see synthesize())")
    if start is not None:
        changes.setdefault("init", "image")
    settings = (settings or DEFAULTS).replace(**changes)
    content_full, style_full = _images(content, style, size)   # as a single-scale run would load them
    final_shape = tuple(int(d) for d in content_full.shape[1:3])
    longer = _longer(content_full)
    sizes = level_sizes(longer, settings)
    steps = level_steps(settings.steps, len(sizes), settings)
    style_longer = _longer(style_full)

    t0 = time.perf_counter()
    history: dict[str, list[float]] = {}
    levels: list[Level] = []
    image, stopped, last = None, None, None
    for k, (s, n) in enumerate(zip(sizes, steps)):
        content_k = content_full if s == longer else as_image(content, s, name="content")
        scale = (s if settings.pyramid_style_scale == "level" else sizes[0]) / longer
        style_size = max(1, round(style_longer * scale))
        style_k = style_full if style_size == style_longer else as_image(style, style_size, name="style")
        shape_k = tuple(int(d) for d in content_k.shape[1:3])
        if k == 0:
            level_settings = settings.replace(steps=n)
            start_k = None if start is None else resize_image(as_image(start, name="start"), shape_k)
        else:  # refine the previous level's result: it is the start, nothing added to it
            level_settings = settings.replace(steps=n, init="image", noise_ratio=0.0)
            start_k = resize_image(image, shape_k)
        offset, level_t0 = sum(lv.done for lv in levels), time.perf_counter()

        def level_callback(step, x, level_history, _offset=offset):
            return callback(_offset + step, x, level_history)

        label = f"{progress}, " if isinstance(progress, str) else ""
        last = synthesize(content_k, style_k, settings=level_settings, model=model, start=start_k,
                          callback=None if callback is None else level_callback, callback_every=callback_every,
                          progress=f"{label}level {k + 1}/{len(sizes)} ({s} px)" if progress else False)
        image = last.image
        elapsed = level_t0 - t0
        for key, values in last.history.items():
            history.setdefault(key, []).extend(v + elapsed if key == "seconds" else v for v in values)
        levels.append(Level(size=s, shape=shape_k, style_shape=tuple(int(d) for d in style_k.shape[1:3]),
                            steps=n, done=last.steps, seconds=time.perf_counter() - level_t0,
                            first_step=offset))
        if last.stopped is not None:
            stopped = last.stopped
            break
    if image.shape[1:3] != final_shape:  # stopped before the last level
        image = resize_image(image, final_shape)
    record = last.settings.replace(steps=settings.steps, init=settings.init, noise_ratio=settings.noise_ratio)
    return TransferResult(image, history, sum(lv.done for lv in levels), time.perf_counter() - t0, stopped,
                          record, tuple(levels))
