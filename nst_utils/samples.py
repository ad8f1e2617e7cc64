"""The catalog of sample images: name, pinned address, sha256, licence, attribution.

The images are not part of the repository. :func:`sample_path` finds a sample, in order:

1. in the folder named by ``$NST_IMAGE_DIR`` (e.g. a copy shared by the instructor, or CI's);
2. in the user cache (``<cache>/images``, see :mod:`nst_utils.cache`);
3. by downloading it from its pinned address into the cache.

Every file is checked against its sha256 before use. ``grace_hopper`` ships with matplotlib and
needs no download.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nst_utils.cache import cache_dir, sha256_of

_BASE = ("https://raw.githubusercontent.com/jcjohnson/neural-style/"
         "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/")


@dataclass(frozen=True)
class Sample:
    """One catalog entry."""

    name: str
    filename: str
    role: str  # "content" or "style"
    title: str
    license: str
    attribution: str
    sha256: str | None  # None: shipped by a package, not downloaded
    size: tuple[int, int]  # (width, height) in px

    @property
    def url(self) -> str | None:
        return None if self.sha256 is None else _BASE + self.filename


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        Sample("tubingen", "tubingen.jpg", "content", "Neckarfront in Tuebingen",
               "CC BY 3.0", "Photograph by Andreas Praefcke (the content image of Gatys et al.)",
               "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506", (1024, 768)),
        Sample("starry_night", "starry_night.jpg", "style", "The Starry Night (1889)",
               "public domain", "Vincent van Gogh",
               "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098", (1024, 640)),
        Sample("starry_night_crop", "starry_night_crop.png", "style",
               "The Starry Night (1889), crop", "public domain", "Vincent van Gogh",
               "776279d5e9daf676fb7e36c9eab953497445d4b3422bdd660b96ce984ac39721", (196, 313)),
        Sample("the_scream", "the_scream.jpg", "style", "The Scream (1893)", "public domain",
               "Edvard Munch",
               "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee", (1200, 1528)),
        Sample("shipwreck", "shipwreck.jpg", "style", "The Shipwreck (1805)", "public domain",
               "J. M. W. Turner",
               "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213", (960, 662)),
        Sample("woman_with_hat", "woman-with-hat-matisse.jpg", "style", "Woman with a Hat (1905)",
               "public domain (US; the author died 1954)", "Henri Matisse",
               "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53", (591, 800)),
        Sample("grace_hopper", "grace_hopper.jpg", "content", "Grace Hopper",
               "public domain", "US Navy photograph (ships with matplotlib)", None, (512, 600)),
    ]
}


class SampleError(RuntimeError):
    """A sample could not be found, downloaded, or failed its checksum."""


def _check(path: Path, sample: Sample) -> bool:
    return sha256_of(path) == sample.sha256


def sample_path(name: str) -> Path:
    """Local path of the sample ``name`` (see the module docstring for where it is looked for)."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; the catalog has: {', '.join(SAMPLES)}")
    sample = SAMPLES[name]
    if sample.sha256 is None:
        import matplotlib.cbook

        return Path(matplotlib.cbook.get_sample_data(sample.filename, asfileobj=False))

    env = os.environ.get("NST_IMAGE_DIR")
    if env:
        candidate = Path(env).expanduser() / sample.filename
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
    from nst_utils.images import load_image

    return load_image(sample_path(name), max_dim=max_dim)


def catalog_markdown() -> str:
    """The catalog as a Markdown table (used for images/README.md and the lessons)."""
    rows = ["| name | role | what | licence | attribution | size |", "|---|---|---|---|---|---|"]
    for s in SAMPLES.values():
        rows.append(f"| `{s.name}` | {s.role} | {s.title} | {s.license} | {s.attribution} | "
                    f"{s.size[0]}x{s.size[1]} |")
    return "\n".join(rows)
