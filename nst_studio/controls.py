"""The studio's settings: sliders and buttons that make a :class:`nst_utils.Settings`, and nothing else.

Every starting value comes from the settings the panel is given (``nst_utils.DEFAULTS`` unless the
caller says otherwise); the sliders' ranges are spans of powers of ten around those values, so they
follow the library when its defaults change.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from nst_studio.helpers import layer_shares, log_range
from nst_utils import DEFAULTS, GATYS_STYLE_LAYERS, Settings, conv_layers, level_plan, short_name

#: The size slider's range (px). Above ``pyramid_above`` (512 px) a run goes coarse to fine
#: (:mod:`nst_utils.pyramid`); a 1024-px run with the defaults took 334 s in the studio on a 2-core AMD EPYC
#: (README). The fast mode shares the slider: at 1024 px (1024 x 768, the committed starry_night network) one
#: run took 0.8 s with loading the network, 0.7 s with it loaded, at a peak of 0.92 GiB of memory (resident,
#: the whole process), one run on the 2-core AMD EPYC under the CPU lock (review 20 S-13).
SIZE_MIN, SIZE_MAX = 32, 1024
#: Colour preservation (Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer").
COLOURS = (("none", "none"), ("luminance only", "luminance"), ("histogram matching", "histogram"))
#: The total-variation weight offered when smoothing is switched on, in units of alpha: J_TV of a
#: photo is a few hundredths (pixels in [0, 1]), so about 10 alpha makes smoothing visible.
TV_PER_ALPHA = 10.0


@dataclass(frozen=True)
class Choices:
    """What the panel says: the transfer's settings, the image size (px), the colour preservation."""

    settings: Settings
    size: int
    colour: str = "none"


