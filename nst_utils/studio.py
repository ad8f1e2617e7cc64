r"""The style-transfer studio of lesson 07: an app made of ipywidgets around :func:`style_transfer`.

Seed 001 shipped its style transfer as a Streamlit app; this is the same app inside Jupyter::

    from nst_utils.studio import Studio
    studio = Studio()
    studio.show()            # or display(studio.widget), or end a cell with `studio`

and on its own as a web page, served by Voila from the repository root::

    voila notebooks/07_studio.ipynb

Pick a sample or upload a content image C and a style image S, set alpha, beta, the learning
rate, the number of steps, the size and the layers, press **Generate**. The optimization runs in a
background thread (``threading.Thread``), so the kernel stays free to handle the widgets: the
progress bar, the cost J and the preview of G update while it runs, and **Stop** ends it at the
next step. The image made so far is never lost: after Stop or an error it stays in the preview and
**Save** writes it under ``outputs/07_studio/`` (never overwriting) with a download link.

The pure pieces (decoding uploads, PNG bytes, the layer weights lambda_l, the status line, the
download link) are plain functions so that they can be tested without a browser.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from PIL import Image as PILImage

from nst_utils.images import ImageError, load_image, save_image, to_uint8
from nst_utils.models import VGG19_BLOCKS
from nst_utils.outputs import output_dir, project_root
from nst_utils.samples import SAMPLES, load_sample
from nst_utils.transfer import DEFAULTS, TransferResult, style_transfer

#: The content layers offered: every conv layer of VGG19, in the paper's spelling.
CONTENT_LAYERS: list[str] = [f"conv{b}_{i}" for b, n in enumerate(VGG19_BLOCKS, 1) for i in range(1, n + 1)]
#: The style layers offered as check boxes: Gatys et al.'s five (all ticked by default).
STYLE_LAYERS: list[str] = [f"conv{b}_1" for b in range(1, 6)]
#: Where :meth:`Studio.save` writes (``outputs/07_studio/``).
LESSON = "07_studio"
#: The value of the image dropdowns that means "the file you uploaded".
UPLOAD = "__upload__"
#: Side of the thumbnails of C and S, in px.
THUMB = 160


# ----------------------------------------------------------------------------- pure functions

def sample_label(name: str) -> str:
    """How a sample appears in the image dropdowns, e.g. ``'tubingen · Neckarfront in Tuebingen'``."""
    return f"{name} · {SAMPLES[name].title}"


def decode_image_bytes(data: bytes, name: str, max_dim: int | None = None) -> np.ndarray:
    """Decode an uploaded file's bytes into (1, H, W, 3) float32 in [0, 1], like ``load_image``.

    The bytes go through a temporary file and :func:`nst_utils.images.load_image`, so every
    format Pillow reads works and anything else raises :class:`ImageError` naming the upload
    (``name``), not the temporary file.
    """
    suffix = Path(name).suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", Path(name).suffix) else ""
    fd, tmp = tempfile.mkstemp(prefix="nst_upload_", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(data))
        return load_image(tmp, max_dim=max_dim)
    except ImageError as exc:
        raise ImageError(name, exc.reason) from None
    finally:
        os.unlink(tmp)


def upload_files(value: Any) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` for each file in a ``FileUpload.value`` (ipywidgets 8: a tuple of dicts)."""
    if isinstance(value, Mapping):  # ipywidgets 7 used {name: {...}}
        value = [{"name": k, **v} for k, v in value.items()]
    return [(str(f.get("name", "upload")), bytes(f["content"])) for f in value or ()]


