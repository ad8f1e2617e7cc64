"""The studio's logic without a browser: uploads, PNG bytes, settings, runs, Stop, errors, saving."""

from __future__ import annotations

import base64
import datetime
import io
import re
import time

import numpy as np
import pytest
from PIL import Image

from nst_utils import studio as st
from nst_utils.images import ImageError, to_uint8


def _png(w=40, h=30) -> bytes:
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)
    arr = np.stack([np.broadcast_to(x[None, :], (h, w)), np.broadcast_to(y[:, None], (h, w)),
                    np.full((h, w), 90.0)], -1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload_value(name: str, data: bytes):
    """What ipywidgets 8's FileUpload.value holds after the browser sends one file."""
    return ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)},)


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_OUTPUT_DIR", str(tmp_path / "outputs"))
    return tmp_path / "outputs" / st.LESSON


# ----------------------------------------------------------------------------- pure functions

def test_decode_image_bytes_reads_and_resizes():
    x = st.decode_image_bytes(_png(40, 30), "photo.png", max_dim=20)
    assert x.shape == (1, 15, 20, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_decode_bad_bytes_names_the_upload_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(st.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ImageError) as info:
        st.decode_image_bytes(b"these are my notes, not a picture", "notes.txt")
    message = str(info.value)
    assert "'notes.txt'" in message and "not an image format" in message
    assert "nst_upload_" not in message
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone


def test_decode_truncated_png_is_an_image_error():
    with pytest.raises(ImageError, match="damaged or truncated"):
        st.decode_image_bytes(_png()[:60], "cut.png")


def test_upload_files_accepts_ipywidgets_8_value():
    data = _png()
    assert st.upload_files(_upload_value("a.png", data)) == [("a.png", data)]
    assert st.upload_files(()) == []


def test_png_bytes_round_trip():
    image = np.random.default_rng(0).uniform(size=(1, 9, 7, 3)).astype(np.float32)
    decoded = np.asarray(Image.open(io.BytesIO(st.png_bytes(image))))
    assert decoded.shape == (9, 7, 3)
    np.testing.assert_array_equal(decoded, to_uint8(image))


def test_style_layer_weights_equal_and_sum_to_one():
    weights = st.style_layer_weights(["conv1_1", "conv3_1", "conv5_1", "conv1_1"])
    assert list(weights) == ["conv1_1", "conv3_1", "conv5_1"]
    assert all(w == pytest.approx(1 / 3) for w in weights.values())
    with pytest.raises(ValueError, match="at least one style layer"):
        st.style_layer_weights([])


@pytest.mark.parametrize("steps, every", [(1, 1), (4, 1), (60, 2), (200, 8), (1000, 10)])
def test_preview_every(steps, every):
    assert st.preview_every(steps) == every


def test_status_text_shows_step_and_weighted_costs():
    history = {"J": [12.5], "J_content": [0.5], "J_style": [7500.0], "seconds": [3.25]}
    text = st.status_text(7, 20, history, alpha=10.0, beta=1e-3)
    assert text.startswith("step 7 / 20 · J = 12.5")
    assert "α·J_content = 5" in text and "β·J_style = 7.5" in text and "3.2 s" in text
    assert st.status_text(0, 20, {}, 1.0, 1.0) == "step 0 / 20"


def test_result_stem_is_safe():
    assert st.result_stem("tubingen", "starry_night") == "tubingen_x_starry_night"
    assert st.result_stem("../My Photo (1).JPG", "a/b?.png") == "My_Photo_1_x_b"


def test_download_html_inlines_the_file(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(_png())
    link = st.download_html(path)
    assert 'download="g.png"' in link
    data = re.search(r'href="data:image/png;base64,([^"]+)"', link)[1]
    assert base64.b64decode(data) == path.read_bytes()


# ----------------------------------------------------------------------------- the app, no model

def test_settings_follow_the_widgets():
    studio = st.Studio(size=64, steps=5)
    studio.alpha.value = 100.0
    studio.beta.value = 1e-2
    studio.learning_rate.value = 0.05
    studio.content_layer.value = "conv3_2"
    for name, box in studio.style_checks.items():
        box.value = name in ("conv2_1", "conv4_1")
    studio.init.value = "noise"
    s = studio.settings()
    assert s["steps"] == 5 and s["content_layer"] == "conv3_2" and s["init"] == "noise"
    assert s["alpha"] == pytest.approx(100.0) and s["beta"] == pytest.approx(1e-2)
    assert s["learning_rate"] == pytest.approx(0.05, rel=1e-3)
    assert s["style_layers"] == {"conv2_1": 0.5, "conv4_1": 0.5}


def test_generate_without_style_layers_says_why_and_starts_nothing():
    studio = st.Studio(size=32, steps=2)
    for box in studio.style_checks.values():
        box.value = False
    studio.generate_button.click()
    assert not studio.running and studio._thread is None
    assert "at least one style layer" in studio.message.value
    assert not studio.generate_button.disabled


def test_bad_upload_shows_image_error_and_keeps_the_choice():
    studio = st.Studio()
    studio.content_upload.value = _upload_value("holiday.png", b"\x89PNG but not really")
    assert "Image error" in studio.message.value and "holiday.png" in studio.message.value
    assert studio.content_choice.value == "tubingen"


def test_good_upload_becomes_the_content_image():
    studio = st.Studio()
    before = studio.content_thumb.value
    studio.content_upload.value = _upload_value("mine.png", _png(40, 30))
    assert studio.content_choice.value == st.UPLOAD
    assert studio.content_thumb.value != before
    assert studio.load("content", 20).shape == (1, 15, 20, 3)
    studio.content_upload.value = _upload_value("again.png", _png(30, 40))  # replaces, no duplicate
    assert [o for o in studio.content_choice.options if o[1] == st.UPLOAD] == [("upload · again.png", st.UPLOAD)]


def test_save_before_generate_is_refused():
    studio = st.Studio()
    with pytest.raises(RuntimeError, match="nothing to save"):
        studio.save()


# ----------------------------------------------------------------------------- runs with the real VGG19

def test_generate_runs_updates_preview_and_saves_without_overwriting(vgg19, outputs):
    studio = st.Studio(size=32, steps=3, model=vgg19)
    assert studio.preview.value == b""
    studio.generate()
    result = studio.wait(120)
    assert studio.error is None and result is not None and result.steps == 3 and result.stopped is None
    assert studio.preview.value != b"" and studio.status.value.startswith("done: 3 of 3 steps")
    assert studio.progress.value == 3 and studio.progress.bar_style == "success"
    assert not studio.save_button.disabled and not studio.generate_button.disabled and studio.stop_button.disabled
    first, second = studio.save(), studio.save()
    assert first != second and first.parent == outputs and second.name == "tubingen_x_starry_night-1.png"
    assert "download=" in studio.saved_html.value
    np.testing.assert_array_equal(np.asarray(Image.open(first)), to_uint8(result.image))


def test_stop_keeps_the_image_so_far(vgg19, outputs):
    studio = st.Studio(size=32, steps=500, model=vgg19)
    studio.generate()
    deadline = time.monotonic() + 120
    while studio.step < 2 and studio.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert studio.running, "the run ended before Stop could be pressed"
    studio.stop_button.click()
    result = studio.wait(60)
    assert not studio.running
    assert result.stopped == "callback" and 2 <= result.steps < 500
    assert studio.status.value.startswith("stopped:") and studio.image is not None
    assert studio.save().is_file()


def test_error_mid_run_keeps_preview_and_allows_saving(outputs, monkeypatch):
    def failing_transfer(content, style, *, callback, **kwargs):
        history = {"J": [2.0], "J_content": [0.1], "J_style": [1000.0], "seconds": [0.1]}
        callback(1, np.full_like(content, 0.25), history)
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(st, "style_transfer", failing_transfer)
    studio = st.Studio(size=32, steps=1, model=object())
    studio.generate()
    assert studio.wait(30) is None
    assert isinstance(studio.error, RuntimeError)
    assert "out of memory (simulated)" in studio.message.value and "kept" in studio.message.value
    assert studio.preview.value != b"" and not studio.save_button.disabled
    assert not studio.generate_button.disabled and studio.stop_button.disabled
    saved = np.asarray(Image.open(studio.save()))
    assert saved.shape[-1] == 3 and np.all(saved == 64)
