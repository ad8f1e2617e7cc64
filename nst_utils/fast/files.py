"""Trained networks and checkpoints as files: a Keras ``.keras`` archive with the training's record.

A network file is what ``keras.Model.save`` writes, with two more entries in the zip archive:
``nst_fast.json`` (the style, the loss settings, the architecture, the training recipe and its loss
history) and, in checkpoints only, ``nst_fast_optimizer.npz`` (Adam's state), so that training resumes
where it stopped. Files are written to a temporary name and renamed: a file is complete or absent.

A checkpoint holds the weights and Adam's two moments in float32: three times the network. To commit
one, :func:`compact_checkpoint` keeps the weights and Adam's step count exact and stores the moments
in bfloat16 (float32's range, 8 bits of mantissa: a relative rounding of at most 2^-9), so it is about
two thirds of the size and resumes with the same weights and nearly the same Adam state.

The networks the course ships live in :data:`NETWORKS_DIR`, one ``<style>.keras`` per sample style.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nst_utils._tf import tf  # noqa: F401  (first: imports TensorFlow quietly)

import keras

import nst_utils.fast.network  # noqa: F401  (registers the custom layers before any file is loaded)

#: Where the committed networks live: one ``<style>.keras`` per sample style.
NETWORKS_DIR = Path(__file__).resolve().parent.parent / "networks"
_INFO, _OPTIMIZER = "nst_fast.json", "nst_fast_optimizer.npz"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def write_network(network: keras.Model, path: Path, info: dict[str, Any], optimizer_state: list | None = None) -> Path:
    """Write the network, its record and (checkpoints) Adam's state atomically: a crash leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.stem}.part.keras")
    network.save(part)
    with zipfile.ZipFile(part, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_INFO, json.dumps(_jsonable(info)))
        if optimizer_state is not None:
            buffer = io.BytesIO()
            np.savez(buffer, *optimizer_state)
            archive.writestr(_OPTIMIZER, buffer.getvalue())
    os.replace(part, path)
    return path


def _to_bfloat16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> the upper 16 bits of its nearest bfloat16 (round half to even), as uint16."""
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _from_bfloat16_bits(a: np.ndarray) -> np.ndarray:
    return (a.astype(np.uint32) << 16).view(np.float32)


def compact_checkpoint(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy a checkpoint with Adam's moments in bfloat16 (module docstring): small enough to commit.

    The weights, the record (history, crop generator) and Adam's step count and learning rate stay
    exact; every other float32 array of Adam's state (its first and second moments) is rounded to
    bfloat16. :func:`read_network` turns them back into float32. Returns the target path.
    """
    source, target = Path(source), Path(target)
    if target.suffix != ".keras":
        raise ValueError(f"{str(target)!r}: the file name must end in .keras")
    if target.resolve() == source.resolve():
        raise ValueError(f"{str(target)!r}: write the compact copy to another file than the checkpoint itself")
    network, info, state = read_network(source)
    if state is None:
        raise ValueError(f"{str(source)!r} holds no optimizer state: it is a finished network, not a checkpoint")
    compact = [_to_bfloat16_bits(a) if a.dtype == np.float32 and a.ndim > 0 else a for a in state]
    return write_network(network, target, {**info, "optimizer_moments": "bfloat16"}, compact)


def read_network(path: Path) -> tuple[keras.Model, dict[str, Any], list[np.ndarray] | None]:
    """The network (with ``nst_info``), its record, and Adam's state (None in a finished network's file)."""
    if not path.is_file():
        raise FileNotFoundError(f"no network file {str(path)!r}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            info = json.loads(archive.read(_INFO)) if _INFO in names else {}
            state = None
            if _OPTIMIZER in names:
                arrays = np.load(io.BytesIO(archive.read(_OPTIMIZER)))
                state = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
                if info.get("optimizer_moments") == "bfloat16":      # compact_checkpoint
                    state = [_from_bfloat16_bits(a) if a.dtype == np.uint16 else a for a in state]
        network = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 -- a damaged or foreign file fails in many ways
        raise ValueError(f"cannot load {str(path)!r} as a transformation network: {type(exc).__name__}: {exc}. "
                         "Is it a .keras file written by nu.save_fast_network or nu.train_fast_network?") from None
    network.nst_info = info
    return network, info, state


def save_fast_network(network: keras.Model, path: str | os.PathLike) -> Path:
    """Save a trained network as a ``.keras`` file, with its record (``network.nst_info``) but no optimizer state.

    Nothing is half-written: the file appears complete or not at all. Returns the path.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{str(path)!r}: the file name must end in .keras")
    info = dict(getattr(network, "nst_info", None) or {})
    info.pop("data_rng", None)
    return write_network(network, path, info)


def fast_styles() -> list[str]:
    """The styles with a committed network (:data:`NETWORKS_DIR`), sorted."""
    return sorted(p.stem for p in NETWORKS_DIR.glob("*.keras")) if NETWORKS_DIR.is_dir() else []


def load_fast_network(name_or_path: str | os.PathLike) -> keras.Model:
    """A trained transformation network: a committed one by style name, or any ``.keras`` file.

    ``load_fast_network("starry_night")`` loads the network the course ships for that sample style
    (:func:`fast_styles` lists them); a path loads a file from :func:`save_fast_network` or a training
    checkpoint. ``network.nst_info`` holds its record (style, settings, architecture, recipe, history).

    Raises:
        FileNotFoundError: no such file, or no committed network of that name (the message lists them).
        ValueError: the file is not a network this module wrote (the message names the file).
    """
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and not text.endswith(".keras") and "/" not in text and os.sep not in text:
        path = NETWORKS_DIR / f"{text}.keras"
        if not path.is_file():
            raise FileNotFoundError(f"no committed fast-style network {text!r} ({str(path)!r} does not exist); "
                                    f"available: {', '.join(fast_styles()) or 'none'}. Train one with "
                                    f"nu.train_fast_network({text!r}) and nu.save_fast_network(...)")
    else:
        path = Path(text)
    return read_network(path)[0]
