"""Coarse to fine (nst_utils.pyramid): the level rule, the steps, the settings, and small real runs."""

from __future__ import annotations

import time

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


def test_a_dark_photo_is_decided_once_and_every_level_uses_the_painting_at_its_brightness(vgg19, monkeypatch):
    content, style = nu.load_sample("chelsea", 128) ** 3, nu.load_sample("shipwreck", 128)
    assert nu.colour.mean_luminance(content) < nu.DEFAULTS.dark_photo_below
    decided, measure = [], nu.colour.mean_luminance

    def counting(image):
        decided.append(image.shape)
        return measure(image)

    monkeypatch.setattr(nu.colour, "mean_luminance", counting)
    auto = _run(content, style, vgg19, steps=2)
    assert decided == [content.shape]          # once, on the photo at the asked size, not once per level
    monkeypatch.undo()
    assert auto.settings.style_brightness == "photo" and len(auto.levels) == 2
    painting = _run(content, style, vgg19, steps=2, style_brightness="painting")
    assert painting.settings.style_brightness == "painting"
    assert not np.array_equal(auto.image, painting.image)


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
    # (24 px at level 0 is raised to the floor min(96, 32) = 32 px)
    assert [lv.size for lv in level.levels] == [32, 64, 128]
    assert [max(lv.style_shape) for lv in level.levels] == [32, 48, 96]
    assert [max(lv.style_shape) for lv in fixed.levels] == [32, 32, 32]
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
    assert [step for step, _ in seen] == [1, 2, 3, 4, 4, 5]   # over the levels; 4 again before level 1 (S-7)
    assert all(shape == (1, 85, 128, 3) for _, shape in seen)       # at the asked shape from level 0 on
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


# ----------------------------------------------------------------------------- the plan, the callback, stops

def test_the_level_plan_says_which_level_runs_a_step():
    plan = nu.level_plan(1024)
    assert (plan.sizes, plan.steps, plan.total, plan.ends) == ((256, 512, 1024), (200, 100, 50), 350, (200, 300, 350))
    assert [plan.level_at(step) for step in (0, 1, 200, 201, 300, 301, 350, 351)] == [0, 0, 0, 1, 1, 2, 2, 2]
    assert [plan.label(k) for k in range(3)] == ["level 1/3 (256 px)", "level 2/3 (512 px)", "level 3/3 (1024 px)"]
    one = nu.level_plan(512, nu.DEFAULTS.replace(steps=30))           # up to pyramid_above: one scale
    assert (one.sizes, one.steps, one.level_at(30)) == ((512,), (30,), 0)
    assert nu.level_plan(700, nu.DEFAULTS.replace(steps=10)).steps == (10, 5, 2)
    for bad in (0, 51.5, "1024", True, None):
        with pytest.raises(ValueError, match="size="):
            nu.level_plan(bad)


class _FakeLevels:
    """A stand-in for synthesize that records what each level is given and runs ``n`` fake steps, so that
    the pyramid's book-keeping (loading, style sizes, callback, stops) is checked without VGG19. Level k's
    image is the constant (k + 1) / 10; ``interrupt_at`` raises KeyboardInterrupt when level k is set up."""

    def __init__(self, interrupt_at: int | None = None, interrupt_in: int | None = None):
        self.calls: list[dict] = []
        self.interrupt_at, self.interrupt_in = interrupt_at, interrupt_in

    def __call__(self, content, style, *, settings, model, start, callback, callback_every, progress,
                 callback_first=False):
        k = len(self.calls)
        self.calls.append({"content": content.shape, "style": style.shape, "start": start, "steps": settings.steps,
                           "init": settings.init, "progress": progress, "t": time.perf_counter(),
                           "callback_first": callback_first})
        if k == self.interrupt_at:
            raise KeyboardInterrupt
        image = np.full(content.shape, (k + 1) / 10, np.float32)
        history = {key: [] for key in ("J", "J_content", "J_style", "J_tv", "seconds")}
        if callback_first and callback(0, start, history):   # as synthesize: before the first step
            return nu.TransferResult(start, history, 0, 0.01, "callback", settings)
        stopped = None
        for step in range(1, settings.steps + 1):
            if k == self.interrupt_in and step == 2:
                stopped = "interrupted"   # as synthesize's Monitor does with Ctrl-C during the steps
                break
            for key in history:
                history[key].append(float(10 * k + step))
            if callback is not None and step % callback_every == 0 and callback(step, image, history):
                stopped = "callback"
                break
        return nu.TransferResult(image, history, len(history["J"]), 0.01, stopped, settings)


