"""The sample catalog: names, checksums, where files are looked for, and its errors."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import nst_utils as nu
from nst_utils import samples

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images" / "SOURCES.md"


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/images/SOURCES.md beside the checkout")
def test_catalog_matches_sources_md():
    text = SHARED.read_text()
    rows = re.findall(r"^\| ([\w.-]+\.(?:jpg|png)) \|.*`([0-9a-f]{64})` \|$", text, re.M)
    assert len(rows) == 6
    by_file = {s.filename: s for s in samples.SAMPLES.values()}
    for filename, sha in rows:
        assert by_file[filename].sha256 == sha
    assert "07c4b8299f8fbdafec0c514fc820ff1d7ff62e46" in text
    assert all("07c4b8299f8fbdafec0c514fc820ff1d7ff62e46" in s.url for s in by_file.values() if s.url)


def test_every_sample_loads_with_the_right_aspect():
    for name, s in samples.SAMPLES.items():
        x = nu.load_sample(name, max_dim=32)
        w, h = s.size
        assert x.shape[0] == 1 and max(x.shape[1:3]) == 32, name
        assert abs(x.shape[2] / x.shape[1] - w / h) < 0.1, name


def test_unknown_sample_lists_the_catalog():
    with pytest.raises(KeyError, match="starry_night"):
        nu.load_sample("mona_lisa")


def test_wrong_file_in_image_dir_is_refused(tmp_path, monkeypatch):
    (tmp_path / "tubingen.jpg").write_bytes(b"something else")
    monkeypatch.setenv("NST_IMAGE_DIR", str(tmp_path))
    with pytest.raises(samples.SampleError, match="sha256"):
        samples.sample_path("tubingen")


def test_download_failure_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_IMAGE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(samples.SampleError, match="NST_IMAGE_DIR"):
        samples.sample_path("shipwreck")


def test_download_checks_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_IMAGE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))

    class Fake:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"tampered"

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Fake())
    with pytest.raises(samples.SampleError, match="sha256"):
        samples.sample_path("shipwreck")
    assert not list((tmp_path / "cache" / "images").iterdir())  # nothing half-written is kept


def test_catalog_markdown_credits_every_sample():
    md = samples.catalog_markdown()
    for s in samples.SAMPLES.values():
        assert s.name in md and s.attribution in md


def test_package_samples_need_no_download(monkeypatch):
    monkeypatch.setenv("NST_IMAGE_DIR", "/nonexistent")  # and no network needed either
    for name, sample in nu.SAMPLES.items():
        if sample.source != "download":
            x = nu.load_sample(name, 64)
            assert x.shape[0] == 1 and max(x.shape[1:3]) == 64 and x.dtype == np.float32, name


def test_the_sketch_is_a_grey_drawing():
    sketch = nu.load_sample("sketch", 128)
    assert np.allclose(sketch[..., 0], sketch[..., 1]) and np.allclose(sketch[..., 1], sketch[..., 2])
    assert np.mean(sketch > 0.9) > 0.5           # mostly paper white
    assert np.mean(sketch < 0.5) > 0.01           # with dark lines
