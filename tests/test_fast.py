"""Fast style transfer (nst_utils.fast): the network, instance normalisation, the loss, training, files.

Tiny sizes throughout (crops of 48 px, narrow networks), so the whole file runs in well under a minute.
Every image ships inside an installed package: no download needed.
"""

from __future__ import annotations

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
        following = [network.layers[network.layers.index(up) + 1] for up in ups]
        assert all(isinstance(layer, keras.layers.Conv2D) for layer in following)


def test_same_seed_same_network_and_bad_arguments():
    a, b = (nu.transformation_network(width=4, residual_blocks=1, seed=3) for _ in range(2))
    c = nu.transformation_network(width=4, residual_blocks=1, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not all(np.array_equal(x, y) for x, y in zip(a.get_weights(), c.get_weights()))
    with pytest.raises(ValueError, match="norm='group'"):
        nu.transformation_network(norm="group")
    with pytest.raises(ValueError, match="width=0"):
        nu.transformation_network(width=0)


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


# --- the loss and the data -------------------------------------------------------------------------------

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
    assert not set(nu.TRAINING_PHOTOS) & set(nu.HELD_OUT_PHOTOS)
    for name in nu.TRAINING_PHOTOS:
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


def test_time_stylize_and_machine_description():
    network = nu.transformation_network(width=4, residual_blocks=1)
    timing = nu.time_stylize(network, (24, 40), repeats=3, warmup=1)
    assert timing["size"] == [24, 40] and len(timing["runs_ms"]) == 3
    assert 0 < timing["min_ms"] <= timing["ms"] <= max(timing["runs_ms"])
    text = nu.machine_description()
    assert f"{os.cpu_count()} cores" in text