@pytest.fixture
def fake_levels(monkeypatch):
    def make(**kw):
        fake = _FakeLevels(**kw)
        monkeypatch.setattr(nu.transfer, "synthesize", fake)
        return fake

    return make


def test_a_style_file_next_to_a_large_content_array_is_not_shrunk_to_a_few_pixels(fake_levels):
    """Review L-3: a 2048 x 1536 array with a style file. One scale would load the file at 256 px, and the
    levels scaled that to 32 px at level 0; the file is now loaded at the asked size, 2048 px."""
    fake = fake_levels()
    content = np.random.default_rng(0).uniform(size=(1536, 2048, 3)).astype(np.float32)
    result = pyramid.coarse_to_fine(content, str(nu.sample_path("starry_night")), steps=2, progress=False)
    assert [lv.size for lv in result.levels] == [256, 512, 1024, 2048]
    assert [max(lv.style_shape) for lv in result.levels] == [256, 512, 1024, 2048]
    assert [max(c["style"][1:3]) for c in fake.calls] == [256, 512, 1024, 2048]
    assert result.image.shape == (1, 1536, 2048, 3)


def test_a_small_style_array_has_a_floor_at_the_first_level_size(fake_levels):
    """An array style keeps its size (as in one scale); scaled with the levels it would be 75 px at level 0
    (300 x 256 / 1024): the floor min(300, 256) keeps every level's style at 256 px or more."""
    fake_levels()
    content = np.zeros((1, 768, 1024, 3), np.float32)
    style = np.zeros((1, 200, 300, 3), np.float32)
    level = pyramid.coarse_to_fine(content, style, steps=2, progress=False)
    fixed = pyramid.coarse_to_fine(content, style, steps=2, progress=False, pyramid_style_scale="fixed")
    assert [max(lv.style_shape) for lv in level.levels] == [256, 256, 300]
    assert [max(lv.style_shape) for lv in fixed.levels] == [256, 256, 256]
    tiny = pyramid.coarse_to_fine(content, np.zeros((1, 60, 90, 3), np.float32), steps=1, progress=False)
    assert [max(lv.style_shape) for lv in tiny.levels] == [90, 90, 90]   # never larger than it is


def test_the_callback_sees_the_asked_shape_the_joined_history_and_the_end_once(fake_levels):
    fake_levels()
    content = np.zeros((1, 96, 128, 3), np.float32)
    seen = []

    def callback(step, image, history):
        seen.append((step, image.shape, {key: len(v) for key, v in history.items()}, float(image.mean())))

    kw = {"steps": 4, "pyramid_base": 64, "progress": False}
    result = pyramid.coarse_to_fine(content, content, callback=callback, callback_every=4, **kw)
    assert [lv.steps for lv in result.levels] == [4, 2] and result.steps == 6
    # every 4 steps over the levels, then the end; level 0's last step (4) was seen, so it is shown again
    # before level 1's first step (review 20 S-7: the last chance to stop before level 1 runs a step)
    assert [s[0] for s in seen] == [4, 4, 6]
    assert all(s[1] == (1, 96, 128, 3) for s in seen)           # level 0's 64-px image, upsampled
    assert [set(s[2].values()) for s in seen] == [{4}, {4}, {6}]   # the history of all levels so far
    assert seen[0][3] == pytest.approx(0.1, abs=1 / 255) and seen[2][3] == pytest.approx(0.2)
    assert seen[1][1:] == seen[0][1:]                           # the same image and history again
    seen.clear()
    pyramid.coarse_to_fine(content, content, callback=callback, callback_every=3, **kw)
    assert [s[0] for s in seen] == [3, 6]        # step 4 was not due (nor asked again); 6 was seen: no final call
    assert result.history["J"] == [1.0, 2.0, 3.0, 4.0, 11.0, 12.0]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "10"])
def test_a_bad_callback_every_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="callback_every="):
        pyramid.coarse_to_fine(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)), callback_every=bad, model=object())


def test_a_callback_that_is_not_a_function_is_refused_naming_it():
    with pytest.raises(TypeError, match="callback=5"):
        pyramid.coarse_to_fine(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)), callback=5, model=object())


