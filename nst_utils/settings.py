"""The settings of a style transfer, and the library's defaults: one frozen record, one place.

:data:`DEFAULTS` is what :func:`nst_utils.style_transfer`, :func:`nst_utils.total_cost`, the studio
and the README use. ``DEFAULTS.replace(beta=1e4)`` gives a copy with one setting changed, checked.
How the defaults were chosen is in the README ("The defaults, and how they were chosen").
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from nst_utils.layers import GATYS_CONTENT_LAYER, GATYS_STYLE_LAYERS, is_layer

#: How the style layers' terms (and the content term) are weighted; see :mod:`nst_utils.loss`.
WEIGHTINGS = ("balanced", "raw")
OPTIMIZERS = ("adam", "lbfgs")
INITS = ("content", "noise", "image")
POOLINGS = ("max", "avg")
#: What the optimizer changes: the pixels, or a decorrelated-colour Fourier spectrum (nst_utils.parameterization).
PARAMETERIZATIONS = ("pixels", "fourier")
#: At what scale the style image is seen at each level of a coarse-to-fine run (nst_utils.pyramid):
#: ``"level"``: at the level's size, so brush strokes keep their size relative to the picture;
#: ``"fixed"``: at the first level's size throughout, so strokes keep their size in pixels.
PYRAMID_STYLE_SCALES = ("level", "fixed")
#: Whose brightness the painting is matched at (:func:`nst_utils.colour.match_luminance`): ``"painting"``
#: (as it is), ``"photo"`` (its luminance moved to the photo's mean and contrast), ``"auto"`` (``"photo"`` for
#: a dark photo, one whose mean luminance is below ``dark_photo_below``; else ``"painting"``).
STYLE_BRIGHTNESSES = ("auto", "painting", "photo")


def _is_number(value: Any) -> bool:
    """A real number (Python's or NumPy's, not a bool or a string): what the numeric settings accept."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def style_layer_weights(layers: Mapping[str, float] | Iterable[str]) -> dict[str, float]:
    """``{layer: lambda_l}`` from a mapping (kept as given) or from names (equal weights 1/L).

    >>> style_layer_weights(["conv1_1", "conv2_1"])
    {'conv1_1': 0.5, 'conv2_1': 0.5}
    """
    if isinstance(layers, str):
        raise ValueError(f"style_layers={layers!r}: give a list of layer names, e.g. ['conv1_1', 'conv2_1'], "
                         "or a dict {layer: weight}")
    if isinstance(layers, Mapping):
        weights = {str(k): float(v) for k, v in layers.items()}
    else:
        names = list(dict.fromkeys(str(n) for n in layers))
        weights = {n: 1.0 / len(names) for n in names} if names else {}
    if not weights:
        raise ValueError("style_layers is empty: name at least one layer, e.g. ['conv1_1', ..., 'conv5_1']")
    bad = [n for n in weights if not is_layer(n)]
    if bad:
        raise ValueError(f"style_layers: {bad} are not VGG layer names; use e.g. "
                         f"{list(GATYS_STYLE_LAYERS)} (or the Keras spelling, 'block1_conv1')")
    negative = [n for n, w in weights.items() if not w >= 0.0]
    if negative:
        raise ValueError(f"style_layers: the weights of {negative} must be >= 0")
    return weights


def _default(name: str) -> Any:
    """The library's default of one setting, read from the dataclass (so a message never quotes a stale one)."""
    f = next(f for f in dataclasses.fields(Settings) if f.name == name)
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name}={value!r}: use one of {options} (the default is {_default(name)!r})")


