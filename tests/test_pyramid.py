"""Coarse to fine (nst_utils.pyramid): the level rule, the steps, the settings, and small real runs."""

from __future__ import annotations

import numpy as np
import pytest

import nst_utils as nu
from nst_utils import pyramid


@pytest.mark.parametrize("size, sizes", [
    (1024, [256, 512, 1024]),
    (2048, [256, 512, 1024, 2048]),
    (700, [256, 423, 700]),          # 700 / 256 = 2.73: two jumps of 1.65, not 2 and 1.37
    (520, [256, 365, 520]),
    (512, [256, 512]),
    (300, [256, 300]),
    (256, [256]),
    (100, [100]),
])
def test_level_sizes_with_the_defaults(size, sizes):
    assert pyramid.level_sizes(size) == sizes


def test_level_sizes_follow_the_settings():
    assert pyramid.level_sizes(1024, nu.DEFAULTS.replace(pyramid_factor=4.0)) == [256, 1024]
    assert pyramid.level_sizes(1024, nu.DEFAULTS.replace(pyramid_factor=1.5)) == [256, 362, 512, 724, 1024]
    assert pyramid.level_sizes(1024, nu.DEFAULTS.replace(pyramid_base=128)) == [128, 256, 512, 1024]
    assert pyramid.level_sizes(128, nu.DEFAULTS.replace(pyramid_base=64)) == [64, 128]


@pytest.mark.parametrize("size", [256, 333, 700, 1024, 1500, 2048, 4000])
def test_no_jump_is_larger_than_the_factor_and_the_last_is_the_asked_size(size):
    for factor in (1.25, 1.5, 2.0, 3.0):
        sizes = pyramid.level_sizes(size, nu.DEFAULTS.replace(pyramid_factor=factor))
        assert sizes[0] == min(size, 256) and sizes[-1] == size
        ratios = np.array(sizes[1:]) / np.array(sizes[:-1])
        assert np.all(ratios > 1.0) and np.all(ratios <= factor + 0.01), (size, factor, sizes)


def test_bad_sizes_are_refused():
    for bad in (0, -5, 1.5, True, "1024"):
        with pytest.raises(ValueError, match="size="):
            pyramid.level_sizes(bad)


def test_the_threshold():
    assert not pyramid.uses_pyramid(512) and pyramid.uses_pyramid(513) and pyramid.uses_pyramid(1024)
    assert not pyramid.uses_pyramid(256)
    assert not pyramid.uses_pyramid(4096, nu.DEFAULTS.replace(pyramid_above=None))
    assert pyramid.uses_pyramid(300, nu.DEFAULTS.replace(pyramid_above=256))


def test_steps_per_level():
    assert pyramid.level_steps(200, 3) == [200, 100, 50]
    assert pyramid.level_steps(200, 4) == [200, 100, 50, 25]
    assert pyramid.level_steps(200, 1) == [200]
    assert pyramid.level_steps(3, 4) == [3, 2, 1, 1]        # never 0 steps at a level unless asked for 0
    assert pyramid.level_steps(0, 3) == [0, 0, 0]
    assert pyramid.level_steps(200, 3, nu.DEFAULTS.replace(pyramid_step_ratio=1.0)) == [200, 200, 200]
    assert pyramid.level_steps(300, 3, nu.DEFAULTS.replace(pyramid_step_ratio=0.4)) == [300, 120, 48]


@pytest.mark.parametrize("name, bad", [
    ("pyramid_above", 0), ("pyramid_above", 512.0), ("pyramid_above", True),
    ("pyramid_base", 8), ("pyramid_base", "256"),
    ("pyramid_factor", 1.0), ("pyramid_factor", 1.0001), ("pyramid_factor", 1.2), ("pyramid_factor", 0.5), ("pyramid_factor", 16), ("pyramid_factor", "2"),
    ("pyramid_step_ratio", 0.0), ("pyramid_step_ratio", 1.5), ("pyramid_step_ratio", False),
    ("pyramid_style_scale", "picture"),
])
def test_bad_pyramid_settings_are_refused_when_set(name, bad):
    with pytest.raises(ValueError) as info:
        nu.DEFAULTS.replace(**{name: bad})
    message = str(info.value)
    assert message.startswith(f"{name}={bad!r}")
    assert f"the default is {getattr(nu.DEFAULTS, name)!r}" in message


def test_a_bad_setting_is_refused_before_anything_runs(small_pair):
    content, style = small_pair
    with pytest.raises(ValueError, match="pyramid_factor=1"):
        pyramid.coarse_to_fine(content, style, pyramid_factor=1, model=object())  # no model is touched


def _run(content, style, vgg19, **kw):
    kw = {"steps": 4, "pyramid_base": 64, "pyramid_above": 64, "progress": False, "model": vgg19, **kw}
    return pyramid.coarse_to_fine(content, style, **kw)


def test_a_small_run_records_its_levels_and_returns_the_asked_size(vgg19):
    content, style = nu.load_sample("chelsea", 128), nu.load_sample("shipwreck", 128)
    result = _run(content, style, vgg19)
    assert result.image.shape == content.shape == (1, 85, 128, 3)
    assert [lv.size for lv in result.levels] == [64, 128]
    assert [lv.shape for lv in result.levels] == [(42, 64), (85, 128)]
    assert [lv.steps for lv in result.levels] == [4, 2] == [lv.done for lv in result.levels]
    assert [lv.first_step for lv in result.levels] == [0, 4]
    assert result.steps == 6 and result.stopped is None
    assert all(len(v) == 6 for v in result.history.values())
    assert np.all(np.diff(result.history["seconds"]) > 0)          # one clock over the levels
    assert all(lv.seconds > 0 for lv in result.levels)
    assert sum(lv.seconds for lv in result.levels) <= result.seconds
    assert result.settings.steps == 4 and result.settings.init == "content"
    assert np.all(np.isfinite(result.image)) and 0.0 <= result.image.min() and result.image.max() <= 1.0


