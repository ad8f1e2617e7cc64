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