class SettingsPanel:
    """Tabs of controls: the weights and the run; the layers; smoothing, pooling, start, optimizer.

    Args:
        base: the settings to start from (default ``nst_utils.DEFAULTS``); what the panel does not
            show (weighting, seed, precision, ...) is kept from it.
        size: the longer side of the images in px at first.

    Style layers get one slider each (lambda_l). The values are split into shares that sum to 1
    (:func:`nst_studio.helpers.layer_shares`), so that beta alone sets the overall style weight.
    """

    def __init__(self, base: Settings = DEFAULTS, size: int = 256) -> None:
        import ipywidgets as w

        self.base = base
        wide = {"description_width": "120px"}
        box = w.Layout(width="400px")

        def log_slider(value: float, below: int, above: int, description: str) -> w.FloatLogSlider:
            low, high = log_range(value, below, above)
            return w.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.05, description=description,
                                    readout_format=".3g", style=wide, layout=box, continuous_update=False)

        self.alpha = log_slider(base.alpha, 2, 2, "alpha (content)")
        self.beta = log_slider(base.beta, 2, 1, "beta (style)")
        self.steps = w.IntSlider(value=base.steps, min=1, max=max(1000, base.steps), description="steps",
                                 style=wide, layout=box, continuous_update=False)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not SIZE_MIN <= size <= SIZE_MAX:
            raise ValueError(f"size={size!r}: use a whole number of px from {SIZE_MIN} to {SIZE_MAX}")
        size = int(size)   # a NumPy integer too (review S-13)
        self.size = w.IntSlider(value=size, min=SIZE_MIN, max=SIZE_MAX, step=16, description="size (px)", style=wide,
                                layout=box, continuous_update=False)
        self.plan = w.HTML()   # one scale, or the levels of a coarse-to-fine run
        self.colour = w.ToggleButtons(options=COLOURS, value="none", description="keep C's colours",
                                      style={**wide, "button_width": "auto"})

        self.content_layer = w.Dropdown(options=conv_layers(), value=short_name(base.content_layer),
                                        description="content layer", style=wide, layout=box)
        given = {short_name(layer): weight for layer, weight in base.style_layers.items()}
        names = list(dict.fromkeys([*GATYS_STYLE_LAYERS, *given]))
        self.layer_weights = {name: w.FloatSlider(value=given.get(name, 0.0), min=0.0, max=1.0, step=0.05,
                                                  description=f"λ {name}", style=wide, layout=box,
                                                  continuous_update=False, readout_format=".2f")
                              for name in names}
        self.shares = w.HTML()

        on = base.tv_weight > 0
        self.smooth = w.Checkbox(value=on, description="smoothing (total variation)", indent=False)
        self.tv_weight = log_slider(base.tv_weight if on else TV_PER_ALPHA * base.alpha, 1, 3, "w_TV")
        self.tv_weight.disabled = not on
        self.pooling = w.ToggleButtons(options=[("max (as trained)", "max"), ("average (Gatys et al.)", "avg")],
                                       value=base.pooling, description="pooling", style={**wide, "button_width": "auto"})
        self.init = w.ToggleButtons(options=[("the content image", "content"), ("white noise", "noise")],
                                    value=base.init if base.init in ("content", "noise") else "content",
                                    description="start from", style={**wide, "button_width": "auto"})
        self.optimizer = w.ToggleButtons(options=[("Adam", "adam"), ("L-BFGS", "lbfgs")], value=base.optimizer,
                                         description="optimizer", style={**wide, "button_width": "auto"})
        self.learning_rate = log_slider(base.learning_rate, 1, 0, "learning rate")

        for slider in self.layer_weights.values():
            slider.observe(lambda change: self._show_shares(), names="value")
        self.smooth.observe(lambda change: setattr(self.tv_weight, "disabled", not change["new"]), names="value")
        self.optimizer.observe(self._on_optimizer, names="value")
        for control in (self.size, self.steps):
            control.observe(lambda change: self._show_plan(), names="value")
        self._show_plan()
        self._on_optimizer({"new": self.optimizer.value})
        self._show_shares()

        note = w.HTML
        self.widget = w.Tab(children=[
            w.VBox([self.alpha, self.beta, self.steps, self.size, self.plan, self.colour,
                    note("<small>J = α·J_content + β·J_style (+ w_TV·J_TV): β/α is the main dial.</small>")]),
            w.VBox([self.content_layer, *self.layer_weights.values(), self.shares]),
            w.VBox([w.HBox([self.smooth]), self.tv_weight, self.pooling, self.init, self.optimizer,
                    self.learning_rate]),
        ], titles=("Weights", "Layers", "More"), layout=w.Layout(width="440px"))
        self.widget.add_class("nst-settings")

    def _on_optimizer(self, change) -> None:
        self.learning_rate.disabled = change["new"] != "adam"  # L-BFGS chooses its own step length

    def _show_plan(self) -> None:
        plan = level_plan(int(self.size.value), self.base.replace(steps=int(self.steps.value)))
        if len(plan.sizes) == 1:
            self.plan.value = f"<small>{plan.sizes[0]} px in one scale, {plan.total} steps</small>"
            return
        sizes = " → ".join(f"{size}" for size in plan.sizes)
        steps = " + ".join(str(n) for n in plan.steps)
        self.plan.value = (f"<small>coarse to fine: levels of {sizes} px, {steps} = {plan.total} steps "
                           f"(each level starts from the last, upsampled)</small>")

    def _show_shares(self) -> None:
        try:
            shares = layer_shares({name: s.value for name, s in self.layer_weights.items()})
        except ValueError as exc:
            self.shares.value = f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
            return
        text = " · ".join(f"{name} {share:.0%}" for name, share in shares.items())
        self.shares.value = f"<small>shares of β: {text}</small>"

    def choices(self) -> Choices:
        """The settings the controls show now (``ValueError`` if no style layer has a weight)."""
        settings = self.base.replace(
            steps=int(self.steps.value),
            learning_rate=float(self.learning_rate.value),
            alpha=float(self.alpha.value),
            beta=float(self.beta.value),
            tv_weight=float(self.tv_weight.value) if self.smooth.value else 0.0,
            content_layer=self.content_layer.value,
            style_layers=layer_shares({name: s.value for name, s in self.layer_weights.items()}),
            pooling=self.pooling.value,
            init=self.init.value,
            optimizer=self.optimizer.value,
        )
        return Choices(settings, int(self.size.value), self.colour.value)
