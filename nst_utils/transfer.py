r"""Neural style transfer by optimizing the pixels of the generated image x.

:func:`synthesize` is the one optimization behind everything the lessons do:

* content reconstruction (lesson 03): ``synthesize(content=c, content_layer="conv4_2", init="noise")``
* style reconstruction / texture synthesis (lesson 04): ``synthesize(style=s, shape=(n_H, n_W), init="noise")``
* style transfer (lessons 06-10): :func:`style_transfer`, which needs both images.

It builds the loss once (:class:`nst_utils.loss.StyleTransferLoss`: the targets, the weighting), picks
the start image, and runs the optimizer (:mod:`nst_utils.optimizers`) with the settings
(:mod:`nst_utils.settings`: :data:`~nst_utils.settings.DEFAULTS`, changed by keyword arguments).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nst_utils._tf import tf
from nst_utils.colour import match_luminance
from nst_utils.images import as_image
from nst_utils.loop import check_callback
from nst_utils.loss import StyleTransferLoss
from nst_utils.models import model_precision
from nst_utils.optimizers import OPTIMIZERS, Callback, cost_monitor
from nst_utils.parameterization import image_parameterization
from nst_utils.precision import resolve_precision
from nst_utils.settings import DEFAULTS, Settings
from nst_utils.starts import start_image

if TYPE_CHECKING:  # pyramid imports this module
    from nst_utils.pyramid import Level

#: Longer side (px) at which images given as files or Pillow images are loaded, unless ``size`` says.
DEFAULT_SIZE = 256


@dataclass
class TransferResult:
    """What :func:`synthesize` returns.

    Attributes:
        image: (1, n_H, n_W, 3) float32 in [0, 1]: the generated image x after the last completed step.
        history: per step, ``"J"``, ``"J_content"``, ``"J_style"``, ``"J_tv"`` (the terms as J adds them
            up, see :mod:`nst_utils.loss`) and ``"seconds"`` (wall time since the start). Adam: the
            costs of the image each step starts from (so ``J[0]`` is the start image's); L-BFGS: after
            each iteration.
        steps: number of completed steps.
        seconds: wall time of the optimization (targets and tracing included).
        stopped: ``None`` if the optimizer ended by itself, else why it stopped (``"callback"`` or
            ``"interrupted"``). Ending by itself is all ``settings.steps`` steps for Adam; L-BFGS-B may end
            sooner, when its line search can make no more progress (then ``steps`` < ``settings.steps``).
        settings: the :class:`~nst_utils.settings.Settings` that produced it, with the precision the
            network really computed in and, for a transfer, the style brightness ``"auto"`` chose.
        levels: the levels of a coarse-to-fine run (:class:`nst_utils.pyramid.Level`: size, shape, style
            shape, steps, seconds each; ``history`` then holds them one after another); empty for one scale.
    """

    image: np.ndarray
    history: dict[str, list[float]]
    steps: int
    seconds: float
    stopped: str | None = None
    settings: Settings = field(default_factory=lambda: DEFAULTS)
    levels: tuple[Level, ...] = ()

    @property
    def final_cost(self) -> float:
        """The last recorded J (nan if no step ran). Adam: J of the image the last step started from, i.e.
        after ``steps - 1`` updates (the image after the last update is not evaluated again); L-BFGS: after
        the last iteration."""
        return self.history["J"][-1] if self.history["J"] else float("nan")

    def __repr__(self) -> str:
        s = self.settings
        end = "" if self.stopped is None else f", stopped ({self.stopped})"
        cost = f", J {self.history['J'][0]:.3g} -> {self.final_cost:.3g}" if self.history["J"] else ""
        levels = f" over levels of {'/'.join(str(lv.size) for lv in self.levels)} px" if self.levels else ""
        return (f"TransferResult({self.image.shape[2]}x{self.image.shape[1]} px, {self.steps} {s.optimizer} "
                f"steps{levels} in {self.seconds:.1f} s{end}; {s.weighting} weighting, alpha={s.alpha:g}, "
                f"beta={s.beta:g}; {s.precision}{cost})")


def _is_array(image: Any) -> bool:
    """True for arrays (they keep their own size unless ``size`` says); files and Pillow images load at
    :data:`DEFAULT_SIZE`. The one loading rule, also :func:`nst_utils.pyramid.asked_size`'s."""
    return not isinstance(image, (str, bytes)) and hasattr(image, "shape")


def _images(content: Any, style: Any, size: int | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    def load(image: Any, name: str) -> np.ndarray | None:
        if image is None:
            return None
        return as_image(image, size if (size is not None or _is_array(image)) else DEFAULT_SIZE, name=name)

    return load(content, "content"), load(style, "style")


def synthesize(
    content: Any = None,
    style: Any = None,
    *,
    shape: tuple[int, int] | None = None,
    size: int | None = None,
    settings: Settings | None = None,
    model=None,
    start: np.ndarray | None = None,
    callback: Callback | None = None,
    callback_every: int = 10,
    callback_first: bool = False,
    progress: bool | str = True,
    **changes: Any,
) -> TransferResult:
    """Optimize an image's pixels so that its VGG19 features match the targets.

    Args:
        content: the content image, or None (texture synthesis). Anything :func:`nst_utils.as_image`
            takes: a file path, a Pillow image, an (H, W, 3) array (uint8, or floats in [0, 1]).
        style: the style image, any size, or None (content reconstruction).
        shape: (n_H, n_W) of the generated image when there is no content image.
        size: longer side (px) to load files and Pillow images at (default 256), and to resize
            arrays to (default: arrays keep their size). (:func:`style_transfer` above ``pyramid_above``
            loads a style file next to a content array at the array's size: see there.)
        settings: a :class:`~nst_utils.settings.Settings`; default :data:`~nst_utils.settings.DEFAULTS`.
        model: a VGG from :func:`nst_utils.load_vgg19`/``load_vgg16``; default: VGG19 with the
            settings' pooling and precision.
        start: the start image (1, n_H, n_W, 3) when ``init="image"``.
        callback: ``callback(step, image, history)``, every ``callback_every`` steps and at the end;
            returning True stops the run (the image so far is kept).
        callback_every: a whole number >= 1 (int or NumPy integer); both are checked before VGG19 is used.
        callback_first: also call the callback once before the first step, after the targets are built
            (``step`` 0, the start image, the empty history): the last moment to stop before any step runs
            (:func:`~nst_utils.coarse_to_fine` asks it at every level after the first, review 20 S-7). If
            it returns True, no step runs: ``steps`` is 0 and the image is the start image.
        progress: show a progress bar; a string is its label (default ``"optimizing"``).
        **changes: any setting by name, e.g. ``steps=300, beta=1e3, style_layers=["conv1_1", "conv2_1"]``.

    Returns:
        A :class:`TransferResult`. Ctrl-C (KeyboardInterrupt) also returns one, with the image so far.

    Raises:
        ValueError: bad images, shapes or values, unknown layers, images too small for the layers.
        TypeError: an unknown setting (the message lists the valid ones).
    """
    callback_every = check_callback(callback, callback_every)   # before the targets are built
    if start is not None:
        changes.setdefault("init", "image")
    settings = (settings or DEFAULTS).replace(**changes)
    content, style = _images(content, style, size)
    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")
    if content is not None:
        out_shape = content.shape
    elif shape is not None:
        out_shape = (1, int(shape[0]), int(shape[1]), 3)
    else:
        raise ValueError("without a content image, give shape=(n_H, n_W) for the generated image")
    if settings.init == "content" and content is None:
        raise ValueError("init='content' needs a content image; use init='noise'")
    if settings.init == "image" and start is None:
        raise ValueError("init='image' needs the start image: synthesize(..., start=image)")
    if style is not None and content is None and settings.style_brightness == "photo":
        raise ValueError("style_brightness='photo' takes the brightness of a content image, and there is none "
                         "(texture synthesis); use 'painting', or the default 'auto' (which gives 'painting' "
                         "without a photo)")
    if style is not None and content is not None:
        # the painting at the photo's brightness for a dark photo (settings.style_brightness; lesson 07)
        settings = settings.replace(style_brightness=settings.brightness_for(content))
        if settings.style_brightness == "photo":
            style = match_luminance(style, content)

    t0 = time.perf_counter()
    precision = model_precision(model) if model is not None else resolve_precision(settings.precision)
    settings = settings.replace(precision=precision)
    loss = StyleTransferLoss.build(content, style, settings=settings, model=model)
    loss.extractor.check_size(out_shape, "the generated image")

    base = {"content": content, "noise": None, "image": start}[settings.init]
    if base is not None:
        base = as_image(base, name="start")
    ratio = 1.0 if settings.init == "noise" else settings.noise_ratio
    x0 = start_image(base, out_shape, noise_ratio=ratio, seed=settings.seed)
    # the optimizer changes p (pixels: x itself; Fourier: its spectrum) and looks at x = image_from(p)
    param = image_parameterization(settings.parameterization, out_shape)
    p = tf.Variable(param.to_params(x0), name="p")

    label = {"desc": progress} if isinstance(progress, str) else {}
    monitor = cost_monitor(settings.steps, callback=callback, callback_every=callback_every,
                           progress=bool(progress), **label)
    monitor.t0 = t0
    if not (callback_first and monitor.wants_stop(lambda: param.image_from(p).numpy())):
        OPTIMIZERS[settings.optimizer](loss, p, settings, monitor, param)
    final = param.image_from(p).numpy()
    monitor.finish(final)
    return TransferResult(final, monitor.history, monitor.done, time.perf_counter() - t0, monitor.stopped,
                          settings)


def style_transfer(content: Any, style: Any, **kwargs: Any) -> TransferResult:
    """Gatys et al.'s style transfer: an image with the content of ``content`` painted like ``style``.

    ``content`` and ``style``: file paths, Pillow images or arrays (see :func:`synthesize`). Sizes: with
    ``size=`` (a whole number of px from 1 to :data:`nst_utils.pyramid.MAX_SIZE`, 2048) both are loaded or
    resized to that longer side; without it an array keeps its own size and a file or Pillow image is loaded
    at 256 px, except that a style file or Pillow image next to a content *array* larger than
    ``pyramid_above`` (512 px) is loaded at the array's longer side (then scaled per level). So the style's
    scale jumps at the threshold: next to a 512-px array a style file is used at 256 px, next to a 513-px
    array at 513 px in the last level. Keyword arguments as in :func:`synthesize`:
    any setting (``steps``, ``alpha``, ``beta``, ``style_layers``, ``weighting``, ``init``, ...),
    ``settings``, ``model``, ``callback``, ``progress``. The generated image has the content image's
    size and starts from it unless ``init`` says otherwise. A picture larger than ``pyramid_above`` px
    (default 512) is made coarse to fine (:func:`nst_utils.pyramid.coarse_to_fine`: 256, 512, 1024 px for 1024,
    with 200, 100, 50 steps) and ``result.levels`` records the levels; the callback then counts the steps
    over all levels and gets the image at the asked size (:func:`nst_utils.level_plan` says which level
    runs a step). A dark photo (mean luminance below ``dark_photo_below``, 0.25) is painted with the painting
    moved to its brightness first (``style_brightness="auto"``, :func:`nst_utils.colour.match_luminance`; the
    history's J is then the cost against that painting); ``result.settings.style_brightness`` says which.

    >>> result = style_transfer("photo.jpg", "painting.jpg")          # doctest: +SKIP
    >>> nu.save_image(result.image, "outputs/photo_painted.png")      # doctest: +SKIP
    """
    if content is None or style is None:
        raise ValueError("style_transfer needs both a content and a style image (see synthesize())")
    from nst_utils.pyramid import coarse_to_fine, runs_coarse_to_fine  # here: pyramid imports this module

    if runs_coarse_to_fine(content, **kwargs):
        return coarse_to_fine(content, style, **kwargs)
    return synthesize(content, style, **kwargs)
