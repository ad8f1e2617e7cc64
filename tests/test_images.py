"""load_image on every kind of file Pillow reads, and a clear ImageError on everything else."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nst_utils as nu
from nst_utils.images import ImageError, load_image, resize_image, save_image, to_uint8


def _gradient(w=40, h=30):
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)
    r = np.broadcast_to(x[None, :], (h, w))
    g = np.broadcast_to(y[:, None], (h, w))
    b = np.full((h, w), 128.0)
    return np.stack([r, g, b], -1).astype(np.uint8)


def test_rgb_png_shape_range_dtype(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(_gradient()).save(p)
    x = load_image(p)
    assert x.shape == (1, 30, 40, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[0, 0, -1], [1.0, 0.0, 128 / 255], atol=1e-6)


@pytest.mark.parametrize("max_dim,expected", [(20, (15, 20)), (80, (60, 80))])
def test_max_dim_keeps_aspect_ratio(tmp_path, max_dim, expected):
    p = tmp_path / "a.png"
    Image.fromarray(_gradient(40, 30)).save(p)
    assert load_image(p, max_dim=max_dim).shape == (1, *expected, 3)


def test_portrait_longest_side(tmp_path):
    p = tmp_path / "p.jpg"
    Image.fromarray(_gradient(30, 90)).save(p)
    assert load_image(p, max_dim=45).shape == (1, 45, 15, 3)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    p = tmp_path / "g.png"
    Image.fromarray(np.full((8, 9), 51, np.uint8), mode="L").save(p)
    x = load_image(p)
    assert x.shape == (1, 8, 9, 3)
    np.testing.assert_allclose(x, 0.2, atol=1e-6)


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:2, :, 3] = 255  # top half opaque, bottom half transparent
    p = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(p)
    x = load_image(p)[0]
    np.testing.assert_allclose(x[0, 0], [1, 0, 0])
    np.testing.assert_allclose(x[3, 0], [1, 1, 1])


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    img.info["transparency"] = 1
    img.putpixel((0, 0), 1)
    p = tmp_path / "pal.png"
    img.save(p, transparency=1)
    x = load_image(p)[0]
    np.testing.assert_allclose(x[1, 1], [0, 0, 1])
    np.testing.assert_allclose(x[0, 0], [1, 1, 1])


def test_cmyk_jpeg(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (6, 5), (0, 255, 255, 0)).save(p)  # red in CMYK
    x = load_image(p)[0]
    assert x.shape == (5, 6, 3)
    assert x[..., 0].mean() > 0.9 and x[..., 1].mean() < 0.1


def test_16_bit_grayscale_keeps_its_scale(tmp_path):
    arr = np.full((6, 7), 32768, np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(arr).save(p)
    for max_dim in (None, 14):
        x = load_image(p, max_dim=max_dim)
        np.testing.assert_allclose(x, 32768 / 65535, atol=2e-3)


def test_exif_rotated_photo_is_upright(tmp_path):
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, :10] = 255  # left half white, stored landscape
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=95)
    x = load_image(p)[0]
    assert x.shape == (20, 10, 3)  # shown upright: portrait
    assert x[:10].mean() > 0.9 and x[10:].mean() < 0.1  # white half is now on top


def test_any_extension_or_none(tmp_path):
    p = tmp_path / "picture"
    Image.fromarray(_gradient()).save(p, format="PNG")
    q = tmp_path / "picture.txt"
    q.write_bytes(p.read_bytes())
    assert load_image(p).shape == load_image(q).shape == (1, 30, 40, 3)


def _png_header(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "directory"),
        (lambda d: (d / "empty.png").write_bytes(b"") and d / "empty.png" or d / "empty.png", "empty"),
        (lambda d: (d / "notes.png").write_text("not an image") and d / "notes.png", "not an image"),
        (lambda d: (d / "huge.png").write_bytes(_png_header(100_000, 100_000)) and d / "huge.png",
         "pixels"),
    ],
)
def test_bad_files_raise_image_error_naming_the_file(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(ImageError, match=reason) as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_file(tmp_path):
    p = tmp_path / "full.jpg"
    Image.fromarray(_gradient(200, 150)).save(p, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(ImageError, match="truncated") as info:
        load_image(cut)
    assert "cut.jpg" in str(info.value)


def test_bad_max_dim(tmp_path):
    p = tmp_path / "a.png"
    Image.fromarray(_gradient()).save(p)
    with pytest.raises(ValueError, match="max_dim"):
        load_image(p, max_dim=0)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM (/proc/self/status) is Linux's")
def test_large_photo_with_small_max_dim_decodes_reduced(tmp_path):
    """A 6000x4000 JPEG (72 MB decoded) loads at max_dim=64 without decoding it at full size."""
    p = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (10, 200, 30)).save(p, quality=80)
    # VmHWM: the peak of this process image. (ru_maxrss would start at the pytest process's peak, which
    # Linux carries over fork and exec, and show no growth; see tests/test_big_images.py.)
    code = (
        "import sys\n"
        "from nst_utils.images import load_image\n"
        "def peak_kb():\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "before = peak_kb()\n"
        "x = load_image(sys.argv[1], max_dim=64)\n"
        "after = peak_kb()\n"
        "print(x.shape, (after - before) // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True)
    shape, grown_mb = out.stdout.rsplit(" ", 1)
    assert shape == "(1, 43, 64, 3)"
    assert int(grown_mb) < 30, f"load_image grew memory by {grown_mb} MB"


def test_save_image_never_overwrites(tmp_path):
    img = np.full((1, 4, 5, 3), 0.5, np.float32)
    first = save_image(img, tmp_path / "out.png")
    second = save_image(img * 0, tmp_path / "out.png")
    assert first.name == "out.png" and second.name == "out-1.png"
    np.testing.assert_allclose(load_image(first), 128 / 255, atol=1e-6)
    third = save_image(img * 0, tmp_path / "out.png", overwrite=True)
    assert third == first and load_image(first).max() == 0.0
    assert save_image(img, tmp_path / "noext").suffix == ".png"


def test_to_uint8_and_resize():
    img = np.linspace(0, 1, 2 * 3 * 3, dtype=np.float32).reshape(1, 2, 3, 3)
    assert to_uint8(img).dtype == np.uint8 and to_uint8(img).shape == (2, 3, 3)
    assert resize_image(img, (4, 6)).shape == (1, 4, 6, 3)
    with pytest.raises(ValueError):
        to_uint8(np.zeros((2, 4, 4, 3)))


# --------------------------------------------------------------------------- as_image: what users pass


def test_as_image_accepts_paths_pil_and_arrays(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(rgb).save(path)
    expected = rgb.astype(np.float32)[None] / 255.0
    for value in (str(path), path, Image.open(path), rgb, rgb[None], rgb / 255.0, (rgb / 255.0).astype(np.float32)):
        got = nu.as_image(value)
        assert got.shape == (1, 12, 16, 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-6)
    grey = nu.as_image(rgb[..., 0])
    assert grey.shape == (1, 12, 16, 3) and np.all(grey[..., 0] == grey[..., 2])
    assert nu.as_image(rgb, max_dim=8).shape == (1, 6, 8, 3)
    assert nu.as_image(path, max_dim=8).shape == (1, 6, 8, 3)


@pytest.mark.parametrize("value,match", [
    (np.zeros((5, 5, 4)), r"shape \(H, W, 3\)"),
    (np.zeros((2, 5, 5, 3)), r"shape \(H, W, 3\)"),
    (np.full((5, 5, 3), 255.0), r"values in \[255, 255\]: use floats in \[0, 1\], or uint8"),
    (np.full((5, 5, 3), np.inf), "NaN or infinite"),
    (np.array(["a", "b"]), "is not an image"),
    ("no/such/file.jpg", "no such file"),
    (None, "None"),
])
def test_as_image_names_what_is_wrong(value, match):
    with pytest.raises(ValueError, match=match) as err:
        nu.as_image(value, name="content")
    assert "content" in str(err.value) or "file" in str(err.value)