@dataclass(frozen=True)
class Settings:
    """Everything that decides a transfer's result (see :func:`nst_utils.synthesize`).

    Attributes:
        steps: optimizer steps (L-BFGS: iterations).
        learning_rate: Adam's step size in pixel units (pixels live in [0, 1]).
        alpha, beta: weights of J_content and J_style in J = alpha J_content + beta J_style + tv_weight J_TV.
        tv_weight: weight of the total-variation (smoothness) cost.
        content_layer: one layer name (``conv4_2`` or ``block4_conv2``).
        style_layers: ``{layer: lambda_l}``; a list of names means equal weights.
        weighting: ``"balanced"`` (each term divided by its target's own size, so every layer counts)
            or ``"raw"`` (the formulas of lesson 05 as written); see :mod:`nst_utils.loss`.
        style_statistic: what "style" is measured by (``"gram"``; see :mod:`nst_utils.statistics`).
        init: start from ``"content"``, white ``"noise"``, or an ``"image"`` given to synthesize.
        noise_ratio: blend this much white noise into a content or image start.
        seed: seeds the noise; the same seed on the same machine gives the same result.
        optimizer: ``"adam"`` or ``"lbfgs"``.
        pooling: ``"max"`` (as trained) or ``"avg"`` (Gatys et al.).
        precision: ``None`` (automatic), ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``.
        parameterization: what the optimizer changes: ``"pixels"`` of x, or ``"fourier"``, the spectrum
            of x in decorrelated colours, x = sigmoid(M irfft2(w * p)) (lesson 02,
            :mod:`nst_utils.parameterization`); ``learning_rate`` is then Adam's step on the spectrum.
        pyramid_above: a transfer whose longer side is above this many px runs coarse to fine
            (:mod:`nst_utils.pyramid`); ``None``: always one scale.
        pyramid_base: longer side (px) of the first, coarsest level: where the defaults were tuned.
        pyramid_factor: the largest size ratio between two levels; the levels are spaced evenly
            (geometrically) from ``pyramid_base`` to the asked size, as few as keep each ratio <= this; at least
            1.25 (a ratio nearer 1 would plan dozens of levels, each a whole transfer).
        pyramid_step_ratio: each level runs this fraction of the previous level's steps (the first runs
            ``steps``): 200, 100, 50 by default.
        pyramid_style_scale: ``"level"``: the style image at each level's size (strokes keep their size
            relative to the picture); ``"fixed"``: at the first level's size throughout (strokes keep
            their size in pixels, so they look finer on a larger picture).
        style_brightness: ``"painting"``: the style image as it is; ``"photo"``: its luminance moved to the
            photo's mean and standard deviation, its colours kept (Gatys et al. 2017; see
            :func:`nst_utils.colour.match_luminance`), so a night photo stays a night; ``"auto"``:
            ``"photo"`` if the photo is dark (mean luminance below ``dark_photo_below``), else
            ``"painting"``. A result records what ``"auto"`` chose. Why: a result ends near the painting's
            brightness, and on a dark photo the style then paints over the black areas
            (``benchmarks/dark_photos.py``; lesson 07).
        dark_photo_below: the mean luminance (0 black, 1 white) below which ``"auto"`` calls a photo dark.
    """

    steps: int = 200
    learning_rate: float = 0.03
    alpha: float = 1.0
    beta: float = 10.0
    tv_weight: float = 0.0
    content_layer: str = GATYS_CONTENT_LAYER
    style_layers: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(style_layer_weights(GATYS_STYLE_LAYERS)))
    weighting: str = "balanced"
    style_statistic: str = "gram"
    init: str = "content"
    noise_ratio: float = 0.0
    seed: int = 0
    optimizer: str = "adam"
    pooling: str = "max"
    precision: str | None = None
    parameterization: str = "pixels"
    pyramid_above: int | None = 512
    pyramid_base: int = 256
    pyramid_factor: float = 2.0
    pyramid_step_ratio: float = 0.5
    pyramid_style_scale: str = "level"
    style_brightness: str = "auto"
    dark_photo_below: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "style_layers", MappingProxyType(style_layer_weights(self.style_layers)))
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps={self.steps!r}: use a whole number >= 0 (the default is {_default('steps')!r})")
        for name in ("learning_rate",):
            if not _is_number(getattr(self, name)) or not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be a number > 0 "
                                 f"(the default is {_default(name)!r})")
        for name in ("alpha", "beta", "tv_weight"):
            if not _is_number(getattr(self, name)) or not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be a number >= 0 "
                                 f"(the default is {_default(name)!r})")
        if not _is_number(self.noise_ratio) or not 0.0 <= self.noise_ratio <= 1.0:
            raise ValueError(f"noise_ratio={self.noise_ratio!r}: use a fraction in [0, 1] "
                             f"(the default is {_default('noise_ratio')!r})")
        if not isinstance(self.content_layer, str) or not is_layer(self.content_layer):
            raise ValueError(f"content_layer={self.content_layer!r} is not a VGG layer name; use e.g. "
                             f"{GATYS_CONTENT_LAYER!r} (the default is {_default('content_layer')!r})")
        # The style statistic is checked now, not when the first loss is built (by name, or an object
        # with target() and cost(): see nst_utils.statistics.style_statistic).
        from nst_utils.statistics import style_statistic  # here: statistics imports TensorFlow
        try:
            style_statistic(self.style_statistic)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{exc} (the default is {_default('style_statistic')!r})") from None
        _choice("weighting", self.weighting, WEIGHTINGS)
        _choice("init", self.init, INITS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        _choice("style_brightness", self.style_brightness, STYLE_BRIGHTNESSES)
        if not _is_number(self.dark_photo_below) or not 0.0 <= self.dark_photo_below <= 1.0:
            raise ValueError(f"dark_photo_below={self.dark_photo_below!r}: use a mean luminance in [0, 1] "
                             f"(the default is {_default('dark_photo_below')!r})")
        self._check_pyramid()

    def brightness_for(self, content: Any) -> str:
        """``style_brightness`` with ``"auto"`` decided for this photo: ``"photo"`` or ``"painting"``.

        ``content``: the photo, anything :func:`nst_utils.as_image` takes (a (1, n_H, n_W, 3) array in
        [0, 1], a uint8 array, a file path, a Pillow image), or None (no photo: ``"auto"`` gives ``"painting"``).
        """
        if self.style_brightness != "auto":
            return self.style_brightness
        if content is None:
            return "painting"
        from nst_utils.colour import mean_luminance
        from nst_utils.images import as_image
        photo = as_image(content, name="content")
        return "photo" if mean_luminance(photo) < self.dark_photo_below else "painting"

    def _check_pyramid(self) -> None:
        """The coarse-to-fine settings (:mod:`nst_utils.pyramid`), each refused with its real default."""
        def whole(value: Any) -> bool:
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)

        if self.pyramid_above is not None and (not whole(self.pyramid_above) or self.pyramid_above < 1):
            raise ValueError(f"pyramid_above={self.pyramid_above!r}: use a size in px >= 1, or None for one "
                             f"scale always (the default is {_default('pyramid_above')!r})")
        if not whole(self.pyramid_base) or self.pyramid_base < 16:
            raise ValueError(f"pyramid_base={self.pyramid_base!r}: use a size in px >= 16, the smallest "
                             f"VGG19 sees through block 5 (the default is {_default('pyramid_base')!r})")
        if not _is_number(self.pyramid_factor) or not 1.25 <= self.pyramid_factor <= 8.0:
            raise ValueError(f"pyramid_factor={self.pyramid_factor!r}: use a number in [1.25, 8], the largest "
                             f"size ratio between two levels (the default is {_default('pyramid_factor')!r})")
        if not _is_number(self.pyramid_step_ratio) or not 0.0 < self.pyramid_step_ratio <= 1.0:
            raise ValueError(f"pyramid_step_ratio={self.pyramid_step_ratio!r}: use a fraction in (0, 1] of the "
                             f"previous level's steps (the default is {_default('pyramid_step_ratio')!r})")
        _choice("pyramid_style_scale", self.pyramid_style_scale, PYRAMID_STYLE_SCALES)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some settings changed; unknown names are refused with the list of valid ones."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(f"unknown setting(s) {unknown}; the settings are "
                            f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (style_layers as a dict), e.g. for a report."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["style_layers"] = dict(self.style_layers)
        return out


#: The library's defaults, chosen by measurement (see the README).
DEFAULTS = Settings()
