"""How the studio makes an image: its modes.

A mode turns the content image, the style image and the panel's :class:`~nst_studio.controls.Choices`
into an image, reporting progress through ``callback(step, image, history) -> stop?``:

- :class:`Optimization` (Gatys et al.: the pixels are optimized, lessons 06-07), always;
- :class:`Fast` (Johnson et al.: a network trained once per style, lesson 09, ``nst_utils.fast``),
  when the library ships at least one trained network.

A mode is a class with ``name``, ``label``, ``help``, ``plan(choices)`` and ``run(...)``, listed in
:data:`MODES`; the studio shows a mode switch as soon as there is more than one. ``plan`` is a
:class:`nst_utils.LevelPlan`: the steps the progress bar counts, and for a picture above 512 px
(``pyramid_above``) the levels of the coarse-to-fine run, which the status line names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from nst_studio.controls import Choices
from nst_utils import (LevelPlan, TransferResult, cached_vgg19, colour, describe_vgg, level_plan, resolve_precision,
                       style_transfer)

#: ``callback(step, image, history) -> stop?``: the image is what the user will get (colours included), at
#: the size asked for also during the coarse levels of a pyramid; ``step`` counts over all levels.
Callback = Callable[[int, np.ndarray, dict[str, list[float]]], Any]

def describe_network(model) -> str:
    """One line about a network: the library's own description (weights, pooling, precision)."""
    return describe_vgg(model)


def network(pooling: str = "max", precision: str | None = None) -> tuple[Any, str]:
    """VGG19 with the real weights (built once per process) and the library's line about it
    (:func:`nst_utils.describe_vgg`: which weights, their quantisation, the pooling, the precision,
    read back from the model), which the studio shows on its page."""
    model = cached_vgg19(pooling, resolve_precision(precision), verbose=False)
    return model, describe_vgg(model)


@dataclass
class Outcome:
    """What a run made: the image shown and saved, one line about the run, and (when the mode optimizes)
    the library's result with its history and settings."""

    image: np.ndarray
    summary: str
    result: TransferResult | None = None
    stopped: bool = False


class Mode(Protocol):
    """How the studio makes an image (see the module docstring)."""

    name: str
    label: str
    help: str

    def plan(self, choices: Choices) -> LevelPlan:
        """The levels and steps of a run (one level for a single scale); the progress bar counts ``total``."""

    def run(self, content: np.ndarray, style: np.ndarray, choices: Choices, *, callback: Callback, model=None,
            style_name: str = "", say: Callable[[str], None] = print) -> Outcome:
        """Make the image; ``say`` gets one line about the network used."""


def keep_colours(image: np.ndarray, content: np.ndarray, how: str) -> np.ndarray:
    """The image as the user gets it: with ``how="luminance"``, its luminance on the content's colours."""
    if how == "luminance":
        return colour.luminance_only(image, content).astype(np.float32)
    return image


class Optimization:
    """Gatys et al.: optimize the pixels with :func:`nst_utils.style_transfer` (the settings as chosen).

    Colour preservation: ``"histogram"`` recolours the style image with the content's colour
    statistics before the run (:func:`nst_utils.colour.match_histogram`); ``"luminance"`` keeps the
    result's luminance and the content's colours (:func:`nst_utils.colour.luminance_only`), in the
    preview as well as in the result.
    """

    name = "optimize"
    label = "Optimization (Gatys et al.)"
    help = "The pixels of the result x are optimized step by step (lessons 06-07): every setting below applies."

    def plan(self, choices: Choices) -> LevelPlan:
        return level_plan(choices.size, choices.settings)  # the pyramid above pyramid_above (512 px)

    def run(self, content: np.ndarray, style: np.ndarray, choices: Choices, *, callback: Callback, model=None,
            style_name: str = "", say: Callable[[str], None] = print) -> Outcome:
        t0 = time.perf_counter()
        s = choices.settings
        model, line = network(s.pooling, s.precision) if model is None else (model, describe_network(model))
        say(line)
        if choices.colour == "histogram":
            style = colour.match_histogram(style, content).astype(np.float32)

        def report(step: int, image: np.ndarray, history: dict[str, list[float]]) -> Any:
            return callback(step, keep_colours(image, content, choices.colour), history)

        r = style_transfer(content, style, settings=s, model=model, callback=report, callback_every=1,
                           progress=False)
        levels = f" over levels of {'/'.join(str(lv.size) for lv in r.levels)} px" if r.levels else ""
        summary = (f"{'stopped' if r.stopped else 'done'}: {r.steps} of {self.plan(choices).total} steps{levels} in "
                   f"{time.perf_counter() - t0:.1f} s · J = {r.final_cost:.4g} · {r.settings.weighting} weighting · "
                   f"{r.settings.precision}"
                   + (" · painting matched to this dark photo's brightness (style_brightness='auto'; README, the studio)"
                      if r.settings.style_brightness == "photo" else ""))
        return Outcome(keep_colours(r.image, content, choices.colour), summary, r, bool(r.stopped))


class Fast:
    """Johnson et al.: a network trained once for one style (lesson 09) paints C in one forward pass."""

    name = "fast"
    label = "Fast (a trained network per style)"

    def __init__(self, styles: list[str]) -> None:
        self.styles = styles
        self.help = (f"One forward pass of a network trained for one style (lesson 09); trained styles: "
                     f"{', '.join(styles)}. Only the size and 'keep C's colours: luminance only' apply.")
        self._networks: dict[str, Any] = {}

    def plan(self, choices: Choices) -> LevelPlan:
        return LevelPlan((choices.size,), (1,))

    def run(self, content: np.ndarray, style: np.ndarray, choices: Choices, *, callback: Callback, model=None,
            style_name: str = "", say: Callable[[str], None] = print) -> Outcome:
        from nst_utils import load_fast_network, stylize

        if style_name not in self.styles:
            raise ValueError(f"the fast mode has trained networks for {', '.join(self.styles)} only: choose one "
                             "of them as the style S, or use the optimization")
        if choices.colour == "histogram":
            raise ValueError("histogram matching recolours the style image before a run, but a trained network "
                             "has its style built in: choose 'luminance only' or 'none'")
        t0 = time.perf_counter()
        if style_name not in self._networks:
            self._networks[style_name] = load_fast_network(style_name)
        net = self._networks[style_name]
        say(f"a transformation network trained for {style_name} ({net.count_params():,} parameters)")
        image = keep_colours(stylize(net, content), content, choices.colour)
        callback(1, image, {})
        return Outcome(image, f"done: one forward pass in {time.perf_counter() - t0:.2f} s")


def _modes() -> dict[str, Mode]:
    modes: list[Mode] = [Optimization()]
    try:
        from nst_utils import fast_styles
    except ImportError:  # a library without lesson 09's networks: the optimization only
        fast_styles = None
    if fast_styles is not None and fast_styles():
        modes.append(Fast(fast_styles()))
    return {mode.name: mode for mode in modes}


#: The studio's modes, by name; the first is the default. The studio shows a switch if there are several.
MODES: dict[str, Mode] = _modes()
