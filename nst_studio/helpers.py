"""The studio's pure pieces: uploads, PNG bytes, slider ranges, layer shares, status lines, links.

Plain functions (no widgets), so that they can be tested without a browser or a kernel.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from PIL import Image as PILImage

from nst_utils import SAMPLES, ImageError, load_image, to_uint8


def sample_label(name: str) -> str:
    """How a sample appears in the image dropdowns, e.g. ``'tubingen · Neckarfront in Tuebingen'``."""
    return f"{name} · {SAMPLES[name].title}"


def decode_image_bytes(data: bytes, name: str, max_dim: int | None = None) -> np.ndarray:
    """Decode an uploaded file's bytes into (1, H, W, 3) float32 in [0, 1], like ``load_image``.

    The bytes go through a temporary file and :func:`nst_utils.load_image`, so every format Pillow
    reads works and anything else raises :class:`~nst_utils.ImageError` naming the upload (``name``),
    not the temporary file, which is always removed.
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


def preview_every(steps: int) -> int:
    """How often (in steps) the preview is redrawn: every ``steps // 25`` steps, at least 1 and at most 10.

    So a run of up to 49 steps redraws at every step, 50 to 250 steps give 25 to 37 previews, and longer
    runs one every 10 steps (100 previews at 1,000 steps), plus the final image.

    >>> [preview_every(s) for s in (10, 200, 1000)]
    [1, 8, 10]
    """
    return int(min(10, max(1, steps // 25)))


def log_range(default: float, below: int, above: int) -> tuple[int, int]:
    """Exponents (base 10) of a log slider around ``default``: ``below`` decades under it, ``above`` over.

    >>> log_range(20.0, 2, 1)     # 0.1 ... 1000
    (-1, 3)
    """
    if not default > 0:
        raise ValueError(f"a log slider needs a default > 0, not {default!r}")
    return math.floor(math.log10(default)) - below, math.ceil(math.log10(default)) + above


def layer_shares(weights: Mapping[str, float]) -> dict[str, float]:
    """The style layers' weights lambda_l as shares that sum to 1 (layers at 0 are left out).

    The studio's per-layer sliders say how the style weight is *split*; beta alone says how much
    style there is, so moving a layer slider never changes the overall style weight.
    """
    kept = {layer: float(w) for layer, w in weights.items() if w > 0}
    total = sum(kept.values())
    if not kept or not total > 0:
        raise ValueError("give at least one style layer a weight above 0 (Gatys et al. use conv1_1 ... conv5_1)")
    return {layer: w / total for layer, w in kept.items()}


def status_text(step: int, steps: int, history: Mapping[str, list[float]], alpha: float, beta: float,
                tv_weight: float = 0.0) -> str:
    """One line: step, J and its weighted parts, seconds (J of the image the step starts from)."""
    if not history.get("J"):
        return f"step {step} / {steps}"
    J, J_content, J_style = history["J"][-1], history["J_content"][-1], history["J_style"][-1]
    seconds = history["seconds"][-1] if history.get("seconds") else 0.0
    parts = f"α·J_content = {alpha * J_content:.3g}, β·J_style = {beta * J_style:.3g}"
    if tv_weight and history.get("J_tv"):
        parts += f", w_TV·J_TV = {tv_weight * history['J_tv'][-1]:.3g}"
    return f"step {step} / {steps} · J = {J:.4g} ({parts}) · {seconds:.1f} s"


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
            f'download="{html.escape(p.name)}" href="data:{mime};base64,{data}">{text}</a>')


def error_html(exc: BaseException) -> str:
    """An exception as one short red line for the UI (no traceback)."""
    what = "Image error" if isinstance(exc, ImageError) else type(exc).__name__
    return f'<span style="color:#b00020"><b>{html.escape(what)}:</b> {html.escape(str(exc))}</span>'


def shown_path(path: Path, root: Path | None) -> str:
    """``path`` relative to the project folder when it is inside it, else as it is."""
    return str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
