"""Fast style transfer (nst_utils.fast): the network, instance normalisation, the loss, training, files.

Tiny sizes throughout (crops of 48 px, narrow networks), so the whole file runs in well under a minute.
Every image ships inside an installed package: no download needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile

import keras
import numpy as np
import pytest

import nst_utils as nu

TINY = dict(width=4, residual_blocks=1, crop=48, batch_size=2, size=64, progress=False)


@pytest.fixture(scope="module")
def photos():
    return {name: nu.load_sample(name, 96) for name in ("coffee", "astronaut")}


@pytest.fixture(scope="module")
def style():
    return nu.load_sample("rocket", 64)


def weights_of(network):
    return [w.copy() for w in network.get_weights()]


# --- the network -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (5, 9), (33, 47), (64, 64), (101, 30)])
def test_stylize_keeps_any_size(shape):
    network = nu.transformation_network(width=4, residual_blocks=1)
    image = np.random.default_rng(0).uniform(0, 1, (1, *shape, 3)).astype(np.float32)
    out = nu.stylize(network, image)
    assert out.shape == (1, *shape, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_network_shapes_and_parameters():
    network = nu.transformation_network(width=8, residual_blocks=5)
    assert network(np.zeros((2, 36, 52, 3), np.float32)).shape == (2, 36, 52, 3)
    rows = {name: (shape, params) for name, kind, shape, params in nu.network_table(network, (36, 52))}
    assert rows["enc1"][0] == (36, 52, 8) and rows["enc3"][0] == (9, 13, 32) and rows["res5"][0] == (9, 13, 32)
    assert rows["dec1"][0] == (18, 26, 16) and rows["dec2"][0] == (36, 52, 8)
    assert rows["out"][0] == (36, 52, 3)
    assert sum(params for shape, params in rows.values()) == network.count_params()
    # 9x9 convs 3->8 and 8->3 (+3 biases), 3x3 convs 8->16, 16->32, 10 x 32->32, 32->16, 16->8, no biases
    convs = 81 * 3 * 8 + 81 * 8 * 3 + 3 + 9 * (8 * 16 + 16 * 32 + 10 * 32 * 32 + 32 * 16 + 16 * 8)
    norms = 2 * (8 + 16 + 32 + 10 * 32 + 16 + 8)
    assert network.count_params() == convs + norms


def test_untrained_network_returns_the_photo_and_johnsons_output_does_not():
    image = nu.load_sample("chelsea", 60)
    np.testing.assert_allclose(nu.stylize(nu.transformation_network(width=4), image), np.clip(image, 0.01, 0.99),
                               atol=1e-5)
    johnson = nu.transformation_network(width=4, skip=False)
    assert np.abs(nu.stylize(johnson, image) - image).mean() > 0.05
    assert johnson.count_params() == nu.transformation_network(width=4).count_params()


def test_decoder_upsamples_then_convolves():
    for norm in ("instance", "batch"):
        network = nu.transformation_network(width=4, residual_blocks=1, norm=norm)
        kinds = [type(layer) for layer in network.layers]
        assert keras.layers.Conv2DTranspose not in kinds
        ups = [layer for layer in network.layers if isinstance(layer, keras.layers.UpSampling2D)]
        assert len(ups) == 2 and all(layer.interpolation == "nearest" for layer in ups)
        after = [[layer for layer in network.layers[network.layers.index(up) + 1:]
                  if not isinstance(layer, nu.ReflectionPadding2D)][0] for up in ups]   # the padding is no layer of its own in effect
        assert all(isinstance(layer, keras.layers.Conv2D) for layer in after)


def test_same_seed_same_network_and_bad_arguments():
    a, b = (nu.transformation_network(width=4, residual_blocks=1, seed=3) for _ in range(2))
    c = nu.transformation_network(width=4, residual_blocks=1, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not all(np.array_equal(x, y) for x, y in zip(a.get_weights(), c.get_weights()))
    with pytest.raises(ValueError, match="norm='group'"):
        nu.transformation_network(norm="group")
    with pytest.raises(ValueError, match="width=0"):
        nu.transformation_network(width=0)


def test_paper_network_mirrors_the_border_in_every_convolution():
    network = nu.FAST_RECIPES["johnson"].network()
    convs = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 3 + 2 * 5 + 2 + 1                      # encoder, residual blocks, decoder, output
    for conv in convs:
        pad = network.get_layer(f"{conv.name}_pad")
        assert conv.padding == "valid" and isinstance(pad, nu.ReflectionPadding2D), conv.name
        assert pad.padding == conv.kernel_size[0] // 2 and conv.input is pad.output, conv.name
    assert [c.filters for c in convs[:3]] == [32, 64, 128] and network.count_params() == 1_677_635


@pytest.mark.parametrize("padding, flat", [("reflect", True), ("zero", False), ("reflect_outer", False)])
def test_a_flat_image_stays_flat_only_with_reflection_everywhere(padding, flat):
    # nothing at the border differs from the inside when every conv mirrors it: no frame can be learned
    network = nu.transformation_network(width=4, residual_blocks=1, padding=padding, skip=False, seed=2)
    rng = np.random.default_rng(3)
    for layer in network.layers:          # trained shifts: a flat image's features are flat but not zero
        if isinstance(layer, nu.InstanceNormalization):
            layer.beta.assign(rng.uniform(0.2, 1.0, layer.beta.shape).astype(np.float32))
    out = nu.stylize(network, np.full((1, 40, 48, 3), 0.4, np.float32))
    spread = float((out.max(axis=(1, 2)) - out.min(axis=(1, 2))).max())
    assert (spread < 1e-5) == flat, spread


def test_instance_norm_normalises_each_image_and_channel():
    rng = np.random.default_rng(1)
    scale, shift = rng.uniform(0.1, 10, (3, 1, 1, 5)), rng.uniform(-5, 5, (3, 1, 1, 5))
    x = (rng.normal(size=(3, 12, 10, 5)) * scale + shift).astype(np.float32)
    layer = nu.InstanceNormalization()
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-3)
    # each image alone: no statistics shared across the batch (unlike batch normalisation)
    np.testing.assert_allclose(np.asarray(layer(x[1:2]))[0], y[1], atol=1e-5)
    # the contrast of the input does not matter
    np.testing.assert_allclose(np.asarray(layer(3.0 * x + 2.0)), y, atol=1e-3)


# --- the recipe ------------------------------------------------------------------------------------------

def test_recipe_is_a_frozen_checked_record():
    johnson = nu.FAST_RECIPES["johnson"]
    assert (johnson.width, johnson.residual_blocks, johnson.padding, johnson.norm, johnson.crop,
            johnson.batch_size, johnson.learning_rate) == (32, 5, "reflect", "instance", 256, 4, 1e-3)
    assert nu.FAST_RECIPES["width8"].width == 8 and nu.fast_recipe() == nu.FAST_RECIPES["width8"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        johnson.width = 8
    assert johnson.replace(steps=10).steps == 10 and johnson.steps == 40000
    for field, bad, allowed in (("width", 0, ">= 1"), ("width", 2.5, ">= 1"), ("padding", "mirror", "'reflect'"),
                                ("norm", "group", "'instance'"), ("scales", (2, 1), "low <= high"),
                                ("precision", "float64", "'mixed_float16'"), ("flips", "yes", "True or False")):
        with pytest.raises(ValueError, match=f"{field}=.*{allowed}"):
            johnson.replace(**{field: bad})
    with pytest.raises(TypeError, match="unknown recipe field.*'widht'.*'width'"):
        johnson.replace(widht=16)
    with pytest.raises(ValueError, match="recipe='paper'.*'johnson'"):
        nu.fast_recipe("paper")
    assert nu.FastRecipe.from_dict(json.loads(json.dumps(johnson.as_dict()))) == johnson


def test_training_refuses_unknown_arguments_and_another_recipe(tmp_path, vgg19, photos, style):
    with pytest.raises(TypeError, match="unknown argument.*'widht'"):
        nu.train_fast_network(style, photos=photos, widht=4, model=vgg19, **TINY)
    ckpt = tmp_path / "run.keras"
    nu.train_fast_network(style, photos=photos, steps=1, checkpoint=ckpt, model=vgg19, **TINY)
    with pytest.raises(ValueError, match="another recipe.*crop=48, not 40"):
        nu.train_fast_network(style, photos=photos, steps=2, checkpoint=ckpt, model=vgg19, **{**TINY, "crop": 40})


# --- the loss and the data -------------------------------------------------------------------------------

def test_batch_loss_is_the_mean_of_the_optimizations_loss_per_image(vgg19, photos, style):
    """StyleTransferLoss.batch(C, x) = (1/B) sum_b StyleTransferLoss(C_b, S)(x_b), J and each part."""
    rng = np.random.default_rng(2)
    contents = np.concatenate([photos["coffee"][:, :64, :64], photos["astronaut"][:, 10:74, 20:84],
                               photos["coffee"][:, :64, 32:96]])
    x = np.clip(contents + rng.normal(0, 0.1, contents.shape), 0, 1).astype(np.float32)
    for settings in (nu.DEFAULTS, nu.DEFAULTS.replace(weighting="raw", tv_weight=0.5)):
        loss = nu.StyleTransferLoss(nu.feature_extractor(vgg19, [settings.content_layer, *settings.style_layers]),
                                    style=style, settings=settings)
        batch = loss.batch(contents, x)
        alone = [nu.StyleTransferLoss.build(contents[b:b + 1], style, settings=settings, model=vgg19)(x[b:b + 1])
                 for b in range(3)]
        for part, ours in zip(nu.LossValues._fields, batch):
            expected = np.mean([float(getattr(a, part)) for a in alone])
            np.testing.assert_allclose(float(ours), expected, rtol=1e-4, atol=1e-7, err_msg=part)
        assert len({float(a.J_content) for a in alone}) == 3          # three different content targets


def test_perceptual_loss_of_one_image_is_the_optimizations_loss(vgg19, photos, style):
    content = photos["coffee"][:, :64, :64]
    x = np.clip(content + np.random.default_rng(2).normal(0, 0.1, content.shape), 0, 1).astype(np.float32)
    ours = nu.PerceptualLoss(style, model=vgg19)(content, x)
    theirs = nu.StyleTransferLoss.build(content, style, model=vgg19)(x)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(float(a), float(b), rtol=1e-4, atol=1e-7)
    # a batch: the mean of the images' losses
    other = photos["astronaut"][:, :64, :64]
    batch = nu.PerceptualLoss(style, model=vgg19)(np.concatenate([content, other]), np.concatenate([x, other]))
    alone = nu.StyleTransferLoss.build(other, style, model=vgg19)(other)
    np.testing.assert_allclose(float(batch.J), (float(theirs.J) + float(alone.J)) / 2, rtol=1e-4)


def test_crop_sampler_is_random_reproducible_and_resumable(photos):
    a = nu.CropSampler(photos, crop=40, size=64, seed=5)
    b = nu.CropSampler(photos, crop=40, size=64, seed=5)
    first = a.batch(6)
    assert first.shape == (6, 40, 40, 3) and first.dtype == np.float32 and 0 <= first.min() and first.max() <= 1
    assert np.array_equal(first, b.batch(6))
    assert not np.array_equal(first[0], first[1])
    state = a.state()
    expected = a.batch(3)
    b.set_state(json.loads(json.dumps(state)))           # as a checkpoint stores it
    assert np.array_equal(b.batch(3), expected)


def test_training_photos_need_no_download_and_exclude_the_held_out():
    assert not set(nu.ALL_TRAINING_PHOTOS) & set(nu.HELD_OUT_PHOTOS)
    assert set(nu.TRAINING_PHOTOS) < set(nu.ALL_TRAINING_PHOTOS) == set(nu.FAST_RECIPES["johnson"].photos)
    for name in nu.ALL_TRAINING_PHOTOS:
        source = nu.SAMPLES[name].source if name in nu.SAMPLES else "skimage"
        assert source != "download", name
        assert nu.load_photo(name, 32).shape[-1] == 3
    with pytest.raises(KeyError, match="unknown photo"):
        nu.load_photo("no_such_photo")


# --- training, checkpoints, files ------------------------------------------------------------------------

def test_a_few_steps_lower_the_loss(vgg19, photos, style):
    run = nu.train_fast_network(style, photos=photos, steps=16, learning_rate=1e-2, model=vgg19, **TINY)
    J = run.history["J"]
    assert run.steps == 16 and len(J) == 16 and run.stopped is None
    assert np.mean(J[-4:]) < 0.8 * np.mean(J[:4])


def test_checkpoint_is_written_and_resumed(tmp_path, vgg19, photos, style):
    ckpt = tmp_path / "run.keras"
    first = nu.train_fast_network(style, photos=photos, steps=4, checkpoint=ckpt, checkpoint_every=2,
                                  model=vgg19, **TINY)
    assert ckpt.is_file() and first.steps == 4 and first.resumed_from == 0
    with zipfile.ZipFile(ckpt) as archive:
        assert json.loads(archive.read("nst_fast.json"))["training"]["steps"] == 4
    more = nu.train_fast_network(style, photos=photos, steps=6, checkpoint=ckpt, model=vgg19, **TINY)
    assert more.resumed_from == 4 and more.steps == 6 and len(more.history["J"]) == 6
    assert more.history["J"][:4] == first.history["J"]
    # the same 6 steps in one go: the same crops, the same Adam state, so (nearly) the same weights
    straight = nu.train_fast_network(style, photos=photos, steps=6, model=vgg19, **TINY)
    np.testing.assert_allclose(more.history["J"], straight.history["J"], rtol=1e-3)
    for a, b in zip(weights_of(more.network), weights_of(straight.network)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    # a checkpoint of another style is not continued
    with pytest.raises(ValueError, match="another style"):
        nu.train_fast_network(photos["coffee"][:, :64, :64], photos=photos, steps=8, checkpoint=ckpt,
                              model=vgg19, **TINY)


def test_two_plus_two_steps_are_four_straight_steps(tmp_path, vgg19, photos, style):
    """Resume is exact: weights, Adam's state and the crop generator; the curve is written beside it."""
    ckpt = tmp_path / "run.keras"
    first = nu.train_fast_network(style, photos=photos, steps=2, checkpoint=ckpt, model=vgg19, **TINY)
    resumed = nu.train_fast_network(style, photos=photos, steps=4, checkpoint=ckpt, model=vgg19, **TINY)
    straight = nu.train_fast_network(style, photos=photos, steps=4, model=vgg19, **TINY)
    assert first.steps == 2 and resumed.resumed_from == 2 and resumed.steps == 4
    assert resumed.history["J"] == straight.history["J"]
    for a, b in zip(weights_of(resumed.network), weights_of(straight.network)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    curve = ckpt.with_suffix(".csv").read_text().splitlines()
    assert curve[0] == "step,J,J_content,J_style,J_tv,seconds" and len(curve) == 5
    assert float(curve[4].split(",")[1]) == pytest.approx(resumed.history["J"][3], rel=1e-5)
    assert [(r["from_step"], r["to_step"]) for r in resumed.info["runs"]] == [(0, 2), (2, 4)]
    # the compact copy to commit: the same weights, Adam's moments to bfloat16, and it resumes too
    small = nu.compact_checkpoint(ckpt, tmp_path / "small.keras")
    assert small.stat().st_size < ckpt.stat().st_size
    for a, b in zip(weights_of(nu.load_fast_network(small)), weights_of(resumed.network)):
        np.testing.assert_array_equal(a, b)
    more = nu.train_fast_network(style, photos=photos, steps=5, checkpoint=small, model=vgg19, **TINY)
    longer = nu.train_fast_network(style, photos=photos, steps=5, checkpoint=ckpt, model=vgg19, **TINY)
    assert more.resumed_from == 4 and more.history["J"][:4] == straight.history["J"]
    for a, b in zip(weights_of(more.network), weights_of(longer.network)):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_ctrl_c_keeps_a_checkpoint(tmp_path, vgg19, photos, style):
    ckpt = tmp_path / "interrupted.keras"

    def press_ctrl_c(step, network, history):
        raise KeyboardInterrupt

    run = nu.train_fast_network(style, photos=photos, steps=50, checkpoint=ckpt, checkpoint_every=100,
                                callback=press_ctrl_c, callback_every=3, model=vgg19, **TINY)
    assert run.stopped == "interrupted" and run.steps == 3
    saved = nu.load_fast_network(ckpt)
    assert saved.nst_info["training"]["steps"] == 3
    for a, b in zip(weights_of(saved), weights_of(run.network)):
        np.testing.assert_array_equal(a, b)
    stop = nu.train_fast_network(style, photos=photos, steps=50, callback=lambda *a: True, callback_every=2,
                                 model=vgg19, **TINY)
    assert stop.stopped == "callback" and stop.steps == 2


def test_save_load_round_trip_gives_identical_outputs(tmp_path, vgg19, photos, style):
    run = nu.train_fast_network(style, photos=photos, steps=2, model=vgg19, **TINY)
    path = nu.save_fast_network(run.network, tmp_path / "net.keras")
    loaded = nu.load_fast_network(path)
    image = nu.load_sample("chelsea", 70)
    np.testing.assert_array_equal(nu.stylize(loaded, image), nu.stylize(run.network, image))
    assert loaded.nst_info["training"]["steps"] == 2 and loaded.nst_info["architecture"]["width"] == 4
    with zipfile.ZipFile(path) as archive:
        assert "nst_fast_optimizer.npz" not in archive.namelist()      # a finished network: no Adam state
    with pytest.raises(ValueError, match="end in .keras"):
        nu.save_fast_network(run.network, tmp_path / "net.h5")


def test_loading_a_missing_or_garbage_file_names_it(tmp_path):
    missing = tmp_path / "missing.keras"
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        nu.load_fast_network(missing)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="garbage.keras"):
        nu.load_fast_network(garbage)
    with pytest.raises(FileNotFoundError, match="available: "):
        nu.load_fast_network("no_such_style")


