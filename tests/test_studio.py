"""The studio's logic without a browser: uploads, settings from the library's defaults, layer shares,
colour preservation, runs, Stop, errors, saving (and nothing written before Save)."""

from __future__ import annotations

import base64
import datetime
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nst_utils as nu
from nst_studio import app as st
from nst_studio import helpers, modes, serve
from nst_studio.picker import UPLOAD, ImagePicker
from nst_utils.images import ImageError, to_uint8

STUDIO = Path(st.__file__).parent


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


def _fake_transfer(calls: list):
    """A stand-in for nu.style_transfer: one callback with a mid-grey image, then a result."""
    def transfer(content, style, *, settings, callback, **kwargs):
        calls.append({"content": content, "style": style, "settings": settings})
        image = np.clip(0.5 + 0.3 * (content - 0.5)[..., ::-1], 0, 1).astype(np.float32)  # other colours
        history = {"J": [2.0, 1.0], "J_content": [0.0, 0.5], "J_style": [0.2, 0.05], "J_tv": [0.0, 0.0],
                   "seconds": [0.1, 0.2]}
        callback(1, image, history)
        return nu.TransferResult(image, history, 2, 0.2, None, settings.replace(precision="float32"))

    return transfer


# ----------------------------------------------------------------------------- pure functions

def test_decode_image_bytes_reads_and_resizes():
    x = helpers.decode_image_bytes(_png(40, 30), "photo.png", max_dim=20)
    assert x.shape == (1, 15, 20, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_decode_bad_bytes_names_the_upload_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ImageError) as info:
        helpers.decode_image_bytes(b"these are my notes, not a picture", "notes.txt")
    message = str(info.value)
    assert "'notes.txt'" in message and "not an image format" in message
    assert "nst_upload_" not in message
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone


def test_decode_truncated_png_is_an_image_error():
    with pytest.raises(ImageError, match="damaged or truncated"):
        helpers.decode_image_bytes(_png()[:60], "cut.png")


def test_upload_files_accepts_ipywidgets_8_value():
    data = _png()
    assert helpers.upload_files(_upload_value("a.png", data)) == [("a.png", data)]
    assert helpers.upload_files(()) == []


def test_png_bytes_round_trip():
    image = np.random.default_rng(0).uniform(size=(1, 9, 7, 3)).astype(np.float32)
    decoded = np.asarray(Image.open(io.BytesIO(helpers.png_bytes(image))))
    assert decoded.shape == (9, 7, 3)
    np.testing.assert_array_equal(decoded, to_uint8(image))


@pytest.mark.parametrize("steps, every", [(1, 1), (4, 1), (60, 2), (200, 8), (1000, 10)])
def test_preview_every(steps, every):
    assert helpers.preview_every(steps) == every


@pytest.mark.parametrize("default, below, above, expected", [
    (20.0, 2, 1, (-1, 3)), (1.0, 2, 2, (-2, 2)), (1e4, 2, 1, (2, 5)), (0.02, 1, 0, (-3, -1))])
def test_log_range_spans_decades_around_the_default(default, below, above, expected):
    low, high = helpers.log_range(default, below, above)
    assert (low, high) == expected and 10 ** low < default < 10 ** high
    with pytest.raises(ValueError):
        helpers.log_range(0.0, 1, 1)


def test_layer_shares_sum_to_one_and_drop_zeros():
    assert helpers.layer_shares({"conv1_1": 0.5, "conv2_1": 0.0, "conv4_1": 0.25}) == pytest.approx(
        {"conv1_1": 2 / 3, "conv4_1": 1 / 3})
    five = helpers.layer_shares({name: 1.0 for name in nu.GATYS_STYLE_LAYERS})
    assert sum(five.values()) == pytest.approx(1.0) and len(five) == 5
    with pytest.raises(ValueError, match="at least one style layer"):
        helpers.layer_shares({"conv1_1": 0.0})