@pytest.mark.parametrize("at", [1, 2])
def test_ctrl_c_between_levels_keeps_the_levels_done(fake_levels, at):
    """Review L-4: Ctrl-C while level ``at`` is set up (loading, targets) returns the last finished level's
    image at the asked shape, the levels done and their history, and ``stopped="interrupted"``."""
    fake_levels(interrupt_at=at)
    content = np.zeros((1, 96, 128, 3), np.float32)
    seen = []
    result = pyramid.coarse_to_fine(content, content, steps=4, pyramid_base=32, progress=False,
                                    callback=lambda step, image, history: seen.append(step), callback_every=1)
    assert [lv.size for lv in result.levels] == [32, 64, 128][:at]
    assert result.stopped == "interrupted" and result.steps == [4, 6][at - 1]
    assert len(result.history["J"]) == result.steps
    assert result.image.shape == (1, 96, 128, 3)
    assert float(result.image.mean()) == pytest.approx(at / 10, abs=1 / 255)   # the last finished level's
    # each step once (level 0's last, 4, again before level 1's first step), the last not again at the end
    assert seen == [1, 2, 3, 4, 4, 5, 6][:result.steps + at - 1]


def test_ctrl_c_during_a_level_keeps_its_steps(fake_levels):
    fake_levels(interrupt_in=1)
    content = np.zeros((1, 96, 128, 3), np.float32)
    result = pyramid.coarse_to_fine(content, content, steps=4, pyramid_base=32, progress=False)
    assert result.stopped == "interrupted" and [lv.done for lv in result.levels] == [4, 1]
    assert result.image.shape == (1, 96, 128, 3) and float(result.image.mean()) == pytest.approx(0.2, abs=1 / 255)


def test_ctrl_c_before_the_first_level_has_an_image_propagates(fake_levels):
    fake_levels(interrupt_at=0)
    with pytest.raises(KeyboardInterrupt):
        pyramid.coarse_to_fine(np.zeros((1, 96, 128, 3)), np.zeros((1, 96, 128, 3)), steps=2, pyramid_base=32,
                               progress=False)


# ----------------------------------------------------------------------------- review 20: S-1, S-3, S-4, S-5

@pytest.mark.parametrize("above", [512, None])
def test_a_direct_call_at_or_below_the_threshold_follows_the_direct_plan(fake_levels, above):
    """Review S-1: coarse_to_fine called directly makes levels at 400 px (<= pyramid_above, or with
    pyramid_above=None); level_plan(..., direct=True) is its plan, level_plan without it style_transfer's."""
    fake = fake_levels()
    settings = nu.DEFAULTS.replace(steps=4, pyramid_above=above)
    seen = []
    result = pyramid.coarse_to_fine(np.zeros((1, 300, 400, 3), np.float32), np.zeros((1, 64, 64, 3), np.float32),
                                    settings=settings, progress=False, callback_every=1,
                                    callback=lambda step, image, history: seen.append(step))
    plan = nu.level_plan(400, settings, direct=True)
    assert plan == nu.LevelPlan((256, 400), (4, 2))
    assert tuple(lv.size for lv in result.levels) == plan.sizes and tuple(c["steps"] for c in fake.calls) == plan.steps
    assert result.steps == plan.total and seen == [1, 2, 3, 4, 4, 5, 6]   # level 0's end again before level 1
    assert [c["progress"] is False for c in fake.calls] == [True, True]
    assert nu.level_plan(400, settings) == nu.LevelPlan((400,), (4,))   # style_transfer runs one scale here


@pytest.mark.parametrize("bad", ["big", 700.9, True, 2.0**40, 10**9, 0, -3, 2049, "1024"])
def test_a_bad_size_for_style_transfer_is_refused_naming_it_and_the_range(bad):
    """Review S-3: refused before anything is loaded or built (model=object() is never touched)."""
    content = np.zeros((1, 96, 128, 3), np.float32)
    for run in (nu.style_transfer, pyramid.coarse_to_fine):
        with pytest.raises(ValueError, match=r"size=.*whole number of px from 1 to 2048") as info:
            run(content, content, size=bad, model=object(), progress=False)
        assert str(info.value).startswith(f"size={bad!r}")
    assert pyramid.MAX_SIZE == 2048 and pyramid.asked_size(content, size=np.int64(2048)) == 2048


