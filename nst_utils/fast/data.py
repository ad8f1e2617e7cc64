"""Training photos for the transformation network: no downloads, random crops, flips and scales.

Every training photo ships inside a package the course installs anyway (scikit-image, scikit-learn,
matplotlib). Six are in the sample catalog (:mod:`nst_utils.samples`); the others come from
scikit-image's data folder. Three photos are held out, never seen in training, to test on.

:data:`TRAINING_PHOTOS` are the nine the first width-8 network was trained on (lesson 09);
:data:`ALL_TRAINING_PHOTOS` adds every other photograph the installed packages ship (textures of
brick, grass and gravel, the Moon, a retina, a stained tissue section, a blackboard): the recipe of
Johnson et al. (:data:`nst_utils.FAST_RECIPES`) uses them all, since the variety of content is what
generalises. Left out on purpose: drawings and synthetic images (scikit-image's colour wheel, phantom,
logo, horse silhouette, the motion-blurred clock; matplotlib's gift-box drawing), near-duplicates
(the right view of the motorcycle stereo pair), flat microscopy (cell) and the 25-px faces of
``lfw_subset``. The sample paintings in ``$NST_IMAGE_DIR`` are styles, and its one photo, Tuebingen,
is held out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from nst_utils.images import load_image
from nst_utils.samples import SAMPLES, load_sample


@dataclass(frozen=True)
class ExtraPhoto:
    """A photo from scikit-image's data folder that is not in the sample catalog."""

    name: str
    filename: str
    title: str
    license: str
    attribution: str

    def path(self) -> Path:
        import skimage.data

        return Path(skimage.data.__file__).parent / self.filename


#: Photos from scikit-image's data folder used for training only (not in the sample catalog).
EXTRA_PHOTOS: dict[str, ExtraPhoto] = {p.name: p for p in [
    ExtraPhoto("motorcycle", "motorcycle_left.png", "A motorcycle", "see scikit-image",
               "Middlebury 2014 stereo benchmark, Scharstein et al. (ships with scikit-image)"),
    ExtraPhoto("hubble_deep_field", "hubble_deep_field.jpg", "Hubble eXtreme Deep Field", "public domain",
               "NASA/ESA, HubbleSite (ships with scikit-image)"),
    ExtraPhoto("coins", "coins.png", "Greek coins from Pompeii (grey)", "see scikit-image",
               "Brooklyn Museum Collection (ships with scikit-image)"),
    ExtraPhoto("brick", "brick.png", "A brick wall (grey)", "CC0", "CC0Textures, Bricks25 (ships with scikit-image)"),
    ExtraPhoto("grass", "grass.png", "Grass (grey)", "CC0", "linolafett on DeviantArt, Grass 01 (ships with scikit-image)"),
    ExtraPhoto("gravel", "gravel.png", "Gravel (grey)", "CC0", "CC0Textures, Gravel04 (ships with scikit-image)"),
    ExtraPhoto("moon", "moon.png", "The surface of the Moon (grey)", "see scikit-image",
               "ships with scikit-image"),
    ExtraPhoto("retina", "retina.jpg", "Fundus photograph of a normal left eye", "CC0",
               "Mikael H\u00e4ggstr\u00f6m, Wikimedia Commons (ships with scikit-image)"),
    ExtraPhoto("ihc", "ihc.png", "Immunohistochemical staining of colonic glands", "no known copyright restrictions",
               "Center for Microscopy And Molecular Imaging, CMMI (ships with scikit-image)"),
    ExtraPhoto("text", "text.png", "Numbers written on a blackboard, at an angle (grey)", "public domain",
               "Wikipedia, File:Corner.png (ships with scikit-image)"),
]}

#: The photos the networks are trained on: all ship inside installed packages, so no download.
TRAINING_PHOTOS = ("astronaut", "camera", "coffee", "rocket", "china", "flower",
                   "motorcycle", "hubble_deep_field", "coins")
