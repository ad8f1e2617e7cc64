"""NST_QUICK and the precision choice."""

from __future__ import annotations

import pytest

from nst_utils import precision, quick


def test_pick_follows_nst_quick(monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    assert quick.is_quick() and quick.pick(256, 64) == 64
    monkeypatch.setenv("NST_QUICK", "0")
    assert not quick.is_quick() and quick.pick(256, 64) == 256
    monkeypatch.delenv("NST_QUICK")
    assert quick.pick("full", "quick") == "full"


def test_precision_override_and_validation(monkeypatch):
    monkeypatch.setenv("NST_PRECISION", "float32")
    assert precision.resolve_precision(None) == "float32"
    assert precision.resolve_precision("auto") == "float32"
    assert precision.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="float64"):
        precision.resolve_precision("float64")
    monkeypatch.delenv("NST_PRECISION")
    assert precision.resolve_precision(None) in precision.PRECISIONS
