"""Big photos: 100-megapixel JPEG and PNG files (10000 x 10000), and a 200-megapixel JPEG, load with
``max_dim`` in bounded memory; beyond ``MAX_PIXELS``, and damaged, they get a clear error.

The files are generated here (never committed), in a subprocess, from a pattern (two ramps and a
checkerboard) whose 512 px version is also computed there (Lanczos from the full-size pixels) to check what ``load_image`` returns. Each load
runs in a fresh subprocess that imports ``nst_utils/images.py`` alone (numpy and Pillow, no
TensorFlow) and reports how far its peak resident memory grew during the load: ``VmHWM`` from
``/proc/self/status`` (Linux), the peak of this process image. Not ``ru_maxrss``: Linux carries the
parent's peak over ``fork`` and ``exec`` into it, so under a pytest process holding TensorFlow (over
1 GB) a child's ``ru_maxrss`` starts above anything a load adds and shows no growth at all.

The bounds, from what a decoded image needs (Pillow keeps RGB in 4 bytes a pixel):

* JPEG at ``max_dim=512``: libjpeg decodes at 1/8 scale (Pillow's ``draft``), 1250 x 1250 x 4 bytes
  = 6 MiB for 100 MP, 12 MiB for 200 MP. Bound: 48 MiB, so that a decode at 1/2 scale (95 MiB) or at
  full size (381 MiB) fails the test; measured: about 18 MiB (2-core AMD EPYC).
* PNG: Pillow has no reduced decoding for it, so the full-size image is the floor: 4 x 10^8 bytes
  = 381 MiB. Bound: 1.25 times that (477 MiB), so that any second full-size copy (uint8 RGB: 286 MiB,
  float32: 1144 MiB) fails the test; measured: about 404 MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_utils.images import MAX_PIXELS, ImageError, load_image

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20

GENERATE = r"""
import sys
from pathlib import Path
import numpy as np
from PIL import Image

def pattern(w, h):
    # red: left to right, green: top to bottom, blue: a checkerboard of 16 x 16 squares (Pillow's C code: fast)
    ramp = Image.linear_gradient("L")
    red = ramp.transpose(Image.Transpose.ROTATE_90).resize((w, h), Image.Resampling.BILINEAR)
    green = ramp.resize((w, h), Image.Resampling.BILINEAR)
    squares = (np.add.outer(np.arange(16), np.arange(16)) % 2 * 200 + 30).astype(np.uint8)
    blue = Image.fromarray(squares).resize((w, h), Image.Resampling.NEAREST)
    return Image.merge("RGB", (red, green, blue))

out = Path(sys.argv[1])
img = pattern(10000, 10000)
np.save(out / "expected_512.npy", np.asarray(img.resize((512, 512), Image.Resampling.LANCZOS)))
img.save(out / "photo_100mp.jpg", quality=90)
img.save(out / "photo_100mp.png", compress_level=1)
del img
pattern(16320, 12240).save(out / "photo_200mp.jpg", quality=90)  # a 200 MP phone's size
"""

MEASURE = r"""
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("images_alone", sys.argv[1])
images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(images)

def peak_rss():
    # this process's peak resident memory (bytes), since its exec
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

before = peak_rss()
t0 = time.perf_counter()
x = images.load_image(sys.argv[2], max_dim=int(sys.argv[3]))
seconds = time.perf_counter() - t0
grown = peak_rss() - before
sys.stdout.buffer.write(x.tobytes())
sys.stderr.write(json.dumps({"shape": x.shape, "grown": grown, "before": before, "seconds": seconds}))
"""


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("big_photos")
    subprocess.run([sys.executable, "-c", GENERATE, str(folder)], check=True, timeout=300)
    return folder


def load_measured(path: Path, max_dim: int) -> tuple[np.ndarray, dict]:
    """``load_image(path, max_dim)`` in a fresh process: the image and {"shape", "grown" (bytes), "seconds"}."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT / "nst_utils" / "images.py"), str(path),
                          str(max_dim)], capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    info = json.loads(out.stderr.decode().strip().splitlines()[-1])
    return np.frombuffer(out.stdout, np.float32).reshape(info["shape"]), info