#: Photos never used in training, to test on (Tuebingen is downloaded once, like the paintings).
HELD_OUT_PHOTOS = ("tubingen", "chelsea", "grace_hopper")
#: Every package-shipped photograph that is not held out (module docstring): Johnson et al.'s recipe trains on these.
ALL_TRAINING_PHOTOS = TRAINING_PHOTOS + ("brick", "grass", "gravel", "moon", "retina", "ihc", "text")


def load_photo(name: str, max_dim: int | None = None) -> np.ndarray:
    """A catalog sample or a training-only photo (:data:`EXTRA_PHOTOS`) as (1, H, W, 3) in [0, 1]."""
    if name in EXTRA_PHOTOS:
        return load_image(EXTRA_PHOTOS[name].path(), max_dim)
    if name in SAMPLES:
        return load_sample(name, max_dim)
    raise KeyError(f"unknown photo {name!r}; use a sample ({', '.join(SAMPLES)}) "
                   f"or one of {', '.join(EXTRA_PHOTOS)}")


class CropSampler:
    """Random training crops from a few photos: a random photo, scale, position and mirror image.

    Each crop: pick a photo; resize it so that its longer side is ``size * s``, with ``s`` drawn
    uniformly from ``scales`` (but never so small that the crop does not fit); cut a ``crop`` x ``crop``
    square at a random position; mirror it left-right with probability 1/2 (``flips=True``; with
    ``flips=False`` the coin is still tossed, unused, so both draw the same crops otherwise).

    ``size`` is the longer side, in px, of the images the network will be used on: the network learns
    brush strokes of a fixed size in pixels, so photos are shown to it at about that scale.

    Args:
        photos: ``{name: (1, H, W, 3) image}``, or names for :func:`load_photo`.
        crop: side of the square crops, px.
        size: the longer side the photos are scaled around, px.
        scales: the range of the random scale factor ``s``.
        flips: mirror half of the crops left-right.
        seed: seeds the random choices; ``state``/``set_state`` save and restore them (resume).
    """

    def __init__(self, photos: dict[str, np.ndarray] | Iterable[str] = TRAINING_PHOTOS, *, crop: int = 128,
                 size: int = 256, scales: tuple[float, float] = (0.75, 1.5), flips: bool = True,
                 seed: int = 0) -> None:
        if not isinstance(photos, dict):
            photos = {name: load_photo(name) for name in photos}
        if not photos:
            raise ValueError("give at least one photo to train on")
        if not 0 < scales[0] <= scales[1]:
            raise ValueError(f"scales={scales!r}: use (low, high) with 0 < low <= high")
        self.names = list(photos)
        self.crop, self.size, self.scales = int(crop), int(size), (float(scales[0]), float(scales[1]))
        self.flips = bool(flips)
        self._pil = {n: Image.fromarray(np.round(np.clip(img[0], 0, 1) * 255).astype(np.uint8))
                     for n, img in photos.items()}
        self.rng = np.random.default_rng(seed)

    def state(self) -> dict:
        """The random generator's state (JSON-able), for a checkpoint."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def sample(self) -> tuple[np.ndarray, str]:
        """One crop (crop, crop, 3) float32 in [0, 1], and the name of its photo."""
        name = self.names[int(self.rng.integers(len(self.names)))]
        img = self._pil[name]
        w, h = img.size
        longer = self.size * self.rng.uniform(*self.scales)
        factor = max(longer / max(w, h), self.crop / min(w, h))        # the crop must fit
        nw, nh = max(self.crop, round(w * factor)), max(self.crop, round(h * factor))
        resized = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
        top, left = int(self.rng.integers(nh - self.crop + 1)), int(self.rng.integers(nw - self.crop + 1))
        out = np.asarray(resized.crop((left, top, left + self.crop, top + self.crop)), np.float32) / 255.0
        if self.rng.random() < 0.5 and self.flips:
            out = out[:, ::-1]
        return np.ascontiguousarray(out), name

    def batch(self, batch_size: int) -> np.ndarray:
        """``batch_size`` crops, (batch_size, crop, crop, 3) float32 in [0, 1]."""
        return np.stack([self.sample()[0] for _ in range(batch_size)])
