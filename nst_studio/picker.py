"""One image input of the studio: a sample from the catalog or a file the user uploads, with a thumbnail.

The studio has two, the content image C and the style image S; they differ only in their label
and in which samples their list shows first.
"""

from __future__ import annotations

import html
from typing import Callable

import numpy as np

from nst_studio.helpers import decode_image_bytes, error_html, png_bytes, sample_label, upload_files
from nst_utils import SAMPLES, ImageError, load_sample

#: The dropdown value that means "the file you uploaded".
UPLOAD = "__upload__"
#: Side of the thumbnails, in px.
THUMB = 160


class ImagePicker:
    """A dropdown of samples, an upload button and a thumbnail.

    Args:
        label: the dropdown's description, e.g. ``"Content C"``.
        value: the sample chosen at first (a key of ``nst_utils.SAMPLES``).
        prefer: samples of this catalog role (``"content"`` or ``"style"``) are listed first.
        on_message: called with a short HTML line (an upload loaded, or why it was refused).

    :meth:`load` gives the chosen image at any size; :meth:`name` its name (the sample's, or the
    uploaded file's), for file names.
    """

    def __init__(self, label: str, value: str, *, prefer: str = "content",
                 on_message: Callable[[str], None] | None = None) -> None:
        import ipywidgets as w

        self.label = label
        self._say = on_message or (lambda text: None)
        self._upload: tuple[str, bytes] | None = None
        names = sorted(SAMPLES, key=lambda n: SAMPLES[n].role != prefer)
        self.dropdown = w.Dropdown(options=[(sample_label(n), n) for n in names], value=value,
                                   description=label, style={"description_width": "70px"},
                                   layout=w.Layout(width="330px"))
        self.upload = w.FileUpload(accept="image/*", multiple=False, description=f"Upload {label.split()[-1]}",
                                   layout=w.Layout(width="140px"))
        self.thumb = w.Image(format="png", layout=w.Layout(width=f"{THUMB}px", height=f"{THUMB * 3 // 4}px",
                                                           object_fit="contain"))
        self.widget = w.VBox([self.dropdown, self.upload, self.thumb])
        self.widget.add_class("nst-picker")
        self.dropdown.observe(lambda change: (self._say(""), self.refresh()), names="value")  # a new choice, a new message
        self.upload.observe(lambda change: self._on_upload(change["new"]), names="value")
        self.refresh()

    def name(self) -> str:
        """The chosen image's name: the sample's, or the uploaded file's."""
        return self._upload[0] if self.dropdown.value == UPLOAD and self._upload else self.dropdown.value

    def load(self, max_dim: int) -> np.ndarray:
        """The chosen image as (1, H, W, 3) float32 in [0, 1], its longer side ``max_dim`` px."""
        if self.dropdown.value == UPLOAD and self._upload is not None:
            name, data = self._upload
            return decode_image_bytes(data, name, max_dim)
        return load_sample(self.dropdown.value, max_dim)

    def refresh(self) -> None:
        """Redraw the thumbnail; a sample that cannot be had is reported, not raised."""
        try:
            self.thumb.value = png_bytes(self.load(THUMB))
        except Exception as exc:  # e.g. a sample that needs the internet: say so, keep the app alive
            self.thumb.value = b""
            self._say(error_html(exc))

    def _on_upload(self, value) -> None:
        files = upload_files(value)
        if not files:
            return
        name, data = files[-1]
        self.upload.value = ()  # so that uploading the same file again fires again
        try:
            thumb = decode_image_bytes(data, name, THUMB)
        except ImageError as exc:
            self._say(error_html(exc))
            return
        self._upload = (name, data)
        others = [o for o in self.dropdown.options if o[1] != UPLOAD]
        self.dropdown.options = [(f"upload · {name}", UPLOAD)] + others  # selects it (the first option)
        self.dropdown.value = UPLOAD
        self.thumb.value = png_bytes(thumb)
        self._say(f"Loaded {html.escape(name)} as {html.escape(self.label)}.")
