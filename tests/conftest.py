"""Shared fixtures. The real VGG19 is built once per test session (it takes a few seconds)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def vgg19():
    from nst_utils.models import cached_vgg19

    return cached_vgg19(precision="float32")


@pytest.fixture(scope="session")
def small_pair():
    """(content, style): Tuebingen and The Starry Night at 64 px, from the sample catalog."""
    import nst_utils as nu

    return nu.load_sample("tubingen", 64), nu.load_sample("starry_night", 64)
