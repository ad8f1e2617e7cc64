"""VGG's layer structure and Gatys et al.'s choice of layers, written down once.

VGG19 has five blocks of 3x3 convolutions (2, 2, 4, 4 and 4 of them; 64, 128, 256, 512 and 512
filters), each followed by a 2x2 pooling layer; VGG16 has 2, 2, 3, 3, 3. Layers carry the Keras
names (``block4_conv2``, ``block3_pool``); the lessons write them the paper's way (``conv4_2``,
``pool3``), and every function of the library accepts both.

Pure Python: importing this module does not start TensorFlow.
"""

from __future__ import annotations

import re
from typing import Iterable

#: convolutions per block
VGG19_BLOCKS: tuple[int, ...] = (2, 2, 4, 4, 4)
VGG16_BLOCKS: tuple[int, ...] = (2, 2, 3, 3, 3)
#: filters (channels n_C) of every convolution in a block
FILTERS: tuple[int, ...] = (64, 128, 256, 512, 512)

#: Gatys et al.'s content layer.
GATYS_CONTENT_LAYER = "conv4_2"
#: Gatys et al.'s style layers: the first convolution of each block.
GATYS_STYLE_LAYERS: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

_SHORT = re.compile(r"^conv([1-5])_([1-4])$")
_POOL_SHORT = re.compile(r"^pool([1-5])$")
_LONG = re.compile(r"^block([1-5])_(conv([1-4])|pool)$")


def conv_layers(blocks: tuple[int, ...] = VGG19_BLOCKS) -> list[str]:
    """The convolutions in order, the paper's way: ``['conv1_1', 'conv1_2', 'conv2_1', ...]`` (16 for VGG19)."""
    return [f"conv{b}_{i}" for b, n in enumerate(blocks, start=1) for i in range(1, n + 1)]


def keras_layers(blocks: tuple[int, ...] = VGG19_BLOCKS) -> list[str]:
    """Keras names of the conv and pool layers in order (VGG19: 16 conv + 5 pool)."""
    names: list[str] = []
    for b, n in enumerate(blocks, start=1):
        names += [f"block{b}_conv{i}" for i in range(1, n + 1)] + [f"block{b}_pool"]
    return names


def keras_name(name: str) -> str:
    """``'conv4_2' -> 'block4_conv2'``, ``'pool3' -> 'block3_pool'``; Keras names pass through."""
    if m := _SHORT.match(name):
        return f"block{m[1]}_conv{m[2]}"
    if m := _POOL_SHORT.match(name):
        return f"block{m[1]}_pool"
    return name


def short_name(name: str) -> str:
    """``'block4_conv2' -> 'conv4_2'``, ``'block3_pool' -> 'pool3'`` (the paper's names)."""
    if m := _LONG.match(name):
        return f"conv{m[1]}_{m[3]}" if m[3] else f"pool{m[1]}"
    return name


def is_layer(name: str) -> bool:
    """True for a conv or pool layer name in either spelling (``conv4_2``, ``block4_conv2``, ``pool3``)."""
    return bool(_LONG.match(keras_name(name)))


def block_of(name: str) -> int:
    """Block number (1-5) of a conv or pool layer name, either spelling."""
    m = _LONG.match(keras_name(name))
    if not m:
        raise ValueError(f"{name!r} is not a VGG conv or pool layer name (e.g. 'conv4_2' or 'pool3')")
    return int(m[1])


def channels_of(name: str) -> int:
    """n_C of a layer's activation: the filters of its block (64 ... 512)."""
    return FILTERS[block_of(name) - 1]


def min_input_size(names: Iterable[str]) -> int:
    """Smallest image side (px) for which every named layer's feature map is at least 1x1.

    Each pool halves the map (floor), so a layer in block ``b`` needs ``2**(b-1)`` px and
    ``block b pool`` needs ``2**b``.
    """
    need = 1
    for name in names:
        b = block_of(name)
        need = max(need, 2 ** (b if keras_name(name).endswith("pool") else b - 1))
    return need

