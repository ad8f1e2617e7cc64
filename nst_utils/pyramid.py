r"""Coarse to fine: a large style transfer as a pyramid of smaller ones.

VGG19's receptive fields are fixed in pixels (a conv5_1 unit sees 156 x 156 px of the input), so a transfer
run at 1024 px in one go paints strokes that are small next to the picture, and every step costs 16x
the pixels of a 256-px step. Gatys et al. (2017, "Controlling Perceptual Factors in Neural Style
Transfer", the section on high-resolution images) stylise a small copy first, upsample the result and
use it as the start of the transfer at the full size, which then only refines it; Justin Johnson's
neural-style does the same over several sizes (its multi-GPU example script ``starry_stanford.sh``: 256,
512, 1024, 2048, 3620 px with 1000 (the default), 500, 200, 100, 50 iterations, each size starting from the
upsampled previous result).

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
  style image's longer side is ``s_k / L`` times its size ``S`` at ``L``), so brush strokes keep their
  size relative to the picture; ``"fixed"`` keeps it at the first level's scale at every level, so
  strokes keep their size in pixels and look finer as the picture grows. ``S`` is what a single-scale
  run at ``L`` would use (an array's own size, or ``size``), except that a style given as a file or
  Pillow image is loaded at ``L`` also when ``L`` is a content array's own size (a single-scale run
  would load it at 256 px, which at level 0 of a 2048-px pyramid would leave a 32-px style). No level's
  style is smaller than ``min(S, s_0)`` px: below that, its Gram matrices at conv4_1 and conv5_1 would
  come from maps of a few positions (a 32-px image gives 4 x 4 and 2 x 2);
* the callback (:func:`coarse_to_fine`) sees the steps counted over all levels, the image at the asked
  shape (the current level's, upsampled) and the history of all levels so far, every ``callback_every``
  steps and once at the end, as in a single-scale run; a level's last step, if the callback saw it, is
  shown to it once more when the next level's targets are built, before that level's first step, so that
  a stop asked for between levels ends the run before the next level's steps; :func:`level_plan` tells
  which level a step belongs to (``direct=True`` for a direct call of :func:`coarse_to_fine`, which makes
  levels at any size above ``pyramid_base``) (e.g. for a label ``level 2/3 (512 px)``);
* a stop (the callback, or Ctrl-C during a level, between two, or in the final resize or callback) keeps
  the last image reached, upsampled to the asked shape, and the levels done so far (a level the callback
  stopped before its first step is not one of them, nor is a level a Ctrl-C stopped while it was set up (its
  images, its targets); a Ctrl-C while its step is traced or its first step runs records it with 0 steps done,
  its image the previous level's, resampled).

:func:`coarse_to_fine` returns one :class:`~nst_utils.transfer.TransferResult` for the whole pyramid with
the levels recorded (:class:`Level`: shape, style shape, steps, seconds each).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nst_utils.images import as_image, resize_image
from nst_utils.loop import check_callback
from nst_utils.settings import DEFAULTS, Settings


@dataclass(frozen=True)
class Level:
    """One level of a coarse-to-fine run, as it ran.

    Attributes:
        size: longer side (px) of the generated image x at this level.
        shape: (n_H, n_W) of x.
        style_shape: (n_H, n_W) of the style image the level matched.
        steps: the steps planned for the level; ``done``: the steps that ran (fewer if stopped).
        seconds: wall time of the level (loading the images, loss targets, tracing and the steps).
        first_step: index of the level's first entry in the combined ``history``.
    """

    size: int
    shape: tuple[int, int]
    style_shape: tuple[int, int]
    steps: int
    done: int
    seconds: float
    first_step: int


@dataclass(frozen=True)
class LevelPlan:
    """The levels of a transfer as planned: the longer side (px) and the steps of each (one level for a
    single-scale run). Steps are counted over all levels, as :func:`coarse_to_fine`'s callback counts
    them: level k runs the steps ``ends[k-1] + 1 ... ends[k]``.

    >>> plan = level_plan(1024)
    >>> plan.sizes, plan.steps, plan.total, plan.ends
    ((256, 512, 1024), (200, 100, 50), 350, (200, 300, 350))
    >>> plan.level_at(200), plan.level_at(201), plan.label(1)
    (0, 1, 'level 2/3 (512 px)')
    """

    sizes: tuple[int, ...]
    steps: tuple[int, ...]

    def __post_init__(self) -> None:
        """Checks the fields (ValueError naming the field): as many sizes as steps, at least one level, every
        size a whole number >= 1 (px), every step count a whole number >= 0; stores them as tuples of int."""
        fields = {"sizes": (self.sizes, 1), "steps": (self.steps, 0)}
        for name, (values, least) in fields.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
                raise ValueError(f"LevelPlan {name}={values!r}: give one value per level, at least one level")
            if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least for v in values):
                raise ValueError(f"LevelPlan {name}={values!r}: every value must be a whole number >= {least}"
                                 f"{' (px)' if name == 'sizes' else ''}")
            object.__setattr__(self, name, tuple(int(v) for v in values))
        if len(self.sizes) != len(self.steps):
            raise ValueError(f"LevelPlan sizes={self.sizes!r}, steps={self.steps!r}: give as many step counts as "
                             f"sizes (one per level), not {len(self.steps)} for {len(self.sizes)}")

    @property
    def total(self) -> int:
        """The steps of all levels."""
        return sum(self.steps)

    @property
    def ends(self) -> tuple[int, ...]:
        """The step (counted over all levels) at which each level ends."""
        return tuple(itertools.accumulate(self.steps))

    def level_at(self, step: int) -> int:
        """The index k of the level that runs step number ``step`` (1 is the first step of level 0; 0
        counts as level 0, steps past the end as the last level)."""
        return min(bisect.bisect_left(self.ends, step), len(self.sizes) - 1)

    def label(self, k: int) -> str:
        """The progress label of level k, e.g. ``'level 2/3 (512 px)'`` (k from 0 to ``len(sizes) - 1``;
        else ValueError naming k and that range)."""
        n = len(self.sizes)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise ValueError(f"k={k!r}: a level index of this plan, a whole number from 0 to {n - 1}")
        return f"level {k + 1}/{len(self.sizes)} ({self.sizes[k]} px)"


#: The largest ``size=`` :func:`nst_utils.style_transfer` takes (px, longer side): the largest measured
#: (``benchmarks/pyramid.py``: a 2048-px pyramid peaked at about 6.7 GiB of memory, 2-core AMD EPYC, bfloat16).
MAX_SIZE = 2048


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size={size!r}: use the longer side in px, a whole number >= 1")
    return int(size)


def check_asked_size(size: Any) -> int:
    """``size=`` of a transfer as an int: a whole number of px from 1 to :data:`MAX_SIZE`; else ValueError
    naming ``size`` and the range (a float, a string or True is refused, not rounded)."""
    if (isinstance(size, bool) or not isinstance(size, (int, np.integer))
            or not 1 <= size <= MAX_SIZE):
        raise ValueError(f"size={size!r}: use the longer side of the picture, a whole number of px from 1 to "
                         f"{MAX_SIZE} (the largest measured: a {MAX_SIZE}-px transfer peaked at about 6.7 GiB "
                         "of memory)")
    return int(size)


def uses_pyramid(size: int, settings: Settings = DEFAULTS) -> bool:
    """True if a transfer whose longer side is ``size`` px runs coarse to fine with these settings."""
    return settings.pyramid_above is not None and _check_size(size) > settings.pyramid_above


def level_plan(size: int, settings: Settings = DEFAULTS, *, direct: bool = False) -> LevelPlan:
    """The levels a transfer runs for a picture whose longer side is ``size`` px (as it is loaded: see
    :func:`asked_size`): :func:`level_sizes` and :func:`level_steps`.

    By default the plan of :func:`nst_utils.style_transfer`: levels only if :func:`uses_pyramid` (above
    ``pyramid_above``), else one level of ``settings.steps`` steps at ``size``. ``direct=True``: the plan of
    a direct call of :func:`coarse_to_fine`, which makes levels whenever ``size`` is above ``pyramid_base``,
    whatever ``pyramid_above`` says (coarse_to_fine takes its plan from here).

    >>> level_plan(512).sizes, level_plan(512).steps
    ((512,), (200,))
    >>> level_plan(512, direct=True).sizes, level_plan(512, direct=True).steps
    ((256, 512), (200, 100))
    """
    sizes = level_sizes(size, settings) if direct or uses_pyramid(size, settings) else [_check_size(size)]
    return LevelPlan(tuple(sizes), tuple(level_steps(settings.steps, len(sizes), settings)))


def asked_size(content: Any, size: int | None = None) -> int:
    """Longer side (px) of the image a transfer of ``content`` makes, by synthesize's loading rule:
    ``size`` if given, else an array's own size, else 256 px (:data:`~nst_utils.transfer.DEFAULT_SIZE`:
    files and Pillow images are loaded at that size). Nothing is decoded."""
    from nst_utils.transfer import DEFAULT_SIZE, _is_array  # here: transfer imports this module

    if size is not None:
        return check_asked_size(size)
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
    size, base, factor = _check_size(size), settings.pyramid_base, float(settings.pyramid_factor)
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


def _joined(history: dict[str, list[float]], level: dict[str, list[float]], elapsed: float) -> dict[str, list[float]]:
    """The levels done so far followed by the current level's history (its seconds shifted by ``elapsed``)."""
    keys = dict.fromkeys([*history, *level])
    return {key: history.get(key, []) + [v + elapsed if key == "seconds" else v for v in level.get(key, [])]
            for key in keys}


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
    or below ``pyramid_base`` is a single level.

    The callback, ``callback(step, image, history) -> stop?``, is called every ``callback_every`` steps
    counted over all levels, and once at the end (unless it has just seen the last step), as in
    :func:`~nst_utils.transfer.synthesize`. If it saw a level's last step, it sees that step again (same
    step, image and history) when the next level's targets are built, before that level's first step
    (synthesize's ``callback_first``), so that a stop asked for during the next level's set-up ends the
    run there, without a step of that level (review 20 S-7; the studio's Stop). ``image`` is
    (1, n_H, n_W, 3) of the asked shape (the current level's image, upsampled with Lanczos), ``history``
    that of all levels so far, as in the result. ``level_plan(L, settings, direct=True)`` (``L`` the asked
    size) is this call's plan and says which level runs a step; through style_transfer (above
    ``pyramid_above`` only) it is the same as ``level_plan(L, settings)``. If it stops the run, or Ctrl-C
    does (during a level, between two, or in the final resize or callback), the last image reached is
    upsampled to the asked shape, ``levels`` holds the levels done so far (not a level the callback stopped
    before its first step by the callback or by a Ctrl-C during its set-up; a Ctrl-C while its first step
    is traced or runs records it with 0 steps done) and ``stopped`` says why (a Ctrl-C
    before the first level has an image propagates, as in synthesize).

    Returns:
        A :class:`~nst_utils.transfer.TransferResult` of the asked shape (1, n_H, n_W, 3): ``history`` is the
        levels' histories one after another (their ``"seconds"`` counted from the pyramid's start; the
        costs of each level are those of its own size), ``steps`` the steps of all levels, ``levels`` a
        :class:`Level` per level, ``settings`` the settings asked for (precision resolved, and
        ``style_brightness``, decided once on the photo at the asked size).

    Raises:
        ValueError: as synthesize, and for ``callback_every`` not a whole number >= 1.
        TypeError: a callback that cannot be called.
    """
    from nst_utils.transfer import TransferResult, _images, _is_array, synthesize

    if content is None or style is None:
        raise ValueError("coarse_to_fine needs both a content and a style image (see synthesize())")
    callback_every = check_callback(callback, callback_every)
    if size is not None:
        check_asked_size(size)
    if start is not None:
        changes.setdefault("init", "image")
    settings = (settings or DEFAULTS).replace(**changes)
    content_full, _ = _images(content, None, size)   # as a single-scale run would load it
    final_shape = tuple(int(d) for d in content_full.shape[1:3])
    longer = _longer(content_full)
    # decided once, on the photo at the asked size: every level matches the painting the same way
    settings = settings.replace(style_brightness=settings.brightness_for(content_full))
    # the style: an array keeps its size (or takes size=); a file or Pillow image is loaded at the asked size
    style_full = as_image(style, size if (size is not None or _is_array(style)) else longer, name="style")
    plan = level_plan(longer, settings, direct=True)   # levels even at or below pyramid_above: asked for
    style_longer = _longer(style_full)
    style_floor = min(style_longer, plan.sizes[0])

    def full(x: np.ndarray) -> np.ndarray:
        return x if tuple(x.shape[1:3]) == final_shape else resize_image(x, final_shape)

    t0 = time.perf_counter()
    # (image, levels, history) of the levels done: replaced in one assignment, so that Ctrl-C finds it whole
    done: tuple[np.ndarray | None, list[Level], dict[str, list[float]]] = (None, [], {})
    stopped, last, seen = None, None, -1
    # the current level's synthesize result until it is in `done` (a Ctrl-C in between adds it: review 20 S-12)
    pending = None

    def before_first_step(result: Any) -> bool:
        """The callback stopped this level before its first step (S-7): the level is not recorded."""
        return result.steps == 0 and result.stopped == "callback"

    def with_level(result: Any) -> tuple[np.ndarray, list[Level], dict[str, list[float]]]:
        """`done` with the current level (the loop's k, s, n, ... now) added, if it is not there yet."""
        _, levels, history = done
        if len(levels) != k:        # already added (a Ctrl-C after `done` was assigned)
            return done
        level = Level(size=s, shape=shape_k, style_shape=style_shape_k, steps=n, done=result.steps,
                      seconds=time.perf_counter() - level_t0, first_step=offset)
        return result.image, [*levels, level], _joined(history, result.history, call_t0 - t0)

    try:
        for k, (s, n) in enumerate(zip(plan.sizes, plan.steps)):
            level_t0 = time.perf_counter()
            image, levels, history = done
            content_k = content_full if s == longer else as_image(content, s, name="content")
            scale = (s if settings.pyramid_style_scale == "level" else plan.sizes[0]) / longer
            style_size = max(style_floor, round(style_longer * scale))
            style_k = style_full if style_size == style_longer else as_image(style, style_size, name="style")
            shape_k = tuple(int(d) for d in content_k.shape[1:3])
            style_shape_k = tuple(int(d) for d in style_k.shape[1:3])
            if k == 0:
                level_settings = settings.replace(steps=n)
                start_k = None if start is None else resize_image(as_image(start, name="start"), shape_k)
            else:  # refine the previous level's result: it is the start, nothing added to it
                level_settings = settings.replace(steps=n, init="image", noise_ratio=0.0)
                start_k = resize_image(image, shape_k)
            offset = sum(lv.done for lv in levels)
            # synthesize's clock starts about here (after this level's loading and resizing): its history's
            # seconds are shifted by this, so that they count from the pyramid's start (review S-6)
            call_t0 = time.perf_counter()

            def level_callback(step, x, level_history, _offset=offset, _history=history, _t0=call_t0, _k=k):
                nonlocal seen
                if step == 0 and _k > 0:   # the level's targets are built, no step has run: stop here?
                    return callback(_offset, full(x), _joined(_history, level_history, _t0 - t0))
                if (_offset + step) % callback_every:
                    return False
                seen = _offset + step
                return callback(seen, full(x), _joined(_history, level_history, _t0 - t0))

            label = f"{progress}, " if isinstance(progress, str) else ""
            result = synthesize(content_k, style_k, settings=level_settings, model=model, start=start_k,
                                callback=None if callback is None else level_callback, callback_every=1,
                                callback_first=callback is not None and k > 0 and seen == offset,
                                progress=f"{label}{plan.label(k)}" if progress else False)
            pending = result
            if before_first_step(result):
                stopped = "callback"
                break
            last, done = result, with_level(result)
            pending = None
            if result.stopped is not None:
                stopped = result.stopped
                break
    except KeyboardInterrupt:  # between two levels (loading, targets, resizing, book-keeping): keep the levels done
        if pending is not None and not before_first_step(pending):
            last, done = pending, with_level(pending)   # a level that ran but was not yet added
        if done[0] is None:
            raise
        stopped = "interrupted"
    image, levels, history = done
    steps = sum(lv.done for lv in levels)
    try:   # Ctrl-C in the final resize or the final callback keeps the result too (review 20 S-12)
        image = full(image)       # stopped before the last level: the image so far at the asked shape
        if callback is not None and stopped != "callback" and seen != steps:
            callback(steps, image, history)
    except KeyboardInterrupt:
        stopped = "interrupted"
        image = full(image)       # a no-op if it was resized already
    record = (last.settings if last is not None else settings).replace(
        steps=settings.steps, init=settings.init, noise_ratio=settings.noise_ratio)
    return TransferResult(image, history, steps, time.perf_counter() - t0, stopped, record, tuple(levels))