needs_vmhwm = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM (/proc/self/status) is Linux's")


@needs_vmhwm
def test_a_100_megapixel_jpeg_is_decoded_at_reduced_scale(photos):
    image, info = load_measured(photos / "photo_100mp.jpg", 512)
    print(f"100 MP JPEG at 512 px: {info['grown'] / MiB:.0f} MiB above the start, {info['seconds']:.2f} s")
    assert image.shape == (1, 512, 512, 3)
    assert info["grown"] < 48 * MiB, f"{info['grown'] / MiB:.0f} MiB: more than a 1/8-scale decode needs"
    expected = np.load(photos / "expected_512.npy").astype(np.float32) / 255
    assert np.abs(image[0] - expected).mean() < 0.01  # the same picture, upright (JPEG and 1/8 DCT: small losses)


@needs_vmhwm
def test_a_100_megapixel_png_is_decoded_once_and_resized_without_copies(photos):
    image, info = load_measured(photos / "photo_100mp.png", 512)
    print(f"100 MP PNG at 512 px: {info['grown'] / MiB:.0f} MiB above the start, {info['seconds']:.2f} s")
    decoded = 4 * 10_000 * 10_000
    assert image.shape == (1, 512, 512, 3)
    assert info["grown"] < 1.25 * decoded, f"{info['grown'] / MiB:.0f} MiB: a second full-size copy was made"
    expected = np.load(photos / "expected_512.npy").astype(np.float32) / 255
    assert np.abs(image[0] - expected).max() <= 1 / 255 + 1e-6  # lossless, the same Lanczos: the same pixels


@needs_vmhwm
def test_a_200_megapixel_photo_loads_although_pillow_alone_refuses_it(photos):
    """16320 x 12240 = 199.8 MP: under MAX_PIXELS, over twice Pillow's default limit (2 x 89.5 MP)."""
    assert 2 * 89_478_485 < 16320 * 12240 <= MAX_PIXELS
    image, info = load_measured(photos / "photo_200mp.jpg", 512)
    print(f"200 MP JPEG at 512 px: {info['grown'] / MiB:.0f} MiB above the start, {info['seconds']:.2f} s")
    assert image.shape == (1, 384, 512, 3) and info["grown"] < 48 * MiB


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds almost nothing (a would-be bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))


@pytest.mark.parametrize("width,height,declared", [(20_000, 10_001, "20000x10001 = 200,020,000"),
                                                   (100_000, 100_000, "10,000,000,000")])
def test_more_than_max_pixels_is_refused_naming_the_file_its_size_and_the_limit(tmp_path, width, height, declared):
    path = tmp_path / f"declares_{width}x{height}.png"
    path.write_bytes(_png_header(width, height))
    limit_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError) as info:
        load_image(path, max_dim=512)
    message = str(info.value)
    assert str(path) in message and f"it declares {declared} pixels" in message and "200,000,000" in message
    assert Image.MAX_IMAGE_PIXELS == limit_before  # Pillow's own limit is put back


@pytest.mark.parametrize("name", ["photo_100mp.jpg", "photo_100mp.png"])
@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_a_damaged_big_photo_is_refused_naming_the_file(photos, tmp_path, name, damage):
    """Cut in half, or bytes garbled: in a PNG's compressed pixels (every chunk has a checksum), in a
    JPEG's Huffman tables. (A JPEG's entropy-coded data has no checksum: garbled there, it may decode
    as garbage, with a libjpeg warning that Pillow does not raise; no reader can refuse that.)"""
    data = bytearray((photos / name).read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        start = data.index(b"\xff\xc4") + 5 if name.endswith(".jpg") else len(data) // 2
        data[start:start + 16] = bytes(b ^ 0x5A for b in data[start:start + 16])
    path = tmp_path / f"{damage}_{name}"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="damaged or truncated") as info:
        load_image(path, max_dim=512)
    assert str(path) in str(info.value)