def test_the_width8_recipe_is_the_committed_starry_night_networks():
    from nst_utils.fast.training import _recipe_of

    info = nu.load_fast_network("starry_night").nst_info
    assert _recipe_of(info).replace(steps=info["training"]["steps"]) == nu.FAST_RECIPES["width8"]


def test_committed_networks_load_and_match_the_library_defaults():
    styles = nu.fast_styles()
    assert "starry_night" in styles
    image = nu.load_sample("chelsea", 64)
    for name in styles:
        network = nu.load_fast_network(name)
        info = network.nst_info
        assert info["style"] == name and nu.stylize(network, image).shape == image.shape
        defaults = nu.DEFAULTS.as_dict()
        differ = {k: (v, defaults[k]) for k, v in info["settings"].items() if k != "precision" and v != defaults[k]}
        assert not differ, (f"the committed network {name!r} was trained with other loss settings than "
                            f"nu.DEFAULTS (saved, now): {differ}; retrain it with nu.train_fast_network({name!r})")


def test_frame_measure_sees_a_frame_and_not_a_plain_photo():
    photo = nu.load_sample("chelsea", 96)
    framed = photo.copy()
    framed[:, :4], framed[:, -4:], framed[:, :, :4], framed[:, :, -4:] = 1.0, 1.0, 1.0, 1.0   # a white 4-px frame
    assert nu.frame_excess(photo, photo) == 0.0
    assert nu.frame_excess(framed, photo) > 0.2
    flat = np.full((1, 40, 50, 3), 0.3, np.float32)
    assert nu.border_frame(flat) < 1e-12
    ramp = np.repeat(np.linspace(0, 1, 50, dtype=np.float32)[None, None, :, None], 40, axis=1).repeat(3, axis=3)
    assert nu.border_frame(ramp) < 1e-6                 # left and right rings cancel: no frame in a ramp
    with pytest.raises(ValueError, match="longer than 4 x ring = 16 px"):
        nu.border_frame(flat[:, :16])


def test_time_stylize_and_machine_description():
    network = nu.transformation_network(width=4, residual_blocks=1)
    timing = nu.time_stylize(network, (24, 40), repeats=3, warmup=1)
    assert timing["size"] == [24, 40] and len(timing["runs_ms"]) == 3
    assert 0 < timing["min_ms"] <= timing["ms"] <= max(timing["runs_ms"])
    text = nu.machine_description()
    assert f"{os.cpu_count()} cores" in text
