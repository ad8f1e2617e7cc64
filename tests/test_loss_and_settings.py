"""The loss object (targets once, the two weightings) and the settings record, against hand computations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nst_utils as nu

from fake_extractor import FakeExtractor


def test_defaults_are_one_frozen_record():
    d = nu.DEFAULTS
    assert dict(d.style_layers) == {n: 0.2 for n in nu.GATYS_STYLE_LAYERS}
    assert d.content_layer == "conv4_2" and d.weighting == "balanced" and d.init == "content"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.beta = 1.0
    with pytest.raises(TypeError):
        d.style_layers["conv1_1"] = 1.0  # a read-only mapping
    changed = d.replace(beta=2.0, style_layers=["conv1_1"])
    assert changed.beta == 2.0 and dict(changed.style_layers) == {"conv1_1": 1.0}
    assert nu.DEFAULTS.style_layers["conv1_1"] == 0.2


def test_style_layer_weights():
    assert nu.style_layer_weights(["conv1_1", "conv2_1", "conv1_1"]) == {"conv1_1": 0.5, "conv2_1": 0.5}
    assert nu.style_layer_weights({"conv1_1": 3, "block2_conv1": 1}) == {"conv1_1": 3.0, "block2_conv1": 1.0}
    with pytest.raises(ValueError, match="not VGG layer names"):
        nu.style_layer_weights(["conv1_1", "relu2_1"])
    with pytest.raises(ValueError, match=">= 0"):
        nu.style_layer_weights({"conv1_1": -1})
    with pytest.raises(ValueError, match=">= 0"):
        nu.style_layer_weights({"conv1_1": float("nan")})


FAKE_LAYERS = ["conv4_2", "conv1_1", "conv2_1"]   # the layers of the hand-made activations below


def _act(rng, n_H, n_W, n_C):
    return np.maximum(rng.standard_normal((1, n_H, n_W, n_C)), 0).astype(np.float32)


def test_raw_and_balanced_loss_against_hand_computation():
    rng = np.random.default_rng(1)
    a = {k: {"conv4_2": _act(rng, 3, 4, 5), "conv1_1": _act(rng, 4, 6, 3), "conv2_1": _act(rng, 2, 3, 4)}
         for k in ("C", "S", "G")}
    a["S"]["conv1_1"] = _act(rng, 5, 5, 3)  # the style image may have another size
    images = {k: np.full((1, 4, 4, 3), v, np.float32) for k, v in (("C", 0.1), ("S", 0.2), ("G", 0.3))}
    ext = FakeExtractor({0.1: a["C"], 0.2: a["S"], 0.3: a["G"]}, FAKE_LAYERS)
    lam = {"conv1_1": 0.25, "conv2_1": 0.75}

    def gram(x):  # per position, by hand
        A = x.reshape(-1, x.shape[-1]).T.astype(np.float64)
        return A @ A.T / A.shape[1]

    def layer(l, other):
        n_C = a["S"][l].shape[-1]
        return np.sum((gram(a["S"][l]) - gram(other)) ** 2) / (4 * n_C**2)

    Jc_raw = np.sum((a["C"]["conv4_2"] - a["G"]["conv4_2"]) ** 2) / (4 * a["C"]["conv4_2"].size)
    Jc_zero = np.sum(a["C"]["conv4_2"] ** 2.0) / (4 * a["C"]["conv4_2"].size)
    Js_raw = sum(w * layer(l, a["G"][l]) for l, w in lam.items())
    Js_bal = sum(w * layer(l, a["G"][l]) / layer(l, 0 * a["S"][l]) for l, w in lam.items())

    settings = nu.DEFAULTS.replace(alpha=2.0, beta=3.0, style_layers=lam, weighting="raw")
    raw = nu.StyleTransferLoss(ext, content=images["C"], style=images["S"], settings=settings)(images["G"])
    assert float(raw.J_content) == pytest.approx(Jc_raw, rel=1e-5)
    assert float(raw.J_style) == pytest.approx(Js_raw, rel=1e-5)
    assert float(raw.J) == pytest.approx(2 * Jc_raw + 3 * Js_raw, rel=1e-5)

    loss = nu.StyleTransferLoss(ext, content=images["C"], style=images["S"],
                                settings=settings.replace(weighting="balanced"))
    bal = loss(images["G"])
    assert float(bal.J_content) == pytest.approx(Jc_raw / Jc_zero, rel=1e-5)
    assert float(bal.J_style) == pytest.approx(Js_bal, rel=1e-5)
    assert float(bal.J) == pytest.approx(2 * Jc_raw / Jc_zero + 3 * Js_bal, rel=1e-5)
    assert loss.layer_costs(images["G"]) == pytest.approx({l: layer(l, a["G"][l]) for l in lam}, rel=1e-5)
    shares = loss.layer_shares(images["G"])
    assert sum(shares.values()) == pytest.approx(1.0)
    # balanced: an all-zero activation is "as far as an empty image": every term exactly 1
    zero = {k: 0 * v for k, v in a["G"].items()}
    ext.table[0.4] = zero
    empty = loss(np.full((1, 4, 4, 3), 0.4, np.float32))
    assert float(empty.J_content) == pytest.approx(1.0) and float(empty.J_style) == pytest.approx(1.0)


def test_balanced_weighting_gives_every_layer_a_say(small_pair, vgg19):
    content, style = small_pair
    shares = {w: nu.StyleTransferLoss.build(content, style, settings=nu.DEFAULTS.replace(weighting=w),
                                            model=vgg19).layer_shares(content) for w in ("raw", "balanced")}
    assert max(shares["raw"].values()) > 0.9          # one layer (conv4_1) is almost all of J_style
    assert max(shares["balanced"].values()) < 0.5     # balanced: no layer dominates
    assert min(shares["balanced"].values()) > 0.05


def test_loss_refuses_what_it_cannot_use(vgg19):
    flat = np.zeros((1, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="a content image, a style image, or both"):
        nu.StyleTransferLoss.build(model=vgg19)
    zero = {"conv4_2": np.zeros((1, 2, 2, 4), np.float32), "conv1_1": np.zeros((1, 2, 2, 3), np.float32)}
    dead = FakeExtractor({0.0: zero}, FAKE_LAYERS)  # an image whose activations are all zero
    with pytest.raises(ValueError, match="weighting='raw'"):
        nu.StyleTransferLoss(dead, content=flat, settings=nu.DEFAULTS)
    with pytest.raises(ValueError, match="style image's statistic at conv1_1"):
        nu.StyleTransferLoss(dead, style=flat, settings=nu.DEFAULTS.replace(style_layers=["conv1_1"]))
    assert "balanced weighting" in repr(nu.StyleTransferLoss.build(flat + 0.5, flat + 0.5, model=vgg19))