@pytest.mark.parametrize("run", ["synthesize", "style_transfer", "coarse_to_fine"])
def test_bad_callbacks_are_refused_at_one_scale_too_before_vgg_is_used(run):
    """Review S-4: at 64 px style_transfer runs one scale (synthesize); model=object() would fail if the
    targets were built, so the checks come first on every path."""
    fn = {"synthesize": nu.synthesize, "style_transfer": nu.style_transfer,
          "coarse_to_fine": pyramid.coarse_to_fine}[run]
    image = np.zeros((1, 64, 64, 3), np.float32)
    with pytest.raises(TypeError, match="callback=5"):
        fn(image, image, callback=5, model=object(), progress=False)
    for bad in (0, -1, True, 2.5, "10", np.float64(3.0)):
        with pytest.raises(ValueError, match="callback_every="):
            fn(image, image, callback_every=bad, model=object(), progress=False)


def test_a_numpy_integer_callback_every_is_a_whole_number():
    """Review S-4: np.int64(5) passes the check (it used to pass in coarse_to_fine and fail in the Monitor)."""
    from nst_utils.loop import Monitor, check_callback

    assert check_callback(None, np.int64(5)) == 5 and type(check_callback(None, np.int64(5))) is int
    monitor = Monitor(10, keys=("J",), callback=lambda *a: False, callback_every=np.int64(5), progress=False)
    assert monitor.callback_every == 5


def test_ctrl_c_during_a_level_gives_the_callback_the_interrupted_total(fake_levels):
    """Review S-5: callback_every=3 over levels of 4, 2 (interrupted after 1), 1 steps: step 3, then the
    final call at the interrupted total 5 (not a multiple of 3), once."""
    fake_levels(interrupt_in=1)
    content = np.zeros((1, 96, 128, 3), np.float32)
    seen = []
    result = pyramid.coarse_to_fine(content, content, steps=4, pyramid_base=32, progress=False, callback_every=3,
                                    callback=lambda step, image, history: seen.append((step, len(history["J"]))))
    assert result.stopped == "interrupted" and result.steps == 5
    assert seen == [(3, 3), (5, 5)]


def test_the_joined_seconds_count_from_the_pyramid_start_to_each_synthesize_call(fake_levels, monkeypatch):
    """Review S-6: synthesize's clock starts when it is called, after the level's set-up (here a resize made
    0.3 s slow); each level's seconds are shifted by the time from the pyramid's start to that call."""
    fake = fake_levels()
    resize = pyramid.resize_image

    def slow_resize(image, shape):
        time.sleep(0.3)
        return resize(image, shape)

    monkeypatch.setattr(pyramid, "resize_image", slow_resize)
    content = np.zeros((1, 96, 128, 3), np.float32)
    result = pyramid.coarse_to_fine(content, content, steps=2, pyramid_base=64, progress=False)
    first = result.levels[1].first_step
    shift = [result.history["seconds"][0] - 1.0, result.history["seconds"][first] - 11.0]  # the fake's values
    assert shift[1] - shift[0] == pytest.approx(fake.calls[1]["t"] - fake.calls[0]["t"], abs=0.1)


# ----------------------------------------------------------------------------- review 20: S-7, S-9, S-12

def _kept(run, *args, **kwargs):
    """``run(*args, **kwargs)``; a KeyboardInterrupt that gets out is a test failure (not the end of pytest)."""
    try:
        return run(*args, **kwargs)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C propagated: the levels done were lost")

def test_a_stop_asked_during_the_next_levels_set_up_ends_the_run_before_its_first_step(fake_levels):
    """Review 20 S-7: the studio's Stop pressed after level 0's last step was shown (while level 1's targets
    are built) ends the run before level 1 runs a step: no level with done=1 is recorded."""
    fake = fake_levels()
    content = np.zeros((1, 96, 128, 3), np.float32)
    seen = []

    def callback(step, image, history):
        seen.append(step)
        return len(seen) > 4          # Stop pressed once step 4 (level 0's last) was on screen

    result = pyramid.coarse_to_fine(content, content, steps=4, pyramid_base=64, progress=False, callback=callback,
                                    callback_every=1)
    assert seen == [1, 2, 3, 4, 4]    # asked again when level 1's targets were built: stopped there
    assert [c["callback_first"] for c in fake.calls] == [False, True]
    assert result.stopped == "callback" and result.steps == 4 and [lv.done for lv in result.levels] == [4]
    assert len(result.history["J"]) == 4 and result.image.shape == (1, 96, 128, 3)
    assert float(result.image.mean()) == pytest.approx(0.1, abs=1 / 255)   # level 0's image, upsampled


