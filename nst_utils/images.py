"""Images in and out: files <-> float32 arrays of shape (1, H, W, 3) with values in [0, 1].

Everything Pillow can read is accepted: grayscale, alpha (composited on white), palette, CMYK,
16-bit, EXIF-rotated photos (returned upright), any extension or none, up to :data:`MAX_PIXELS`
(a 200-megapixel phone photo). Anything that is not a usable image raises :class:`ImageError` (a
``ValueError``) naming the file and the reason.

Big photos and memory, when ``max_dim`` is given: a JPEG is decoded at 1/2, 1/4 or 1/8 scale
(Pillow's ``draft``: libjpeg skips the fine detail), so a 100-megapixel photo loaded at 512 px needs
a few megabytes; other formats (PNG, TIFF, ...) have no reduced decoding in Pillow and are decoded
once at full size in their own mode (Pillow keeps RGB in 4 bytes a pixel: 400 MB for 100 megapixels),
then resized from there, without another full-size copy (in particular no float one).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Images with more pixels than this are refused before decoding (a "decompression bomb").
MAX_PIXELS = 200_000_000

_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved: int | None = None

PathLike = str | os.PathLike[str]


class ImageError(ValueError):
    """A file that cannot be used as an image. The message names the file and the reason."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot use {str(path)!r} as an image: {reason}")


@contextlib.contextmanager
def _pillow_limit() -> Iterator[None]:
    """Pillow's own decompression-bomb limit at :data:`MAX_PIXELS` (never lowered) while files are read.

    Pillow warns above ``Image.MAX_IMAGE_PIXELS`` (89.5 megapixels by default) and refuses twice that
    in ``Image.open``, before :func:`load_image` could check the size itself and decode a big photo at
    reduced scale. The limit is raised while any thread is inside this block and put back when the
    last one leaves; :func:`load_image` refuses more than :data:`MAX_PIXELS` itself, before decoding.
    """
    global _limit_users, _limit_saved
    with _limit_lock:
        if _limit_users == 0:
            _limit_saved = Image.MAX_IMAGE_PIXELS
            if _limit_saved is not None and _limit_saved < MAX_PIXELS:
                Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        _limit_users += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked here
            yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _limit_saved


def _too_many_pixels(declared: str) -> str:
    return (f"it declares {declared} pixels, more than the {MAX_PIXELS:,} accepted (MAX_PIXELS); "
            "shrink it with an image editor first")


def _integer_scale(img: Image.Image) -> float | None:
    """Full-scale value of a 16/32-bit integer or float image, None for ordinary 8-bit modes."""
    if img.mode.startswith("I;16"):
        return 65535.0
    if img.mode == "I":
        return 65535.0 if img.getextrema()[1] > 255 else 255.0
    if img.mode == "F":
        return 1.0 if img.getextrema()[1] <= 1.0 else 255.0
    return None


def _to_float_rgb(img: Image.Image, scale: float | None) -> np.ndarray:
    """Any Pillow mode -> float32 (H, W, 3) in [0, 1]; ``scale`` from :func:`_integer_scale`."""
    if scale is not None:
        arr = np.clip(np.asarray(img, dtype=np.float64) / scale, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2).astype(np.float32)
    has_alpha = "A" in img.getbands() or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _pil_to_array(img: Image.Image, max_dim: int | None) -> np.ndarray:
    """A decoded Pillow image (any mode) -> float32 (H, W, 3) in [0, 1], resized to ``max_dim``."""
    scale = _integer_scale(img)
    if scale is not None:
        img = img.convert("F")  # 16/32-bit values kept exactly, and resizable
    if max_dim is not None:
        w, h = img.size
        factor = max_dim / max(w, h)
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        if img.mode not in ("RGB", "RGBA", "L", "LA", "F"):
            has_alpha = "A" in img.getbands() or "transparency" in img.info
            img = img.convert("RGBA" if has_alpha else "RGB")
        img = img.resize(size, Image.Resampling.LANCZOS)
    return _to_float_rgb(img, scale)


def _check_max_dim(max_dim: int | None) -> None:
    if max_dim is not None and (not isinstance(max_dim, (int, np.integer)) or isinstance(max_dim, bool)
                                or max_dim < 1):
        raise ValueError(f"max_dim={max_dim!r}: use a positive number of pixels, e.g. 256, or None")