def png_bytes(image: np.ndarray) -> bytes:
    """(1, H, W, 3) or (H, W, 3) in [0, 1] -> the bytes of a PNG file (for ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    PILImage.fromarray(to_uint8(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def style_layer_weights(layers: Iterable[str]) -> dict[str, float]:
    """Equal weights lambda_l = 1/L for the L chosen style layers (they sum to 1)."""
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise ValueError("tick at least one style layer (Gatys et al. use conv1_1 ... conv5_1)")
    return {name: 1.0 / len(layers) for name in layers}


def preview_every(steps: int) -> int:
    """How often (in steps) the preview is redrawn: about 25 previews per run, every 1-10 steps."""
    return int(min(10, max(1, steps // 25)))


def status_text(step: int, steps: int, history: Mapping[str, list[float]], alpha: float,
                beta: float) -> str:
    """One line: step, J and its two weighted parts, seconds (J of the step's start image)."""
    if not history.get("J"):
        return f"step {step} / {steps}"
    J, J_content, J_style = history["J"][-1], history["J_content"][-1], history["J_style"][-1]
    seconds = history["seconds"][-1] if history.get("seconds") else 0.0
    return (f"step {step} / {steps} · J = {J:.4g} "
            f"(α·J_content = {alpha * J_content:.3g}, β·J_style = {beta * J_style:.3g}) · {seconds:.1f} s")


def result_stem(content: str, style: str) -> str:
    """File name stem for a result, e.g. ``tubingen_x_starry_night`` (safe characters only)."""
    def clean(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "_", Path(text).stem).strip("_")[:40] or "image"

    return f"{clean(content)}_x_{clean(style)}"


def download_html(path: str | os.PathLike[str], label: str | None = None) -> str:
    """An HTML link that downloads the file at ``path`` (its bytes inlined as a data: URL)."""
    p = Path(path)
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}.get(p.suffix.lower(),
                                                                                "application/octet-stream")
    text = html.escape(label or f"Download {p.name}")
    return (f'<a class="nst-download" style="color:#1565c0;text-decoration:underline" '
            f'download="{html.escape(p.name)}" '
            f'href="data:{mime};base64,{data}">{text}</a>')


def error_html(exc: BaseException) -> str:
    """An exception as one short red line for the UI (no traceback)."""
    what = "Image error" if isinstance(exc, ImageError) else type(exc).__name__
    return f'<span style="color:#b00020"><b>{html.escape(what)}:</b> {html.escape(str(exc))}</span>'


# ----------------------------------------------------------------------------- the app

