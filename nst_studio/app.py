r"""The style-transfer studio: an app made of ipywidgets around :func:`nst_utils.style_transfer`.

DeepNeuralAI's CV-Neural-Style-Transfer (2020, GitHub) ships its style transfer as a Streamlit app; this is
the same kind of app inside Jupyter::

    from nst_studio import Studio
    Studio().show()          # or display(studio.widget), or end a cell with `studio`

and on its own web page (``python3 course.py studio``: voila serves ``nst_studio/app.ipynb``).

Pick a sample or upload a content image C and a style image S, set the weights, the layers and the
rest, press **Generate**. The optimization runs in a background thread (``threading.Thread``), so the
kernel stays free to handle the widgets: the progress bar, the cost J and the preview of the result x update while
it runs, and **Stop** ends it at the next step. The image made so far is never lost: after Stop or an
error it stays in the preview, and **Save** writes it under ``outputs/10_studio/`` (never overwriting)
with a download link. Nothing is written before Save.

Sizes above 512 px (up to 1024) run coarse to fine (:mod:`nst_utils.pyramid`: 256, 512, 1024 px): the
status line names the level (``level 2/3 (512 px)``), the progress bar counts the steps of all levels,
and the preview shows the current level's image at the size asked for (the library upsamples it for the
callback). Stop works at any level (pressed while the next level's targets are computed, it ends the run
before that level's first step); Save writes the full-size image (a run stopped at a coarse level:
that level's image, upsampled). The preview is drawn at most :data:`PREVIEW_MAX` px wide and high.

The pieces: :mod:`nst_studio.picker` (an image input, used for C and for S),
:mod:`nst_studio.controls` (the settings), :mod:`nst_studio.modes` (how an image is made),
:mod:`nst_studio.helpers` (pure functions).
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nst_studio.controls import COLOURS, Choices, SettingsPanel
from nst_studio.helpers import (download_html, error_html, png_bytes, preview_every, result_stem, shown_path,
                                status_text)
from nst_studio.modes import MODES, Outcome, describe_network, network
from nst_studio.picker import ImagePicker
from nst_utils import DEFAULTS, LevelPlan, Settings, TransferResult, output_dir, project_root, resize_image, save_image

#: Where :meth:`Studio.save` writes (``outputs/10_studio/``).
LESSON = "10_studio"
TITLE = "Neural style transfer studio"
#: Longer side (px) of the preview's PNG: twice the 420-px box (sharp on high-density screens); larger
#: results (a 1024-px run) are shown downscaled, and saved at full size.
PREVIEW_MAX = 840
HELP = ("Choose a content image and a style image (a sample, or upload your own), set the weights, "
        "press <b>Generate</b> and watch the image change; <b>Stop</b> keeps it, <b>Save</b> writes it "
        "and gives you a download link.")


def _small(text: str) -> str:
    return f"<small>{html.escape(text)}</small>"


class Studio:
    """The style-transfer app (see the module docstring). ``Studio().show()`` displays it.

    Args:
        content, style: sample names preselected (see ``nst_utils.SAMPLES``).
        settings: the settings the controls start from (default ``nst_utils.DEFAULTS``).
        size: longer side of the generated image in px at first.
        steps: the number of steps at first (default: the settings').
        model: a VGG19 from ``nst_utils.load_vgg19``; default: the real one, built once per process
            with the pooling and precision chosen (the page says which).
        lesson: the folder under ``outputs/`` that :meth:`save` writes to.
        title: show the title and the line of help above the app.

    After a run, :attr:`result` is the :class:`~nst_utils.TransferResult` and :attr:`image` the image
    G (colour preservation applied); during a run :attr:`image` is the latest image seen.
    """

    def __init__(self, *, content: str = "tubingen", style: str = "starry_night", settings: Settings = DEFAULTS,
                 size: int = 256, steps: int | None = None, model=None, lesson: str = LESSON,
                 title: bool = True) -> None:
        import ipywidgets as w

        self._model = model
        self._lesson = lesson
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._names = (content, style)
        self.result: TransferResult | None = None
        self.image: np.ndarray | None = None
        self.step = 0
        self.error: BaseException | None = None
        self.saved: list[Path] = []

        self.message = w.HTML(value="")
        say = self._say
        self.content = ImagePicker("Content C", content, prefer="content", on_message=say)
        self.style = ImagePicker("Style S", style, prefer="style", on_message=say)
        self.controls = SettingsPanel(settings if steps is None else settings.replace(steps=steps), size)
        several = len(MODES) > 1
        self.mode = w.ToggleButtons(options=[(m.label, m.name) for m in MODES.values()],
                                    style={"button_width": "auto"},
                                    layout=w.Layout(display="" if several else "none"))
        self.mode_help = w.HTML(_small(next(iter(MODES.values())).help), layout=w.Layout(display="" if several else "none"))
        self.mode.observe(lambda change: setattr(self.mode_help, "value", _small(MODES[change["new"]].help)), names="value")

        self.generate_button = w.Button(description="Generate", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.save_button = w.Button(description="Save", icon="save", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=self.controls.steps.value, description="progress",
                                      layout=w.Layout(width="420px"))
        self.status = w.HTML(value="Choose C and S, then press <b>Generate</b>.")
        self.network = w.HTML(value="")
        self.preview = w.Image(format="png", layout=w.Layout(width="420px", height="auto", min_height="64px",
                                                             border="1px solid #ccc", display="none"))
        self.saved_html = w.HTML(value="")

        self.generate_button.on_click(lambda _: self._guarded(self.generate))
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self._guarded(self.save))

        header = [w.HTML(f"<h2 style='margin:4px 0'>{TITLE}</h2><p style='margin:0 0 8px'>{HELP}</p>")] if title else []
        left = w.VBox([w.HBox([self.content.widget, self.style.widget]), self.mode, self.mode_help, self.controls.widget,
                       w.HBox([self.generate_button, self.stop_button, self.save_button])])
        right = w.VBox([self.progress, self.status, self.network, self.message, self.preview, self.saved_html],
                       layout=w.Layout(flex="1 1 440px"))
        self.widget = w.VBox([*header, w.HBox([left, right], layout=w.Layout(flex_flow="row wrap", gap="24px"))])
        for widget, name in ((self.widget, "nst-studio"), (self.preview, "nst-preview"), (self.status, "nst-status"),
                             (self.message, "nst-message"), (self.network, "nst-network"), (self.saved_html, "nst-saved")):
            widget.add_class(name)

    # -- display
    def show(self) -> None:
        """Display the app in the notebook (or on the voila page)."""
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def warm_up(self) -> threading.Thread:
        """Build VGG19 in the background now (not at the first Generate) and show the line about it.

        The app page calls this: voila runs the page's cell before a visitor arrives, so the network
        is ready, and the page says which weights, pooling and precision it has.
        """
        def build() -> None:
            try:
                s = self.controls.base
                _, line = network(s.pooling, s.precision) if self._model is None else (None, describe_network(self._model))
                if not self.network.value:
                    self.network.value = _small(line)
            except Exception as exc:  # e.g. the weights cannot be fetched: say so now
                self._say(error_html(exc))

        thread = threading.Thread(target=build, name="nst-studio-warm-up", daemon=True)
        thread.start()
        return thread

    def _show(self, image: np.ndarray) -> None:
        n_H, n_W = image.shape[-3:-1]
        if max(n_H, n_W) > PREVIEW_MAX:   # a smaller PNG to send to the browser; Save keeps the full size
            scale = PREVIEW_MAX / max(n_H, n_W)
            image = resize_image(image.reshape(1, n_H, n_W, 3), (max(1, round(n_H * scale)), max(1, round(n_W * scale))))
        self.preview.value = png_bytes(image)
        self.preview.layout.display = ""  # hidden until there is something to show

    def _say(self, text: str) -> None:
        self.message.value = text

    def _guarded(self, action) -> None:
        try:
            action()
        except Exception as exc:  # bad settings, a bad image, nothing to save: say so, start nothing
            self._say(error_html(exc))

    # -- running
    @property
    def running(self) -> bool:
        """True while a run's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def choices(self) -> Choices:
        """The settings, size and colour preservation the controls show now."""
        return self.controls.choices()

    def generate(self) -> threading.Thread:
        """Start a run in a background thread with the current settings (what Generate does).

        Raises:
            RuntimeError: a run is already going.
            ValueError, ImageError: bad settings or images (nothing is started).
        """
        if self.running:
            raise RuntimeError("a run is already going; press Stop first")
        choices = self.choices()
        plan = MODES[self.mode.value].plan(choices)
        content, style = self.content.load(choices.size), self.style.load(choices.size)
        self._stop.clear()
        # a new run starts without an image: Save never writes an earlier run's picture under this run's names
        self.error, self.result, self.step, self.image = None, None, 0, None
        self.progress.max, self.progress.value, self.progress.bar_style = plan.total, 0, ""
        self.message.value = self.saved_html.value = ""  # the last Saved line belongs to the last image
        level = f"{plan.label(0)}: " if len(plan.sizes) > 1 else ""
        self.status.value = f"{level}loading VGG19 and computing the targets ..."
        self.generate_button.disabled, self.stop_button.disabled, self.save_button.disabled = True, False, True
        self._names = (self.content.name(), self.style.name())
        self._thread = threading.Thread(target=self._work, args=(content, style, choices, plan),
                                        name="nst-studio", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the run to stop after the current step (what Stop does); the image is kept."""
        if self.running:
            self._stop.set()
            self.status.value += " · stopping ..."

    def wait(self, timeout: float | None = None) -> TransferResult | None:
        """Block until the run ends (for code and tests; the buttons never need it)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def _callback(self, choices: Choices, plan: LevelPlan):
        s, every, levels = choices.settings, preview_every(plan.total), len(plan.sizes)

        def callback(step: int, image: np.ndarray, history: dict[str, list[float]]) -> bool:
            # a level's last step again: the next level's targets are built, its first step is next (S-7)
            again = step == self.step and step > 0
            self.image = np.array(image, copy=True)   # at the size asked for, at every level
            self.step = step
            self.progress.value = step
            line = status_text(step, plan.total, history, s.alpha, s.beta, s.tv_weight)
            if levels > 1:
                k = plan.level_at(step)
                line = f"{plan.label(k)} · {line}"
                if step == plan.ends[k] and k + 1 < levels:   # the next level's targets take a while
                    doing = "its first step" if again else "computing its targets"
                    line += f" · next: {plan.label(k + 1)}, {doing} ..."
            self.status.value = line + (" · stopping ..." if self._stop.is_set() else "")
            if not again and (step % every == 0 or step in plan.ends[:-1]):   # and each finished level
                self._show(image)   # (the end: _work)
            return self._stop.is_set()

        return callback

    def _work(self, content: np.ndarray, style: np.ndarray, choices: Choices, plan: LevelPlan) -> None:
        try:
            outcome: Outcome = MODES[self.mode.value].run(
                content, style, choices, callback=self._callback(choices, plan), model=self._model,
                style_name=self._names[1], say=lambda line: setattr(self.network, "value", _small(line)))
            self.result, self.image = outcome.result, outcome.image
            self._show(outcome.image)
            colours = "" if choices.colour == "none" else f" · colours: {dict((v, k) for k, v in COLOURS)[choices.colour]}"
            self.status.value = outcome.summary + colours
            self.progress.value = self.progress.max if not outcome.stopped else self.progress.value
            self.progress.bar_style = "warning" if outcome.stopped else "success"
        except Exception as exc:  # shown in the UI; the image so far stays in the preview
            self.error = exc
            self.progress.bar_style = "danger"
            kept = " The image so far is kept: Save writes it." if self.image is not None else ""
            self.message.value = error_html(exc) + html.escape(kept)
        finally:
            self.generate_button.disabled, self.stop_button.disabled = False, True
            self.save_button.disabled = self.image is None

    # -- saving
    def save(self) -> Path:
        """Write the latest image to ``outputs/10_studio/<content>_x_<style>.png`` (never
        overwriting: ``-1``, ``-2``, ... are appended) and show where, with a download link."""
        if self.image is None:
            raise RuntimeError("nothing to save yet: press Generate first")
        path = save_image(self.image, output_dir(self._lesson) / f"{result_stem(*self._names)}.png")
        self.saved.append(path)
        self.saved_html.value = (f"Saved <code>{html.escape(shown_path(path, project_root()))}</code> · "
                                 + download_html(path))
        return path

    def settings(self) -> dict[str, Any]:
        """The current settings as a plain dict (``nst_utils.Settings.as_dict``), e.g. to print them."""
        return self.choices().settings.as_dict()