def load_image(path: PathLike, max_dim: int | None = None) -> np.ndarray:
    """Read an image file as a float32 array of shape (1, H, W, 3) in [0, 1].

    Args:
        path: any file Pillow can read (the extension does not matter).
        max_dim: if given, resize so that the longer side is ``max_dim`` px, keeping the aspect
            ratio (up or down). Large JPEGs are decoded at reduced scale first, so a 100-megapixel
            photo loads quickly and in little memory when ``max_dim`` is small (see the module
            docstring for other formats).

    Raises:
        ImageError: missing file, directory, empty, not an image, damaged or truncated, or more
            than :data:`MAX_PIXELS` pixels (the message gives its size and the limit).
    """
    p = Path(path)
    _check_max_dim(max_dim)
    if not p.exists():
        raise ImageError(p, "no such file")
    if p.is_dir():
        raise ImageError(p, "it is a directory; give the path of an image file inside it")
    if p.stat().st_size == 0:
        raise ImageError(p, "the file is empty")
    try:
        with _pillow_limit():
            with Image.open(p) as img:  # the header only: size and format, nothing decoded yet
                w, h = img.size
                if w < 1 or h < 1:
                    raise ImageError(p, f"it declares {w}x{h} pixels")
                if w * h > MAX_PIXELS:
                    raise ImageError(p, _too_many_pixels(f"{w}x{h} = {w * h:,}"))
                img.verify()  # the checksums of a PNG's chunks, which decoding does not check
            with Image.open(p) as img:
                if max_dim is not None and max(w, h) > 2 * max_dim:
                    img.draft("RGB", (max(1, w * max_dim // max(w, h)), max(1, h * max_dim // max(w, h))))
                img.load()
                ImageOps.exif_transpose(img, in_place=True)  # upright, without a full-size copy
                arr = _pil_to_array(img, max_dim)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(p, "not an image format Pillow can read (try PNG or JPEG)") from None
    except Image.DecompressionBombError as exc:  # over twice MAX_PIXELS: Pillow refuses it in Image.open
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise ImageError(p, _too_many_pixels(f"{int(found[1]):,}" if found else f"too many ({exc})")) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(p, f"the file is damaged or truncated ({exc})") from None
    return arr[None, ...]


def as_image(image: PathLike | Image.Image | np.ndarray, max_dim: int | None = None, *,
             name: str = "image") -> np.ndarray:
    """Whatever a user passes as an image -> float32 (1, H, W, 3) with values in [0, 1].

    Accepted: a file path (``str`` or ``Path``, read by :func:`load_image`), a Pillow image, or an
    array (numpy or tensor) of shape (H, W, 3), (1, H, W, 3) or (H, W) (grey), either uint8 (0-255)
    or float with values in [0, 1]. Files and Pillow images are resized so that their longer side
    is ``max_dim`` px (if given); arrays too, if ``max_dim`` is given.

    Raises:
        ImageError: a file that cannot be read. ValueError: an array of another shape or range
        (the message names ``name``, e.g. ``"content"``, and says what would work).
    """
    _check_max_dim(max_dim)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, max_dim)
    if isinstance(image, Image.Image):
        return _pil_to_array(ImageOps.exif_transpose(image), max_dim)[None]
    if image is None:
        raise ValueError(f"{name} is None: give a file path, a Pillow image or an array")
    try:
        arr = np.asarray(image)
    except Exception:  # noqa: BLE001 -- anything a user passes
        arr = np.asarray(None)
    if arr.dtype.kind not in "uif":
        raise ValueError(f"{name}: a {type(image).__name__} is not an image; give a file path, a Pillow "
                         "image or an (H, W, 3) array of uint8 (0-255) or floats in [0, 1]")
    what = f"{name} (an array of shape {arr.shape}, dtype {arr.dtype})"
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[-1] != 3 or min(arr.shape[:2]) < 1:
        raise ValueError(f"{what}: use shape (H, W, 3) or (1, H, W, 3) with RGB values")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} contains NaN or infinite values")
        if arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError(f"{what} has values in [{arr.min():.3g}, {arr.max():.3g}]: use floats in "
                             "[0, 1], or uint8 values 0-255")
    else:
        raise ValueError(f"{what}: use uint8 (0-255) or floats in [0, 1]")
    if max_dim is not None:
        h, w = arr.shape[:2]
        factor = max_dim / max(h, w)
        arr = resize_image(arr[None], (max(1, round(h * factor)), max(1, round(w * factor))))[0]
    return np.ascontiguousarray(arr, dtype=np.float32)[None]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(1, H, W, 3) or (H, W, 3) floats in [0, 1] -> (H, W, 3) uint8 (clipped, rounded)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of shape {arr.shape}")
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an image of shape (1, H, W, 3) or (H, W, 3), got {arr.shape}")
    return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(image: np.ndarray, path: PathLike, *, overwrite: bool = False) -> Path:
    """Write an image (values in [0, 1]) to ``path``; the format follows the extension (PNG if none).

    Nothing is ever overwritten unless ``overwrite=True``: if ``path`` exists, the image goes to the
    first free ``name-1.png``, ``name-2.png``, ... instead. Parent folders are created.

    Returns:
        The path actually written.
    """
    p = Path(path)
    if p.suffix == "":
        p = p.with_suffix(".png")
    p.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        n, candidate = 0, p
        while candidate.exists():
            n += 1
            candidate = p.with_name(f"{p.stem}-{n}{p.suffix}")
        p = candidate
    Image.fromarray(to_uint8(image)).save(p)
    return p


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (1, H, W, 3) to (1, size[0], size[1], 3) = (n_H, n_W) with Lanczos (Pillow)."""
    img = Image.fromarray(to_uint8(image)).resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return (np.asarray(img, dtype=np.float32) / 255.0)[None]


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    size: float = 3.5,
    suptitle: str | None = None,
):
    """Show images side by side (rows of ``ncols``) with titles; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    ncols = ncols or n
    nrows = -(-n // ncols)
    first = to_uint8(images[0])
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * aspect * nrows + 0.4 * nrows),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(to_uint8(images[k]))
            if titles is not None:
                ax.set_title(titles[k], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig

