"""How a transformation network is built and trained: one frozen record, :class:`FastRecipe`.

The loss's settings (alpha, beta, layers, weighting) stay in :class:`nst_utils.Settings`; a recipe
holds the rest: the network's shape, the training data (crops, scales, flips, photos) and the
optimisation (batch, steps, learning rate, precision, seed). Two recipes are named in
:data:`FAST_RECIPES`:

===============  ==============================================================================
``"johnson"``    Johnson, Alahi and Fei-Fei (2016) with Ulyanov et al.'s instance normalisation:
                 widths 32/64/128, five residual blocks, reflection padding in every convolution
                 (fast-neural-style's ``reflect`` option; the paper mirrors the input once instead),
                 256-px crops, batch 4, Adam at 1e-3, 40,000 steps; every package-shipped photo
``"width8"``     the network lesson 09 trained in minutes and the repository shipped first: width 8,
                 reflection padding in the first and last convolution only, 128-px crops, 400 steps
===============  ==============================================================================

    >>> nu.FAST_RECIPES["johnson"].replace(steps=2000).steps
    2000
    >>> nu.FastRecipe(padding="mirror")      # doctest: +SKIP
    ValueError: padding='mirror': use one of ('reflect', 'zero', 'reflect_outer')
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

from nst_utils.fast.data import ALL_TRAINING_PHOTOS, TRAINING_PHOTOS

#: The normalisations the network can use between a conv and its ReLU.
NORMS = ("instance", "batch")
#: How convolutions see beyond the border: mirrored in every conv, zeros in every conv, or mirrored in the
#: first and last (9x9) conv only, zeros inside (the first width-8 network).
PADDINGS = ("reflect", "zero", "reflect_outer")
#: What the VGG of the loss computes in (None: chosen for the machine, :func:`nst_utils.resolve_precision`).
PRECISIONS = (None, "float32", "mixed_bfloat16", "mixed_float16")


def _whole(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name}={value!r}: use a whole number >= {least}")


@dataclass(frozen=True)
class FastRecipe:
    """Everything that decides a trained transformation network, except the loss's settings.

    Attributes:
        width: channels of the first conv; the encoder doubles them twice (Johnson et al.: 32, so 32/64/128).
        residual_blocks: residual blocks at 1/4 size (Johnson et al.: 5).
        kernel: size of the first and the last conv (Johnson et al.: 9).
        norm: ``"instance"`` (Ulyanov et al.) or ``"batch"`` (Johnson et al.'s original).
        padding: one of :data:`PADDINGS` (``"reflect"``: every conv sees the border mirrored).
        skip: the output is the photo plus a learned change, starting at the photo
            (:class:`nst_utils.fast.network.PhotoPlusChange`); False: Johnson's sigmoid output.
        crop: side of the square training crops, px (Johnson et al.: 256).
        size: the longer side, px, the photos are scaled around and the style image is loaded at: the
            network learns strokes of the painting's size at this image size.
        scales: each crop's photo is resized to longer side ``size * s``, ``s`` uniform in ``scales``.
        flips: mirror half of the crops left-right.
        photos: the names of the training photos (:func:`nst_utils.load_photo`).
        batch_size: crops per step (Johnson et al.: 4).
        steps: Adam steps in all (Johnson et al.: 40,000, two passes over COCO's 80,000 photos).
        learning_rate: Adam's step size, constant (Johnson et al.: 1e-3).
        precision: what VGG19 computes the loss in (one of :data:`PRECISIONS`; the network stays float32).
        seed: seeds the initial weights and the crops.
    """

    width: int = 32
    residual_blocks: int = 5
    kernel: int = 9
    norm: str = "instance"
    padding: str = "reflect"
    skip: bool = True
    crop: int = 256
    size: int = 512
    scales: tuple[float, float] = (0.5, 1.25)
    flips: bool = True
    photos: tuple[str, ...] = ALL_TRAINING_PHOTOS
    batch_size: int = 4
    steps: int = 40000
    learning_rate: float = 1e-3
    precision: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name, least in (("width", 1), ("residual_blocks", 0), ("kernel", 1), ("crop", 16), ("size", 16),
                            ("batch_size", 1), ("steps", 0), ("seed", 0)):
            _whole(name, getattr(self, name), least)
        for name, options in (("norm", NORMS), ("padding", PADDINGS), ("precision", PRECISIONS)):
            if getattr(self, name) not in options:
                raise ValueError(f"{name}={getattr(self, name)!r}: use one of {options}")
        for name in ("skip", "flips"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}={getattr(self, name)!r}: use True or False")
        scales = self.scales
        if (isinstance(scales, str) or not hasattr(scales, "__len__") or len(scales) != 2
                or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales)
                or not 0 < scales[0] <= scales[1]):
            raise ValueError(f"scales={scales!r}: use (low, high) with 0 < low <= high, e.g. (0.5, 1.25)")
        object.__setattr__(self, "scales", (float(scales[0]), float(scales[1])))
        photos = (self.photos,) if isinstance(self.photos, str) else tuple(self.photos)
        if not photos or not all(isinstance(p, str) for p in photos):
            raise ValueError(f"photos={self.photos!r}: name at least one photo, e.g. {TRAINING_PHOTOS[:3]}")
        object.__setattr__(self, "photos", photos)
        if not (isinstance(self.learning_rate, numbers.Real) and self.learning_rate > 0):
            raise ValueError(f"learning_rate={self.learning_rate!r}: use a number > 0 (Johnson et al.: 1e-3)")
        object.__setattr__(self, "learning_rate", float(self.learning_rate))

    def replace(self, **changes: Any) -> "FastRecipe":
        """A copy with some fields changed, checked; unknown names are refused with the list of fields."""
        unknown = sorted(set(changes) - set(self.fields()))
        if unknown:
            raise TypeError(f"unknown recipe field(s) {unknown}; the fields are {list(self.fields())}")
        return dataclasses.replace(self, **changes)

    @staticmethod
    def fields() -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(FastRecipe))

    def as_dict(self) -> dict[str, Any]:
        """The recipe as a JSON-able dict (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "FastRecipe":
        """The recipe a checkpoint recorded (:meth:`as_dict`); unknown keys are refused."""
        values = dict(values)
        for key in ("scales", "photos"):
            if key in values:
                values[key] = tuple(values[key])
        return cls().replace(**values)

    def network(self, *, name: str = "transformation_network"):
        """A fresh, untrained network of this recipe's shape (seeded by :attr:`seed`)."""
        from nst_utils.fast.network import transformation_network

        return transformation_network(self.width, self.residual_blocks, norm=self.norm, kernel=self.kernel,
                                      padding=self.padding, skip=self.skip, seed=self.seed, name=name)


#: The named recipes (module docstring): ``FAST_RECIPES["johnson"]`` is the paper's.
FAST_RECIPES: dict[str, FastRecipe] = {
    "johnson": FastRecipe(),
    "width8": FastRecipe(width=8, padding="reflect_outer", crop=128, size=256, scales=(0.75, 1.5),
                         photos=TRAINING_PHOTOS, steps=400, learning_rate=2e-3),
}


def fast_recipe(recipe: "FastRecipe | str | None" = None, **changes: Any) -> FastRecipe:
    """A recipe by name (:data:`FAST_RECIPES`) or as given, with ``changes`` applied (checked)."""
    if recipe is None:
        recipe = "width8"
    if isinstance(recipe, str):
        if recipe not in FAST_RECIPES:
            raise ValueError(f"recipe={recipe!r}: use one of {tuple(FAST_RECIPES)} or a nu.FastRecipe(...)")
        recipe = FAST_RECIPES[recipe]
    if not isinstance(recipe, FastRecipe):
        raise TypeError(f"recipe={recipe!r}: give a name from {tuple(FAST_RECIPES)} or a nu.FastRecipe(...)")
    return recipe.replace(**changes) if changes else recipe