class Studio:
    """The style-transfer app (see the module docstring). ``Studio().show()`` displays it.

    Args:
        content, style: sample names preselected in the dropdowns (see ``nst_utils.SAMPLES``).
        size: longer side of the generated image in px (C and S are loaded at this size).
        steps, learning_rate, alpha, beta: the optimization's settings (Adam on the pixels).
        content_layer, style_layers: the layers preselected.
        model: a VGG19 from ``nst_utils.load_vgg19``; default: the real one, built on first use.
        lesson: the folder under ``outputs/`` that :meth:`save` writes to.

    After a run, :attr:`result` is the :class:`~nst_utils.transfer.TransferResult` and
    :attr:`image` the image G; during a run :attr:`image` is the latest image seen.
    """

    def __init__(self, *, content: str = "tubingen", style: str = "starry_night", size: int = 256,
                 steps: int = DEFAULTS["steps"], learning_rate: float = DEFAULTS["learning_rate"],
                 alpha: float = DEFAULTS["alpha"], beta: float = DEFAULTS["beta"],
                 content_layer: str = "conv4_2", style_layers: Iterable[str] = tuple(STYLE_LAYERS),
                 model=None, lesson: str = LESSON) -> None:
        import ipywidgets as w

        self._model = model
        self._lesson = lesson
        self._uploads: dict[str, tuple[str, bytes]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.result: TransferResult | None = None
        self.image: np.ndarray | None = None
        self.step = 0
        self.error: BaseException | None = None
        self.saved: list[Path] = []

        wide = {"description_width": "110px"}
        box = w.Layout(width="360px")

        def options(first: str) -> list[tuple[str, str]]:  # samples of that role first, then the rest
            names = sorted(SAMPLES, key=lambda n: SAMPLES[n].role != first)
            return [(sample_label(n), n) for n in names]

        self.content_choice = w.Dropdown(options=options("content"), value=content,
                                         description="Content C", style=wide, layout=box)
        self.style_choice = w.Dropdown(options=options("style"), value=style,
                                       description="Style S", style=wide, layout=box)
        self.content_upload = w.FileUpload(accept="image/*", multiple=False, description="Upload C")
        self.style_upload = w.FileUpload(accept="image/*", multiple=False, description="Upload S")
        thumb = dict(width=f"{THUMB}px", height=f"{THUMB * 3 // 4}px", object_fit="contain")
        self.content_thumb = w.Image(format="png", layout=w.Layout(**thumb))
        self.style_thumb = w.Image(format="png", layout=w.Layout(**thumb))

        self.alpha = w.FloatLogSlider(value=alpha, base=10, min=-2, max=4, step=0.25,
                                      description="alpha (content)", style=wide, layout=box,
                                      readout_format=".3g")
        self.beta = w.FloatLogSlider(value=beta, base=10, min=-6, max=1, step=0.25,
                                     description="beta (style)", style=wide, layout=box,
                                     readout_format=".3g")
        self.learning_rate = w.FloatLogSlider(value=learning_rate, base=10, min=-3, max=-0.5, step=0.05,
                                              description="learning rate", style=wide, layout=box,
                                              readout_format=".3g")
        self.steps = w.IntSlider(value=steps, min=1, max=1000, step=1, description="steps",
                                 style=wide, layout=box)
        self.size = w.IntSlider(value=size, min=32, max=512, step=16, description="size (px)",
                                style=wide, layout=box)
        self.content_layer = w.Dropdown(options=CONTENT_LAYERS, value=content_layer,
                                        description="content layer", style=wide, layout=box)
        chosen = set(style_layers)
        self.style_checks = {name: w.Checkbox(value=name in chosen, description=name, indent=False,
                                              layout=w.Layout(width="84px"))
                             for name in STYLE_LAYERS}
        self.init = w.ToggleButtons(options=[("start from C", "content"), ("start from noise", "noise")],
                                    value="content", style={"button_width": "120px"})

        self.generate_button = w.Button(description="Generate", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.save_button = w.Button(description="Save", icon="save", disabled=True)

        self.progress = w.IntProgress(value=0, min=0, max=steps, description="progress", style=wide,
                                      layout=w.Layout(width="420px"))
        self.status = w.HTML(value="Choose C and S, then press <b>Generate</b>.")
        self.message = w.HTML(value="")
        self.preview = w.Image(format="png", layout=w.Layout(width="400px", height="auto",
                                                             min_height="64px", border="1px solid #ccc"))
        self.saved_html = w.HTML(value="")

        for widget in (self.content_choice, self.style_choice):
            widget.observe(self._on_choice, names="value")
        self.content_upload.observe(lambda change: self._on_upload("content", change["new"]), names="value")
        self.style_upload.observe(lambda change: self._on_upload("style", change["new"]), names="value")
        self.generate_button.on_click(self._on_generate_click)
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(self._on_save_click)

        head = w.HTML
        images = w.HBox([
            w.VBox([self.content_choice, self.content_upload, self.content_thumb]),
            w.VBox([self.style_choice, self.style_upload, self.style_thumb]),
        ])
        controls = w.VBox(layout=w.Layout(width="500px"), children=[
            head("<b>Weights and optimizer</b>"), self.alpha, self.beta, self.learning_rate,
            self.steps, self.size,
            head("<b>Layers</b>"), self.content_layer,
            w.HBox([w.Label("style layers", layout=w.Layout(width="114px")),
                    *self.style_checks.values()]),
            self.init,
            w.HBox([self.generate_button, self.stop_button, self.save_button]),
        ])
        output = w.VBox([self.progress, self.status, self.message, self.preview, self.saved_html],
                        layout=w.Layout(flex="1 1 420px"))
        self.widget = w.VBox([
            head("<h3 style='margin:4px 0'>Neural style transfer studio</h3>"),
            images,
            w.HBox([controls, output], layout=w.Layout(flex_flow="row wrap", gap="16px")),
        ])
        self.widget.add_class("nst-studio")
        self.preview.add_class("nst-preview")
        self.status.add_class("nst-status")
        self.message.add_class("nst-message")
        self._refresh_thumbs()

    # -- display
    def show(self) -> None:
        """Display the app in the notebook (or the Voila page)."""
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- inputs
    @property
    def running(self) -> bool:
        """True while a run's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _name(self, role: str) -> str:
        choice = (self.content_choice if role == "content" else self.style_choice).value
        return self._uploads[role][0] if choice == UPLOAD else choice

    def load(self, role: str, max_dim: int) -> np.ndarray:
        """The chosen (sample or uploaded) ``"content"`` or ``"style"`` image at ``max_dim`` px."""
        choice = (self.content_choice if role == "content" else self.style_choice).value
        if choice == UPLOAD:
            name, data = self._uploads[role]
            return decode_image_bytes(data, name, max_dim)
        return load_sample(choice, max_dim)

    def _refresh_thumbs(self) -> None:
        for role, thumb in (("content", self.content_thumb), ("style", self.style_thumb)):
            try:
                thumb.value = png_bytes(self.load(role, THUMB))
            except Exception as exc:  # a missing sample must not break the app
                self.message.value = error_html(exc)

    def _on_choice(self, change) -> None:
        self.message.value = ""
        self._refresh_thumbs()

    def _on_upload(self, role: str, value) -> None:
        files = upload_files(value)
        if not files:
            return
        name, data = files[-1]
        (self.content_upload if role == "content" else self.style_upload).value = ()  # re-upload works
        dropdown = self.content_choice if role == "content" else self.style_choice
        try:
            thumb = decode_image_bytes(data, name, THUMB)
        except ImageError as exc:
            self.message.value = error_html(exc)
            return
        self._uploads[role] = (name, data)
        options = [o for o in dropdown.options if o[1] != UPLOAD]
        dropdown.options = [(f"upload · {name}", UPLOAD)] + options
        dropdown.value = UPLOAD
        (self.content_thumb if role == "content" else self.style_thumb).value = png_bytes(thumb)
        self.message.value = f"Loaded {html.escape(name)} as the {role} image."

    def settings(self) -> dict[str, Any]:
        """The keyword arguments of ``style_transfer`` that the widgets show now."""
        return dict(
            steps=int(self.steps.value),
            learning_rate=float(self.learning_rate.value),
            alpha=float(self.alpha.value),
            beta=float(self.beta.value),
            content_layer=self.content_layer.value,
            style_layers=style_layer_weights(n for n, box in self.style_checks.items() if box.value),
            init=self.init.value,
        )

    # -- running
    def generate(self) -> threading.Thread:
        """Start a run in a background thread with the current settings (what Generate does).

        Raises:
            RuntimeError: a run is already going.
            ValueError, ImageError: bad settings or images (nothing is started).
        """
        if self.running:
            raise RuntimeError("a run is already going; press Stop first")
        kwargs = self.settings()
        size = int(self.size.value)
        content, style = self.load("content", size), self.load("style", size)
        self._stop.clear()
        self.error = None
        self.result = None
        self.step = 0
        self.progress.max = kwargs["steps"]
        self.progress.value = 0
        self.progress.bar_style = ""
        self.message.value = ""
        self.status.value = "loading VGG19 and computing the targets ..."
        self.generate_button.disabled = True
        self.stop_button.disabled = False
        names = (self._name("content"), self._name("style"))
        self._names = names
        self._thread = threading.Thread(target=self._work, args=(content, style, kwargs, names),
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

    def _callback(self, every: int, alpha: float, beta: float):
        def callback(step: int, image: np.ndarray, history: Mapping[str, list[float]]) -> bool:
            self.image = np.array(image, copy=True)
            self.step = step
            self.progress.value = step
            self.status.value = status_text(step, self.progress.max, history, alpha, beta)
            if step % every == 0:
                self.preview.value = png_bytes(image)
            return self._stop.is_set()

        return callback

    def _work(self, content: np.ndarray, style: np.ndarray, kwargs: dict[str, Any],
              names: tuple[str, str]) -> None:
        t0 = time.perf_counter()
        try:
            model = self._model
            if model is None:
                from nst_utils.models import cached_vgg19

                model = cached_vgg19()
            callback = self._callback(preview_every(kwargs["steps"]), kwargs["alpha"], kwargs["beta"])
            result = style_transfer(content, style, model=model, callback=callback, callback_every=1,
                                    progress=False, **kwargs)
            self.result = result
            self.image = result.image
            self.preview.value = png_bytes(result.image)
            how = "stopped" if result.stopped else "done"
            self.status.value = (f"{how}: {result.steps} of {kwargs['steps']} steps in "
                                 f"{time.perf_counter() - t0:.1f} s · J = {result.final_cost:.4g}")
            self.progress.bar_style = "warning" if result.stopped else "success"
        except Exception as exc:  # shown in the UI; the image so far stays in the preview
            self.error = exc
            self.progress.bar_style = "danger"
            kept = " The image so far is kept: Save writes it." if self.image is not None else ""
            self.message.value = error_html(exc) + html.escape(kept)
        finally:
            self.generate_button.disabled = False
            self.stop_button.disabled = True
            self.save_button.disabled = self.image is None

    # -- saving
    def save(self) -> Path:
        """Write the latest image to ``outputs/07_studio/<content>_x_<style>.png`` (never
        overwriting: ``-1``, ``-2``, ... are appended) and show a download link."""
        if self.image is None:
            raise RuntimeError("nothing to save yet: press Generate first")
        names = getattr(self, "_names", (self._name("content"), self._name("style")))
        path = save_image(self.image, output_dir(self._lesson) / f"{result_stem(*names)}.png")
        self.saved.append(path)
        root = project_root()
        shown = path.relative_to(root) if root is not None and path.is_relative_to(root) else path
        self.saved_html.value = (f"Saved <code>{html.escape(str(shown))}</code><br>"
                                 + download_html(path))
        return path

    def _on_generate_click(self, _button) -> None:
        try:
            self.generate()
        except Exception as exc:  # bad settings or a bad image: say so, start nothing
            self.message.value = error_html(exc)

    def _on_save_click(self, _button) -> None:
        try:
            self.save()
        except Exception as exc:
            self.message.value = error_html(exc)