def test_a_level_plan_checks_its_fields_and_label_its_index():
    """Review 20 S-9: LevelPlan is public; bad fields and indices are refused naming them."""
    for sizes, steps, field in [((), (), "sizes"), ((256, 512), (10,), "steps"), ((0,), (5,), "sizes"),
                                ((256,), (-1,), "steps"), ((256.0,), (5,), "sizes"), ((256,), (True,), "steps"),
                                ("256", (5,), "sizes"), ((256,), 5, "steps")]:
        with pytest.raises(ValueError, match=f"LevelPlan .*{field}="):
            nu.LevelPlan(sizes, steps)
    plan = nu.LevelPlan([256, np.int64(512)], [0, 3])
    assert plan == nu.LevelPlan((256, 512), (0, 3)) and plan.sizes == (256, 512) and type(plan.sizes[1]) is int
    assert plan.label(1) == "level 2/2 (512 px)" and plan.label(np.int64(0)) == "level 1/2 (256 px)"
    for bad in (-1, 2, 5, 1.0, True, "0"):
        with pytest.raises(ValueError, match=rf"k={bad!r}: .*from 0 to 1"):
            plan.label(bad)


def test_ctrl_c_in_the_final_callback_keeps_the_result(fake_levels):
    """Review 20 S-12: a KeyboardInterrupt raised by the final callback (step 6, not a multiple of 5) returns
    every level, ``stopped="interrupted"``."""
    fake_levels()
    content = np.zeros((1, 96, 128, 3), np.float32)
    seen = []

    def callback(step, image, history):
        seen.append(step)
        if step == 6:
            raise KeyboardInterrupt

    result = _kept(pyramid.coarse_to_fine, content, content, steps=4, pyramid_base=64, progress=False,
                   callback=callback, callback_every=5)
    assert seen == [5, 6]
    assert result.stopped == "interrupted" and [lv.done for lv in result.levels] == [4, 2] and result.steps == 6
    assert result.image.shape == (1, 96, 128, 3) and float(result.image.mean()) == pytest.approx(0.2)


def test_ctrl_c_in_the_final_resize_keeps_the_result(fake_levels, monkeypatch):
    """Review 20 S-12: stopped at level 0 (step 2), the last image is resized to the asked shape; a Ctrl-C in
    that resize still returns the result, resized."""
    fake_levels()
    resize, calls = pyramid.resize_image, []

    def interrupted_once(image, shape):
        calls.append(shape)
        if len(calls) == 3:           # steps 1 and 2 resize for the callback; the 3rd is the final one
            raise KeyboardInterrupt
        return resize(image, shape)

    monkeypatch.setattr(pyramid, "resize_image", interrupted_once)
    content = np.zeros((1, 96, 128, 3), np.float32)
    result = _kept(pyramid.coarse_to_fine, content, content, steps=4, pyramid_base=64, progress=False, callback_every=1,
                   callback=lambda step, image, history: step == 2)
    assert len(calls) == 4 and result.stopped == "interrupted" and [lv.done for lv in result.levels] == [2]
    assert result.image.shape == (1, 96, 128, 3) and float(result.image.mean()) == pytest.approx(0.1, abs=1 / 255)


def test_ctrl_c_after_a_level_returned_but_before_it_was_recorded_keeps_it(fake_levels, monkeypatch):
    """Review 20 S-12: a Ctrl-C between level 1's synthesize returning and its book-keeping (here: while its
    Level is made) keeps level 1; only a second Ctrl-C there would propagate."""
    fake_levels()
    made, real = [], pyramid.Level

    def level_interrupted_once(**kw):
        made.append(kw["size"])
        if made == [64, 96]:          # level 1's first Level(...)
            raise KeyboardInterrupt
        return real(**kw)

    monkeypatch.setattr(pyramid, "Level", level_interrupted_once)
    content = np.zeros((1, 72, 96, 3), np.float32)
    result = _kept(pyramid.coarse_to_fine, content, content, steps=4, pyramid_base=64, progress=False)
    assert made == [64, 96, 96] and [lv.size for lv in result.levels] == [64, 96]
    assert result.stopped == "interrupted" and result.steps == 6 and len(result.history["J"]) == 6
    assert float(result.image.mean()) == pytest.approx(0.2)