def test_a_level_starts_from_the_previous_result(vgg19):
    """The second level's first cost is its start's: the stylised first level, upsampled, has less style
    cost at 128 px than the photo it would start from in one scale."""
    content, style = nu.load_sample("chelsea", 128), nu.load_sample("shipwreck", 128)
    result = _run(content, style, vgg19, steps=20)
    single = nu.style_transfer(content, style, steps=1, model=vgg19, progress=False)
    second = result.levels[1].first_step
    assert result.history["J_style"][second] < 0.5 * single.history["J_style"][0]


def test_the_style_scale_setting_changes_the_style_size_per_level(vgg19):
    content, style = nu.load_sample("chelsea", 128), nu.load_sample("shipwreck", 96)
    level = _run(content, style, vgg19, steps=1, pyramid_base=32)
    fixed = _run(content, style, vgg19, steps=1, pyramid_base=32, pyramid_style_scale="fixed")
    # a single-scale run at 128 px would use the style array as given (96 px): the levels scale from it
    assert [lv.size for lv in level.levels] == [32, 64, 128]
    assert [max(lv.style_shape) for lv in level.levels] == [24, 48, 96]
    assert [max(lv.style_shape) for lv in fixed.levels] == [24, 24, 24]
    assert level.image.shape == fixed.image.shape == content.shape


def test_files_load_at_each_level_from_the_original(tmp_path, vgg19):
    path = nu.save_image(nu.load_sample("chelsea"), tmp_path / "photo.png")   # 451 x 300 on disk
    result = pyramid.coarse_to_fine(str(path), nu.load_sample("shipwreck", 200), size=96, steps=1,
                                    pyramid_base=48, pyramid_above=48, model=vgg19, progress=False)
    assert result.image.shape == (1, 64, 96, 3)
    assert [lv.shape for lv in result.levels] == [(32, 48), (64, 96)]
    # with size= the style loads at the asked size too (as one scale would), scaled per level
    assert [max(lv.style_shape) for lv in result.levels] == [48, 96]


def test_a_callback_stop_ends_the_whole_pyramid(vgg19):
    content, style = nu.load_sample("chelsea", 128), nu.load_sample("shipwreck", 128)
    seen = []

    def stop_at_five(step, image, history):
        seen.append((step, image.shape))
        return step >= 5

    result = _run(content, style, vgg19, steps=4, callback=stop_at_five, callback_every=1)
    assert result.stopped == "callback"
    assert seen[-1][0] == 5 and seen[-1][1] == (1, 85, 128, 3)     # steps counted over the levels
    assert seen[0] == (1, (1, 42, 64, 3))
    assert result.steps == 5 and [lv.done for lv in result.levels] == [4, 1]
    assert result.image.shape == content.shape


def test_the_asked_size_follows_the_loading_rule(tmp_path):
    from PIL import Image

    assert pyramid.asked_size("photo.jpg") == 256 and pyramid.asked_size(tmp_path / "photo.png") == 256
    assert pyramid.asked_size("photo.jpg", size=1024) == 1024
    assert pyramid.asked_size(np.zeros((1, 600, 800, 3))) == 800
    assert pyramid.asked_size(np.zeros((900, 600, 3), np.uint8)) == 900
    assert pyramid.asked_size(Image.new("RGB", (700, 300))) == 256   # loaded at 256 px, as synthesize does
    assert pyramid.runs_coarse_to_fine("photo.jpg", size=1024)
    assert not pyramid.runs_coarse_to_fine("photo.jpg", size=512) and not pyramid.runs_coarse_to_fine("photo.jpg")
    assert not pyramid.runs_coarse_to_fine("photo.jpg", size=1024, pyramid_above=None, progress=False)
    assert pyramid.runs_coarse_to_fine(np.zeros((1, 300, 400, 3)), settings=nu.DEFAULTS.replace(pyramid_above=256))
    with pytest.raises(ValueError, match="pyramid_above=-1"):
        pyramid.runs_coarse_to_fine("photo.jpg", pyramid_above=-1)


def test_style_transfer_goes_coarse_to_fine_above_the_threshold_and_shows_the_level(vgg19, monkeypatch):
    # the bars' labels, recorded where the Monitor makes its bar (tqdm.auto renders to stderr in a terminal
    # and as a widget where IPython runs a kernel, so the test reads the label, not the rendering)
    import tqdm.auto
    import tqdm.std

    labels = []

    class Recorder(tqdm.std.tqdm):
        def __init__(self, *args, **kwargs):
            labels.append(kwargs.get("desc"))
            super().__init__(*args, **{**kwargs, "disable": True})

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    content, style = nu.load_sample("chelsea", 128), nu.load_sample("shipwreck", 128)
    kw = {"steps": 2, "pyramid_base": 64, "model": vgg19}
    one = nu.style_transfer(content, style, progress=False, **kw)            # 128 px <= 512: one scale
    assert one.levels == () and one.steps == 2
    labels.clear()
    result = nu.style_transfer(content, style, pyramid_above=100, progress=True, **kw)
    assert [lv.size for lv in result.levels] == [64, 128] and result.image.shape == content.shape
    assert "levels of 64/128 px" in repr(result)
    assert labels == ["level 1/2 (64 px)", "level 2/2 (128 px)"]
    labels.clear()
    nu.synthesize(content, style, steps=1, model=vgg19, progress="my label")
    assert labels == ["my label"]
