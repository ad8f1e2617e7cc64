"""Shared fixtures. The real VGG19 is built once per test session (it takes a few seconds).

The environment (quick mode, the Agg backend) is set by the project's conftest.py, one folder up.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def vgg19():
    import nst_utils as nu

    return nu.cached_vgg19(precision="float32")


@pytest.fixture(scope="session")
def small_pair():
    """(content, style): Tuebingen and The Starry Night at 64 px, from the sample catalog."""
    import nst_utils as nu

    return nu.load_sample("tubingen", 64), nu.load_sample("starry_night", 64)