def test_status_text_shows_step_and_weighted_costs():
    history = {"J": [12.5], "J_content": [0.5], "J_style": [0.75], "J_tv": [0.04], "seconds": [3.25]}
    text = helpers.status_text(7, 20, history, alpha=10.0, beta=10.0)
    assert text.startswith("step 7 / 20 · J = 12.5")
    assert "α·J_content = 5" in text and "β·J_style = 7.5" in text and "3.2 s" in text and "J_TV" not in text
    assert "w_TV·J_TV = 2" in helpers.status_text(7, 20, history, 10.0, 10.0, tv_weight=50.0)
    assert helpers.status_text(0, 20, {}, 1.0, 1.0) == "step 0 / 20"


def test_result_stem_is_safe():
    assert helpers.result_stem("tubingen", "starry_night") == "tubingen_x_starry_night"
    assert helpers.result_stem("../My Photo (1).JPG", "a/b?.png") == "My_Photo_1_x_b"


def test_download_html_inlines_the_file(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(_png())
    link = helpers.download_html(path)
    assert 'download="g.png"' in link
    data = re.search(r'href="data:image/png;base64,([^"]+)"', link)[1]
    assert base64.b64decode(data) == path.read_bytes()


# ----------------------------------------------------------------------------- the package's shape

def test_modules_are_small_and_importing_the_package_starts_no_tensorflow():
    sizes = {p.name: len(p.read_text().splitlines()) for p in STUDIO.glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
    out = subprocess.run([sys.executable, "-c", "import sys, nst_studio, nst_studio.serve; "
                          "print('tensorflow' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_the_app_page_holds_the_app_and_nothing_else():
    import nbformat

    page = nbformat.read(serve.APP, as_version=4)
    assert [c.cell_type for c in page.cells] == ["code"]
    assert "show_app()" in page.cells[0].source and page.cells[0].outputs == []


def test_serving_culls_idle_kernels_and_lets_the_caller_override():
    args = serve.voila_args()
    assert args[0] == str(serve.APP)
    assert f"--MappingKernelManager.cull_idle_timeout={serve.CULL_IDLE_S}" in args
    assert "--MappingKernelManager.cull_connected=True" in args and "--preheat_kernel=True" in args
    mine = serve.voila_args(["--port=9000", "--MappingKernelManager.cull_idle_timeout=5", "--no-browser"])
    assert [a for a in mine if "port" in a] == ["--port=9000"]
    assert [a for a in mine if "cull_idle" in a] == ["--MappingKernelManager.cull_idle_timeout=5"]


# ----------------------------------------------------------------------------- the app, no model

def test_every_control_starts_at_the_library_defaults():
    studio = st.Studio()
    c = studio.controls
    assert isinstance(studio.content, ImagePicker) and isinstance(studio.style, ImagePicker)
    assert studio.choices().settings == nu.DEFAULTS
    assert (c.alpha.value, c.beta.value, c.steps.value) == (nu.DEFAULTS.alpha, nu.DEFAULTS.beta, nu.DEFAULTS.steps)
    assert c.learning_rate.value == nu.DEFAULTS.learning_rate and c.pooling.value == nu.DEFAULTS.pooling
    for slider, default in ((c.alpha, nu.DEFAULTS.alpha), (c.beta, nu.DEFAULTS.beta)):
        assert 10 ** slider.min < default < 10 ** slider.max and slider.max - slider.min >= 3
    assert {name: s.value for name, s in c.layer_weights.items() if s.value} == pytest.approx(
        dict(nu.DEFAULTS.style_layers))
    assert c.smooth.value == (nu.DEFAULTS.tv_weight > 0) and c.colour.value == "none"


def test_settings_follow_the_widgets():
    studio = st.Studio(size=64, steps=5)
    c = studio.controls
    c.alpha.value, c.beta.value = 2.0, 3 * nu.DEFAULTS.beta
    c.content_layer.value = "conv3_2"
    for name, slider in c.layer_weights.items():
        slider.value = {"conv2_1": 0.5, "conv4_1": 0.25}.get(name, 0.0)
    c.smooth.value = True
    c.tv_weight.value = 50.0
    c.pooling.value, c.init.value, c.colour.value = "avg", "noise", "histogram"
    c.optimizer.value = "lbfgs"
    assert c.learning_rate.disabled and not c.tv_weight.disabled
    choices = studio.choices()
    s = choices.settings
    assert (choices.size, choices.colour) == (64, "histogram")
    assert (s.steps, s.content_layer, s.init, s.pooling, s.optimizer) == (5, "conv3_2", "noise", "avg", "lbfgs")
    assert (s.alpha, s.beta, s.tv_weight) == pytest.approx((2.0, 3 * nu.DEFAULTS.beta, 50.0))
    assert dict(s.style_layers) == pytest.approx({"conv2_1": 2 / 3, "conv4_1": 1 / 3})
    assert "conv2_1 67%" in c.shares.value and "conv1_1" not in c.shares.value
    c.smooth.value = False
    assert studio.choices().settings.tv_weight == 0.0 and c.tv_weight.disabled


def test_generate_without_style_layers_says_why_and_starts_nothing():
    studio = st.Studio(size=32, steps=2)
    for slider in studio.controls.layer_weights.values():
        slider.value = 0.0
    studio.generate_button.click()
    assert not studio.running and studio._thread is None
    assert "at least one style layer" in studio.message.value
    assert not studio.generate_button.disabled


def test_bad_upload_shows_image_error_and_keeps_the_choice():
    studio = st.Studio()
    studio.content.upload.value = _upload_value("holiday.png", b"\x89PNG but not really")
    assert "Image error" in studio.message.value and "holiday.png" in studio.message.value
    assert studio.content.dropdown.value == "tubingen"


def test_good_upload_becomes_the_content_image():
    studio = st.Studio()
    before = studio.content.thumb.value
    studio.content.upload.value = _upload_value("mine.png", _png(40, 30))
    assert studio.content.dropdown.value == UPLOAD and studio.content.name() == "mine.png"
    assert studio.content.thumb.value != before and "Loaded mine.png" in studio.message.value
    assert studio.content.load(20).shape == (1, 15, 20, 3)
    studio.content.upload.value = _upload_value("again.png", _png(30, 40))  # replaces, no duplicate
    assert [o for o in studio.content.dropdown.options if o[1] == UPLOAD] == [("upload · again.png", UPLOAD)]
    assert studio.style.dropdown.value == "starry_night"  # the other picker is untouched


def test_nothing_is_written_before_save(outputs):
    studio = st.Studio()
    with pytest.raises(RuntimeError, match="nothing to save"):
        studio.save()
    assert not outputs.parent.exists()


def test_colour_preservation(outputs, monkeypatch):
    calls: list = []
    monkeypatch.setattr(modes, "style_transfer", _fake_transfer(calls))
    studio = st.Studio(size=32, steps=2, model=object())
    monkeypatch.setattr(modes, "describe_network", lambda model: "a stand-in network")
    content = studio.content.load(32)

    studio.controls.colour.value = "luminance"
    studio.generate()
    studio.wait(30)
    yiq, yiq_C = nu.colour.rgb_to_yiq(studio.image), nu.colour.rgb_to_yiq(content)
    inside = np.all((studio.image > 0.01) & (studio.image < 0.99), axis=-1)
    assert np.abs(yiq[..., 1:] - yiq_C[..., 1:])[inside].max() < 1e-3  # C's chroma, G's luminance
    assert "colours: luminance only" in studio.status.value

    studio.controls.colour.value = "histogram"
    studio.generate()
    studio.wait(30)
    style = studio.style.load(32)
    mean = lambda x: x.reshape(-1, 3).mean(0)  # noqa: E731
    assert np.abs(mean(calls[-1]["style"]) - mean(content)).max() < 0.02  # S recoloured with C's colours
    assert np.abs(mean(style) - mean(content)).max() > 0.05


def test_error_mid_run_keeps_preview_and_allows_saving(outputs, monkeypatch):
    def failing_transfer(content, style, *, callback, **kwargs):
        history = {"J": [2.0], "J_content": [0.1], "J_style": [1.0], "J_tv": [0.0], "seconds": [0.1]}
        callback(1, np.full_like(content, 0.25), history)
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(modes, "style_transfer", failing_transfer)
    studio = st.Studio(size=32, steps=1, model=object())
    monkeypatch.setattr(modes, "describe_network", lambda model: "a stand-in network")
    studio.generate()
    assert studio.wait(30) is None
    assert isinstance(studio.error, RuntimeError)
    assert "out of memory (simulated)" in studio.message.value and "kept" in studio.message.value
    assert studio.preview.value != b"" and not studio.save_button.disabled
    assert not studio.generate_button.disabled and studio.stop_button.disabled
    saved = np.asarray(Image.open(studio.save()))
    assert saved.shape[-1] == 3 and np.all(saved == 64)


def test_the_summary_says_when_the_painting_was_matched_to_a_dark_photo(outputs, monkeypatch):
    def transfer(content, style, *, settings, callback, **kwargs):
        r = _fake_transfer([])(content, style, settings=settings, callback=callback)
        r.settings = r.settings.replace(style_brightness=brightness)
        return r

    monkeypatch.setattr(modes, "describe_network", lambda model: "a stand-in network")
    monkeypatch.setattr(modes, "style_transfer", transfer)
    studio = st.Studio(size=32, steps=1, model=object())
    for brightness, said in (("photo", True), ("painting", False)):
        studio.generate()
        studio.wait(30)
        assert studio.error is None and ("dark photo's brightness" in studio.status.value) == said


def test_a_run_that_fails_before_its_first_step_offers_no_earlier_image(outputs, monkeypatch):
    """Save must never write an earlier run's picture under the new run's names (read7 R7-10-2)."""
    def early_failure(content, style, *, callback, **kwargs):
        raise ValueError("the style image is too small (simulated)")

    monkeypatch.setattr(modes, "describe_network", lambda model: "a stand-in network")
    monkeypatch.setattr(modes, "style_transfer", _fake_transfer([]))
    studio = st.Studio(size=32, steps=1, model=object())
    studio.generate()
    studio.wait(30)
    assert studio.image is not None and not studio.save_button.disabled   # the first run made one
    monkeypatch.setattr(modes, "style_transfer", early_failure)
    studio.generate()
    studio.wait(30)
    assert isinstance(studio.error, ValueError) and "kept" not in studio.message.value
    assert studio.image is None and studio.save_button.disabled
    with pytest.raises(RuntimeError, match="nothing to save"):
        studio.save()


# ----------------------------------------------------------------------------- runs with the real VGG19

def test_generate_runs_updates_preview_and_saves_without_overwriting(vgg19, outputs):
    studio = st.Studio(size=32, steps=3, model=vgg19)
    studio.warm_up().join(30)
    assert studio.network.value.startswith("<small>VGG19") and "float32" in studio.network.value
    assert studio.preview.value == b"" and studio.preview.layout.display == "none"
    studio.generate()
    result = studio.wait(120)
    assert studio.error is None and result is not None and result.steps == 3 and result.stopped is None
    assert studio.preview.value != b"" and studio.preview.layout.display == ""
    assert studio.status.value.startswith("done: 3 of 3 steps") and "balanced weighting · float32" in studio.status.value
    assert studio.progress.value == 3 and studio.progress.bar_style == "success"
    assert not studio.save_button.disabled and not studio.generate_button.disabled and studio.stop_button.disabled
    first, second = studio.save(), studio.save()
    assert first != second and first.parent == outputs and second.name == "tubingen_x_starry_night-1.png"
    assert "Saved <code>" in studio.saved_html.value and second.name in studio.saved_html.value
    assert "download=" in studio.saved_html.value
    np.testing.assert_array_equal(np.asarray(Image.open(first)), to_uint8(result.image))
    studio.generate()  # a new image: the last Saved line no longer applies
    assert studio.saved_html.value == ""
    studio.wait(120)


def _generate_and_stop_after_two_steps(studio):
    """Start a run, press Stop once it has done 2 steps, and return its result."""
    studio.generate()
    deadline = time.monotonic() + 120
    while studio.step < 2 and studio.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert studio.running, "the run ended before Stop could be pressed"
    studio.stop_button.click()
    return studio.wait(60)


def test_stop_keeps_the_image_so_far(vgg19, outputs):
    studio = st.Studio(size=32, steps=500, model=vgg19)
    result = _generate_and_stop_after_two_steps(studio)
    assert not studio.running
    assert result.stopped == "callback" and 2 <= result.steps < 500
    assert studio.status.value.startswith("stopped:") and studio.image is not None
    assert studio.save().is_file()


# ----------------------------------------------------------------------------- the fast mode (lesson 09's networks)

def test_the_fast_mode_is_offered_when_the_library_ships_a_network():
    from nst_utils import fast_styles

    assert ("fast" in modes.MODES) == bool(fast_styles())
    assert list(modes.MODES)[0] == "optimize"  # the default
    studio = st.Studio()
    assert studio.mode.layout.display == ("" if len(modes.MODES) > 1 else "none")


def test_fast_mode_paints_in_one_pass_and_refuses_what_does_not_apply(outputs, monkeypatch):
    from nst_utils import fast_styles

    assert "starry_night" in fast_styles(), "lesson 09 ships a network for starry_night"
    monkeypatch.setitem(modes.MODES, "fast", modes.Fast(fast_styles()))
    studio = st.Studio(size=32)
    studio.mode.value = "fast"
    assert "trained styles: " in studio.mode_help.value
    studio.generate()
    studio.wait(120)
    assert studio.error is None, studio.message.value
    assert studio.status.value.startswith("done: one forward pass") and studio.progress.value == 1
    assert studio.image.shape[0] == 1 and max(studio.image.shape[1:3]) == 32 and studio.result is None
    assert "trained for starry_night" in studio.network.value
    assert studio.save().name == "tubingen_x_starry_night.png"

    studio.style.dropdown.value = "the_scream" if "the_scream" not in fast_styles() else "shipwreck"
    studio.generate()
    studio.wait(60)
    assert "trained networks for" in studio.message.value and "starry_night" in studio.message.value
    studio.style.dropdown.value = "starry_night"
    studio.controls.colour.value = "histogram"
    studio.generate()
    studio.wait(60)
    assert "luminance only" in studio.message.value


# ----------------------------------------------------------------------------- sizes above 512 px: coarse to fine

def test_the_size_slider_goes_to_1024_and_says_when_a_run_goes_coarse_to_fine():
    panel = st.Studio(size=256).controls
    assert (panel.size.min, panel.size.max) == (32, 1024)
    assert "256 px in one scale, 200 steps" in panel.plan.value
    panel.size.value = 1024
    assert "levels of 256 → 512 → 1024 px, 200 + 100 + 50 = 350 steps" in panel.plan.value
    panel.steps.value = 40
    assert "40 + 20 + 10 = 70 steps" in panel.plan.value
    panel.size.value = 512                       # pyramid_above is 512: still one scale
    assert "512 px in one scale, 40 steps" in panel.plan.value
    assert modes.MODES["optimize"].plan(st.Choices(nu.DEFAULTS, 1024)).total == 350


@pytest.mark.parametrize("bad", [0, 16, 2048, 300.0, "512", True])
def test_a_size_outside_the_slider_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match=f"size={bad!r}: use a whole number of px from 32 to 1024"):
        st.Studio(size=bad)


def test_a_numpy_integer_size_is_a_whole_number():
    """Review S-13: Studio(size=np.int64(512)) is accepted, as nu.level_plan accepts it."""
    size = st.Studio(size=np.int64(512)).controls.size.value
    assert size == 512 and type(size) is int


def test_the_preview_of_a_large_image_is_downscaled_and_save_keeps_the_full_size(outputs):
    studio = st.Studio()
    image = np.random.default_rng(1).uniform(size=(1, 768, 1024, 3)).astype(np.float32)
    studio._show(image)
    assert Image.open(io.BytesIO(studio.preview.value)).size == (st.PREVIEW_MAX, 630)
    studio._show(image[:, :300, :400])
    assert Image.open(io.BytesIO(studio.preview.value)).size == (400, 300)   # small images as they are
    studio.image = image
    saved = np.asarray(Image.open(studio.save()))
    np.testing.assert_array_equal(saved, to_uint8(image[0]))


def _pyramid_studio(vgg19, steps):
    """A studio whose pyramid starts above 48 px (base 32): a 64-px run has the levels 32 and 64 px, so the
    coarse-to-fine path runs in seconds with the real VGG19."""
    settings = nu.DEFAULTS.replace(pyramid_above=48, pyramid_base=32)
    studio = st.Studio(size=64, steps=steps, settings=settings, model=vgg19)
    statuses, previews = [], []
    studio.status.observe(lambda change: statuses.append(change["new"]), names="value")
    studio.preview.observe(lambda change: previews.append(Image.open(io.BytesIO(change["new"])).size), names="value")
    return studio, statuses, previews


def test_a_pyramid_run_names_its_levels_and_previews_at_the_asked_size(vgg19, outputs):
    studio, statuses, previews = _pyramid_studio(vgg19, steps=4)
    assert "levels of 32 → 64 px, 4 + 2 = 6 steps" in studio.controls.plan.value
    studio.generate()
    assert studio.progress.max == 6 and statuses[-1].startswith("level 1/2 (32 px): loading VGG19")
    result = studio.wait(120)
    assert studio.error is None, studio.message.value
    assert [lv.size for lv in result.levels] == [32, 64] and result.steps == 6
    shown = [s for s in statuses if s.startswith("level")]
    assert any(s.startswith("level 1/2 (32 px) · step 4 / 6") and "next: level 2/2 (64 px)" in s for s in shown)
    assert any(s.startswith("level 2/2 (64 px) · step 6 / 6") for s in shown)
    h, w = studio.content.load(64).shape[1:3]
    assert previews and set(previews) == {(w, h)}                 # level 1's 32-px image shown at 64 px
    assert studio.status.value.startswith("done: 6 of 6 steps over levels of 32/64 px")
    assert studio.progress.value == 6 and studio.progress.bar_style == "success"
    saved = np.asarray(Image.open(studio.save()))
    np.testing.assert_array_equal(saved, to_uint8(result.image[0]))
    assert saved.shape == (h, w, 3)


def test_stop_at_the_coarse_level_keeps_the_image_at_full_size(vgg19, outputs):
    studio, statuses, _ = _pyramid_studio(vgg19, steps=500)
    result = _generate_and_stop_after_two_steps(studio)
    assert result.stopped == "callback" and 2 <= result.steps < 500
    assert [lv.size for lv in result.levels] == [32]                 # stopped during the first level
    assert studio.status.value.startswith(f"stopped: {result.steps} of 750 steps over levels of 32 px")
    assert any("stopping ..." in s for s in statuses)
    content = studio.content.load(64)
    assert studio.image.shape == result.image.shape == content.shape
    assert np.asarray(Image.open(studio.save())).shape == content.shape[1:]


def test_stop_while_the_next_level_is_set_up_ends_the_run_before_its_first_step(vgg19, outputs, monkeypatch):
    """Review 20 S-7: Stop pressed while level 2's targets are computed (made 2 s slow here) ends the run
    there: the result has level 1 only (4 steps), not a level 2 with one step."""
    real = nu.transfer.StyleTransferLoss.build

    def slow_at_64_px(content, style, **kwargs):
        if content is not None and max(content.shape[1:3]) == 64:
            time.sleep(2.0)
        return real(content, style, **kwargs)

    monkeypatch.setattr(nu.transfer.StyleTransferLoss, "build", staticmethod(slow_at_64_px))
    studio, statuses, _ = _pyramid_studio(vgg19, steps=4)
    studio.generate()
    deadline = time.monotonic() + 120
    while "computing its targets" not in studio.status.value and studio.running and time.monotonic() < deadline:
        time.sleep(0.02)   # level 1's last step (4) is shown; level 2's targets take 2 s
    assert studio.running and studio.step == 4, studio.status.value
    studio.stop_button.click()
    result = studio.wait(60)
    assert studio.error is None, studio.message.value
    assert result.stopped == "callback" and result.steps == 4 and [lv.done for lv in result.levels] == [4]
    assert studio.status.value.startswith("stopped: 4 of 6 steps over levels of 32 px")
    assert any("next: level 2/2 (64 px), its first step ... · stopping ..." in s for s in statuses), statuses
    content = studio.content.load(64)
    assert studio.image.shape == result.image.shape == content.shape
