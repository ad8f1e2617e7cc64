"""The catalog of sample images: name, pinned address, sha256, licence, attribution.

The images are not part of the repository. Six of them (the paintings and Tuebingen) are downloaded
on first use: :func:`sample_path` finds such a sample, in order,

1. in the folder named by ``$NST_IMAGE_DIR`` (e.g. a copy shared by the instructor, or CI's);
2. in the user cache (``<cache>/images``, see :mod:`nst_utils.cache`);
3. by downloading it from its pinned address into the cache (this needs the internet once).

Every downloaded file is checked against its sha256 before use. The photos that ship inside installed
packages (matplotlib's ``grace_hopper``; scikit-image's ``astronaut``, ``chelsea``, ``coffee``,
``rocket``, ``camera``; scikit-learn's ``china``, ``flower``) need no download, and ``sketch`` is
drawn from ``camera`` on the fly.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nst_utils.cache import cache_dir, sha256_of
from nst_utils.config import environment
from nst_utils.images import load_image

_BASE = ("https://raw.githubusercontent.com/jcjohnson/neural-style/"
         "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/")


@dataclass(frozen=True)
class Sample:
    """One catalog entry.

    ``source`` says where the file comes from: ``"download"`` (pinned address, sha256 checked), or the
    installed package that ships it (``"matplotlib"``, ``"skimage"``, ``"sklearn"``: no download).
    ``"sketch"`` is made on the fly from another sample (:func:`pencil_sketch`).
    """

    name: str
    filename: str
    role: str  # "content" or "style"
    title: str
    license: str
    attribution: str
    sha256: str | None  # of the downloaded file; None for files that ship with a package
    size: tuple[int, int]  # (width, height) in px
    source: str = "download"

    @property
    def url(self) -> str | None:
        return _BASE + self.filename if self.source == "download" else None


def _downloaded(name, filename, role, title, license, attribution, sha256, size) -> Sample:
    return Sample(name, filename, role, title, license, attribution, sha256, size, "download")


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        _downloaded("tubingen", "tubingen.jpg", "content", "Neckarfront in Tuebingen",
                    "CC BY 3.0", "Photograph by Andreas Praefcke (the content image of Gatys et al.)",
                    "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506", (1024, 768)),
        _downloaded("starry_night", "starry_night.jpg", "style", "The Starry Night (1889)",
                    "public domain", "Vincent van Gogh",
                    "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098", (1024, 640)),
        _downloaded("starry_night_crop", "starry_night_crop.png", "style",
                    "The Starry Night (1889), crop", "public domain", "Vincent van Gogh",
                    "776279d5e9daf676fb7e36c9eab953497445d4b3422bdd660b96ce984ac39721", (196, 313)),
        _downloaded("the_scream", "the_scream.jpg", "style", "The Scream (1893)", "public domain",
                    "Edvard Munch",
                    "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee", (1200, 1528)),
        _downloaded("shipwreck", "shipwreck.jpg", "style", "The Shipwreck (1805)", "public domain",
                    "J. M. W. Turner",
                    "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213", (960, 662)),
        _downloaded("woman_with_hat", "woman-with-hat-matisse.jpg", "style", "Woman with a Hat (1905)",
                    "public domain (painted 1905; Matisse died 1954, so also under life + 70 years since 2025)",
                    "Henri Matisse",
                    "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53", (591, 800)),
        Sample("grace_hopper", "grace_hopper.jpg", "content", "Grace Hopper", "public domain",
               "US Navy photograph (ships with matplotlib)", None, (512, 600), "matplotlib"),
        Sample("astronaut", "astronaut.png", "content", "Astronaut Eileen Collins", "public domain",
               "NASA photograph (ships with scikit-image)", None, (512, 512), "skimage"),
        Sample("chelsea", "chelsea.png", "content", "Chelsea the cat", "CC0",
               "Stefan van der Walt (ships with scikit-image)", None, (451, 300), "skimage"),
        Sample("coffee", "coffee.png", "content", "A cup of coffee", "CC0",
               "Rachel Michetti, Pikolo Espresso Bar (ships with scikit-image)", None, (600, 400), "skimage"),
        Sample("rocket", "rocket.jpg", "content", "Falcon 9 launching DSCOVR", "public domain",
               "SpaceX photograph (ships with scikit-image)", None, (640, 427), "skimage"),
        Sample("china", "china.jpg", "content", "A temple in China", "CC BY 2.0",
               "danielbuechele on Flickr (ships with scikit-learn)", None, (640, 427), "sklearn"),
        Sample("flower", "flower.jpg", "content", "A flower", "CC BY 2.0",
               "vultilion on Flickr (ships with scikit-learn)", None, (640, 427), "sklearn"),
        Sample("camera", "camera.png", "content", "The cameraman (grey)", "public domain",
               "Ships with scikit-image", None, (512, 512), "skimage"),
        Sample("sketch", "camera.png", "style", "Pencil sketch of the cameraman (a grey drawing)",
               "public domain", "Made from scikit-image's 'camera' by a colour-dodge filter "
               "(nst_utils.samples.pencil_sketch)", None, (512, 512), "sketch"),
    ]
}


def _package_file(sample: Sample) -> Path:
    """Where an installed package keeps a sample (ImportError if the package is missing)."""
    if sample.source == "matplotlib":
        import matplotlib.cbook

        return Path(matplotlib.cbook.get_sample_data(sample.filename, asfileobj=False))
    if sample.source in ("skimage", "sketch"):
        import skimage.data

        return Path(skimage.data.__file__).parent / sample.filename
    if sample.source == "sklearn":
        import sklearn.datasets

        return Path(sklearn.datasets.__file__).parent / "images" / sample.filename
    raise ValueError(f"{sample.name}: unknown source {sample.source!r}")


def pencil_sketch(image: np.ndarray, blur: float = 6.0) -> np.ndarray:
    """A grey pencil drawing of a photo: the "colour dodge" of its luminance by its blurred negative.

    ``sketch = min(1, Y / (1 - blur(1 - Y)))``: flat areas become paper white, edges dark lines.
    (1, H, W, 3) in [0, 1] -> (1, H, W, 3) grey, float32.
    """
    from PIL import Image, ImageFilter

    grey = np.asarray(image, np.float32)[0] @ np.array([0.299, 0.587, 0.114], np.float32)
    negative = Image.fromarray(np.round((1.0 - grey) * 255).astype(np.uint8))
    blurred = np.asarray(negative.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255.0
    sketch = np.clip(grey / np.maximum(1.0 - blurred, 1e-3), 0.0, 1.0)
    return np.repeat(sketch[None, ..., None], 3, axis=-1).astype(np.float32)


class SampleError(RuntimeError):
    """A sample could not be found, downloaded, or failed its checksum."""


def _check(path: Path, sample: Sample) -> bool:
    return sha256_of(path) == sample.sha256


def sample_path(name: str) -> Path:
    """Local path of the sample ``name`` (see the module docstring for where it is looked for)."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; the catalog has: {', '.join(SAMPLES)}")
    sample = SAMPLES[name]
    if sample.source != "download":
        return _package_file(sample)

    image_dir = environment().image_dir
    if image_dir is not None:
        candidate = image_dir / sample.filename
        if candidate.is_file():
            if not _check(candidate, sample):
                raise SampleError(
                    f"{candidate} (from NST_IMAGE_DIR) does not match the catalog's sha256 for "
                    f"{name!r}; replace it with the file from {sample.url}"
                )
            return candidate

    cached = cache_dir("images") / sample.filename
    if cached.is_file() and _check(cached, sample):
        return cached

    try:
        with urllib.request.urlopen(sample.url, timeout=60) as response:
            data = response.read()
    except OSError as exc:
        raise SampleError(
            f"cannot download sample {name!r} from {sample.url} ({exc}). Put {sample.filename} "
            "in a folder and set NST_IMAGE_DIR to that folder, or use load_image() on a file of "
            "your own."
        ) from None
    with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False, suffix=".part") as tmp:
        tmp.write(data)
    part = Path(tmp.name)
    if not _check(part, sample):
        part.unlink()
        raise SampleError(f"the download of {sample.url} does not match the catalog's sha256")
    os.replace(part, cached)
    return cached


def load_sample(name: str, max_dim: int | None = None) -> np.ndarray:
    """Load a catalog image as float32 (1, H, W, 3) in [0, 1]; ``max_dim`` as in ``load_image``."""
    image = load_image(sample_path(name), max_dim=max_dim)
    return pencil_sketch(image) if SAMPLES[name].source == "sketch" else image


def catalog_markdown() -> str:
    """The catalog as a Markdown table (used for images/README.md and the lessons)."""
    rows = ["| name | role | what | licence | attribution | size |", "|---|---|---|---|---|---|"]
    for s in SAMPLES.values():
        rows.append(f"| `{s.name}` | {s.role} | {s.title} | {s.license} | {s.attribution} | "
                    f"{s.size[0]}x{s.size[1]} |")
    return "\n".join(rows)
